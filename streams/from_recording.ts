/**
 * `fromRecording`: a recording read in chunks, as an RxJS `Observable`.
 * @module
 */
import { Observable } from "./_deps.ts";
import {
  type ChunkSource,
  readChunks,
  type ReadChunksOptions,
  type RecordingChunk,
} from "../lib/io/chunks.ts";
import { EventLoopYield } from "./_yield.ts";
import {
  RECORDING_FILE,
  type RecordingFile,
} from "../lib/io/recording_file.ts";

export type { ReadChunksOptions, RecordingChunk };
export { RECORDING_FILE, type RecordingFile };

/** What {@linkcode fromRecording} reads: a path or `file:` URL, bytes, or a byte stream. */
export type RecordingSource = ChunkSource;

/** An Observable of recording chunks that may name the file it reads. */
export type RecordingObservable = Observable<RecordingChunk> & {
  readonly [RECORDING_FILE]?: RecordingFile;
};

/**
 * Chunks of a recording (wraps `readChunks` of `lib/io`): every chunk has
 * exactly `chunkSamples` samples (default 65536) except the last, one
 * `Float64Array` per channel, and `start`, the index of its first sample.
 * Formats: `"f32"`, `"f64"` (raw little-endian, channels interleaved; a
 * `<path>.json` sidecar supplies `channels`), `"npy"` (shape `(n,)` or
 * `(n, channels)`), `"csv"` (one line per sample), `"abf"` and `"nwb"`
 * (a path; `select` picks ABF channels or NWB series, `sweeps` ABF sweeps;
 * SI units).
 *
 * Each subscription reads the source from the start (a path is re-opened;
 * a `ReadableStream` can be read only once). Chunks are read one at a
 * time: the next chunk is read only after the previous one was delivered,
 * so memory stays at about one chunk. Unsubscribing stops reading and
 * closes the file or cancels the stream.
 *
 * @param source file path or URL, bytes, or a `ReadableStream` /
 *   async iterable of byte pieces
 * @param options format, chunkSamples (default 65536), channels, scale, CSV
 *   options (see `ReadChunksOptions`)
 * @returns a cold Observable of chunks; errors with `DataFormatError`
 *   (with the position) on malformed data, `RangeError` on bad options
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, toArray } from "npm:rxjs@7.8.2";
 * import { fromRecording } from "./from_recording.ts";
 * const csv = new TextEncoder().encode("1\n2\n3\n4\n5\n");
 * const chunks = await lastValueFrom(fromRecording(csv, { format: "csv", chunkSamples: 2 }).pipe(toArray()));
 * assert.deepEqual(chunks.map((c) => [c.start, c.samples]), [[0, 2], [2, 2], [4, 1]]);
 * ```
 */
export function fromRecording(
  source: RecordingSource,
  options: ReadChunksOptions,
): RecordingObservable {
  const obs = new Observable<RecordingChunk>((subscriber) => {
    const it = readChunks(source, options);
    let stopped = false;
    const pause = new EventLoopYield();
    (async () => {
      try {
        while (!subscriber.closed) {
          await pause.maybe();
          if (subscriber.closed) break;
          const r = await it.next();
          if (r.done) {
            subscriber.complete();
            return;
          }
          if (subscriber.closed) break;
          subscriber.next(r.value);
        }
      } catch (e) {
        subscriber.error(e);
      } finally {
        if (!stopped) {
          stopped = true;
          await it.return().catch(() => {});
        }
      }
    })();
  }) as RecordingObservable;
  if (typeof source === "string" || source instanceof URL) {
    Object.defineProperty(obs, RECORDING_FILE, {
      value: { path: source, options: { ...options } },
      enumerable: false,
    });
  }
  return obs;
}
