/**
 * `OnlineTraceFitter`: like `TraceFitter` with a mean squared error, but the
 * squared error is accumulated inside the simulation kernel step by step
 * against `<var>_target`, so no trace is stored (reference:
 * brian2modelfitting `OnlineTraceFitter`). The implementation is
 * `online_trace_base.ts` (see its documentation for the differences from the
 * reference); this module adds {@linkcode OnlineTraceFitter.create}, which
 * builds the streamed fitter of `streamed_online_fitter.ts` for files and
 * streams. Both fitters extend `OnlineTraceFitterBase`, so neither module
 * imports the other's importer (no cycle, no dynamic import).
 * @module
 */
import {
  OnlineTraceFitterBase,
  type OnlineTraceFitterOptions,
} from "./online_trace_base.ts";
import {
  StreamedOnlineTraceFitter,
  type StreamedOnlineTraceFitterOptions,
} from "./streamed_online_fitter.ts";

export type { OnlineTraceFitterOptions };

/**
 * A trace fitter whose mean squared error is accumulated during the
 * simulation. `new OnlineTraceFitter(options)` fits in-memory traces;
 * {@linkcode OnlineTraceFitter.create} also takes files and streams.
 * Streamed fitters are instances of this class too (`instanceof`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnlineTraceFitter } from "./online_trace_fitter.ts";
 * import { DifferentialEvolution } from "../optimizers/differential_evolution.ts";
 * const x = [new Float64Array(100)];
 * const v = [Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0.01 : 0.02))];
 * const fitter = new OnlineTraceFitter({
 *   model: "v = c + x : volt\nc : volt (constant)", input: { x }, inputUnits: { x: "volt" },
 *   output: { v }, dt: 1e-4, nSamples: 20, tStart: 5e-3,
 * });
 * const { params } = await fitter.fit({
 *   optimizer: new DifferentialEvolution({ seed: 1 }), nRounds: 10, callback: null,
 *   params: { c: ["0 mV", "30 mV"] },
 * });
 * assert.ok(Math.abs(params.c - 0.02) < 1e-3);
 * ```
 */
export class OnlineTraceFitter extends OnlineTraceFitterBase {
  /**
   * Create an online trace fitter whose inputs and output may be files or
   * streams: a path (`.f32`, `.f64`, `.npy`, `.csv`), `{ path, format, ... }`,
   * an Observable of chunks (`fromRecording`, `fromSocket` of `./streams`),
   * an async iterable of chunks, or in-memory rows. Each round simulates all
   * parameter sets in lockstep with the data, `blockSamples` samples at a
   * time, so memory does not grow with the trace length; files are re-read
   * every round, one-shot streams (sockets, iterables) are buffered once to
   * a temporary file. Errors equal those of `new OnlineTraceFitter` on the
   * same traces (up to the summation order across blocks). Call `dispose()`
   * at the end to delete temporary files (or create the fitter with
   * `await using`); a temporary file keeps the stream's precision, is
   * limited to `maxBufferBytes` (default 4 GiB) and is also removed when the
   * process exits normally.
   * @param options as the constructor, with sources for input/output, plus
   *   `blockSamples` (default 65536), `tempDir`, `maxBufferBytes`,
   *   `onProgress`
   * @returns the fitter
   * @throws {TypeError} mismatched shapes, unknown formats
   * @throws {RangeError} bad values, empty recordings
   * @throws {StreamDroppedError} a stream failed while buffering (with the sample position)
   * @throws {DataFormatError} malformed files (with the position)
   */
  static async create(
    options: StreamedOnlineTraceFitterOptions,
  ): Promise<StreamedOnlineTraceFitter> {
    return await StreamedOnlineTraceFitter.open(options);
  }

  /**
   * `x instanceof OnlineTraceFitter`: true for every online trace fitter,
   * the streamed ones included (they extend the shared base class). For
   * subclasses of this class, the ordinary prototype check.
   * @param x any value
   * @returns whether `x` is an online trace fitter
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (this !== OnlineTraceFitter) {
      return Function.prototype[Symbol.hasInstance].call(this, x);
    }
    return Function.prototype[Symbol.hasInstance].call(
      OnlineTraceFitterBase,
      x,
    );
  }
}
