/**
 * NPZ files (NumPy's `np.savez` / `np.savez_compressed`): a ZIP archive with
 * one `.npy` member per array.
 *
 * Reading uses the ZIP central directory (PKWARE APPNOTE.TXT §4.3), accepts
 * stored (method 0) and deflated (method 8) members, the ZIP64 extra fields
 * NumPy writes (`force_zip64=True`), and checks every member's CRC-32.
 * Writing produces stored members like `np.savez` (or deflated ones with
 * `compress: true`, like `np.savez_compressed`).
 * @module
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DataFormatError } from "./errors.ts";
import { type PathLike, writeFileBytes } from "./files.ts";
import { type BinarySource, sourceBytes } from "./_bytes.ts";
import {
  decodeNpy,
  encodeNpy,
  type NpyArray,
  type NpyInput,
  type NpyReadOptions,
  type NpyWriteOptions,
} from "./npy.ts";

const CRC_TABLE = (() => {
  // CRC-32 of ISO 3309 / ITU-T V.42 as used by ZIP: reflected polynomial
  // 0xEDB88320, initial value and final xor 0xFFFFFFFF.
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (the ZIP/PNG/zlib checksum) of some bytes.
 * @param bytes the data
 * @returns the checksum as an unsigned 32-bit integer
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crc32 } from "./npz.ts";
 * assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** One member of a ZIP archive. */
interface ZipEntry {
  /** Byte offset of the entry's central directory record. */
  central: number;
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function u16(dv: DataView, at: number): number {
  return dv.getUint16(at, true);
}
function u32(dv: DataView, at: number): number {
  return dv.getUint32(at, true);
}
function u64(dv: DataView, at: number): number {
  return Number(dv.getBigUint64(at, true));
}

/** Reads the central directory of a ZIP archive. */
function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (msg: string, offset: number): never => {
    throw new DataFormatError(`malformed NPZ (ZIP) file: ${msg}`, { offset });
  };
  // End of central directory record: 22 bytes + comment (<= 65535).
  let eocd = -1;
  for (
    let i = bytes.length - 22;
    i >= Math.max(0, bytes.length - 22 - 65535);
    i--
  ) {
    if (u32(dv, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    fail(
      `no end-of-central-directory record in ${bytes.length} bytes (not a ZIP file, or truncated)`,
      bytes.length,
    );
  }
  let count = u16(dv, eocd + 10);
  let cdSize = u32(dv, eocd + 12);
  let cdOffset = u32(dv, eocd + 16);
  if (
    (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) &&
    eocd >= 20 && u32(dv, eocd - 20) === 0x07064b50
  ) {
    const z64 = u64(dv, eocd - 20 + 8);
    if (z64 + 56 > bytes.length || u32(dv, z64) !== 0x06064b50) {
      fail(
        `bad ZIP64 end-of-central-directory record at byte ${z64} (its locator is at byte ${
          eocd - 20
        })`,
        eocd - 20 + 8,
      );
    }
    count = u64(dv, z64 + 32);
    cdSize = u64(dv, z64 + 40);
    cdOffset = u64(dv, z64 + 48);
  }
  if (cdOffset + cdSize > bytes.length) {
    fail(
      `central directory at bytes ${cdOffset}..${
        cdOffset + cdSize
      } lies beyond the end of the ${bytes.length}-byte file (truncated?)`,
      cdOffset <= bytes.length ? cdOffset : eocd + 16,
    );
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || u32(dv, p) !== 0x02014b50) {
      fail(`bad central directory entry ${k}`, p);
    }
    const flags = u16(dv, p + 8);
    const method = u16(dv, p + 10);
    const crc = u32(dv, p + 16);
    let compressedSize = u32(dv, p + 20);
    let size = u32(dv, p + 24);
    const nameLen = u16(dv, p + 28);
    const extraLen = u16(dv, p + 30);
    const commentLen = u16(dv, p + 32);
    let localOffset = u32(dv, p + 42);
    const entryEnd = p + 46 + nameLen + extraLen + commentLen;
    if (entryEnd > cdOffset + cdSize) {
      fail(
        `central directory entry ${k} at byte ${p}: name (${nameLen}), extra field (${extraLen}) and comment (${commentLen}) lengths reach byte ${entryEnd}, past the end of the directory at byte ${
          cdOffset + cdSize
        }`,
        p + 28,
      );
    }
    const nameBytes = bytes.subarray(p + 46, p + 46 + nameLen);
    const name = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(
      nameBytes,
    );
    // ZIP64 extended information extra field (header id 0x0001): the 64-bit
    // values present are those whose 32-bit field is 0xFFFFFFFF, in order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = u16(dv, e);
      const len = u16(dv, e + 2);
      if (e + 4 + len > eEnd) {
        fail(
          `central directory entry ${k}: extra field at byte ${e} declares ${len} bytes, past the end of the entry's extra data at byte ${eEnd}`,
          e + 2,
        );
      }
      if (id === 0x0001) {
        let q = e + 4;
        const need = (size === 0xffffffff ? 8 : 0) +
          (compressedSize === 0xffffffff ? 8 : 0) +
          (localOffset === 0xffffffff ? 8 : 0);
        if (need > len) {
          fail(
            `central directory entry ${k}: ZIP64 extra field at byte ${e} holds ${len} bytes, the entry needs ${need}`,
            e + 2,
          );
        }
        if (size === 0xffffffff) (size = u64(dv, q)), (q += 8);
        if (compressedSize === 0xffffffff) {
          (compressedSize = u64(dv, q)), (q += 8);
        }
        if (localOffset === 0xffffffff) localOffset = u64(dv, q);
      }
      e += 4 + len;
    }
    entries.push({
      central: p,
      name,
      method,
      flags,
      crc,
      compressedSize,
      size,
      localOffset,
    });
    p = eEnd + commentLen;
  }
  return entries;
}

/** Byte offset of a member's (stored or deflated) data in the archive. */
function memberStart(bytes: Uint8Array, e: ZipEntry): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return e.localOffset + 30 + u16(dv, e.localOffset + 26) +
    u16(dv, e.localOffset + 28);
}

/** Extracts and checks one member. */
function zipMember(bytes: Uint8Array, e: ZipEntry): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = e.localOffset;
  if (at + 30 > bytes.length || u32(dv, at) !== 0x04034b50) {
    throw new DataFormatError(
      `malformed NPZ (ZIP) file: no local header for member ${
        JSON.stringify(e.name)
      } at byte ${at} (the offset stored at byte ${e.central + 42})`,
      { offset: at + 30 > bytes.length ? e.central + 42 : at },
    );
  }
  if (e.flags & 1) {
    throw new DataFormatError(
      `NPZ member ${JSON.stringify(e.name)} is encrypted`,
      { offset: at },
    );
  }
  const start = at + 30 + u16(dv, at + 26) + u16(dv, at + 28);
  const end = start + e.compressedSize;
  if (end > bytes.length) {
    throw new DataFormatError(
      `truncated NPZ file: member ${
        JSON.stringify(e.name)
      } needs bytes ${start}..${end}, the file has ${bytes.length}`,
      { offset: bytes.length },
    );
  }
  const raw = bytes.subarray(start, end);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    // Deflate expands at most 1032:1 (a 258-byte match costs at least 2 bits,
    // RFC 1951 §3.2.5); a declared size beyond that is a lie, and the output
    // is capped at the declared size so a bomb stops there.
    if (e.size > e.compressedSize * 1032 + 64) {
      throw new DataFormatError(
        `NPZ member ${
          JSON.stringify(e.name)
        }: declared size ${e.size} bytes cannot come from ${e.compressedSize} deflated bytes (at most 1032:1)`,
        { offset: at },
      );
    }
    try {
      data = new Uint8Array(
        inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) }),
      );
    } catch (err) {
      const tooBig = (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
      throw new DataFormatError(
        tooBig
          ? `NPZ member ${
            JSON.stringify(e.name)
          }: deflate data at byte ${start} inflates to more than the ${e.size} bytes the directory declares`
          : `NPZ member ${
            JSON.stringify(e.name)
          }: corrupt deflate data at byte ${start}: ${(err as Error).message}`,
        { offset: start },
      );
    }
  } else {
    throw new DataFormatError(
      `NPZ member ${
        JSON.stringify(e.name)
      } uses ZIP compression method ${e.method} (only 0 stored and 8 deflate are supported)`,
      { offset: at },
    );
  }
  if (data.length !== e.size) {
    throw new DataFormatError(
      `NPZ member ${
        JSON.stringify(e.name)
      }: ${data.length} bytes, the directory says ${e.size}`,
      { offset: start },
    );
  }
  const c = crc32(data);
  if (c !== e.crc) {
    throw new DataFormatError(
      `NPZ member ${JSON.stringify(e.name)}: CRC-32 0x${
        c.toString(16).padStart(8, "0")
      } does not match the stored 0x${e.crc.toString(16).padStart(8, "0")}`,
      { offset: start },
    );
  }
  return data;
}

/**
 * Decodes an NPZ archive into its arrays, keyed like NumPy's `NpzFile`
 * (member name without the `.npy` suffix). Members not ending in `.npy` are
 * skipped.
 *
 * @param bytes the whole file
 * @param options passed to {@linkcode decodeNpy} for every member
 * @returns the arrays by name
 * @throws {DataFormatError} on a malformed archive, a CRC mismatch, or a
 *   malformed member
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpz, encodeNpz } from "./npz.ts";
 * const z = decodeNpz(encodeNpz({ theta: [[1, 2], [3, 4]], x: new Float32Array([5]) }));
 * assert(z.theta.shape.join() === "2,2" && z.x.dtype === "float32");
 * ```
 */
export function decodeNpz(
  bytes: Uint8Array,
  options: NpyReadOptions = {},
): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = {};
  for (const e of zipEntries(bytes)) {
    if (!e.name.endsWith(".npy")) continue;
    const member = zipMember(bytes, e);
    try {
      out[e.name.slice(0, -4)] = decodeNpy(member, options);
    } catch (err) {
      if (err instanceof DataFormatError) {
        // the member's offsets are within its (inflated) bytes; the error's
        // offset is the member's position in the file plus that
        const at = memberStart(bytes, e);
        throw new DataFormatError(
          `NPZ member ${
            JSON.stringify(e.name)
          } (data at byte ${at} of the archive): ${err.message}`,
          { offset: at + (e.method === 0 ? err.offset ?? 0 : 0) },
        );
      }
      throw err;
    }
  }
  return out;
}

/** Options of {@linkcode encodeNpz} and {@linkcode writeNpz}. */
export interface NpzWriteOptions extends NpyWriteOptions {
  /** Deflate the members, like `np.savez_compressed`. Default false (`np.savez`). */
  compress?: boolean;
}

/**
 * Encodes arrays as an NPZ archive (`name.npy` members, stored like
 * `np.savez`, or deflated with `compress: true`).
 *
 * @param arrays arrays by name; each as accepted by {@linkcode encodeNpy}
 * @param options dtype/byte order for every member, and compression
 * @returns the file bytes
 * @throws {TypeError} on a bad array
 * @throws {RangeError} when the archive would need ZIP64 (> 4 GiB)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpz } from "./npz.ts";
 * const bytes = encodeNpz({ theta: new Float32Array([0.1, 0.2]), x: [[1, 2]] });
 * assert(bytes[0] === 0x50 && bytes[1] === 0x4b); // "PK"
 * ```
 */
export function encodeNpz(
  arrays: Record<string, NpyInput>,
  options: NpzWriteOptions = {},
): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  const names = Object.keys(arrays);
  for (const key of names) {
    const data = encodeNpy(arrays[key], options);
    const stored = options.compress
      ? new Uint8Array(deflateRawSync(data))
      : data;
    const name = enc.encode(key + ".npy");
    // deno-lint-ignore no-control-regex
    const utf8 = /[^\x00-\x7f]/.test(key) ? 0x800 : 0;
    const crc = crc32(data);
    if (offset > 0xfffffffe || data.length > 0xfffffffe) {
      throw new RangeError(
        `encodeNpz: archive exceeds 4 GiB at member ${
          JSON.stringify(key)
        } (ZIP64 writing is not supported)`,
      );
    }
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, utf8, true);
    lv.setUint16(8, options.compress ? 8 : 0, true);
    lv.setUint16(10, 0, true); // DOS time 00:00:00
    lv.setUint16(12, 0x21, true); // DOS date 1980-01-01 (as NumPy writes)
    lv.setUint32(14, crc, true);
    lv.setUint32(18, stored.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 0, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true); // version made by: 2.0, MS-DOS
    cv.setUint16(6, 20, true);
    cv.setUint16(8, utf8, true);
    cv.setUint16(10, options.compress ? 8 : 0, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, stored.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, stored);
    centrals.push(central);
    offset += local.length + stored.length;
  }
  let cdSize = 0;
  for (const c of centrals) cdSize += c.length;
  if (offset + cdSize > 0xfffffffe || names.length > 0xfffe) {
    throw new RangeError(
      "encodeNpz: archive exceeds the ZIP limits (4 GiB, 65535 members)",
    );
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, names.length, true);
  ev.setUint16(10, names.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/**
 * Reads an NPZ archive from a path, bytes or a byte stream.
 *
 * @param source file path/URL, bytes, or a stream of bytes
 * @param options passed to {@linkcode decodeNpy}
 * @returns the arrays by name
 * @throws {DataFormatError} on malformed content
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpz, readNpz } from "./npz.ts";
 * const z = await readNpz(encodeNpz({ a: [1, 2, 3] }, { compress: true }));
 * assert(z.a.data[2] === 3);
 * ```
 */
export async function readNpz(
  source: BinarySource,
  options: NpyReadOptions = {},
): Promise<Record<string, NpyArray>> {
  return decodeNpz(await sourceBytes(source), options);
}

/**
 * Writes arrays to an NPZ file; see {@linkcode encodeNpz}.
 * @param path destination
 * @param arrays arrays by name
 * @param options dtype, byte order, compression
 * @returns when written
 * @throws {TypeError} on a bad array
 */
export async function writeNpz(
  path: PathLike,
  arrays: Record<string, NpyInput>,
  options: NpzWriteOptions = {},
): Promise<void> {
  await writeFileBytes(path, encodeNpz(arrays, options));
}
