/**
 * Private: NumPy dtype descriptors and element decoding/encoding.
 * @module
 */

import { DataFormatError } from "./errors.ts";

/** Element types of NPY data that neurofit reads. */
export type NpyDtype =
  | "float16"
  | "float32"
  | "float64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "bool";

/** A parsed NumPy `descr` string such as `"<f8"`. */
export interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
  little: boolean;
}

const KINDS: Record<string, NpyDtype> = {
  f2: "float16",
  f4: "float32",
  f8: "float64",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  b1: "bool",
};

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses a NumPy array-protocol type string (`<f8`, `>f4`, `|u1`, `=i4`, `?`). */
export function parseDescr(descr: string, offset?: number): DtypeInfo {
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  const key = m ? m[2] + m[3] : descr === "?" ? "b1" : "";
  const dtype = KINDS[key];
  if (!dtype) {
    throw new DataFormatError(
      `unsupported NPY dtype ${
        JSON.stringify(descr)
      } (supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool)`,
      offset === undefined ? {} : { offset },
    );
  }
  const order = m ? m[1] : "|";
  return {
    dtype,
    size: Number(m ? m[3] : 1),
    little: order === ">" ? false : order === "=" ? HOST_LITTLE : true,
  };
}

/** The descr string NumPy writes for a dtype (`<f8`, `|u1`, ...). */
export function descrOf(dtype: NpyDtype, little = true): string {
  for (const [k, v] of Object.entries(KINDS)) {
    if (v === dtype) {
      return (k.endsWith("1") ? "|" : little ? "<" : ">") + k;
    }
  }
  throw new RangeError(`unknown dtype ${JSON.stringify(dtype)}`);
}

/** IEEE 754 half precision to number. */
function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Returns a reader of one element at a byte offset of a DataView. */
export function elementReader(
  info: DtypeInfo,
): (dv: DataView, at: number) => number {
  const le = info.little;
  switch (info.dtype) {
    case "float64":
      return (dv, at) => dv.getFloat64(at, le);
    case "float32":
      return (dv, at) => dv.getFloat32(at, le);
    case "float16":
      return (dv, at) => half(dv.getUint16(at, le));
    case "int8":
      return (dv, at) => dv.getInt8(at);
    case "uint8":
      return (dv, at) => dv.getUint8(at);
    case "bool":
      return (dv, at) => (dv.getUint8(at) !== 0 ? 1 : 0);
    case "int16":
      return (dv, at) => dv.getInt16(at, le);
    case "uint16":
      return (dv, at) => dv.getUint16(at, le);
    case "int32":
      return (dv, at) => dv.getInt32(at, le);
    case "uint32":
      return (dv, at) => dv.getUint32(at, le);
    case "int64":
      return (dv, at) => Number(dv.getBigInt64(at, le));
    case "uint64":
      return (dv, at) => Number(dv.getBigUint64(at, le));
  }
}

/** Returns a writer of one element at a byte offset of a DataView. */
export function elementWriter(
  info: DtypeInfo,
): (dv: DataView, at: number, v: number) => void {
  const le = info.little;
  switch (info.dtype) {
    case "float64":
      return (dv, at, v) => dv.setFloat64(at, v, le);
    case "float32":
      return (dv, at, v) => dv.setFloat32(at, v, le);
    case "int32":
      return (dv, at, v) => dv.setInt32(at, v, le);
    case "int16":
      return (dv, at, v) => dv.setInt16(at, v, le);
    case "uint16":
      return (dv, at, v) => dv.setUint16(at, v, le);
    case "uint32":
      return (dv, at, v) => dv.setUint32(at, v, le);
    case "int8":
      return (dv, at, v) => dv.setInt8(at, v);
    case "uint8":
      return (dv, at, v) => dv.setUint8(at, v);
    case "bool":
      return (dv, at, v) => dv.setUint8(at, v ? 1 : 0);
    case "int64":
      return (dv, at, v) => dv.setBigInt64(at, BigInt(Math.trunc(v)), le);
    case "uint64":
      return (dv, at, v) => dv.setBigUint64(at, BigInt(Math.trunc(v)), le);
    case "float16":
      throw new RangeError("writing float16 NPY data is not supported");
  }
}

/** Whether typed-array views can be used directly for this dtype. */
export function isNativeFloat(info: DtypeInfo): boolean {
  return (info.dtype === "float64" || info.dtype === "float32") &&
    info.little === HOST_LITTLE;
}
