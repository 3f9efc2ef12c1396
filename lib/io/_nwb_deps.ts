/**
 * The fence around h5wasm (HDF5 compiled to WebAssembly), used only by the
 * NWB reader. Loaded lazily: importing `lib/io` does not load it.
 * @module
 */

/** The h5wasm module (node build: reads files from the file system). */
// deno-lint-ignore no-explicit-any
export type H5wasm = any;

let loading: Promise<H5wasm> | undefined;

/** Loads h5wasm once and waits until its WebAssembly is ready. */
export function loadH5wasm(): Promise<H5wasm> {
  loading ??= (async () => {
    const mod = await import("npm:h5wasm@0.10.3/node");
    const h5 = mod.default ?? mod;
    await h5.ready;
    return h5;
  })();
  return loading;
}
