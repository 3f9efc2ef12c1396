/**
 * Spike-train coincidence metric (gamma factor) and firing rate, following
 * brian2modelfitting's `get_gamma_factor`, `GammaFactor` and `firing_rate`
 * (`metric.py`, HEAD 3a0e8c9) exactly, with two documented differences:
 *
 * 1. `normalization` is applied once. The reference multiplies the features
 *    by `1/normalization` in `get_features` *and* the errors again in
 *    `SpikeMetric.calc`, so its errors scale with `1/normalization²`. Here
 *    `getFeatures` keeps the reference's (normalized) features and `calc`
 *    returns their mean over traces: errors scale with `1/normalization`.
 * 2. An empty target spike train is an error (`RangeError` naming the trace),
 *    where the reference divides by zero and returns `inf` (with rate
 *    correction) or a meaningless finite value (without).
 *
 * The gamma factor (Kistler, Gerstner & van Hemmen 1997; Jolivet et al.
 * 2008, J. Neurosci. Methods 169:417) with the rate term of Clopath et al.
 * (2007, Neurocomputing 70:1668): spike times are rounded to steps
 * (`rint(t/dt)`), `δ = rint(delta/dt)` steps; each data spike is matched to its
 * nearest model spike and counted as coincident when within δ steps;
 * `Γ = (N_coinc − 2·delta·N_data·r_data) / (½(1 − 2·r_data·delta)·(N_model + N_data))`
 * with `r = N/time`, and the error is `max(0, 1 + 2|r_data − r_model|/r_data − Γ)`
 * (or `max(0, 1 − Γ)` without rate correction). Note: the reference's docs
 * omit the leading `1 +` of the rate term; the code (reproduced here) has it.
 * @module
 */

import {
  checkLayout,
  type MetricOptions,
  rint,
  SpikeMetric,
} from "./metric.ts";

/**
 * Firing rate of a spike train: `(n − 1)/(t_last − t_first)`; NaN for fewer
 * than two spikes (reference: `firing_rate`).
 *
 * @param spikes spike times (s), increasing
 * @returns rate in Hz (or in 1/unit of the times)
 * @example
 * ```ts
 * import { firingRate } from "./gamma_factor.ts";
 * import assert from "node:assert/strict";
 * assert.equal(firingRate([1, 1.2, 1.4, 1.6, 1.8]), 5);
 * ```
 */
export function firingRate(spikes: ArrayLike<number>): number {
  const n = spikes.length;
  if (n < 2) return NaN;
  return (n - 1) / (spikes[n - 1] - spikes[0]);
}

/** Options of {@linkcode gammaFactor}. */
export interface GammaFactorOptions {
  /** Coincidence window (s). */
  delta: number;
  /** Total duration of the recording (s); not reduced by tStart. */
  time: number;
  /** Time step (s) used to round spike times to steps. */
  dt: number;
  /** Include the Clopath et al. rate term. Default true. */
  rateCorrection?: boolean;
}

/** Index of the bin of x among increasing edges, as numpy's `digitize(x, bins)` (right=False). */
function digitize(x: number, bins: Float64Array): number {
  let lo = 0;
  let hi = bins.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bins[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Gamma-factor error between a model and a data spike train (reference:
 * `get_gamma_factor`).
 *
 * @param model model spike times (s)
 * @param data data spike times (s), at least one spike
 * @param options delta, time, dt, rateCorrection
 * @returns the error (0 for identical trains)
 * @throws {RangeError} empty data train, non-positive delta/time/dt
 * @example
 * ```ts
 * import { gammaFactor } from "./gamma_factor.ts";
 * import assert from "node:assert/strict";
 * const ms = 1e-3;
 * const trg = [0, 2, 4, 6, 8, 10].map((t) => t * ms);
 * assert.equal(gammaFactor(trg, trg, { delta: 0.5 * ms, time: 12 * ms, dt: 0.1 * ms }), 0);
 * ```
 */
export function gammaFactor(
  model: ArrayLike<number>,
  data: ArrayLike<number>,
  options: GammaFactorOptions,
): number {
  const { delta, time, dt } = options;
  const rateCorrection = options.rateCorrection ?? true;
  for (const [k, v] of Object.entries({ delta, time, dt })) {
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new RangeError(
        `gammaFactor: ${k} must be a finite number > 0 (seconds), got ${v}`,
      );
    }
  }
  const nData = data.length;
  if (nData === 0) {
    throw new RangeError(
      "gammaFactor: the data spike train is empty; the gamma factor is undefined (the reference returns inf)",
    );
  }
  const nModel = model.length;
  const m = new Float64Array(nModel);
  for (let i = 0; i < nModel; i++) m[i] = rint(model[i] / dt);
  const d = new Float64Array(nData);
  for (let i = 0; i < nData; i++) d[i] = rint(data[i] / dt);
  const deltaDiff = rint(delta / dt);
  const dataRate = nData / time;
  const modelRate = nModel / time;
  let coincidences = 0;
  if (nModel > 1) {
    const bins = new Float64Array(nModel - 1);
    for (let i = 0; i < nModel - 1; i++) bins[i] = 0.5 * (m[i + 1] + m[i]);
    for (let i = 0; i < nData; i++) {
      const idx = digitize(d[i], bins);
      if (Math.abs(d[i] - m[idx]) <= deltaDiff) coincidences++;
    }
  } else if (nModel === 1) {
    for (let i = 0; i < nData; i++) {
      if (Math.abs(m[0] - d[i]) <= deltaDiff) coincidences++;
    }
  }
  const nCoincAvg = 2 * delta * nData * dataRate;
  const norm = 0.5 * (1 - 2 * dataRate * delta);
  const gamma = (coincidences - nCoincAvg) / (norm * (nModel + nData));
  const rateTerm = rateCorrection
    ? 1 + 2 * Math.abs((dataRate - modelRate) / dataRate)
    : 1;
  const err = rateTerm - gamma;
  return err < 0 ? 0 : err;
}

/** Options of {@linkcode GammaFactor}. */
export interface GammaFactorMetricOptions extends MetricOptions {
  /** Coincidence window (s). Required. */
  delta: number;
  /** Total duration of the recordings (s). Required. */
  time: number;
  /** Include the rate term. Default true. */
  rateCorrection?: boolean;
}

/**
 * Gamma-factor metric for spike trains (reference: `GammaFactor`); the error
 * of a parameter set is the mean over traces.
 *
 * @example
 * ```ts
 * import { GammaFactor } from "./gamma_factor.ts";
 * import assert from "node:assert/strict";
 * const ms = 1e-3;
 * const gf = new GammaFactor({ delta: 0.5 * ms, time: 10 * ms });
 * const data = [[0, 5, 9].map((t) => t * ms), [1, 3, 5, 6].map((t) => t * ms)];
 * const model = [[1, 5, 8], [2, 3, 8, 9]].map((r) => r.map((t) => t * ms)); // 1 sample x 2 traces
 * assert.ok(Math.abs(gf.calc(model, data, 0.1 * ms)[0] - 1.1011904761904763) < 1e-12);
 * ```
 */
export class GammaFactor extends SpikeMetric {
  /** Coincidence window (s). */
  readonly delta: number;
  /** Total duration (s). */
  readonly time: number;
  /** Rate correction on/off. */
  readonly rateCorrection: boolean;

  /**
   * Create the metric.
   * @param options delta (s), time (s), rateCorrection, tStart (s), normalization
   * @throws {TypeError} delta or time missing
   * @throws {RangeError} delta or time not finite and > 0
   */
  constructor(options: GammaFactorMetricOptions) {
    if (
      options === undefined || options === null || typeof options !== "object"
    ) {
      throw new TypeError("GammaFactor: options { delta, time } are required");
    }
    super(options);
    if (options.delta === undefined) {
      throw new TypeError("GammaFactor: 'delta' (seconds) is required");
    }
    if (options.time === undefined) {
      throw new TypeError("GammaFactor: 'time' (seconds) is required");
    }
    for (const k of ["delta", "time"] as const) {
      const v = options[k];
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
        throw new RangeError(
          `GammaFactor: ${k} must be a finite number > 0 (seconds), got ${v}`,
        );
      }
    }
    this.delta = options.delta;
    this.time = options.time;
    this.rateCorrection = options.rateCorrection ?? true;
  }

  /**
   * Gamma-factor errors per (sample, trace), times `1/normalization` (as the
   * reference's `get_features`).
   * @param modelSpikes spike times per neuron, row `sample * nTraces + trace`
   * @param dataSpikes spike times per trace
   * @param dt time step (s)
   * @returns `nSamples` rows of `nTraces` values
   * @throws {RangeError} a data trace without spikes (names the trace)
   */
  getFeatures(
    modelSpikes: ArrayLike<number>[],
    dataSpikes: ArrayLike<number>[],
    dt: number,
  ): Float64Array[] {
    const { nSamples, nTraces } = checkLayout(
      modelSpikes,
      dataSpikes,
      "GammaFactor",
      false,
    );
    for (let t = 0; t < nTraces; t++) {
      if (dataSpikes[t].length === 0) {
        throw new RangeError(
          `GammaFactor: data trace ${t} has no spikes${
            this.tStart > 0 ? ` after tStart = ${this.tStart} s` : ""
          }; the gamma factor needs at least one target spike per trace`,
        );
      }
    }
    const s = 1 / this.normalization;
    const out: Float64Array[] = [];
    for (let i = 0; i < nSamples; i++) {
      const row = new Float64Array(nTraces);
      for (let t = 0; t < nTraces; t++) {
        row[t] = s * gammaFactor(modelSpikes[i * nTraces + t], dataSpikes[t], {
          delta: this.delta,
          time: this.time,
          dt,
          rateCorrection: this.rateCorrection,
        });
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
    for (let i = 0; i < features.length; i++) {
      let sum = 0;
      for (const v of features[i]) sum += v;
      out[i] = sum / features[i].length;
    }
    return out;
  }

  /**
   * Errors per parameter set: mean over traces of the gamma-factor errors of
   * the spikes after tStart, divided by `normalization` once.
   * @param modelSpikes spike times per neuron, row `sample * nTraces + trace`
   * @param dataSpikes spike times per trace
   * @param dt time step (s)
   * @returns `nSamples` errors
   * @throws {TypeError} inconsistent numbers of rows
   * @throws {RangeError} bad dt, a data trace without spikes
   */
  override calc(
    modelSpikes: ArrayLike<number>[],
    dataSpikes: ArrayLike<number>[],
    dt: number,
  ): Float64Array {
    checkLayout(modelSpikes, dataSpikes, "GammaFactor", false);
    if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) {
      throw new RangeError(
        `GammaFactor: dt must be a finite number > 0 (seconds), got ${dt}`,
      );
    }
    // normalization is already in the features: apply it once (reference applies it twice)
    return this.getErrors(
      this.getFeatures(
        this.filterSpikes(modelSpikes),
        this.filterSpikes(dataSpikes),
        dt,
      ),
    );
  }
}
