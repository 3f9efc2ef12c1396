/**
 * NPY files (NumPy's `np.save` format): read and write.
 *
 * Reading accepts format versions 1.0–3.0, little- and big-endian
 * `float16/32/64`, `int8/16/32/64`, `uint8/16/32/64` and `bool`, any rank
 * (including 0-d scalars), and C or Fortran order (Fortran-order data is
 * transposed to C order on reading, so `data` is always C order). `float32`
 * data comes back as a `Float32Array`, everything else as a `Float64Array`
 * (64-bit integers beyond 2^53 lose precision). Bytes after the data are
 * ignored, as NumPy does. Writing produces what `np.save` writes: format 1.0
 * (2.0 for huge headers), C order, preamble padded to a multiple of 64 bytes.
 * Format reference: NEP 1 / `numpy/lib/format.py`.
 * @module
 */

import { DataFormatError } from "./errors.ts";
import { type PathLike, writeFileBytes } from "./files.ts";
import { type BinarySource, sourceBytes } from "./_bytes.ts";
import {
  descrOf,
  elementReader,
  elementWriter,
  isNativeFloat,
  type NpyDtype,
} from "./_dtype.ts";
import {
  buildNpyPreamble,
  parseNpyPreamble,
  shapeRepr,
} from "./_npy_header.ts";

export type { NpyDtype } from "./_dtype.ts";
export type { BinarySource } from "./_bytes.ts";

/** An n-dimensional array read from an NPY file, data in C (row-major) order. */
export interface NpyArray {
  /** Element type stored in the file. */
  dtype: NpyDtype;
  /** Dimensions; `[]` for a 0-d scalar. */
  shape: number[];
  /** The values in C order: `Float32Array` for float32 files, else `Float64Array`. */
  data: Float64Array | Float32Array;
}

/** Flat numeric data accepted by the writers. */
export type NpyData =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | readonly number[];

/**
 * What the NPY/NPZ writers accept: flat data (1-d), rows (2-d: arrays of equal
 * length), or `{ data, shape, dtype }` for any rank (an {@linkcode NpyArray}
 * qualifies).
 */
export type NpyInput =
  | NpyData
  | readonly (Float64Array | Float32Array | readonly number[])[]
  | { data: NpyData; shape?: readonly number[]; dtype?: NpyDtype };

/** Options of {@linkcode decodeNpy} and {@linkcode readNpy}. */
export interface NpyReadOptions {
  /** Return float32 data as a `Float64Array` too. Default false. */
  float64?: boolean;
}

/** Options of {@linkcode encodeNpy} and {@linkcode writeNpy}. */
export interface NpyWriteOptions {
  /**
   * Element type to store. Default: from the input (`Float32Array` →
   * float32, `Int32Array` → int32, `Uint8Array` → uint8, ...; numbers and
   * `Float64Array` → float64). float16 cannot be written.
   */
  dtype?: NpyDtype;
  /** Store big-endian (`>f8`). Default false (little-endian, as NumPy on x86/ARM). */
  bigEndian?: boolean;
}

function defaultDtype(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Uint16Array) return "uint16";
  if (data instanceof Uint32Array) return "uint32";
  return "float64";
}

/** Normalises any writer input to flat data, shape and default dtype. */
function normalizeNpyInput(
  input: NpyInput,
  what = "array",
): { data: NpyData; shape: number[]; dtype: NpyDtype } {
  if (ArrayBuffer.isView(input)) {
    const data = input as NpyData;
    return { data, shape: [data.length], dtype: defaultDtype(data) };
  }
  if (Array.isArray(input)) {
    if (input.length === 0 || typeof input[0] === "number") {
      const data = input as readonly number[];
      for (let i = 0; i < data.length; i++) {
        if (typeof data[i] !== "number") {
          throw new TypeError(
            `${what}: element ${i} is ${typeof data[i]}, expected a number`,
          );
        }
      }
      return { data, shape: [data.length], dtype: "float64" };
    }
    const rows = input as readonly ArrayLike<number>[];
    const m = rows[0].length;
    let allF32 = true;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (!r || typeof r.length !== "number") {
        throw new TypeError(`${what}: row ${i} is not an array`);
      }
      if (r.length !== m) {
        throw new TypeError(
          `${what}: row ${i} has ${r.length} values, expected ${m} (as row 0)`,
        );
      }
      if (!(r instanceof Float32Array)) allF32 = false;
    }
    const flat = allF32
      ? new Float32Array(rows.length * m)
      : new Float64Array(rows.length * m);
    rows.forEach((r, i) => flat.set(r, i * m));
    return {
      data: flat,
      shape: [rows.length, m],
      dtype: allF32 ? "float32" : "float64",
    };
  }
  const obj = input as {
    data: NpyData;
    shape?: readonly number[];
    dtype?: NpyDtype;
  };
  if (!obj || typeof obj !== "object" || !("data" in obj)) {
    throw new TypeError(
      `${what}: expected an array, rows, or { data, shape }, got ${typeof input}`,
    );
  }
  const shape = obj.shape ? [...obj.shape] : [obj.data.length];
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${what}: bad shape entry ${d} in [${shape}]`);
    }
    count *= d;
  }
  if (count !== obj.data.length) {
    throw new TypeError(
      `${what}: shape [${shape}] holds ${count} values but data has ${obj.data.length}`,
    );
  }
  return {
    data: obj.data,
    shape,
    dtype: obj.dtype ?? defaultDtype(obj.data),
  };
}

/** Converts Fortran-order data of `shape` to C order. */
function fortranToC<T extends Float64Array | Float32Array>(
  src: T,
  shape: readonly number[],
): T {
  const n = shape.length;
  if (n < 2) return src;
  const out = new (src.constructor as { new (n: number): T })(src.length);
  if (src.length === 0) return out;
  const fStride = new Array<number>(n);
  let s = 1;
  for (let k = 0; k < n; k++) {
    fStride[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(n).fill(0);
  let f = 0;
  for (let c = 0; c < src.length; c++) {
    out[c] = src[f];
    // increment the C-order multi-index (last axis fastest)
    for (let k = n - 1; k >= 0; k--) {
      idx[k]++;
      f += fStride[k];
      if (idx[k] < shape[k]) break;
      f -= fStride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Decodes the bytes of an NPY file.
 *
 * @param bytes the whole file
 * @param options `float64: true` to get float32 data as `Float64Array`
 * @returns dtype, shape and C-order data
 * @throws {DataFormatError} on a bad magic string, malformed header,
 *   unsupported dtype, or a file shorter than its header says (the message
 *   gives the expected and actual byte counts)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy({ data: [1, 2, 3, 4, 5, 6], shape: [2, 3] });
 * const a = decodeNpy(bytes);
 * assert(a.dtype === "float64" && a.shape.join() === "2,3" && a.data[5] === 6);
 * ```
 */
export function decodeNpy(
  bytes: Uint8Array,
  options: NpyReadOptions = {},
): NpyArray {
  const pre = parseNpyPreamble(bytes);
  if ("need" in pre) {
    throw new DataFormatError(
      `truncated NPY file: the preamble needs ${pre.need} bytes, got ${bytes.length}`,
      { offset: bytes.length },
    );
  }
  const { info, shape, count, dataOffset } = pre;
  const nbytes = count * info.size;
  const have = bytes.length - dataOffset;
  if (have < nbytes) {
    throw new DataFormatError(
      `truncated NPY file: shape ${
        shapeRepr(shape)
      } of ${pre.descr} needs ${nbytes} data bytes after the ${dataOffset}-byte header (${
        dataOffset + nbytes
      } bytes in all), got ${have} (${bytes.length} in all)`,
      { offset: bytes.length },
    );
  }
  let data: Float64Array | Float32Array;
  if (isNativeFloat(info)) {
    const copy = bytes.slice(dataOffset, dataOffset + nbytes).buffer;
    data = info.dtype === "float64"
      ? new Float64Array(copy)
      : new Float32Array(copy);
  } else {
    data = info.dtype === "float32"
      ? new Float32Array(count)
      : new Float64Array(count);
    const read = elementReader(info);
    const dv = new DataView(
      bytes.buffer,
      bytes.byteOffset + dataOffset,
      nbytes,
    );
    for (let i = 0, at = 0; i < count; i++, at += info.size) {
      data[i] = read(dv, at);
    }
  }
  if (pre.fortranOrder) data = fortranToC(data, shape);
  if (options.float64 && data instanceof Float32Array) {
    data = Float64Array.from(data);
  }
  return { dtype: info.dtype, shape, data };
}

/**
 * Encodes an array as NPY bytes, as `np.save` would write them.
 *
 * @param input flat data (1-d), rows (2-d) or `{ data, shape, dtype }`
 * @param options element type and byte order
 * @returns the file bytes
 * @throws {TypeError} on ragged rows or a shape that does not match the data
 * @throws {RangeError} on an unknown or unwritable dtype
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy(new Float32Array([1, 2, 3]));
 * assert(bytes.length === 128 + 12 && bytes[0] === 0x93);
 * ```
 */
export function encodeNpy(
  input: NpyInput,
  options: NpyWriteOptions = {},
): Uint8Array {
  const norm = normalizeNpyInput(input, "encodeNpy");
  const dtype = options.dtype ?? norm.dtype;
  const descr = descrOf(dtype, !options.bigEndian);
  const info = {
    dtype,
    size: Number(descr.slice(2)),
    little: !options.bigEndian,
  };
  const write = elementWriter(info);
  const pre = buildNpyPreamble(descr, norm.shape);
  const n = norm.data.length;
  const out = new Uint8Array(pre.length + n * info.size);
  out.set(pre, 0);
  const dv = new DataView(out.buffer, pre.length);
  const data = norm.data;
  for (let i = 0, at = 0; i < n; i++, at += info.size) write(dv, at, data[i]);
  return out;
}

/**
 * Reads an NPY file from a path, bytes or a byte stream.
 *
 * @param source file path/URL, bytes, or a stream of bytes
 * @param options `float64: true` to get float32 data as `Float64Array`
 * @returns dtype, shape and C-order data
 * @throws {DataFormatError} on malformed or truncated content
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, readNpy } from "./npy.ts";
 * const a = await readNpy(encodeNpy([0.5, 1.5]));
 * assert(a.data[1] === 1.5);
 * ```
 */
export async function readNpy(
  source: BinarySource,
  options: NpyReadOptions = {},
): Promise<NpyArray> {
  return decodeNpy(await sourceBytes(source), options);
}

/**
 * Writes an array to an NPY file; see {@linkcode encodeNpy}.
 * @param path destination
 * @param input flat data, rows or `{ data, shape, dtype }`
 * @param options element type and byte order
 * @returns when written
 * @throws {TypeError} on ragged rows or a shape mismatch
 */
export async function writeNpy(
  path: PathLike,
  input: NpyInput,
  options: NpyWriteOptions = {},
): Promise<void> {
  await writeFileBytes(path, encodeNpy(input, options));
}

/**
 * Splits a C-order array into rows along its first axis: a 2-d `(n, m)` array
 * gives `n` arrays of length `m` (views, not copies); a 1-d array gives one
 * row; higher ranks are flattened after the first axis.
 *
 * @param array an array from {@linkcode decodeNpy}
 * @returns the rows
 * @throws {TypeError} for a 0-d array
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpy, encodeNpy, npyRows } from "./npy.ts";
 * const rows = npyRows(decodeNpy(encodeNpy([[1, 2], [3, 4]])));
 * assert(rows.length === 2 && rows[1][0] === 3);
 * ```
 */
export function npyRows(array: NpyArray): (Float64Array | Float32Array)[] {
  const { shape, data } = array;
  if (shape.length === 0) {
    throw new TypeError("npyRows: a 0-d array has no rows");
  }
  if (shape.length === 1) return [data];
  const n = shape[0];
  const m = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, i) => data.subarray(i * m, (i + 1) * m));
}
