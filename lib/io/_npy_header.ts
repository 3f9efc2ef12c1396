/**
 * Private: the NPY preamble (magic, version, header dict).
 *
 * Format: NumPy Enhancement Proposal 1 and `numpy/lib/format.py` — the magic
 * `\x93NUMPY`, major/minor version bytes, a little-endian header length
 * (uint16 for version 1, uint32 for versions 2 and 3), then an ASCII (v1, v2)
 * or UTF-8 (v3) Python dict literal with `descr`, `fortran_order` and
 * `shape`, padded with spaces and a final `\n`. Data follows in C or Fortran
 * order.
 * @module
 */

import { DataFormatError } from "./errors.ts";
import { type DtypeInfo, parseDescr } from "./_dtype.ts";

/** The parsed preamble of an NPY file. */
export interface NpyPreamble {
  info: DtypeInfo;
  descr: string;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the first data byte. */
  dataOffset: number;
  /** Number of elements (product of shape). */
  count: number;
  version: [number, number];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * Parses the preamble from the first bytes of an NPY file. Returns the number
 * of bytes needed when `bytes` is too short to hold it.
 */
export function parseNpyPreamble(
  bytes: Uint8Array,
  base = 0,
): NpyPreamble | { need: number } {
  const n = Math.min(bytes.length, 6);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new DataFormatError(
        `not an NPY file: byte ${base + i} is 0x${
          bytes[i].toString(16).padStart(2, "0")
        }, expected the magic string \\x93NUMPY`,
        { offset: base + i },
      );
    }
  }
  if (bytes.length < 10) return { need: 10 };
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3) {
    throw new DataFormatError(
      `unsupported NPY format version ${major}.${minor} at byte ${base + 6}`,
      { offset: base + 6 },
    );
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) return { need: 8 + lenBytes };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataOffset = 8 + lenBytes + hlen;
  if (bytes.length < dataOffset) return { need: dataOffset };
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(8 + lenBytes, dataOffset),
  );
  const hoff = base + 8 + lenBytes;
  const bad = (what: string): never => {
    throw new DataFormatError(
      `malformed NPY header at byte ${hoff}: ${what} in ${
        JSON.stringify(text.trim())
      }`,
      { offset: hoff },
    );
  };
  if (!text.trimStart().startsWith("{")) bad("not a dict literal");
  const q = `['"]`;
  if (new RegExp(`${q}descr${q}\\s*:\\s*\\[`).test(text)) {
    throw new DataFormatError(
      `unsupported NPY dtype: structured arrays are not supported (header ${
        JSON.stringify(text.trim())
      })`,
      { offset: hoff },
    );
  }
  const dm = new RegExp(`${q}descr${q}\\s*:\\s*${q}([^'"]*)${q}`).exec(text);
  if (!dm) bad("no 'descr'");
  const fm = new RegExp(`${q}fortran_order${q}\\s*:\\s*(True|False)`).exec(
    text,
  );
  if (!fm) bad("no 'fortran_order'");
  const sm = new RegExp(`${q}shape${q}\\s*:\\s*\\(([^)]*)\\)`).exec(text);
  if (!sm) bad("no 'shape'");
  const shape: number[] = [];
  for (const part of sm![1].split(",")) {
    const s = part.trim().replace(/L$/, "");
    if (s === "") continue;
    if (!/^\d+$/.test(s)) bad(`shape entry ${JSON.stringify(s)}`);
    shape.push(Number(s));
  }
  const info = parseDescr(dm![1], hoff);
  let count = 1;
  for (const d of shape) count *= d;
  return {
    info,
    descr: dm![1],
    shape,
    fortranOrder: fm![1] === "True",
    dataOffset,
    count,
    version: [major, minor],
  };
}

/** Formats a shape like Python's tuple repr: `()`, `(3,)`, `(2, 3)`. */
export function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * Builds the preamble bytes NumPy would write (`format.write_array`,
 * version 1.0 when the header fits, else 2.0; total preamble length a
 * multiple of 64).
 */
export function buildNpyPreamble(
  descr: string,
  shape: readonly number[],
): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${
    shapeRepr(shape)
  }, }`;
  let major = 1;
  let fixed = 10;
  let total = Math.ceil((fixed + dict.length + 1) / 64) * 64;
  if (total - fixed > 0xffff) {
    major = 2;
    fixed = 12;
    total = Math.ceil((fixed + dict.length + 1) / 64) * 64;
  }
  const hlen = total - fixed;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, hlen, true);
  else dv.setUint32(8, hlen, true);
  const header = dict.padEnd(hlen - 1, " ") + "\n";
  for (let i = 0; i < header.length; i++) {
    out[fixed + i] = header.charCodeAt(i);
  }
  return out;
}
