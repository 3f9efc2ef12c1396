/**
 * Recordings over TCP: {@linkcode fromSocket} receives chunks from a
 * connection, {@linkcode toSocket} sends samples (as a client or as a
 * server), and {@linkcode socketChunks} decodes the wire format from any
 * byte stream. This is the one module of `streams/` that opens sockets
 * (`Deno.connect`, `Deno.listen`).
 *
 * ## Wire formats
 *
 * `"f32frames"` (binary, the default): a sequence of frames, each a `u32`
 * little-endian byte length `L` followed by `L` bytes of little-endian
 * float32 values, channels interleaved sample by sample
 * (`s0c0 s0c1 … s1c0 …`). `L` must be a multiple of `4 × channels` (frames
 * hold whole samples) and at most {@linkcode MAX_FRAME_BYTES}. A frame with
 * `L = 0` ends the stream.
 *
 * `"text"`: UTF-8 lines separated by `\n` (a trailing `\r` is ignored), one
 * sample per line, the channel values separated by commas, spaces or tabs,
 * each a JavaScript/Python float literal (`-6.5e-2`, `nan` is rejected).
 * Empty lines are skipped. A line `end` ends the stream. Lines longer than
 * `maxLineBytes` (default {@linkcode MAX_LINE_BYTES}, 1 MiB) are an error. Text carries full
 * float64 precision; the binary format rounds to float32.
 *
 * A connection that closes (or is reset) before the end marker was
 * received is a dropped connection: the stream fails with
 * {@linkcode StreamDroppedError}, which names the number of complete
 * samples received. Set `requireEnd: false` to accept a close at a frame or
 * line boundary as the end. Malformed data fails with
 * {@linkcode SocketFrameError} (a `DataFormatError`) naming the byte
 * offset, the frame or line, and the sample.
 * @module
 */
import { Observable } from "./_deps.ts";
import { DataFormatError } from "../lib/io/errors.ts";
import type { RecordingChunk } from "../lib/io/chunks.ts";
import { SampleChunker } from "./_chunker.ts";
import { readChunks } from "../lib/io/chunks.ts";
import { recordingFileOf } from "../lib/io/recording_file.ts";

/** Wire formats of {@linkcode fromSocket} and {@linkcode toSocket}. */
export type SocketFormat = "f32frames" | "text";

/** Largest accepted frame payload in bytes (64 MiB). */
export const MAX_FRAME_BYTES: number = 64 * 1024 * 1024;

/** Default longest `"text"` line in bytes (1 MiB); see `maxLineBytes`. */
export const MAX_LINE_BYTES: number = 1024 * 1024;

/** Malformed data on a socket stream: bad frame length, unparsable line, wrong number of values. */
export class SocketFrameError extends DataFormatError {
  /** Index of the sample being received when the error was found (0-based). */
  readonly sample: number;

  /**
   * An error at a byte offset or line of the stream.
   * @param message what failed, with the position
   * @param position byte offset, line, and the sample index
   */
  constructor(
    message: string,
    position: { offset?: number; line?: number; sample: number },
  ) {
    super(message, { offset: position.offset, line: position.line });
    this.name = "SocketFrameError";
    this.sample = position.sample;
  }
}

/** The connection closed or failed before the end-of-stream marker. */
export class StreamDroppedError extends Error {
  /** Complete samples received before the connection dropped. */
  readonly sample: number;
  /** Bytes received. */
  readonly bytes: number;
  /** Byte offset at which the stream stopped (= `bytes`). */
  readonly offset: number;

  /**
   * An error naming how far the stream got.
   * @param message what happened, naming the sample position
   * @param sample complete samples received
   * @param bytes bytes received
   * @param cause the underlying error, if any
   */
  constructor(message: string, sample: number, bytes: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "StreamDroppedError";
    this.sample = sample;
    this.bytes = bytes;
    this.offset = bytes;
  }
}

/** Options of {@linkcode socketChunks}. */
export interface SocketDecodeOptions {
  /** Wire format. Default `"f32frames"`. */
  format?: SocketFormat;
  /** Values per sample. Default 1. */
  channels?: number;
  /** Samples per emitted chunk (the last may be shorter). Default 4096. */
  chunkSamples?: number;
  /** Fail when the stream ends without the end marker. Default true. */
  requireEnd?: boolean;
  /** Name of the peer in error messages. Default `"stream"`. */
  peer?: string;
  /**
   * `"text"` format: longest accepted line in bytes (without the newline);
   * a longer line fails with {@linkcode SocketFrameError} as soon as its
   * bytes exceed the limit, so memory stays bounded. Default
   * {@linkcode MAX_LINE_BYTES} (1 MiB).
   */
  maxLineBytes?: number;
}

function checkPositive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  return v;
}

function checkFormat(f: string): SocketFormat {
  if (f !== "f32frames" && f !== "text") {
    throw new RangeError(
      `format must be "f32frames" or "text", got ${JSON.stringify(f)}`,
    );
  }
  return f;
}

/** Incremental decoder of the `"f32frames"` format. */
class FrameDecoder {
  #head = new Uint8Array(4);
  #headLen = 0;
  #left = -1; // payload bytes left in the current frame; -1: reading a header
  #carry = new Uint8Array(4);
  #carryLen = 0;
  #frame = 0;
  #frameStart = 0;
  offset = 0;
  ended = false;
  constructor(readonly out: SampleChunker) {}

  /** Bytes of an incomplete frame (header or payload) pending. */
  get pending(): number {
    return this.#left >= 0 ? 4 + this.#frameLen - this.#left : this.#headLen;
  }
  #frameLen = 0;

  feed(piece: Uint8Array): void {
    let p = 0;
    const n = piece.length;
    const ch = this.out.channels;
    while (p < n && !this.ended) {
      if (this.#left < 0) {
        const take = Math.min(4 - this.#headLen, n - p);
        this.#head.set(piece.subarray(p, p + take), this.#headLen);
        this.#headLen += take;
        p += take;
        this.offset += take;
        if (this.#headLen < 4) return;
        this.#headLen = 0;
        const len = new DataView(this.#head.buffer).getUint32(0, true);
        this.#frameStart = this.offset - 4;
        if (len === 0) {
          this.ended = true;
          return;
        }
        if (len % (4 * ch) !== 0 || len > MAX_FRAME_BYTES) {
          throw new SocketFrameError(
            `malformed f32 frame ${this.#frame} at byte offset ${this.#frameStart} (sample ${this.out.samples}): length ${len} bytes ${
              len > MAX_FRAME_BYTES
                ? `exceeds the maximum of ${MAX_FRAME_BYTES}`
                : `is not a multiple of 4 bytes × ${ch} channel(s)`
            }`,
            { offset: this.#frameStart, sample: this.out.samples },
          );
        }
        this.#left = len;
        this.#frameLen = len;
        continue;
      }
      // payload
      const take = Math.min(this.#left, n - p);
      let q = p;
      const end = p + take;
      if (this.#carryLen > 0) {
        const k = Math.min(4 - this.#carryLen, end - q);
        this.#carry.set(piece.subarray(q, q + k), this.#carryLen);
        this.#carryLen += k;
        q += k;
        if (this.#carryLen === 4) {
          this.out.value(new DataView(this.#carry.buffer).getFloat32(0, true));
          this.#carryLen = 0;
        }
      }
      const whole = Math.floor((end - q) / 4);
      if (whole > 0) {
        const at = piece.byteOffset + q;
        const vals = at % 4 === 0
          ? new Float32Array(piece.buffer, at, whole)
          : new Float32Array(piece.slice(q, q + whole * 4).buffer);
        this.out.values(vals);
        q += whole * 4;
      }
      if (q < end) {
        this.#carry.set(piece.subarray(q, end), 0);
        this.#carryLen = end - q;
      }
      this.#left -= take;
      this.offset += take;
      p = end;
      if (this.#left === 0) {
        this.#left = -1;
        this.#frame++;
      }
    }
  }
}

const FLOAT_LITERAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Incremental decoder of the `"text"` format. */
class TextLineDecoder {
  #text = new TextDecoder("utf-8");
  // bytes of the incomplete line, kept as pieces and joined once when its
  // newline arrives (linear in the line length)
  #parts: Uint8Array[] = [];
  #partsLen = 0;
  #lineStart = 0;
  line = 0;
  offset = 0;
  ended = false;
  constructor(readonly out: SampleChunker, readonly maxLine: number) {}

  get pending(): number {
    return this.#partsLen;
  }

  #tooLong(len: number): never {
    throw new SocketFrameError(
      `text line ${
        this.line + 1
      } starting at byte offset ${this.#lineStart} (sample ${this.out.samples}) is longer than maxLineBytes = ${this.maxLine} (${len} bytes without a newline so far)`,
      {
        offset: this.#lineStart,
        line: this.line + 1,
        sample: this.out.samples,
      },
    );
  }

  feed(piece: Uint8Array): void {
    let p = 0;
    const n = piece.length;
    while (p < n && !this.ended) {
      const nl = piece.indexOf(0x0a, p);
      if (nl < 0) {
        const len = this.#partsLen + n - p;
        if (len > this.maxLine) this.#tooLong(len);
        this.#parts.push(piece.slice(p));
        this.#partsLen = len;
        this.offset += n - p;
        return;
      }
      const len = this.#partsLen + nl - p;
      if (len > this.maxLine) this.#tooLong(len);
      let bytes = piece.subarray(p, nl);
      if (this.#parts.length > 0) {
        this.#parts.push(bytes);
        bytes = joinBytes(this.#parts, len);
        this.#parts = [];
        this.#partsLen = 0;
      }
      this.offset += nl + 1 - p;
      const at = this.#lineStart;
      this.#lineStart = this.offset;
      this.#line(this.#text.decode(bytes), at);
      p = nl + 1;
    }
  }

  finish(): void {
    const bytes = joinBytes(this.#parts, this.#partsLen);
    this.#parts = [];
    this.#partsLen = 0;
    const rest = this.#text.decode(bytes);
    if (rest.trim() !== "" && !this.ended) this.#line(rest, this.#lineStart);
  }

  #line(raw: string, at: number): void {
    this.line++;
    const t = raw.endsWith("\r") ? raw.slice(0, -1).trim() : raw.trim();
    if (t === "") return;
    if (t.toLowerCase() === "end") {
      this.ended = true;
      return;
    }
    const parts = t.split(/[\s,]+/);
    const ch = this.out.channels;
    if (parts.length !== ch) {
      throw new SocketFrameError(
        `text line ${this.line} (sample ${this.out.samples}) has ${parts.length} value(s), expected ${ch}, at byte offset ${at}: ${
          JSON.stringify(t.slice(0, 80))
        }`,
        { offset: at, line: this.line, sample: this.out.samples },
      );
    }
    for (const part of parts) {
      const v = Number(part);
      if (!Number.isFinite(v) || !FLOAT_LITERAL.test(part)) {
        throw new SocketFrameError(
          `text line ${this.line} (sample ${this.out.samples}) at byte offset ${at}: ${
            JSON.stringify(part.slice(0, 80))
          } is not a finite number`,
          { offset: at, line: this.line, sample: this.out.samples },
        );
      }
      this.out.value(v);
    }
  }
}

function joinBytes(parts: readonly Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(len);
  let o = 0;
  for (const q of parts) {
    out.set(q, o);
    o += q.length;
  }
  return out;
}

/**
 * Decodes a byte stream in one of the socket wire formats (see the module
 * documentation) into chunks of `chunkSamples` samples.
 *
 * @param pieces the bytes, in pieces split anywhere
 * @param options format (default `"f32frames"`), channels (default 1),
 *   chunkSamples (default 4096), requireEnd (default true), peer (for
 *   messages), maxLineBytes (text format, default 1 MiB)
 * @returns an async generator of chunks (one `Float64Array` per channel)
 * @throws {SocketFrameError} malformed frame length or text line, with the
 *   byte offset or line and the sample index
 * @throws {StreamDroppedError} the byte stream failed, or ended without the
 *   end marker (or inside a frame/sample), naming the samples received
 * @throws {RangeError} bad options
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrames, socketChunks } from "./socket.ts";
 * const bytes = encodeFrames([Float64Array.of(1, 2, 3)], { frameSamples: 2 });
 * const got: number[] = [];
 * for await (const c of socketChunks([bytes])) got.push(...c.channels[0]);
 * assert.deepEqual(got, [1, 2, 3]);
 * ```
 */
export async function* socketChunks(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: SocketDecodeOptions = {},
): AsyncGenerator<RecordingChunk, void, undefined> {
  const format = checkFormat(options.format ?? "f32frames");
  const channels = checkPositive("channels", options.channels ?? 1);
  const size = checkPositive("chunkSamples", options.chunkSamples ?? 4096);
  const requireEnd = options.requireEnd ?? true;
  const peer = options.peer ?? "stream";
  const maxLine = checkPositive(
    "maxLineBytes",
    options.maxLineBytes ?? MAX_LINE_BYTES,
  );
  const out = new SampleChunker(channels, size);
  const dec = format === "f32frames"
    ? new FrameDecoder(out)
    : new TextLineDecoder(out, maxLine);
  let bytes = 0;
  const dropped = (why: string, cause?: unknown) =>
    new StreamDroppedError(
      `${peer} dropped mid-stream after sample ${out.samples} (${out.samples} complete sample(s), ${bytes} bytes received${
        dec.pending > 0 || out.partial
          ? ", inside an incomplete frame/sample"
          : ""
      }): ${why}`,
      out.samples,
      bytes,
      cause,
    );
  try {
    for await (const piece of pieces) {
      bytes += piece.length;
      dec.feed(piece);
      yield* out.ready.splice(0);
      if (dec.ended) break;
    }
  } catch (e) {
    if (e instanceof SocketFrameError) throw e;
    throw dropped(e instanceof Error ? e.message : String(e), e);
  }
  if (dec instanceof TextLineDecoder) dec.finish();
  if (!dec.ended) {
    if (requireEnd || dec.pending > 0 || out.partial) {
      throw dropped(
        dec.pending > 0 || out.partial
          ? "the connection closed inside a frame"
          : "the connection closed before the end-of-stream marker",
      );
    }
  }
  out.flush();
  yield* out.ready.splice(0);
}

/** Options of {@linkcode fromSocket}. */
export interface FromSocketOptions extends SocketDecodeOptions {
  /** Host to connect to. Default `"127.0.0.1"`. */
  hostname?: string;
  /** TCP port. Required. */
  port: number;
}

async function* readConn(
  conn: Deno.Conn,
): AsyncGenerator<Uint8Array, void, undefined> {
  const buf = new Uint8Array(1 << 16);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    yield buf.slice(0, n);
  }
}

/**
 * Chunks of a recording received over TCP (see the module documentation
 * for the framing). Each subscription opens a new connection; the next
 * bytes are read only after the previous chunk was delivered (TCP flow
 * control then slows the sender). Unsubscribing closes the connection.
 *
 * @param options port, hostname (default 127.0.0.1), format (default
 *   `"f32frames"`), channels (default 1), chunkSamples (default 4096),
 *   requireEnd (default true)
 * @returns a cold Observable of chunks; errors with
 *   {@linkcode StreamDroppedError} (naming the sample position) when the
 *   connection drops before the end marker, {@linkcode SocketFrameError}
 *   on malformed data, or the connection error when it cannot connect
 * @throws {RangeError} (synchronously) on a bad port or options
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, toArray } from "npm:rxjs@7.8.2";
 * import { fromSocket, toSocket } from "./socket.ts";
 * const server = await toSocket([Float64Array.of(0.5, 1.5, 2.5)], { listen: true, port: 0 });
 * const chunks = await lastValueFrom(fromSocket({ port: server.port }).pipe(toArray()));
 * assert.deepEqual(Array.from(chunks[0].channels[0]), [0.5, 1.5, 2.5]);
 * assert.equal(await server.done, 3);
 * ```
 */
export function fromSocket(
  options: FromSocketOptions,
): Observable<RecordingChunk> {
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`port must be an integer in 1..65535, got ${port}`);
  }
  checkFormat(options.format ?? "f32frames");
  checkPositive("channels", options.channels ?? 1);
  checkPositive("chunkSamples", options.chunkSamples ?? 4096);
  checkPositive("maxLineBytes", options.maxLineBytes ?? MAX_LINE_BYTES);
  const hostname = options.hostname ?? "127.0.0.1";
  return new Observable<RecordingChunk>((subscriber) => {
    let conn: Deno.Conn | null = null;
    let closed = false;
    const close = () => {
      if (!closed && conn) {
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    };
    (async () => {
      try {
        conn = await Deno.connect({ hostname, port, transport: "tcp" });
        if (subscriber.closed) return;
        const it = socketChunks(readConn(conn), {
          ...options,
          peer: options.peer ?? `connection to ${hostname}:${port}`,
        });
        while (!subscriber.closed) {
          const r = await it.next();
          if (r.done) break;
          if (subscriber.closed) break;
          subscriber.next(r.value);
        }
        close();
        subscriber.complete();
      } catch (e) {
        close();
        subscriber.error(e);
      } finally {
        close();
      }
    })();
    return () => close();
  });
}

/** What {@linkcode toSocket} sends: channel arrays, or chunk streams. */
export type SampleSource =
  | ArrayLike<number>
  | readonly ArrayLike<number>[]
  | Observable<RecordingChunk>
  | AsyncIterable<RecordingChunk>
  | Iterable<RecordingChunk>
  | (() => Observable<RecordingChunk> | AsyncIterable<RecordingChunk>);

/** Options of {@linkcode toSocket}. */
export interface ToSocketOptions {
  /** Host to connect to, or to listen on. Default `"127.0.0.1"`. */
  hostname?: string;
  /** Port to connect to, or to listen on (0: any free port). Required. */
  port: number;
  /** Act as a server: listen and send the samples to each connecting client. Default false (connect as a client). */
  listen?: boolean;
  /** Server: number of connections to serve before closing. Default 1. */
  connections?: number;
  /** Wire format. Default `"f32frames"`. */
  format?: SocketFormat;
  /** Samples per frame (binary) or per write (text). Default 4096. */
  frameSamples?: number;
  /** Send the end-of-stream marker at the end. Default true. */
  end?: boolean;
}

/** Handle of a running {@linkcode toSocket}. */
export interface SocketSender {
  /** Host connected to or listened on. */
  readonly hostname: string;
  /** Port connected to or listened on (the real one when asked for 0). */
  readonly port: number;
  /** Resolves with the number of samples sent (summed over connections), rejects on a send error. */
  readonly done: Promise<number>;
  /** Stops: closes the listener and any open connection. */
  close(): void;
}

/**
 * Encodes channel arrays in the `"f32frames"` format (frames of at most
 * `frameSamples` samples, then the end marker unless `end: false`).
 * @param channels one array per channel, equal lengths
 * @param options frameSamples (default 4096), end (default true)
 * @returns the bytes
 * @throws {TypeError} channels of unequal lengths
 */
export function encodeFrames(
  channels: readonly ArrayLike<number>[],
  options: { frameSamples?: number; end?: boolean } = {},
): Uint8Array {
  const parts: Uint8Array[] = [];
  const fs = checkPositive("frameSamples", options.frameSamples ?? 4096);
  const n = checkChannels(channels);
  for (let a = 0; a < n; a += fs) {
    parts.push(encodeFrame(channels, a, Math.min(n, a + fs)));
  }
  if (options.end ?? true) parts.push(new Uint8Array(4));
  return concat(parts);
}

function checkChannels(channels: readonly ArrayLike<number>[]): number {
  if (channels.length === 0) throw new TypeError("no channels to send");
  const n = channels[0].length;
  channels.forEach((c, i) => {
    if (c.length !== n) {
      throw new TypeError(
        `channel ${i} has ${c.length} samples, channel 0 has ${n}`,
      );
    }
  });
  return n;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function encodeFrame(
  channels: readonly ArrayLike<number>[],
  from: number,
  to: number,
): Uint8Array {
  const k = channels.length;
  const len = (to - from) * k * 4;
  const out = new Uint8Array(4 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  const f = new Float32Array(out.buffer, 4, len / 4);
  for (let i = from, q = 0; i < to; i++) {
    for (let c = 0; c < k; c++) f[q++] = channels[c][i];
  }
  return out;
}

function encodeText(
  channels: readonly ArrayLike<number>[],
  from: number,
  to: number,
): Uint8Array {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    let s = String(channels[0][i]);
    for (let c = 1; c < channels.length; c++) s += "," + channels[c][i];
    lines.push(s);
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let o = 0;
  while (o < bytes.length) o += await conn.write(bytes.subarray(o));
}

async function* chunksOf(
  source: SampleSource,
): AsyncGenerator<readonly ArrayLike<number>[], void, undefined> {
  const src = typeof source === "function" ? source() : source;
  if (
    ArrayBuffer.isView(src) ||
    (Array.isArray(src) && typeof src[0] === "number")
  ) {
    yield [src as ArrayLike<number>];
    return;
  }
  if (Array.isArray(src) && src.length > 0 && isArrayLike(src[0])) {
    yield src as readonly ArrayLike<number>[];
    return;
  }
  const file = recordingFileOf(src);
  if (file) {
    // a fromRecording(path) Observable: read the file chunk by chunk on demand
    for await (const c of readChunks(file.path, file.options)) yield c.channels;
    return;
  }
  if (src instanceof Observable) {
    // an Observable cannot be paused: chunks it delivers faster than the
    // socket accepts them wait in this queue (memory)
    const queue: RecordingChunk[] = [];
    let done = false;
    let error: unknown = null;
    let wake: (() => void) | null = null;
    const sub = src.subscribe({
      next: (c) => {
        queue.push(c);
        wake?.();
      },
      error: (e) => {
        error = e ?? new Error("source failed");
        wake?.();
      },
      complete: () => {
        done = true;
        wake?.();
      },
    });
    try {
      while (true) {
        if (queue.length > 0) {
          yield queue.shift()!.channels;
          continue;
        }
        if (error) throw error;
        if (done) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      sub.unsubscribe();
    }
  }
  for await (const c of src as AsyncIterable<RecordingChunk>) {
    yield c.channels;
  }
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return ArrayBuffer.isView(x) || Array.isArray(x);
}

async function sendAll(
  conn: Deno.Conn,
  source: SampleSource,
  format: SocketFormat,
  frameSamples: number,
  end: boolean,
): Promise<number> {
  let sent = 0;
  for await (const channels of chunksOf(source)) {
    const n = checkChannels(channels);
    for (let a = 0; a < n; a += frameSamples) {
      const b = Math.min(n, a + frameSamples);
      await writeAll(
        conn,
        format === "f32frames"
          ? encodeFrame(channels, a, b)
          : encodeText(channels, a, b),
      );
      sent += b - a;
    }
  }
  if (end) {
    await writeAll(
      conn,
      format === "f32frames"
        ? new Uint8Array(4)
        : new TextEncoder().encode("end\n"),
    );
  }
  return sent;
}

/**
 * Sends samples over TCP in one of the wire formats (see the module
 * documentation): as a client (`listen: false`, the default) connecting to
 * `hostname:port`, or as a server (`listen: true`) that sends the whole
 * source to each of the first `connections` clients, then closes. A
 * server needs a source it can read again for every client: channel
 * arrays, a cold Observable (e.g. `fromRecording(path)`), or a function
 * returning a fresh stream. A `fromRecording(path)` source is read chunk by
 * chunk as the socket accepts data; other Observables cannot be paused, so
 * chunks they deliver faster than the network takes them are queued in
 * memory (use an async iterable for pull-based sending).
 *
 * @param source channel arrays (one array = one channel), an Observable /
 *   (async) iterable of chunks, or a function returning one
 * @param options port (0 with `listen` = any free port), hostname (default
 *   127.0.0.1), listen (default false), connections (default 1), format
 *   (default `"f32frames"`), frameSamples (default 4096), end (default true)
 * @returns once connected (client) or listening (server): a handle with
 *   the real port, a `done` promise (samples sent) and `close()`
 * @throws {RangeError} bad port or options
 * @throws {Deno.errors.ConnectionRefused} (client) nobody listens
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, toArray } from "npm:rxjs@7.8.2";
 * import { fromSocket, toSocket } from "./socket.ts";
 * const server = await toSocket([[1, 2], [3, 4]], { listen: true, port: 0, format: "text" });
 * const chunks = await lastValueFrom(fromSocket({ port: server.port, format: "text", channels: 2 }).pipe(toArray()));
 * assert.deepEqual(chunks[0].channels.map((c) => Array.from(c)), [[1, 2], [3, 4]]);
 * await server.done;
 * ```
 */
export async function toSocket(
  source: SampleSource,
  options: ToSocketOptions,
): Promise<SocketSender> {
  const port = options.port;
  const listen = options.listen ?? false;
  if (!Number.isInteger(port) || port < (listen ? 0 : 1) || port > 65535) {
    throw new RangeError(
      `port must be an integer in ${listen ? 0 : 1}..65535, got ${port}`,
    );
  }
  const format = checkFormat(options.format ?? "f32frames");
  const frameSamples = checkPositive(
    "frameSamples",
    options.frameSamples ?? 4096,
  );
  const connections = checkPositive("connections", options.connections ?? 1);
  const end = options.end ?? true;
  const hostname = options.hostname ?? "127.0.0.1";
  const open = new Set<Deno.Conn>();
  const closeConn = (c: Deno.Conn) => {
    if (open.delete(c)) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  if (!listen) {
    const conn = await Deno.connect({ hostname, port, transport: "tcp" });
    open.add(conn);
    const done = sendAll(conn, source, format, frameSamples, end).finally(() =>
      closeConn(conn)
    );
    return {
      hostname,
      port,
      done,
      close: () => closeConn(conn),
    };
  }
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  let listening = true;
  const stop = () => {
    if (listening) {
      listening = false;
      try {
        listener.close();
      } catch { /* already closed */ }
    }
  };
  const done = (async () => {
    let total = 0;
    try {
      for (let i = 0; i < connections; i++) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch (e) {
          if (!listening) break; // closed by close()
          throw e;
        }
        open.add(conn);
        try {
          total += await sendAll(conn, source, format, frameSamples, end);
        } finally {
          closeConn(conn);
        }
      }
    } finally {
      stop();
    }
    return total;
  })();
  return {
    hostname,
    port: (listener.addr as Deno.NetAddr).port,
    done,
    close: () => {
      stop();
      for (const c of [...open]) closeConn(c);
    },
  };
}
