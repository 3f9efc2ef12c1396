/**
 * Running errors over streams: {@linkcode onlineMetric} folds chunks of
 * model and data traces into running errors with the metric's own
 * incremental reducer (`MSEMetric.accumulator`, the reducer `MSEMetric.calc`
 * is built on, so the final errors are bit-identical to the synchronous
 * computation on the whole traces, whatever the chunk sizes);
 * {@linkcode simulateAlong} pairs recording chunks with a simulation run in
 * lockstep.
 * @module
 */
import { concatMap, Observable, type OperatorFunction } from "./_deps.ts";
import type { RecordingChunk } from "../lib/io/chunks.ts";
import type { Chunk } from "../lib/simulation/runner.ts";

/** Model and data traces of the same steps. */
export interface MetricChunk {
  /** Index of the first step of the chunk in the whole run. */
  readonly start: number;
  /** One row per neuron (`sample * nTraces + trace`), each `k` values. */
  readonly model: readonly ArrayLike<number>[];
  /** One row per trace, each `k` values. */
  readonly data: readonly ArrayLike<number>[];
}

/** The incremental reducer {@linkcode onlineMetric} needs (`MSEAccumulator` is one). */
export interface IncrementalReducer {
  /**
   * Add steps `[stepOffset, stepOffset + k)`.
   * @param model one row per neuron
   * @param data one row per trace
   * @param stepOffset first step of the chunk
   */
  update(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    stepOffset: number,
  ): void;
  /** Current errors, one per parameter set. */
  errors(): Float64Array;
  /** Current per-neuron values (e.g. the MSE of each neuron). */
  features(): Float64Array;
}

/** A metric with an incremental reducer (`MSEMetric`). */
export interface IncrementalMetric {
  /**
   * A fresh reducer for a run of this shape.
   * @param shape nSamples, nTraces, nSteps (total steps), dt (s)
   * @returns the reducer
   */
  accumulator(
    shape: { nSamples: number; nTraces: number; nSteps: number; dt: number },
  ): IncrementalReducer;
  /** Time weights, when the metric has them (their length fixes nSteps). */
  readonly tWeights?: Float64Array | null;
}

/** Options of {@linkcode onlineMetric}. */
export interface OnlineMetricOptions {
  /** Time step (s), to convert the metric's `tStart` to steps. Required. */
  dt: number;
  /** Total steps of the run. Default: the length of the metric's `tWeights`, else unbounded. */
  nSteps?: number;
}

/** Running errors after a chunk. */
export interface OnlineErrors {
  /** Steps folded in so far (end of the last chunk). */
  readonly steps: number;
  /** Chunks folded in so far. */
  readonly chunks: number;
  /** Errors per parameter set so far (a copy). */
  readonly errors: Float64Array;
  /** Per-neuron values so far (a copy). */
  readonly features: Float64Array;
}

/**
 * An operator folding chunks of model and data traces into running errors:
 * emits the errors so far after every chunk (take the last emission for
 * the final errors). The shape (parameter sets × traces) is taken from the
 * first chunk; chunks must follow each other (`start` = steps so far).
 *
 * @param metric a metric with an incremental reducer, e.g. `MSEMetric`
 * @param options dt (s, required), nSteps (default: unbounded, or the
 *   length of the metric's tWeights)
 * @returns an operator `Observable<MetricChunk> → Observable<OnlineErrors>`;
 *   it errors with a `RangeError` when a chunk does not follow the previous
 *   one, and with the reducer's `TypeError` on inconsistent rows
 * @throws {RangeError} (synchronously) bad dt or nSteps
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { from, lastValueFrom } from "npm:rxjs@7.8.2";
 * import { MSEMetric } from "../lib/fitting/metrics/mse.ts";
 * import { onlineMetric } from "./online_metric.ts";
 * const chunks = [
 *   { start: 0, model: [[1, 2], [0, 0]], data: [[1, 2]] },
 *   { start: 2, model: [[3], [0]], data: [[3]] },
 * ];
 * const last = await lastValueFrom(from(chunks).pipe(onlineMetric(new MSEMetric(), { dt: 1e-4 })));
 * assert.deepEqual(Array.from(last.errors), [0, (1 + 4 + 9) / 3]);
 * ```
 */
export function onlineMetric(
  metric: IncrementalMetric,
  options: OnlineMetricOptions,
): OperatorFunction<MetricChunk, OnlineErrors> {
  const dt = options.dt;
  if (typeof dt !== "number" || !(dt > 0) || !Number.isFinite(dt)) {
    throw new RangeError(`dt must be a positive number of seconds, got ${dt}`);
  }
  const nSteps = options.nSteps ?? metric.tWeights?.length ??
    Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(nSteps) || nSteps < 1) {
    throw new RangeError(`nSteps must be a positive integer, got ${nSteps}`);
  }
  return (source: Observable<MetricChunk>) =>
    new Observable<OnlineErrors>((subscriber) => {
      // one reducer per subscription
      let acc: IncrementalReducer | null = null;
      let steps = 0;
      let chunks = 0;
      return source.subscribe({
        next: (c) => {
          try {
            const nTraces = c.data.length;
            if (!acc) {
              if (nTraces < 1 || c.model.length % nTraces !== 0) {
                throw new TypeError(
                  `onlineMetric: ${c.model.length} model rows are not a multiple of ${nTraces} data rows`,
                );
              }
              acc = metric.accumulator({
                nSamples: c.model.length / nTraces,
                nTraces,
                nSteps,
                dt,
              });
            }
            if (c.start !== steps) {
              throw new RangeError(
                `onlineMetric: chunk starts at step ${c.start}, expected ${steps} (chunks must follow each other)`,
              );
            }
            const k = nTraces > 0 ? c.data[0].length : 0;
            acc.update(
              c.model as ArrayLike<number>[],
              c.data as ArrayLike<number>[],
              c.start,
            );
            steps += k;
            chunks++;
            subscriber.next({
              steps,
              chunks,
              errors: acc.errors(),
              features: acc.features(),
            });
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/** Options of {@linkcode simulateAlong}. */
export interface SimulateAlongOptions {
  /** The recorded model variable compared with the data (recordEvery must be 1). */
  variable: string;
}

/** What {@linkcode simulateAlong} steps: a `Runner`. */
export interface LockstepRunner {
  /** Neurons in the batch. */
  readonly nNeurons: number;
  /** Steps run so far. */
  readonly stepIndex: number;
  /**
   * Advance by `steps` steps.
   * @param steps number of steps
   * @returns the chunk
   */
  step(steps: number): Promise<Chunk>;
}

/**
 * An operator that runs a simulation in lockstep with recording chunks:
 * for each chunk of `k` data samples it advances the runner by `k` steps
 * and emits the model rows of `variable` (one per neuron) with the data
 * rows (the chunk's channels, one per trace). The runner must start at the
 * chunk's first step and record `variable` at every step. Chunks are
 * processed one at a time (`concatMap`).
 *
 * @param runner the simulation (`Runner`)
 * @param options variable (recorded, compared with the data)
 * @returns an operator `Observable<RecordingChunk> → Observable<MetricChunk>`;
 *   it errors with a `RangeError` when the runner is not at the chunk's
 *   first step, and a `TypeError` when `variable` is not recorded
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, toArray } from "npm:rxjs@7.8.2";
 * import { NeuronModel } from "../lib/simulation/neuron_model.ts";
 * import { Runner } from "../lib/simulation/runner.ts";
 * import { fromRecording } from "./from_recording.ts";
 * import { simulateAlong } from "./online_metric.ts";
 * const model = new NeuronModel("v = c : volt\nc : volt (constant)");
 * const runner = await Runner.create(model, { dt: 1e-4, params: { c: 0.5 }, record: ["v"] });
 * const data = new TextEncoder().encode("0.5\n0.5\n0.5\n");
 * const out = await lastValueFrom(
 *   fromRecording(data, { format: "csv", chunkSamples: 2 }).pipe(simulateAlong(runner, { variable: "v" }), toArray()),
 * );
 * assert.deepEqual(out.map((c) => Array.from(c.model[0])), [[0.5, 0.5], [0.5]]);
 * ```
 */
export function simulateAlong(
  runner: LockstepRunner,
  options: SimulateAlongOptions,
): OperatorFunction<RecordingChunk, MetricChunk> {
  const v = options.variable;
  return concatMap(async (chunk: RecordingChunk): Promise<MetricChunk> => {
    if (runner.stepIndex !== chunk.start) {
      throw new RangeError(
        `simulateAlong: the runner is at step ${runner.stepIndex} but the chunk starts at sample ${chunk.start}`,
      );
    }
    const c = await runner.step(chunk.samples);
    const values = c.vars[v];
    if (!values) {
      throw new TypeError(
        `simulateAlong: '${v}' is not recorded by the runner (recorded: ${
          Object.keys(c.vars).join(", ") || "none"
        })`,
      );
    }
    if (c.samples !== chunk.samples) {
      throw new RangeError(
        `simulateAlong: the runner recorded ${c.samples} samples for ${chunk.samples} steps (recordEvery must be 1)`,
      );
    }
    const k = c.samples;
    const model: ArrayLike<number>[] = [];
    for (let n = 0; n < c.batch; n++) {
      model.push(values.subarray(n * k, (n + 1) * k));
    }
    return { start: chunk.start, model, data: chunk.channels };
  });
}
