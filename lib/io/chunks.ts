/**
 * Incremental readers: recordings read in chunks of a fixed number of
 * samples from a byte stream, never holding the whole file.
 *
 * Layouts (time runs along the first axis in every format):
 * - `"f32"`, `"f64"`: raw little-endian samples interleaved by channel
 *   (see `raw.ts`); `channels` option (default 1, or the sidecar's when the
 *   source is a path with a `<path>.json` sidecar).
 * - `"npy"`: an NPY file of shape `(nSamples,)` (one channel) or
 *   `(nSamples, nChannels)`; further axes are flattened into channels. Any
 *   dtype `decodeNpy` reads. Fortran-order files with more than one channel
 *   cannot be read sample by sample and are rejected.
 * - `"csv"`: one line per sample, one column per channel; header and index
 *   column detected as in `parseCsvMatrix`.
 *
 * Every chunk holds exactly `chunkSamples` samples except the last, which
 * holds the rest; so chunk boundaries depend only on the data, not on how the
 * bytes arrive. Each chunk has fresh arrays (consumers may keep them).
 * @module
 */

import { DataFormatError } from "./errors.ts";
import { openFileStream, type PathLike, readFilePieces } from "./files.ts";
import { type ByteChunks, iterateBytes } from "./_bytes.ts";
import { atOffset, CsvRowDecoder } from "./_csv_rows.ts";
import { type DtypeInfo, elementReader, isNativeFloat } from "./_dtype.ts";
import {
  type NpyPreamble,
  parseNpyPreamble,
  shapeRepr,
} from "./_npy_header.ts";
import type { CsvReadOptions } from "./csv_options.ts";
import { MAX_RAW_CHANNELS, rawItemSize, readRawDescription } from "./raw.ts";
import type { RecordingChunk } from "./_chunk_type.ts";
import { recordingChunks } from "./recordings.ts";

/** Formats {@linkcode readChunks} reads. */
export type ChunkFormat = "f32" | "f64" | "csv" | "npy" | "abf" | "nwb";

/** Options of {@linkcode readChunks}. */
export interface ReadChunksOptions
  extends
    Pick<CsvReadOptions, "header" | "indexColumn" | "delimiter" | "missing"> {
  /** The file format. */
  format: ChunkFormat;
  /** Samples per chunk (the last chunk may be shorter). Default 65536. */
  chunkSamples?: number;
  /**
   * Number of channels. Raw formats: default 1 (or the sidecar's). CSV and
   * NPY: taken from the data; when given, it must match.
   */
  channels?: number;
  /** Factor applied to every value, e.g. `1e-3` for mV → V. Default 1. */
  scale?: number;
  /**
   * Reuse memory (raw formats and ABF): a chunk's channel arrays are
   * recycled once the next chunk is requested, and a file is read into one
   * reused buffer, so that streaming allocates nothing per chunk once
   * started. For consumers that copy or use each chunk before asking for
   * the next (the streamed fitters). Default false (every chunk has its own
   * arrays).
   */
  reuseBuffers?: boolean;
  /** ABF: sweeps to read one after the other (default all). */
  sweeps?: readonly number[];
  /**
   * CSV: longest accepted line in bytes; a longer one is a
   * {@linkcode DataFormatError} as soon as its bytes pass the limit.
   * Default {@linkcode MAX_CSV_LINE_BYTES} (1 MiB).
   */
  maxLineBytes?: number;
  /**
   * ABF: channels by name or position (default all); NWB: series names
   * (default the first response series). Values are in SI units.
   */
  select?: readonly (string | number)[];
}

export type { RecordingChunk } from "./_chunk_type.ts";

/** Default longest CSV line of {@linkcode readChunks} (1 MiB). */
export const MAX_CSV_LINE_BYTES: number = 1024 * 1024;

/** What {@linkcode readChunks} reads: a path, bytes, or a byte stream. */
export type ChunkSource = PathLike | Uint8Array | ByteChunks;

/** Collects values into chunks of `size` samples × `channels`. */
class ChunkBuilder {
  readonly ready: RecordingChunk[] = [];
  #bufs: Float64Array[] = [];
  fill = 0;
  ch = 0;
  start = 0;
  /** With reuse: channel-array sets free for the next chunk. */
  readonly #free: Float64Array[][] | null;
  constructor(
    readonly channels: number,
    readonly size: number,
    readonly scale: number,
    reuse = false,
  ) {
    this.#free = reuse ? [] : null;
    this.#alloc();
  }
  #alloc(): void {
    this.#bufs = this.#free?.pop() ??
      Array.from({ length: this.channels }, () => new Float64Array(this.size));
  }
  /** With reuse: the arrays of a chunk the consumer is done with. */
  release(bufs: Float64Array[]): void {
    if (
      this.#free && bufs.length === this.channels &&
      bufs[0]?.length === this.size
    ) {
      this.#free.push(bufs);
    }
  }
  /** Sample index of the next value. */
  get position(): number {
    return this.start + this.fill;
  }
  value(v: number): void {
    this.#bufs[this.ch][this.fill] = v * this.scale;
    if (++this.ch === this.channels) {
      this.ch = 0;
      if (++this.fill === this.size) this.flush();
    }
  }
  /** Appends interleaved values (continuing at the current channel). */
  values(src: Float64Array | Float32Array): void {
    const k = this.channels;
    const scale = this.scale;
    let i = 0;
    const n = src.length;
    // finish a partly filled sample one value at a time
    while (i < n && this.ch !== 0) this.value(src[i++]);
    while (i < n) {
      const room = Math.min(this.size - this.fill, Math.floor((n - i) / k));
      if (room === 0) break;
      const f = this.fill;
      if (k === 1) {
        const b = this.#bufs[0];
        if (scale === 1) b.set(src.subarray(i, i + room), f);
        else for (let j = 0; j < room; j++) b[f + j] = src[i + j] * scale;
      } else {
        for (let c = 0; c < k; c++) {
          const b = this.#bufs[c];
          for (let j = 0, q = i + c; j < room; j++, q += k) {
            b[f + j] = src[q] * scale;
          }
        }
      }
      i += room * k;
      this.fill += room;
      if (this.fill === this.size) this.flush();
    }
    while (i < n) this.value(src[i++]);
  }
  row(values: Float64Array): void {
    for (let c = 0; c < this.channels; c++) {
      this.#bufs[c][this.fill] = values[c] * this.scale;
    }
    if (++this.fill === this.size) this.flush();
  }
  flush(): void {
    if (this.fill === 0) return;
    const n = this.fill;
    this.ready.push({
      start: this.start,
      samples: n,
      channels: n === this.size
        ? this.#bufs
        : this.#bufs.map((b) => b.slice(0, n)),
    });
    this.start += n;
    this.fill = 0;
    if (n === this.size) this.#alloc();
  }
}

/** Decodes fixed-size elements from byte pieces split anywhere. */
class ElementDecoder {
  readonly #read: (dv: DataView, at: number) => number;
  readonly #size: number;
  readonly #native: boolean;
  readonly #carry: Uint8Array;
  readonly #carryView: DataView;
  carryLen = 0;
  count = 0;
  constructor(info: DtypeInfo, readonly limit: number) {
    this.#read = elementReader(info);
    this.#native = isNativeFloat(info);
    this.#size = info.size;
    this.#carry = new Uint8Array(info.size);
    this.#carryView = new DataView(this.#carry.buffer);
  }
  /** Feeds bytes; returns true when `limit` elements have been decoded. */
  feed(piece: Uint8Array, out: ChunkBuilder): boolean {
    const size = this.#size;
    let p = 0;
    if (this.count >= this.limit) return true;
    if (this.carryLen > 0) {
      const need = size - this.carryLen;
      const take = Math.min(need, piece.length);
      this.#carry.set(piece.subarray(0, take), this.carryLen);
      this.carryLen += take;
      p = take;
      if (this.carryLen < size) return false;
      out.value(this.#read(this.#carryView, 0));
      this.carryLen = 0;
      if (++this.count >= this.limit) return true;
    }
    const left = Math.min(
      Math.floor((piece.length - p) / size),
      this.limit - this.count,
    );
    if (left > 0) {
      const at = piece.byteOffset + p;
      if (this.#native && at % size === 0) {
        // aligned native floats: read through a typed-array view
        out.values(
          size === 8
            ? new Float64Array(piece.buffer, at, left)
            : new Float32Array(piece.buffer, at, left),
        );
      } else {
        const tmp = new Float64Array(left);
        const dv = new DataView(piece.buffer, at, left * size);
        const read = this.#read;
        for (let i = 0, q = 0; i < left; i++, q += size) tmp[i] = read(dv, q);
        out.values(tmp);
      }
      this.count += left;
      p += left * size;
    }
    if (this.count >= this.limit) return true;
    const rest = piece.length - p;
    if (rest > 0) {
      this.#carry.set(piece.subarray(p), 0);
      this.carryLen = rest;
    }
    return false;
  }
}

function checkChunkSamples(n: number | undefined): number {
  const v = n ?? 65536;
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`chunkSamples must be a positive integer, got ${v}`);
  }
  return v;
}

async function* rawChunks(
  pieces: AsyncIterable<Uint8Array>,
  format: "f32" | "f64",
  channels: number,
  chunkSamples: number,
  scale: number,
  reuse = false,
): AsyncGenerator<RecordingChunk, void, undefined> {
  const size = rawItemSize(format);
  const dec = new ElementDecoder(
    { dtype: format === "f32" ? "float32" : "float64", size, little: true },
    Infinity,
  );
  const out = new ChunkBuilder(channels, chunkSamples, scale, reuse);
  let bytes = 0;
  // with reuse, a chunk's arrays go back to the builder when the consumer
  // asks for the next chunk
  const emit = function* () {
    for (const c of out.ready.splice(0)) {
      yield c;
      if (reuse) out.release(c.channels);
    }
  };
  for await (const piece of pieces) {
    bytes += piece.length;
    dec.feed(piece, out);
    yield* emit();
  }
  if (dec.carryLen > 0 || out.ch !== 0) {
    const frame = size * channels;
    const at = out.position * frame;
    throw new DataFormatError(
      `raw ${format} stream of ${bytes} bytes is not a multiple of ${channels} channel(s) × ${size} bytes = ${frame}: incomplete sample ${out.position} at byte offset ${at} (${
        bytes - at
      } trailing bytes)`,
      { offset: at },
    );
  }
  out.flush();
  yield* emit();
}

async function* npyChunks(
  pieces: AsyncIterable<Uint8Array>,
  options: ReadChunksOptions,
  chunkSamples: number,
  scale: number,
): AsyncGenerator<RecordingChunk, void, undefined> {
  let head = new Uint8Array(0);
  let pre: NpyPreamble | undefined;
  let dec: ElementDecoder | undefined;
  let out: ChunkBuilder | undefined;
  let bytes = 0;
  let done = false;
  for await (const piece of pieces) {
    bytes += piece.length;
    if (done) continue; // trailing bytes are ignored, as NumPy does
    let data = piece;
    if (!pre) {
      const joined = new Uint8Array(head.length + piece.length);
      joined.set(head, 0);
      joined.set(piece, head.length);
      const r = parseNpyPreamble(joined);
      if ("need" in r) {
        head = joined;
        continue;
      }
      pre = r;
      const shape = r.shape;
      const samples = shape.length === 0 ? 1 : shape[0];
      const chans = shape.length === 0
        ? 1
        : shape.slice(1).reduce((a, b) => a * b, 1);
      // a crafted shape must not size the chunk buffers (chans x chunkSamples)
      if (!(chans <= MAX_RAW_CHANNELS)) {
        throw new DataFormatError(
          `NPY shape ${
            shapeRepr(shape)
          } has ${chans} channels, more than the ${MAX_RAW_CHANNELS} a chunked read allows`,
          { offset: 8 },
        );
      }
      if (options.channels !== undefined && options.channels !== chans) {
        throw new DataFormatError(
          `NPY shape ${
            shapeRepr(shape)
          } has ${chans} channel(s), options.channels is ${options.channels}`,
          { offset: 8 },
        );
      }
      if (r.fortranOrder && chans > 1 && samples > 1) {
        throw new TypeError(
          `NPY file of shape ${
            shapeRepr(shape)
          } is in Fortran order: its samples are not contiguous, so it cannot be read in chunks; use decodeNpy`,
        );
      }
      dec = new ElementDecoder(r.info, r.count);
      out = new ChunkBuilder(chans === 0 ? 1 : chans, chunkSamples, scale);
      data = joined.subarray(r.dataOffset);
      head = new Uint8Array(0);
      if (r.count === 0) {
        done = true;
        continue;
      }
    }
    done = dec!.feed(data, out!);
    yield* out!.ready.splice(0);
  }
  if (!pre) {
    const r = parseNpyPreamble(head);
    const need = "need" in r ? r.need : 10;
    throw new DataFormatError(
      `truncated NPY stream: the preamble needs ${need} bytes, got ${bytes}`,
      { offset: bytes },
    );
  }
  if (dec!.count < pre.count) {
    const expected = pre.dataOffset + pre.count * pre.info.size;
    throw new DataFormatError(
      `truncated NPY stream: shape ${
        shapeRepr(pre.shape)
      } of ${pre.descr} needs ${expected} bytes (${pre.dataOffset}-byte header + ${
        pre.count * pre.info.size
      } data bytes), got ${bytes}; stream ended in sample ${out!.position}`,
      { offset: bytes },
    );
  }
  out!.flush();
  yield* out!.ready.splice(0);
}

async function* csvChunks(
  pieces: AsyncIterable<Uint8Array>,
  options: ReadChunksOptions,
  chunkSamples: number,
  scale: number,
): AsyncGenerator<RecordingChunk, void, undefined> {
  const rows = new CsvRowDecoder({
    header: options.header,
    indexColumn: options.indexColumn,
    delimiter: options.delimiter,
    missing: options.missing,
  });
  const maxLine = options.maxLineBytes ?? MAX_CSV_LINE_BYTES;
  if (!Number.isInteger(maxLine) || maxLine < 1) {
    throw new RangeError(
      `maxLineBytes must be a positive integer, got ${maxLine}`,
    );
  }
  // lines are split on the newline byte and decoded one by one (linear in
  // the data; offsets are those of the bytes, whatever the decoder makes of
  // invalid UTF-8); the bytes of an incomplete line are kept as pieces
  const dec = new TextDecoder("utf-8");
  let out: ChunkBuilder | undefined;
  let parts: Uint8Array[] = [];
  let partsLen = 0;
  let lineStart = 0; // byte offset of the current line
  let offset = 0; // bytes consumed
  let lineNo = 0;
  const tooLong = (len: number): never => {
    throw new DataFormatError(
      `CSV line ${
        lineNo + 1
      } at byte offset ${lineStart} is longer than maxLineBytes = ${maxLine} (${len} bytes without a newline so far)`,
      { line: lineNo + 1, offset: lineStart },
    );
  };
  const handle = (bytes: Uint8Array, at: number): void => {
    lineNo++;
    let line = dec.decode(bytes);
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    let r;
    try {
      r = rows.decode(line, lineNo);
    } catch (e) {
      throw e instanceof DataFormatError ? atOffset(e, at) : e;
    }
    if (!r) return;
    if (!out) {
      const n = r.values.length;
      if (options.channels !== undefined && options.channels !== n) {
        throw new DataFormatError(
          `CSV line ${lineNo} has ${n} data column(s), options.channels is ${options.channels}`,
          { line: lineNo, offset: at },
        );
      }
      out = new ChunkBuilder(n, chunkSamples, scale);
    }
    out.row(r.values);
  };
  const join = (tail: Uint8Array, len: number): Uint8Array => {
    if (parts.length === 0) return tail;
    parts.push(tail);
    const o = new Uint8Array(len);
    let k = 0;
    for (const q of parts) {
      o.set(q, k);
      k += q.length;
    }
    parts = [];
    partsLen = 0;
    return o;
  };
  for await (const piece of pieces) {
    let p = 0;
    const n = piece.length;
    while (p < n) {
      const nl = piece.indexOf(0x0a, p);
      if (nl < 0) {
        const len = partsLen + n - p;
        if (len > maxLine) tooLong(len);
        parts.push(piece.slice(p));
        partsLen = len;
        offset += n - p;
        break;
      }
      const len = partsLen + nl - p;
      if (len > maxLine) tooLong(len);
      const bytes = join(piece.subarray(p, nl), len);
      offset += nl + 1 - p;
      const at = lineStart;
      lineStart = offset;
      handle(bytes, at);
      p = nl + 1;
    }
    if (out) yield* out.ready.splice(0);
  }
  if (partsLen > 0) handle(join(new Uint8Array(0), partsLen), lineStart);
  if (out) {
    out.flush();
    yield* out.ready.splice(0);
  }
}

/**
 * Reads a recording in chunks of `chunkSamples` samples (see the module
 * documentation for the layout of each format). When `source` is a path, the
 * file is opened as a stream and closed when iteration ends, fails, or is
 * stopped early; a raw file's sidecar supplies `channels` when not given.
 *
 * @param source file path/URL, bytes, or a stream/iterable of byte pieces
 * @param options format, chunk size, channels, CSV options, scale
 * @returns an async generator of chunks, each with one `Float64Array` per
 *   channel
 * @throws {DataFormatError} on malformed data: a raw stream whose size is not
 *   a whole number of samples, a truncated or malformed NPY stream, a bad CSV
 *   cell or ragged row — always with the position
 * @throws {RangeError} on a bad `chunkSamples`, `channels` or `format`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readChunks } from "./chunks.ts";
 * import { encodeRaw } from "./raw.ts";
 * const bytes = encodeRaw([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], "f32");
 * const sizes: number[] = [];
 * for await (const c of readChunks(bytes, { format: "f32", channels: 2, chunkSamples: 2 })) {
 *   sizes.push(c.samples);
 * }
 * assert(sizes.join() === "2,2,1");
 * ```
 */
export async function* readChunks(
  source: ChunkSource,
  options: ReadChunksOptions,
): AsyncGenerator<RecordingChunk, void, undefined> {
  const chunkSamples = checkChunkSamples(options.chunkSamples);
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale)) {
    throw new RangeError(`scale must be finite, got ${scale}`);
  }
  const format = options.format;
  if (format === "abf" || format === "nwb") {
    if (typeof source !== "string" && !(source instanceof URL)) {
      throw new RangeError(`format "${format}" reads from a path or file URL`);
    }
    for await (
      const c of recordingChunks(source, {
        format,
        chunkSamples,
        sweeps: options.sweeps,
        channels: options.select,
        reuseBuffers: options.reuseBuffers,
      })
    ) {
      if (scale !== 1) {
        for (const ch of c.channels) {
          for (let i = 0; i < ch.length; i++) ch[i] *= scale;
        }
      }
      yield c;
    }
    return;
  }
  if (!["f32", "f64", "csv", "npy"].includes(format)) {
    throw new RangeError(
      `format must be "f32", "f64", "csv", "npy", "abf" or "nwb", got ${
        JSON.stringify(format)
      }`,
    );
  }
  let channels = options.channels;
  if (channels !== undefined && (!Number.isInteger(channels) || channels < 1)) {
    throw new RangeError(
      `channels must be a positive integer, got ${channels}`,
    );
  }
  let stream: ByteChunks;
  if (typeof source === "string" || source instanceof URL) {
    if ((format === "f32" || format === "f64") && channels === undefined) {
      const side = await readRawDescription(source);
      if (side) {
        if (side.format !== format) {
          throw new TypeError(
            `readChunks: format "${format}" but the sidecar of ${
              String(source)
            } says "${side.format}"`,
          );
        }
        channels = side.channels;
      }
    }
    stream = options.reuseBuffers && (format === "f32" || format === "f64")
      ? readFilePieces(source)
      : await openFileStream(source);
  } else if (source instanceof Uint8Array) stream = [source];
  else stream = source;
  const pieces = iterateBytes(stream);
  try {
    if (format === "f32" || format === "f64") {
      yield* rawChunks(
        pieces,
        format,
        channels ?? 1,
        chunkSamples,
        scale,
        options.reuseBuffers,
      );
    } else if (format === "npy") {
      yield* npyChunks(pieces, options, chunkSamples, scale);
    } else {
      yield* csvChunks(pieces, options, chunkSamples, scale);
    }
  } finally {
    await pieces.return();
  }
}
