/**
 * Versioned binary container for saved posteriors:
 * `"NFITPOST"` (8 bytes) | version u32 LE | JSON length u32 LE | JSON (UTF-8) |
 * zero padding to 4 bytes | float32 LE weights | CRC-32 (u32 LE) of all previous bytes.
 * @module
 */

/** Magic bytes at the start of every file. */
export const MAGIC = "NFITPOST";
/** Current format version. */
export const FORMAT_VERSION = 1;

let table: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320). */
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Packs a JSON header and weight arrays. */
export function pack(header: unknown, weights: Float32Array[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (4 - (json.length % 4)) % 4;
  const nW = weights.reduce((a, w) => a + w.length, 0);
  const total = 16 + json.length + pad + 4 * nW + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  let off = 16 + json.length + pad;
  for (const w of weights) {
    for (let i = 0; i < w.length; i++, off += 4) dv.setFloat32(off, w[i], true);
  }
  dv.setUint32(off, crc32(out.subarray(0, off)), true);
  return out;
}

/** Unpacks a container; weights are split by `shapes(header)`. */
export function unpack<H>(
  bytes: Uint8Array,
  shapes: (header: H) => number[][],
): { header: H; weights: Float32Array[] } {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("expected a Uint8Array");
  }
  if (bytes.length < 20) {
    throw new RangeError(
      `not a neurofit posterior file: only ${bytes.length} bytes`,
    );
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) {
    throw new RangeError(
      `not a neurofit posterior file: magic ${
        JSON.stringify(magic)
      }, expected "${MAGIC}"`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new RangeError(
      `unsupported posterior file version ${version} (this library reads version ${FORMAT_VERSION})`,
    );
  }
  const stored = dv.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) {
    throw new RangeError(
      `corrupt posterior file: checksum mismatch (stored ${
        stored.toString(16)
      }, computed ${actual.toString(16)})`,
    );
  }
  const jl = dv.getUint32(12, true);
  if (16 + jl > bytes.length - 4) {
    throw new RangeError(
      `corrupt posterior file: header length ${jl} too large`,
    );
  }
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + jl)));
  } catch (e) {
    throw new RangeError(
      `corrupt posterior file: bad JSON header (${(e as Error).message})`,
    );
  }
  const pad = (4 - (jl % 4)) % 4;
  let off = 16 + jl + pad;
  const weights: Float32Array[] = [];
  for (const s of shapes(header)) {
    const n = s.reduce((a, b) => a * b, 1);
    if (off + 4 * n > bytes.length - 4) {
      throw new RangeError("corrupt posterior file: weights truncated");
    }
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) w[i] = dv.getFloat32(off, true);
    weights.push(w);
  }
  if (off !== bytes.length - 4) {
    throw new RangeError(
      "corrupt posterior file: trailing bytes after the weights",
    );
  }
  return { header, weights };
}

/**
 * Unpacks a posterior file of one kind: the header must have this format and
 * `kind` and hold the network configuration `key` (whose `weightShapes` split
 * the weights).
 * @param bytes the file
 * @param kind expected header kind, e.g. `"DirectPosterior"`
 * @param key header field of the network configuration
 * @returns header and weights
 * @throws {RangeError} for another kind or a damaged file
 */
export function unpackKind<H>(
  bytes: Uint8Array,
  kind: string,
  key: keyof H & string,
): { header: H; weights: Float32Array[] } {
  return unpack<H>(bytes, (h) => {
    const r = h as Record<string, unknown> | null;
    const net = r?.[key] as { weightShapes?: number[][] } | undefined;
    if (
      r?.format !== "neurofit-posterior" || r.kind !== kind ||
      !net?.weightShapes
    ) {
      throw new RangeError(
        `not a neurofit ${kind} file (header kind ${JSON.stringify(r?.kind)})`,
      );
    }
    return net.weightShapes;
  });
}
