/**
 * Mean squared error between model and data traces (reference:
 * brian2modelfitting `MSEMetric`): per neuron
 * `mean_t(((m − d)/normalization)² · w)` over the steps `k >= round(tStart/dt)`
 * (or over all steps with time weights `w` rescaled to mean 1), then the mean
 * over traces gives one error per parameter set.
 *
 * The synchronous `calc` is built on {@linkcode MSEAccumulator}, an
 * incremental reducer that keeps, per neuron, the weighted sum of squared
 * errors and the number of compared steps. Feeding the same traces chunk by
 * chunk (as an online fitter or a stream does) gives bit-identical errors.
 * @module
 */

import {
  checkDt,
  checkLayout,
  TraceMetric,
  type TraceMetricOptions,
} from "./metric.ts";

/** Options of {@linkcode MSEMetric}. */
export type MSEMetricOptions = TraceMetricOptions;

/**
 * Mean squared error metric.
 *
 * @example
 * ```ts
 * import { MSEMetric } from "./mse.ts";
 * import assert from "node:assert/strict";
 * const ones = new Float64Array(10).fill(1);
 * const zeros = new Float64Array(10);
 * // 2 parameter sets x 1 trace: the first matches, the second is off by 1
 * const errors = new MSEMetric().calc([ones, zeros], [ones], 1e-4);
 * assert.deepEqual(Array.from(errors), [0, 1]);
 * ```
 */
export class MSEMetric extends TraceMetric<Float64Array[]> {
  /**
   * Create the metric.
   * @param options tStart (s), tWeights (one per step, >= 0), normalization
   * @throws {RangeError} tStart and tWeights together, bad weights, bad values
   */
  constructor(options: MSEMetricOptions = {}) {
    super(options);
  }

  /**
   * Power of the output unit in the error.
   * @returns 2: the error has the square of the output's unit (V² for v)
   */
  override errorUnitPower(): number {
    return 2;
  }

  /**
   * Undo the normalization: the traces were divided by `normalization`, so
   * the error is multiplied by its square.
   * @param error a normalized error
   * @returns the error in output units squared
   */
  override revertNormalization(error: number): number {
    return error * this.normalization * this.normalization;
  }

  /**
   * Mean (weighted) squared error per neuron, on traces that are already cut
   * at tStart and normalized (reference `MSEMetric.get_features`).
   * @param model model traces, row `sample * nTraces + trace`
   * @param data data traces
   * @param _dt time step (unused)
   * @returns `nSamples` rows of `nTraces` values
   */
  getFeatures(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    _dt: number,
  ): Float64Array[] {
    const { nSamples, nTraces, nSteps } = checkLayout(
      model,
      data,
      "MSEMetric",
      true,
    );
    const w = this.tWeights;
    if (w && w.length !== nSteps) {
      throw new TypeError(
        `MSEMetric: tWeights has ${w.length} values but the traces have ${nSteps} steps`,
      );
    }
    const out: Float64Array[] = [];
    for (let s = 0; s < nSamples; s++) {
      const row = new Float64Array(nTraces);
      for (let tr = 0; tr < nTraces; tr++) {
        const m = model[s * nTraces + tr];
        const d = data[tr];
        let sum = 0;
        for (let k = 0; k < nSteps; k++) {
          const e = m[k] - d[k];
          sum += w ? e * e * w[k] : e * e;
        }
        row[tr] = sum / nSteps;
      }
      out.push(row);
    }
    return out;
  }

  /**
   * Mean over traces.
   * @param features `nSamples` rows of `nTraces` values
   * @returns `nSamples` errors
   */
  getErrors(features: Float64Array[]): Float64Array {
    const out = new Float64Array(features.length);
    for (let s = 0; s < features.length; s++) {
      let sum = 0;
      for (const v of features[s]) sum += v;
      out[s] = sum / features[s].length;
    }
    return out;
  }

  /**
   * Errors for every parameter set, through {@linkcode MSEAccumulator}.
   * @param model model traces, row `sample * nTraces + trace`
   * @param data data traces, one row per trace
   * @param dt time step (s)
   * @returns `nSamples` errors (units: (output unit / normalization)²)
   * @throws {TypeError} inconsistent shapes, tWeights length ≠ number of steps
   * @throws {RangeError} bad dt, tStart beyond the end of the traces
   */
  override calc(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): Float64Array {
    const { nSamples, nTraces, nSteps } = checkLayout(
      model,
      data,
      "MSEMetric",
      true,
    );
    const acc = new MSEAccumulator(this, { nSamples, nTraces, nSteps, dt });
    acc.update(model, data, 0);
    return acc.errors();
  }

  /**
   * An incremental reducer for this metric (used by the online fitter and
   * streams).
   * @param shape nSamples, nTraces, nSteps (total steps of the run), dt (s)
   * @returns a fresh accumulator
   */
  accumulator(
    shape: { nSamples: number; nTraces: number; nSteps: number; dt: number },
  ): MSEAccumulator {
    return new MSEAccumulator(this, shape);
  }
}

/**
 * Incremental MSE: per neuron `sum_k w_k·((m_k − d_k)/norm)²` and the count of
 * compared steps, fed chunk by chunk. `errors()` returns exactly what
 * `MSEMetric.calc` returns on the full traces.
 *
 * @example
 * ```ts
 * import { MSEAccumulator, MSEMetric } from "./mse.ts";
 * import assert from "node:assert/strict";
 * const metric = new MSEMetric({ tStart: 2e-4 }); // skip the first 2 steps of 0.1 ms
 * const data = [Float64Array.of(9, 9, 1, 2, 3, 4)];
 * const model = [Float64Array.of(0, 0, 1, 2, 3, 6)];
 * const acc = new MSEAccumulator(metric, { nSamples: 1, nTraces: 1, nSteps: 6, dt: 1e-4 });
 * acc.update([model[0].subarray(0, 3)], [data[0].subarray(0, 3)], 0);
 * acc.update([model[0].subarray(3)], [data[0].subarray(3)], 3);
 * assert.equal(acc.errors()[0], metric.calc(model, data, 1e-4)[0]); // (2²)/4 = 1
 * ```
 */
export class MSEAccumulator {
  /** Number of parameter sets. */
  readonly nSamples: number;
  /** Number of traces. */
  readonly nTraces: number;
  /** Total number of steps of the run. */
  readonly nSteps: number;
  /** First compared step. */
  readonly start: number;
  /** Per neuron: sum of weighted squared (normalized) errors. */
  readonly sums: Float64Array;
  /** Per neuron: number of compared steps seen so far. */
  readonly counts: Float64Array;
  readonly #w: Float64Array | null;
  readonly #scale: number;

  /**
   * Create the accumulator.
   * @param metric the MSE metric (tStart, tWeights, normalization)
   * @param shape nSamples, nTraces, nSteps (total), dt (s)
   * @throws {TypeError} tWeights length ≠ nSteps
   * @throws {RangeError} bad sizes or dt, tStart beyond the end
   */
  constructor(
    metric: MSEMetric,
    shape: { nSamples: number; nTraces: number; nSteps: number; dt: number },
  ) {
    const { nSamples, nTraces, nSteps, dt } = shape;
    for (const [k, v] of Object.entries({ nSamples, nTraces, nSteps })) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `MSEAccumulator: ${k} must be an integer >= 1, got ${v}`,
        );
      }
    }
    checkDt(dt, "MSEAccumulator");
    if (metric.tWeights && metric.tWeights.length !== nSteps) {
      throw new TypeError(
        `MSEMetric: tWeights has ${metric.tWeights.length} values but the traces have ${nSteps} steps`,
      );
    }
    this.nSamples = nSamples;
    this.nTraces = nTraces;
    this.nSteps = nSteps;
    this.start = metric.startStep(dt);
    if (this.start >= nSteps) {
      throw new RangeError(
        `MSEMetric: tStart = ${metric.tStart} s is at or after the end of the traces (${nSteps} steps of ${dt} s)`,
      );
    }
    this.#w = metric.tWeights;
    this.#scale = 1 / metric.normalization;
    this.sums = new Float64Array(nSamples * nTraces);
    this.counts = new Float64Array(nSamples * nTraces);
  }

  /**
   * Add a chunk of steps `[stepOffset, stepOffset + k)`.
   * @param modelChunk one row of k values per neuron (`nSamples·nTraces` rows)
   * @param dataChunk one row of k values per trace (`nTraces` rows)
   * @param stepOffset index of the first step of the chunk in the whole run
   * @throws {TypeError} wrong numbers of rows or unequal row lengths
   * @throws {RangeError} the chunk extends past nSteps
   */
  update(
    modelChunk: ArrayLike<number>[],
    dataChunk: ArrayLike<number>[],
    stepOffset: number,
  ): void {
    const nN = this.nSamples * this.nTraces;
    if (modelChunk.length !== nN) {
      throw new TypeError(
        `MSEAccumulator.update: expected ${nN} model rows, got ${modelChunk.length}`,
      );
    }
    if (dataChunk.length !== this.nTraces) {
      throw new TypeError(
        `MSEAccumulator.update: expected ${this.nTraces} data rows, got ${dataChunk.length}`,
      );
    }
    const k = dataChunk[0].length;
    for (const r of dataChunk) {
      if (r.length !== k) {
        throw new TypeError(
          "MSEAccumulator.update: data rows of unequal length",
        );
      }
    }
    if (
      !Number.isInteger(stepOffset) || stepOffset < 0 ||
      stepOffset + k > this.nSteps
    ) {
      throw new RangeError(
        `MSEAccumulator.update: steps [${stepOffset}, ${
          stepOffset + k
        }) outside [0, ${this.nSteps})`,
      );
    }
    const from = Math.max(0, this.start - stepOffset);
    const s = this.#scale;
    const w = this.#w;
    for (let n = 0; n < nN; n++) {
      const m = modelChunk[n];
      if (m.length !== k) {
        throw new TypeError(
          `MSEAccumulator.update: model row ${n} has ${m.length} values, data rows ${k}`,
        );
      }
      const d = dataChunk[n % this.nTraces];
      let sum = this.sums[n];
      for (let j = from; j < k; j++) {
        const e = m[j] * s - d[j] * s;
        sum += w ? e * e * w[stepOffset + j] : e * e;
      }
      this.sums[n] = sum;
      this.counts[n] += Math.max(0, k - from);
    }
  }

  /**
   * Add a chunk stored step-major (`values[j * nNeurons + n]`, the layout of a
   * recorded state variable in a simulation chunk).
   * @param values `k · nSamples·nTraces` values
   * @param dataChunk one row of k values per trace
   * @param stepOffset index of the first step of the chunk
   */
  updateInterleaved(
    values: ArrayLike<number>,
    dataChunk: ArrayLike<number>[],
    stepOffset: number,
  ): void {
    const nN = this.nSamples * this.nTraces;
    if (dataChunk.length !== this.nTraces) {
      throw new TypeError(
        `MSEAccumulator.updateInterleaved: expected ${this.nTraces} data rows, got ${dataChunk.length}`,
      );
    }
    const k = dataChunk[0].length;
    if (values.length !== k * nN) {
      throw new TypeError(
        `MSEAccumulator.updateInterleaved: expected ${k}·${nN} = ${
          k * nN
        } values, got ${values.length}`,
      );
    }
    if (
      !Number.isInteger(stepOffset) || stepOffset < 0 ||
      stepOffset + k > this.nSteps
    ) {
      throw new RangeError(
        `MSEAccumulator.updateInterleaved: steps [${stepOffset}, ${
          stepOffset + k
        }) outside [0, ${this.nSteps})`,
      );
    }
    const from = Math.max(0, this.start - stepOffset);
    const s = this.#scale;
    const w = this.#w;
    for (let n = 0; n < nN; n++) {
      const d = dataChunk[n % this.nTraces];
      let sum = this.sums[n];
      for (let j = from; j < k; j++) {
        const e = values[j * nN + n] * s - d[j] * s;
        sum += w ? e * e * w[stepOffset + j] : e * e;
      }
      this.sums[n] = sum;
      this.counts[n] += Math.max(0, k - from);
    }
  }

  /**
   * Current per-neuron MSE (sum / number of compared steps; NaN before any).
   * With time weights the divisor is the number of steps (the weights have
   * mean 1 over the whole run), as the reference.
   * @returns `nSamples·nTraces` values
   */
  features(): Float64Array {
    const out = new Float64Array(this.sums.length);
    for (let n = 0; n < out.length; n++) {
      const c = this.#w ? this.counts[n] + this.start : this.counts[n];
      out[n] = this.sums[n] / c;
    }
    return out;
  }

  /**
   * Errors per parameter set: mean over traces of the per-neuron MSE.
   * @returns `nSamples` errors
   */
  errors(): Float64Array {
    const f = this.features();
    const out = new Float64Array(this.nSamples);
    for (let s = 0; s < this.nSamples; s++) {
      let sum = 0;
      for (let t = 0; t < this.nTraces; t++) sum += f[s * this.nTraces + t];
      out[s] = sum / this.nTraces;
    }
    return out;
  }

  /** Forget everything seen so far. */
  reset(): void {
    this.sums.fill(0);
    this.counts.fill(0);
  }
}
