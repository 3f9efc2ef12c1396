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
