/**
 * The TensorFlow.js fence: `lib/inference/estimators/` imports tfjs only
 * through this module, by full `npm:` specifiers, so that importing
 * `./inference` by URL (without this repository's deno.json) resolves.
 * Versions live here and nowhere else.
 *
 * Importing this module registers the `cpu` backend and every kernel
 * gradient (tfjs-layers bundles the gradients; tfjs-core alone does not).
 * @module
 */
import "npm:@tensorflow/tfjs-layers@4.22.0";
import "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
export * from "npm:@tensorflow/tfjs-core@4.22.0";
export { setWasmPaths } from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";

/**
 * Folder holding tfjs-backend-wasm's `.wasm` binaries (a `file:` URL in
 * Deno's npm cache), resolved from the full specifier so that URL importers
 * without an import map get it too.
 * @returns the folder URL, ending in `/`
 */
export function tfjsWasmDir(): string {
  const url = import.meta.resolve("npm:@tensorflow/tfjs-backend-wasm@4.22.0");
  return url.slice(0, url.lastIndexOf("/") + 1);
}
