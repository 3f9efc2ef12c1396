/**
 * Streams: long recordings and simulations as RxJS Observables of chunks.
 *
 * - {@linkcode fromRunner}: chunks of a running simulation, driven by the
 *   subscriber; unsubscribing stops it and disposes the runner.
 * - {@linkcode fromRecording}: chunks of a file (`"f32"`, `"f64"`, `"npy"`,
 *   `"csv"`) or byte stream, read incrementally.
 * - {@linkcode fromSocket} / {@linkcode toSocket}: recordings over TCP
 *   (length-prefixed float32 frames, or newline-delimited text; see
 *   `socket.ts`).
 * - {@linkcode onlineMetric}: running errors with the metric's own
 *   incremental reducer; {@linkcode simulateAlong} runs a simulation in
 *   lockstep with a recording.
 * - {@linkcode trackProgress}, {@linkcode progressBar}: progress reports
 *   (rounds, samples, throughput).
 * - `OnlineTraceFitter.create({ input: { I: fromRecording(...) }, ... })`
 *   (from the main entry point) fits streamed recordings with memory
 *   independent of the trace length; {@linkcode fitProgress} gives its
 *   progress as an Observable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, map } from "npm:rxjs@7.8.2";
 * import { MSEMetric } from "../lib/fitting/metrics/mse.ts";
 * import { fromRecording, onlineMetric } from "./mod.ts";
 * // data and model as two channels of one CSV; MSE of model vs data
 * const csv = new TextEncoder().encode("1,1\n2,2\n3,5\n");
 * const errors = await lastValueFrom(
 *   fromRecording(csv, { format: "csv", chunkSamples: 2 }).pipe(
 *     map((c) => ({ start: c.start, model: [c.channels[1]], data: [c.channels[0]] })),
 *     onlineMetric(new MSEMetric(), { dt: 1e-4 }),
 *   ),
 * );
 * assert.deepEqual(Array.from(errors.errors), [4 / 3]);
 * ```
 * @module
 */

export {
  fromRunner,
  type FromRunnerOptions,
  type SteppableRunner,
} from "./from_runner.ts";
export {
  fromRecording,
  type ReadChunksOptions,
  RECORDING_FILE,
  type RecordingChunk,
  type RecordingFile,
  type RecordingObservable,
  type RecordingSource,
} from "./from_recording.ts";
export {
  encodeFrames,
  fromSocket,
  type FromSocketOptions,
  MAX_FRAME_BYTES,
  MAX_LINE_BYTES,
  type SampleSource,
  socketChunks,
  type SocketDecodeOptions,
  type SocketFormat,
  SocketFrameError,
  type SocketSender,
  StreamDroppedError,
  toSocket,
  type ToSocketOptions,
} from "./socket.ts";
export {
  type IncrementalMetric,
  type IncrementalReducer,
  type LockstepRunner,
  type MetricChunk,
  type OnlineErrors,
  onlineMetric,
  type OnlineMetricOptions,
  simulateAlong,
  type SimulateAlongOptions,
} from "./online_metric.ts";
export {
  progressBar,
  ProgressCounter,
  type ProgressSink,
  type StreamProgress,
  trackProgress,
  type TrackProgressOptions,
} from "./progress.ts";
export { fitProgress, type FitProgressFeed } from "./online_fit.ts";
