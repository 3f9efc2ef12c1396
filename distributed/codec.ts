/**
 * Binary formats of what travels through Redis.
 *
 * - **Matrix** (a batch of parameter sets, or a batch of results): a 24-byte
 *   header — magic `NFM1`, u32 rows, u32 cols, u32 reserved, f64 tag (the
 *   round counter of a fit batch, the seed of a simulation batch) — then
 *   `rows × cols` little-endian f64 values, row-major.
 * - **Spec** (a job, stored once under its SHA-256): magic `NFS1`, u32 length
 *   of a UTF-8 JSON document, the JSON, zero padding to a multiple of 8, then
 *   the f64 arrays the JSON refers to as `{"$f64": [offset, length]}`
 *   (offset in values from the start of the array section).
 *
 * Every decoder checks the declared sizes against the byte length and the
 * caps before allocating anything.
 * @module
 */
import { PayloadError } from "./errors.ts";

const MATRIX_MAGIC = 0x314d464e; // "NFM1" little-endian
const SPEC_MAGIC = 0x3153464e; // "NFS1"
const MATRIX_HEADER = 24;

/** Default cap of one matrix payload: 64 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Default cap of one job spec: 256 MiB. */
export const DEFAULT_MAX_SPEC_BYTES = 256 * 1024 * 1024;

/** A row-major matrix of f64 values with a tag. */
export interface TaggedMatrix {
  /** Rows. */
  rows: number;
  /** Columns. */
  cols: number;
  /** Round counter or seed. */
  tag: number;
  /** `rows × cols` values, row-major. */
  data: Float64Array;
}

/**
 * Encode a matrix.
 * @param m rows, cols, tag and data
 * @param maxBytes cap of the encoded size
 * @returns the bytes
 * @throws {RangeError} data length ≠ rows × cols, too large
 */
export function encodeMatrix(
  m: TaggedMatrix,
  maxBytes: number = DEFAULT_MAX_PAYLOAD_BYTES,
): Uint8Array {
  const { rows, cols } = m;
  if (
    !Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 ||
    cols < 0 || rows > 0xffffffff || cols > 0xffffffff
  ) {
    throw new RangeError(`bad matrix shape [${rows}, ${cols}]`);
  }
  if (m.data.length !== rows * cols) {
    throw new RangeError(
      `matrix data has ${m.data.length} values, expected ${rows} × ${cols}`,
    );
  }
  const size = MATRIX_HEADER + 8 * rows * cols;
  if (size > maxBytes) {
    throw new RangeError(
      `a batch of [${rows}, ${cols}] values is ${size} bytes, over the cap of ${maxBytes} bytes; use smaller batches`,
    );
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MATRIX_MAGIC, true);
  dv.setUint32(4, rows, true);
  dv.setUint32(8, cols, true);
  dv.setUint32(12, 0, true);
  dv.setFloat64(16, m.tag, true);
  for (let i = 0; i < m.data.length; i++) {
    dv.setFloat64(MATRIX_HEADER + 8 * i, m.data[i], true);
  }
  return out;
}

/**
 * Decode a matrix, checking its header before allocating.
 * @param bytes the payload
 * @param maxBytes cap
 * @returns the matrix
 * @throws {PayloadError} bad magic, sizes that do not match the byte length, over the cap
 */
export function decodeMatrix(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_PAYLOAD_BYTES,
): TaggedMatrix {
  if (!(bytes instanceof Uint8Array)) {
    throw new PayloadError(
      `a batch payload must be bytes, got ${typeof bytes}`,
    );
  }
  if (bytes.length > maxBytes) {
    throw new PayloadError(
      `batch payload of ${bytes.length} bytes is over the cap of ${maxBytes} bytes`,
    );
  }
  if (bytes.length < MATRIX_HEADER) {
    throw new PayloadError(
      `batch payload of ${bytes.length} bytes is shorter than its ${MATRIX_HEADER}-byte header`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== MATRIX_MAGIC) {
    throw new PayloadError(
      `batch payload starts with 0x${
        magic.toString(16).padStart(8, "0")
      }, not the NFM1 magic`,
      0,
    );
  }
  const rows = dv.getUint32(4, true);
  const cols = dv.getUint32(8, true);
  const expect = MATRIX_HEADER + 8 * rows * cols;
  if (expect !== bytes.length) {
    throw new PayloadError(
      `batch header says [${rows}, ${cols}] values (${expect} bytes) but the payload has ${bytes.length} bytes`,
      4,
    );
  }
  const tag = dv.getFloat64(16, true);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    data[i] = dv.getFloat64(MATRIX_HEADER + 8 * i, true);
  }
  return { rows, cols, tag, data };
}

/**
 * Encode a job spec (plain data with Float64Arrays) into bytes. Other
 * typed arrays, functions, class instances, NaN/Infinity in the JSON part
 * are refused: a spec is data.
 * @param spec the spec
 * @param maxBytes cap
 * @returns the bytes
 * @throws {TypeError} a value that is not plain data
 * @throws {RangeError} over the cap
 */
export function encodeSpec(
  spec: unknown,
  maxBytes: number = DEFAULT_MAX_SPEC_BYTES,
): Uint8Array {
  const arrays: Float64Array[] = [];
  let offset = 0;
  const walk = (x: unknown, path: string): unknown => {
    if (x === null || typeof x === "string" || typeof x === "boolean") {
      return x;
    }
    if (typeof x === "number") {
      if (!Number.isFinite(x)) {
        throw new TypeError(
          `${path} is ${x}; a job spec holds finite numbers only`,
        );
      }
      return x;
    }
    if (x === undefined) return undefined;
    if (x instanceof Float64Array) {
      arrays.push(x);
      const ref = { $f64: [offset, x.length] };
      offset += x.length;
      return ref;
    }
    if (Array.isArray(x)) return x.map((v, i) => walk(v, `${path}[${i}]`));
    if (
      typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype
    ) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
        if (k === "$f64") {
          throw new TypeError(`${path} uses the reserved key $f64`);
        }
        const w = walk(v, `${path}.${k}`);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    throw new TypeError(
      `${path} is a ${
        (x as object)?.constructor?.name ?? typeof x
      }; a job spec holds plain data (numbers, strings, arrays, Float64Array)`,
    );
  };
  const json = new TextEncoder().encode(JSON.stringify(walk(spec, "spec")));
  const head = 8 + json.length;
  const pad = (8 - (head % 8)) % 8;
  const size = head + pad + 8 * offset;
  if (size > maxBytes) {
    throw new RangeError(
      `the job spec is ${size} bytes, over the cap of ${maxBytes} bytes`,
    );
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SPEC_MAGIC, true);
  dv.setUint32(4, json.length, true);
  out.set(json, 8);
  let p = head + pad;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++, p += 8) dv.setFloat64(p, a[i], true);
  }
  return out;
}

/**
 * Decode a job spec, checking sizes before allocating.
 * @param bytes the spec bytes
 * @param maxBytes cap
 * @returns the plain-data spec (array references replaced by Float64Arrays)
 * @throws {PayloadError} bad magic, bad sizes, malformed JSON, bad references
 */
export function decodeSpec(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_SPEC_BYTES,
): unknown {
  if (bytes.length > maxBytes) {
    throw new PayloadError(
      `job spec of ${bytes.length} bytes is over the cap of ${maxBytes} bytes`,
    );
  }
  if (bytes.length < 8) {
    throw new PayloadError(`job spec of ${bytes.length} bytes has no header`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== SPEC_MAGIC) {
    throw new PayloadError(
      `job spec starts with 0x${
        magic.toString(16).padStart(8, "0")
      }, not the NFS1 magic`,
      0,
    );
  }
  const jsonLen = dv.getUint32(4, true);
  const head = 8 + jsonLen;
  if (head > bytes.length) {
    throw new PayloadError(
      `job spec says its JSON has ${jsonLen} bytes but the spec has ${bytes.length} bytes`,
      4,
    );
  }
  const start = head + (8 - (head % 8)) % 8;
  const nValues = Math.max(0, Math.floor((bytes.length - start) / 8));
  if (start + 8 * nValues !== bytes.length && bytes.length !== head) {
    throw new PayloadError(
      `job spec array section of ${
        bytes.length - start
      } bytes is not a whole number of f64 values`,
      start,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, head),
    ));
  } catch (e) {
    throw new PayloadError(
      `job spec JSON is malformed: ${(e as Error).message}`,
      8,
    );
  }
  const revive = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(revive);
    if (x !== null && typeof x === "object") {
      const o = x as Record<string, unknown>;
      if ("$f64" in o) {
        const r = o.$f64;
        if (
          !Array.isArray(r) || r.length !== 2 || !Number.isInteger(r[0]) ||
          !Number.isInteger(r[1]) || r[0] < 0 || r[1] < 0 ||
          r[0] + r[1] > nValues
        ) {
          throw new PayloadError(
            `job spec refers to values ${
              JSON.stringify(r)
            } outside its ${nValues} stored values`,
          );
        }
        const a = new Float64Array(r[1]);
        for (let i = 0; i < a.length; i++) {
          a[i] = dv.getFloat64(start + 8 * (r[0] + i), true);
        }
        return a;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) {
        if (k === "__proto__") {
          throw new PayloadError("job spec JSON uses the key __proto__");
        }
        out[k] = revive(v);
      }
      return out;
    }
    return x;
  };
  return revive(doc);
}

/**
 * SHA-256 of bytes as hex (the content address of a spec).
 * @param bytes the bytes
 * @returns 64 hex digits
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
