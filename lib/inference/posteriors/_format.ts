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

/**
 * A posterior file that is not one, is damaged, or describes something that
 * cannot be rebuilt: wrong magic, newer version, checksum mismatch, bad JSON,
 * weight shapes that do not match the stored bytes, a network configuration
 * inconsistent with its weights, another kind than asked for. `offset` is the
 * byte offset of the problem in the file. A `RangeError`, as these errors
 * were before they had their own class.
 */
export class PosteriorFileError extends RangeError {
  /** 0-based byte offset of the problem in the file. */
  readonly offset: number;
  /** The file's kind tag (`"DirectPosterior"`, ...) when it was read. */
  readonly kind?: string;

  /**
   * A file error at a byte offset.
   *
   * @param message what is wrong
   * @param offset byte offset in the file
   * @param kind the file's kind tag, when known
   */
  constructor(message: string, offset: number, kind?: string) {
    super(message);
    this.name = "PosteriorFileError";
    this.offset = offset;
    if (kind !== undefined) this.kind = kind;
  }
}

/** The checked parts of a container: the parsed header and where weights start. */
interface Container {
  header: unknown;
  /** Byte offset of the first weight. */
  weightsAt: number;
  /** Bytes of weights (up to the checksum). */
  weightBytes: number;
}

/** Checks magic, version, checksum and JSON; allocates nothing big. */
function readContainer(bytes: Uint8Array): Container {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("expected a Uint8Array");
  }
  if (bytes.length < 20) {
    throw new PosteriorFileError(
      `not a neurofit posterior file: only ${bytes.length} bytes`,
      bytes.length,
    );
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) {
    throw new PosteriorFileError(
      `not a neurofit posterior file: magic ${
        JSON.stringify(magic)
      }, expected "${MAGIC}"`,
      0,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new PosteriorFileError(
      `unsupported posterior file version ${version} at byte 8 (this library reads version ${FORMAT_VERSION})`,
      8,
    );
  }
  const stored = dv.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4));
  if (stored !== actual) {
    throw new PosteriorFileError(
      `corrupt posterior file: checksum mismatch at byte ${
        bytes.length - 4
      } (stored ${stored.toString(16)}, computed ${actual.toString(16)})`,
      bytes.length - 4,
    );
  }
  const jl = dv.getUint32(12, true);
  if (16 + jl > bytes.length - 4) {
    throw new PosteriorFileError(
      `corrupt posterior file: header length ${jl} at byte 12 runs past the ${bytes.length}-byte file`,
      12,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + jl)));
  } catch (e) {
    throw new PosteriorFileError(
      `corrupt posterior file: bad JSON header at byte 16 (${
        (e as Error).message
      })`,
      16,
    );
  }
  const pad = (4 - (jl % 4)) % 4;
  const weightsAt = 16 + jl + pad;
  if (weightsAt > bytes.length - 4) {
    throw new PosteriorFileError(
      `corrupt posterior file: header padding runs past the weights at byte ${weightsAt}`,
      16 + jl,
    );
  }
  return { header, weightsAt, weightBytes: bytes.length - 4 - weightsAt };
}

/**
 * The kind tag of a posterior file (`"DirectPosterior"`,
 * `"LikelihoodPosterior"`, `"RatioPosterior"`), after checking its magic,
 * version, checksum and header.
 * @param bytes the file
 * @returns the kind
 * @throws {PosteriorFileError} for a foreign or damaged file
 */
export function posteriorFileKind(bytes: Uint8Array): string {
  const { header } = readContainer(bytes);
  const r = header as Record<string, unknown> | null;
  if (
    typeof r !== "object" || r === null || r.format !== "neurofit-posterior" ||
    typeof r.kind !== "string"
  ) {
    throw new PosteriorFileError(
      `not a neurofit posterior file: the header at byte 16 has no format "neurofit-posterior" and kind`,
      16,
    );
  }
  return r.kind;
}

/**
 * Checks weight shapes read from a header: a list of lists of non-negative
 * integers whose elements fill exactly `weightBytes` bytes of float32.
 * @returns the total element count
 */
function checkShapes(
  shapes: unknown,
  weightsAt: number,
  weightBytes: number,
): number {
  if (!Array.isArray(shapes)) {
    throw new PosteriorFileError(
      "corrupt posterior file: weightShapes in the header (byte 16) is not a list",
      16,
    );
  }
  let total = 0;
  shapes.forEach((s, i) => {
    if (
      !Array.isArray(s) ||
      !s.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      throw new PosteriorFileError(
        `corrupt posterior file: weight shape ${i} in the header (byte 16) is ${
          JSON.stringify(s)?.slice(0, 80)
        }, not a list of non-negative integers`,
        16,
      );
    }
    const n = s.reduce((a: number, b: number) => a * b, 1);
    total += n;
  });
  if (!(total * 4 === weightBytes)) {
    throw new PosteriorFileError(
      `corrupt posterior file: the header's weight shapes hold ${total} float32 values (${
        total * 4
      } bytes) but the file has ${weightBytes} bytes of weights at byte ${weightsAt}`,
      weightsAt,
    );
  }
  return total;
}

/** Unpacks a container; weights are split by `shapes(header)`. */
export function unpack<H>(
  bytes: Uint8Array,
  shapes: (header: H) => number[][],
): { header: H; weights: Float32Array[] } {
  const { header, weightsAt, weightBytes } = readContainer(bytes);
  const list = shapes(header as H);
  // sizes checked against the bytes before anything is allocated
  checkShapes(list, weightsAt, weightBytes);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = weightsAt;
  const weights: Float32Array[] = [];
  for (const s of list) {
    const n = s.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) w[i] = dv.getFloat32(off, true);
    weights.push(w);
  }
  return { header: header as H, weights };
}

const SIZE_FIELDS = [
  "thetaDim",
  "xDim",
  "hiddenFeatures",
  "numTransforms",
  "numBins",
  "numComponents",
  "numBlocks",
  "numLayers",
  "outputDim",
];

/**
 * Checks the size fields of a network configuration read from a file before
 * anything is built from it: every size a non-negative integer, `thetaDim`
 * and `xDim` at least 1 and equal to the lengths of the z-score statistics
 * stored with them.
 * @param cfg the configuration (untrusted JSON)
 * @param kind the file's kind, for messages
 * @throws {PosteriorFileError} (offset 16, the header) on a bad value
 */
export function checkNetworkConfig(cfg: unknown, kind: string): void {
  const bad = (what: string): never => {
    throw new PosteriorFileError(
      `corrupt ${kind} file: ${what} in the header (byte 16)`,
      16,
      kind,
    );
  };
  if (typeof cfg !== "object" || cfg === null) bad("no network configuration");
  const c = cfg as Record<string, unknown>;
  const walk = (o: Record<string, unknown>, path: string) => {
    for (const k of SIZE_FIELDS) {
      if (!(k in o)) continue;
      const v = o[k];
      if (!Number.isSafeInteger(v) || (v as number) < 0) {
        bad(`${path}${k} = ${JSON.stringify(v)} is not a non-negative integer`);
      }
    }
  };
  walk(c, "");
  if (typeof c.embedding === "object" && c.embedding !== null) {
    walk(c.embedding as Record<string, unknown>, "embedding.");
  }
  for (const k of ["thetaDim", "xDim"]) {
    if (!((c[k] as number) >= 1)) {
      bad(`${k} = ${JSON.stringify(c[k])} is not a positive integer`);
    }
  }
  const z = c.zscore as Record<string, unknown> | undefined;
  if (typeof z === "object" && z !== null) {
    for (
      const [k, dim] of [
        ["thetaMean", "thetaDim"],
        ["thetaStd", "thetaDim"],
        ["xMean", "xDim"],
        ["xStd", "xDim"],
      ] as const
    ) {
      const a = z[k];
      if (a === undefined) continue;
      if (!Array.isArray(a) || a.length !== c[dim]) {
        bad(
          `zscore.${k} has ${
            Array.isArray(a) ? a.length : "no"
          } values for ${dim} = ${c[dim]}`,
        );
      }
    }
  }
}

/**
 * Unpacks a posterior file of one kind: the header must have this format and
 * `kind` and hold the network configuration `key` (whose `weightShapes` split
 * the weights).
 * @param bytes the file
 * @param kind expected header kind, e.g. `"DirectPosterior"`
 * @param key header field of the network configuration
 * @returns header and weights
 * @throws {PosteriorFileError} for another kind or a damaged file
 */
export function unpackKind<H>(
  bytes: Uint8Array,
  kind: string,
  key: keyof H & string,
): { header: H; weights: Float32Array[] } {
  return unpack<H>(bytes, (h) => {
    const r = h as Record<string, unknown> | null;
    if (
      typeof r !== "object" || r === null ||
      r.format !== "neurofit-posterior" || r.kind !== kind
    ) {
      throw new PosteriorFileError(
        `not a neurofit ${kind} file (header kind ${JSON.stringify(r?.kind)})`,
        16,
        typeof r?.kind === "string" ? r.kind : undefined,
      );
    }
    const net = r[key] as { weightShapes?: unknown } | undefined;
    if (typeof net !== "object" || net === null) {
      throw new PosteriorFileError(
        `corrupt ${kind} file: no ${key} configuration in the header (byte 16)`,
        16,
        kind,
      );
    }
    checkNetworkConfig(net, kind);
    return net.weightShapes as number[][];
  });
}
