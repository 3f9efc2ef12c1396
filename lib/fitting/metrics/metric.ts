/**
 * Base classes of the fitting metrics, after brian2modelfitting's
 * `Metric`, `TraceMetric` and `SpikeMetric` (`metric.py`).
 *
 * Data layout (used by every metric and by the fitters):
 * - model traces: `Float64Array[]` (or any `ArrayLike<number>[]`) with one
 *   row per simulated neuron, sample-major: row `sample * nTraces + trace`
 *   (brian2modelfitting's neuron order); `nSamples = rows / nTraces`;
 * - data traces: one row per recorded trace (`nTraces` rows), all rows of the
 *   same length `nSteps` as the model rows;
 * - spikes: the same row layout with spike times in seconds per row;
 * - results: `Float64Array` of `nSamples` errors; features are
 *   `Float64Array[]` with `nSamples` rows of `nTraces` values.
 * All values are SI floats (volts, seconds).
 *
 * `normalization` keeps the reference's meaning: trace metrics divide the
 * traces by it (so an MSE scales with 1/normalization²), other metrics divide
 * their error by it.
 * @module
 */

/** Rounding as numpy's `rint` / Python 3's `round`: halves go to the even integer. */
export function rint(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** Options shared by all metrics. */
export interface MetricOptions {
  /** Start of the compared window in seconds (samples / spikes before it are ignored). Default 0. */
  tStart?: number;
  /** Normalization (see the module docs). Default 1. */
  normalization?: number;
}

/** Common state of all metrics. */
export abstract class Metric {
  /** Start of the compared window (s). */
  readonly tStart: number;
  /** The normalization as given by the user. */
  readonly normalization: number;

  /**
   * Create the metric.
   * @param options tStart, normalization
   * @throws {RangeError} tStart negative or not finite, normalization zero or not finite
   */
  constructor(options: MetricOptions = {}) {
    const tStart = options.tStart ?? 0;
    const normalization = options.normalization ?? 1;
    if (typeof tStart !== "number" || !Number.isFinite(tStart) || tStart < 0) {
      throw new RangeError(
        `tStart must be a finite number >= 0 (seconds), got ${tStart}`,
      );
    }
    if (
      typeof normalization !== "number" || !Number.isFinite(normalization) ||
      normalization === 0
    ) {
      throw new RangeError(
        `normalization must be a finite non-zero number, got ${normalization}`,
      );
    }
    this.tStart = tStart;
    this.normalization = normalization;
  }

  /**
   * Undo the normalization of an error (reference: `revert_normalization`).
   * @param error a normalized error
   * @returns the error in the output's units
   */
  revertNormalization(error: number): number {
    return error * this.normalization;
  }

  /**
   * The power of the output unit in the error (2 for an MSE on volts -> V²,
   * 0 for dimensionless errors). Used by fitters to label errors.
   * @returns the exponent
   */
  errorUnitPower(): number {
    return 0;
  }

  /**
   * Errors for every parameter set.
   * @param model model results (row `sample * nTraces + trace`)
   * @param data target results (one row per trace)
   * @param dt time step (s)
   * @returns one error per parameter set
   */
  abstract calc(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): Float64Array;
}

/** Check the shapes of model/data rows and return nSamples and nTraces. */
export function checkLayout(
  model: ArrayLike<number>[],
  data: ArrayLike<number>[],
  what: string,
  sameLength: boolean,
): { nSamples: number; nTraces: number; nSteps: number } {
  if (!Array.isArray(model)) {
    throw new TypeError(`${what}: model must be an array of rows`);
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new TypeError(`${what}: data must be a non-empty array of rows`);
  }
  const nTraces = data.length;
  if (model.length % nTraces !== 0) {
    throw new TypeError(
      `${what}: the number of model rows (${model.length}) is not a multiple of the number of data traces (${nTraces})`,
    );
  }
  const nSteps = data[0].length;
  if (sameLength) {
    for (let i = 0; i < nTraces; i++) {
      if (data[i].length !== nSteps) {
        throw new TypeError(
          `${what}: data row ${i} has ${
            data[i].length
          } samples, row 0 has ${nSteps}`,
        );
      }
    }
    for (let i = 0; i < model.length; i++) {
      if (model[i].length !== nSteps) {
        throw new TypeError(
          `${what}: model row ${i} has ${
            model[i].length
          } samples but the data have ${nSteps}`,
        );
      }
    }
  }
  return { nSamples: model.length / nTraces, nTraces, nSteps };
}

/** Check dt. */
export function checkDt(dt: number, what: string): void {
  if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) {
    throw new RangeError(
      `${what}: dt must be a finite number > 0 (seconds), got ${dt}`,
    );
  }
}

/** Options of {@linkcode TraceMetric}. */
export interface TraceMetricOptions extends MetricOptions {
  /**
   * Weight of every time step (length = number of steps of the traces),
   * >= 0 and not all zero; rescaled to mean 1. Exclusive with `tStart`.
   */
  tWeights?: ArrayLike<number>;
}

/**
 * Rescale time weights to mean 1 (reference: `normalize_weights`).
 *
 * @param w weights, >= 0, not all zero
 * @returns `w / mean(w)`
 * @throws {RangeError} a negative or non-finite weight, or all weights zero
 * @example
 * ```ts
 * import { normalizeWeights } from "./metric.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(normalizeWeights([0, 2])), [0, 2 / 1]);
 * ```
 */
export function normalizeWeights(w: ArrayLike<number>): Float64Array {
  let sum = 0;
  for (let i = 0; i < w.length; i++) {
    if (!(w[i] >= 0) || !Number.isFinite(w[i])) {
      throw new RangeError(
        `tWeights must be finite and >= 0, got tWeights[${i}] = ${w[i]}`,
      );
    }
    sum += w[i];
  }
  const mean = sum / w.length;
  if (!(mean > 0)) throw new RangeError("tWeights cannot be all zero");
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i] / mean;
  return out;
}

/**
 * A metric on recorded traces. Subclasses implement `getFeatures` (on traces
 * that are already cut at `tStart` and divided by `normalization`) and
 * `getErrors`; `calc` does the cutting, scaling and the two calls, as the
 * reference's `TraceMetric.calc`.
 */
export abstract class TraceMetric<F = Float64Array[]> extends Metric {
  /** Time weights rescaled to mean 1, or null. */
  readonly tWeights: Float64Array | null;

  /**
   * Create the metric.
   * @param options tStart, tWeights, normalization
   * @throws {RangeError} both tWeights and a non-zero tStart, bad weights
   */
  constructor(options: TraceMetricOptions = {}) {
    super(options);
    if (options.tWeights !== undefined && options.tWeights !== null) {
      if (this.tStart !== 0) {
        throw new RangeError("Cannot use both 'tWeights' and 'tStart'");
      }
      this.tWeights = normalizeWeights(options.tWeights);
    } else {
      this.tWeights = null;
    }
  }

  /** First compared step: `round(tStart / dt)` (half to even, as Python's round). */
  startStep(dt: number): number {
    return this.tWeights ? 0 : rint(this.tStart / dt);
  }

  /**
   * Features per parameter set and trace.
   * @param model model traces (cut and normalized), row `sample * nTraces + trace`
   * @param data data traces (cut and normalized)
   * @param dt time step (s)
   * @returns features (for the built-in metrics, `nSamples` rows of `nTraces` values)
   */
  abstract getFeatures(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): F;

  /**
   * Combine features into one error per parameter set.
   * @param features the output of `getFeatures`
   * @returns `nSamples` errors
   */
  abstract getErrors(features: F): Float64Array;

  /**
   * Errors for every parameter set (reference: `TraceMetric.calc`).
   * @param model model traces, row `sample * nTraces + trace`
   * @param data data traces, one row per trace
   * @param dt time step (s)
   * @returns `nSamples` errors
   * @throws {TypeError} inconsistent shapes or tWeights length ≠ number of steps
   * @throws {RangeError} bad dt, tStart beyond the traces
   */
  calc(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): Float64Array {
    const { nSteps } = checkLayout(model, data, this.constructor.name, true);
    checkDt(dt, this.constructor.name);
    if (this.tWeights && this.tWeights.length !== nSteps) {
      throw new TypeError(
        `${this.constructor.name}: tWeights has ${this.tWeights.length} values but the traces have ${nSteps} steps`,
      );
    }
    const start = this.startStep(dt);
    if (start >= nSteps) {
      throw new RangeError(
        `${this.constructor.name}: tStart = ${this.tStart} s is at or after the end of the traces (${nSteps} steps of ${dt} s)`,
      );
    }
    const s = 1 / this.normalization;
    const prep = (rows: ArrayLike<number>[]): ArrayLike<number>[] =>
      rows.map((r) => {
        const out = new Float64Array(r.length - start);
        for (let k = start; k < r.length; k++) out[k - start] = r[k] * s;
        return out;
      });
    return this.getErrors(this.getFeatures(prep(model), prep(data), dt));
  }
}

/**
 * A metric on spike trains (spike times in seconds). Subclasses implement
 * `getFeatures` and `getErrors`; `calc` keeps spikes with `t > tStart`
 * (strict, as the reference) and divides the error by `normalization`.
 */
export abstract class SpikeMetric extends Metric {
  /**
   * Features per parameter set and trace.
   * @param modelSpikes spike times per neuron, row `sample * nTraces + trace`
   * @param dataSpikes spike times per trace
   * @param dt time step (s)
   * @returns `nSamples` rows of `nTraces` values
   */
  abstract getFeatures(
    modelSpikes: ArrayLike<number>[],
    dataSpikes: ArrayLike<number>[],
    dt: number,
  ): Float64Array[];

  /**
   * Combine features into one error per parameter set.
   * @param features `nSamples` rows of `nTraces` values
   * @returns `nSamples` errors
   */
  abstract getErrors(features: Float64Array[]): Float64Array;

  /** Keep the spikes after tStart (strictly), as the reference's `SpikeMetric.calc`. */
  protected filterSpikes(rows: ArrayLike<number>[]): ArrayLike<number>[] {
    if (!(this.tStart > 0)) return rows;
    return rows.map((r) =>
      Float64Array.from(
        Array.prototype.filter.call(r, (t: number) => t > this.tStart),
      )
    );
  }

  /**
   * Errors for every parameter set.
   * @param modelSpikes spike times (s) per neuron, row `sample * nTraces + trace`
   * @param dataSpikes spike times (s) per trace
   * @param dt time step (s)
   * @returns `nSamples` errors
   * @throws {TypeError} inconsistent numbers of rows
   * @throws {RangeError} bad dt
   */
  calc(
    modelSpikes: ArrayLike<number>[],
    dataSpikes: ArrayLike<number>[],
    dt: number,
  ): Float64Array {
    checkLayout(modelSpikes, dataSpikes, this.constructor.name, false);
    checkDt(dt, this.constructor.name);
    const f = this.getFeatures(
      this.filterSpikes(modelSpikes),
      this.filterSpikes(dataSpikes),
      dt,
    );
    const e = this.getErrors(f);
    const s = 1 / this.normalization;
    for (let i = 0; i < e.length; i++) e[i] *= s;
    return e;
  }
}
