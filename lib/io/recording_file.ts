/**
 * The one definition of the file marker shared by `streams/` and
 * `lib/fitting`: an Observable made by `fromRecording(path)` (streams/)
 * carries the file it reads under {@linkcode RECORDING_FILE}, so that a
 * consumer that can read files itself (the streamed online fitter, the
 * socket encoder) re-reads the file instead of draining the stream.
 * `streams/` re-exports both names.
 * @module
 */
import type { ReadChunksOptions } from "./chunks.ts";

/**
 * Marker attached to Observables made by `fromRecording` from a path: lets
 * consumers (the streaming fitter) re-read the file directly instead of
 * buffering the stream. A registered symbol, so that two copies of the
 * library (e.g. imported by URL and from disk) agree on it.
 */
export const RECORDING_FILE: unique symbol = Symbol.for(
  "neurofit.streams.recordingFile",
);

/** The file behind a `fromRecording` Observable (see {@linkcode RECORDING_FILE}). */
export interface RecordingFile {
  /** The path or URL. */
  readonly path: string | URL;
  /** The options it was opened with. */
  readonly options: Readonly<ReadChunksOptions>;
}

/** A value that may name the file it reads (see {@linkcode RECORDING_FILE}). */
export interface MaybeRecordingFile {
  /** The file, when the value reads one. */
  readonly [RECORDING_FILE]?: RecordingFile;
}

/**
 * The file behind a value marked with {@linkcode RECORDING_FILE}.
 * @param x any value (typically an Observable of chunks)
 * @returns the file, or undefined when `x` carries none
 */
export function recordingFileOf(x: unknown): RecordingFile | undefined {
  if ((typeof x !== "object" && typeof x !== "function") || x === null) {
    return undefined;
  }
  return (x as MaybeRecordingFile)[RECORDING_FILE];
}
