/**
 * The sources of the streamed online fitter: what a recording may be
 * ({@linkcode TraceSource}: a path, a file with options, an Observable or
 * async iterable of chunks, in-memory rows) and how each is made
 * re-readable every round ({@linkcode Replay}: files re-read from disk,
 * one-shot streams drained once to a temporary file by
 * `lib/io/chunk_buffer.ts`, rows sliced). Observables are typed
 * structurally ({@linkcode Subscribable}), so `lib/` does not depend on
 * RxJS. Moved out of `streamed_online_fitter.ts`, which re-exports the
 * public types.
 * @module
 */
import { toRows, type TraceRows } from "./_util.ts";
import {
  type ChunkFormat,
  readChunks,
  type ReadChunksOptions,
  type RecordingChunk,
} from "../../io/chunks.ts";
import { bufferChunksToFile, removeTempFile } from "../../io/chunk_buffer.ts";
import { recordingFileOf } from "../../io/recording_file.ts";

/** An observer of a {@linkcode Subscribable}. */
export interface ChunkObserver<T> {
  /** A value. */
  next?: (value: T) => void;
  /** The source failed. */
  error?: (err: unknown) => void;
  /** The source ended. */
  complete?: () => void;
}

/**
 * Anything with RxJS's `subscribe` (an RxJS `Observable` such as
 * `fromRecording(...)` or `fromSocket(...)`); typed structurally so that
 * `lib/` does not depend on RxJS.
 */
export interface Subscribable<T> {
  /**
   * Start delivering values.
   * @param observer callbacks
   * @returns a handle that stops the delivery
   */
  subscribe(observer: ChunkObserver<T>): { unsubscribe(): void };
}

/** A file with explicit reading options. */
export interface RecordingFileSource extends Partial<ReadChunksOptions> {
  /** The file. */
  path: string | URL;
}

/**
 * A recording with one channel per trace: a file path (format from the
 * extension `.f32`, `.f64`, `.npy`, `.csv`/`.txt`), a file with options, an
 * Observable of chunks (`fromRecording`, `fromSocket`), an (async) iterable
 * of chunks, or in-memory rows.
 */
export type TraceSource =
  | string
  | URL
  | RecordingFileSource
  | Subscribable<RecordingChunk>
  | AsyncIterable<RecordingChunk>
  | TraceRows;

/** A recording that can be read again in every round. */
export interface Replay {
  readonly name: string;
  readonly kind: "file" | "buffered" | "memory";
  readonly nTraces: number;
  readonly nSteps: number;
  /** Last sample of every trace (what a penalty expression sees at the end). */
  readonly last: Float64Array;
  open(chunkSamples: number): AsyncGenerator<RecordingChunk, void, undefined>;
  readonly tempFile?: string;
  /** Sample type of the temporary file. */
  readonly dtype?: "f32" | "f64";
}

function formatOf(path: string | URL): ChunkFormat {
  const p = String(path).toLowerCase();
  if (p.endsWith(".f32")) return "f32";
  if (p.endsWith(".f64")) return "f64";
  if (p.endsWith(".npy")) return "npy";
  if (p.endsWith(".csv") || p.endsWith(".txt")) return "csv";
  if (p.endsWith(".abf")) return "abf";
  if (p.endsWith(".nwb")) return "nwb";
  throw new TypeError(
    `cannot tell the format of ${
      String(path)
    } from its extension (.f32, .f64, .npy, .csv, .abf, .nwb); give { path, format }`,
  );
}

function isObservable(x: unknown): x is Subscribable<RecordingChunk> {
  return typeof x === "object" && x !== null &&
    typeof (x as { subscribe?: unknown }).subscribe === "function";
}

/** Pulls an Observable as an async iterable (one chunk queued at most per `next`). */
async function* pull<T>(
  obs: Subscribable<T>,
): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let done = false;
  let failed = false;
  let error: unknown;
  let wake: (() => void) | null = null;
  const sub = obs.subscribe({
    next: (c) => {
      queue.push(c);
      wake?.();
    },
    error: (e) => {
      failed = true;
      error = e;
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
        yield queue.shift()!;
        continue;
      }
      if (failed) throw error;
      if (done) return;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  } finally {
    sub.unsubscribe();
  }
}

async function countFile(
  name: string,
  path: string | URL,
  options: ReadChunksOptions,
): Promise<{ nTraces: number; nSteps: number; last: Float64Array }> {
  let nTraces = -1;
  let nSteps = 0;
  let last = new Float64Array(0);
  for await (
    const c of readChunks(path, {
      ...options,
      chunkSamples: 65536,
      reuseBuffers: true,
    })
  ) {
    nTraces = c.channels.length;
    nSteps += c.samples;
    last = Float64Array.from(c.channels, (ch) => ch[c.samples - 1]);
  }
  if (nSteps === 0) {
    throw new RangeError(`recording '${name}' (${String(path)}) is empty`);
  }
  return { nTraces, nSteps, last };
}

async function bufferToFile(
  name: string,
  source: AsyncIterable<RecordingChunk>,
  tempDir: string | undefined,
  maxBytes: number,
): Promise<Replay> {
  const { path, dtype, nTraces, nSteps, last } = await bufferChunksToFile(
    name,
    source,
    tempDir,
    maxBytes,
  );
  return {
    name,
    kind: "buffered",
    nTraces,
    nSteps,
    last,
    tempFile: path,
    dtype,
    open: (chunkSamples) =>
      readChunks(path, {
        format: dtype,
        channels: nTraces,
        chunkSamples,
        reuseBuffers: true,
      }),
  };
}

/**
 * Opens a source for re-reading: a file is counted once and re-read from
 * disk, a `fromRecording(path)` Observable is read as its file, any other
 * Observable or async iterable is drained once to a temporary file, rows
 * are sliced.
 * @param name the recording's name (for error messages)
 * @param src the source
 * @param tempDir directory of temporary files
 * @param maxBytes largest temporary file
 * @returns the replay
 */
export async function toReplay(
  name: string,
  src: TraceSource,
  tempDir: string | undefined,
  maxBytes: number,
): Promise<Replay> {
  if (typeof src === "string" || src instanceof URL) {
    src = { path: src };
  }
  if (isObservable(src)) {
    const file = recordingFileOf(src);
    if (file) src = { ...file.options, path: file.path };
    else return await bufferToFile(name, pull(src), tempDir, maxBytes);
  }
  if (
    typeof src === "object" && src !== null && "path" in src &&
    (typeof src.path === "string" || src.path instanceof URL)
  ) {
    const { path, ...rest } = src as RecordingFileSource;
    const opts: ReadChunksOptions = {
      ...rest,
      format: rest.format ?? formatOf(path),
    };
    const { nTraces, nSteps, last } = await countFile(name, path, opts);
    return {
      name,
      kind: "file",
      nTraces,
      nSteps,
      last,
      // each block is copied into the kernel before the next is read: the
      // reader may recycle its arrays (no allocation per block)
      open: (chunkSamples) =>
        readChunks(path, { ...opts, chunkSamples, reuseBuffers: true }),
    };
  }
  if (
    typeof src === "object" && src !== null && Symbol.asyncIterator in src
  ) {
    return await bufferToFile(
      name,
      src as AsyncIterable<RecordingChunk>,
      tempDir,
      maxBytes,
    );
  }
  const rows = toRows(src as TraceRows, `recording '${name}'`);
  const nSteps = rows[0].length;
  return {
    name,
    kind: "memory",
    nTraces: rows.length,
    nSteps,
    last: Float64Array.from(rows, (r) => r[nSteps - 1]),
    open: async function* (chunkSamples: number) {
      for (let a = 0; a < nSteps; a += chunkSamples) {
        const b = Math.min(nSteps, a + chunkSamples);
        yield {
          start: a,
          samples: b - a,
          channels: rows.map((r) => r.subarray(a, b)),
        };
      }
    },
  };
}

/**
 * Removes the temporary files of the replays.
 * @param replays the replays
 * @returns when done
 */
export async function removeTemps(replays: Replay[]): Promise<void> {
  for (const r of replays) {
    if (r.tempFile) await removeTempFile(r.tempFile);
  }
}
