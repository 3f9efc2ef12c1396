/**
 * Error from electrophysiology features (reference: brian2modelfitting
 * `FeatureMetric`, which calls eFEL): for every trace the listed features are
 * computed on the model and on the data trace (see `efel_features.ts`), each
 * pair is compared with `combine` (default `|x − y|`), and the error of a
 * parameter set is `Σ_features weight · Σ_traces combine(model, data)`,
 * divided by `normalization`.
 *
 * Differences from the reference, all documented:
 * - features are native (no eFEL/Python); names and definitions are eFEL's;
 * - a feature eFEL cannot compute (`None`) is replaced by `missingValue`
 *   (default 99, as the reference) and reported: `calcDetailed` returns the
 *   list of substitutions, `lastMissing` keeps those of the last call, and a
 *   warning is printed once per feature name (the reference warns on every
 *   occurrence);
 * - multi-valued features (one value per spike, e.g. `AP_amplitude`) are
 *   reduced to their mean (eFEL's `get_mean_feature_values`), where the
 *   reference raises `ValueError`;
 * - `normalization` divides the error only; the reference also divides the
 *   voltage traces before eFEL sees them (which moves them relative to eFEL's
 *   −20 mV spike threshold);
 * - `tStart` cuts the traces as in every trace metric (times then start at
 *   0 at tStart, as in the reference, so `stimTimes` are relative to tStart).
 * @module
 */

import { checkLayout, TraceMetric, type TraceMetricOptions } from "./metric.ts";
import {
  computeFeatures,
  type EfelSettings,
  FEATURE_NAMES,
} from "./efel_features.ts";

/** Options of {@linkcode FeatureMetric}. */
export interface FeatureMetricOptions
  extends Omit<TraceMetricOptions, "tWeights"> {
  /**
   * Stimulus `[start, end]` in seconds per trace, or a single pair for all
   * traces.
   */
  stimTimes: [number, number][] | [number, number];
  /** eFEL feature names (see `FEATURE_NAMES`). */
  features: string[];
  /** Weight per feature. Default 1 for each. */
  weights?: Record<string, number>;
  /** Comparison of a model and a data value. Default `|x − y|`. */
  combine?: (x: number, y: number) => number;
  /** Value used for features that cannot be computed. Default 99 (the reference). */
  missingValue?: number;
  /** eFEL settings (threshold, …). Defaults are eFEL's. */
  settings?: EfelSettings;
  /** Print a warning (once per feature name) when a value is missing. Default true. */
  warn?: boolean;
}

/** A feature value that could not be computed and was replaced. */
export interface MissingFeature {
  /** Parameter-set index, or -1 for the data. */
  sample: number;
  /** Trace index. */
  trace: number;
  /** Feature name. */
  feature: string;
}

/** Features per parameter set: name -> combined value per trace. */
export type FeatureValues = Record<string, Float64Array>;

/**
 * eFEL-feature metric.
 *
 * @example
 * ```ts
 * import { FeatureMetric } from "./feature_metric.ts";
 * import assert from "node:assert/strict";
 * const step = (shift: number) =>
 *   Float64Array.from({ length: 200 }, (_, i) => (i < 50 ? -70e-3 : -60e-3) + shift);
 * const metric = new FeatureMetric({ stimTimes: [99e-3, 150e-3], features: ["voltage_base"] });
 * const errors = metric.calc([step(2.5e-3), step(0)], [step(0)], 1e-3);
 * assert.ok(Math.abs(errors[0] - 2.5) < 1e-9 && errors[1] === 0);
 * ```
 */
export class FeatureMetric extends TraceMetric<FeatureValues[]> {
  /** Feature names. */
  readonly features: string[];
  /** Weights per feature. */
  readonly weights: Record<string, number>;
  /** Comparison function. */
  readonly combine: (x: number, y: number) => number;
  /** Replacement for missing values. */
  readonly missingValue: number;
  /** Substitutions made in the last `calc` / `getFeatures` call. */
  lastMissing: MissingFeature[] = [];
  readonly #stimTimes: [number, number][];
  readonly #settings: EfelSettings;
  readonly #warn: boolean;
  readonly #warned = new Set<string>();

  /**
   * Create the metric.
   * @param options stimTimes (s), features, weights, combine, missingValue, settings, tStart, normalization, warn
   * @throws {TypeError} missing stimTimes/features, weights not an object, combine not a function
   * @throws {RangeError} unknown feature, stimulus end <= start, weight for an unlisted feature
   */
  constructor(options: FeatureMetricOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "FeatureMetric: options { stimTimes, features } are required",
      );
    }
    super({ tStart: options.tStart, normalization: options.normalization });
    const { stimTimes, features } = options;
    if (!Array.isArray(features) || features.length === 0) {
      throw new TypeError(
        "FeatureMetric: 'features' must be a non-empty array of eFEL feature names",
      );
    }
    for (const f of features) {
      if (!FEATURE_NAMES.includes(f)) {
        throw new RangeError(
          `FeatureMetric: unknown feature '${f}' (supported: ${
            FEATURE_NAMES.join(", ")
          })`,
        );
      }
    }
    if (!Array.isArray(stimTimes) || stimTimes.length === 0) {
      throw new TypeError(
        "FeatureMetric: 'stimTimes' must be [start, end] or a list of [start, end] (seconds)",
      );
    }
    const pairs: [number, number][] = typeof stimTimes[0] === "number"
      ? [stimTimes as [number, number]]
      : (stimTimes as [number, number][]);
    for (const [i, p] of pairs.entries()) {
      if (
        !Array.isArray(p) || p.length !== 2 || typeof p[0] !== "number" ||
        typeof p[1] !== "number"
      ) {
        throw new TypeError(
          `FeatureMetric: stimTimes[${i}] must be [start, end] in seconds, got ${
            JSON.stringify(p)
          }`,
        );
      }
      if (!(p[1] > p[0]) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        throw new RangeError(
          `FeatureMetric: stimTimes[${i}] = [${p[0]}, ${
            p[1]
          }] needs start < end`,
        );
      }
    }
    this.#stimTimes = pairs;
    this.features = [...features];
    if (
      options.weights !== undefined &&
      (options.weights === null || typeof options.weights !== "object")
    ) {
      throw new TypeError(
        "FeatureMetric: weights has to be an object {feature: weight}",
      );
    }
    const weights: Record<string, number> = {};
    for (const f of features) weights[f] = options.weights?.[f] ?? 1;
    for (const k of Object.keys(options.weights ?? {})) {
      if (!features.includes(k)) {
        throw new RangeError(
          `FeatureMetric: weight given for unlisted feature '${k}'`,
        );
      }
    }
    this.weights = weights;
    if (
      options.combine !== undefined && typeof options.combine !== "function"
    ) {
      throw new TypeError(
        "FeatureMetric: combine must be a function (x, y) => number",
      );
    }
    this.combine = options.combine ?? ((x, y) => Math.abs(x - y));
    this.missingValue = options.missingValue ?? 99;
    this.#settings = options.settings ?? {};
    this.#warn = options.warn ?? true;
  }

  #stim(nTraces: number, trace: number): [number, number] {
    if (this.#stimTimes.length === 1) return this.#stimTimes[0];
    if (this.#stimTimes.length !== nTraces) {
      throw new TypeError(
        `FeatureMetric: stimTimes has ${this.#stimTimes.length} entries; specify one per trace (${nTraces}) or a single one`,
      );
    }
    return this.#stimTimes[trace];
  }

  #values(
    v: ArrayLike<number>,
    dt: number,
    stim: [number, number],
    sample: number,
    trace: number,
  ): Record<string, number> {
    const raw = computeFeatures(
      { v, dt, stimStart: stim[0], stimEnd: stim[1] },
      this.features,
      this.#settings,
    );
    const out: Record<string, number> = {};
    for (const f of this.features) {
      const x = raw[f];
      if (x === null) {
        out[f] = this.missingValue;
        this.lastMissing.push({ sample, trace, feature: f });
        if (this.#warn && !this.#warned.has(f)) {
          this.#warned.add(f);
          console.warn(
            `FeatureMetric: feature '${f}' could not be computed (eFEL returns None); using ${this.missingValue}. ` +
              "Further occurrences are listed in calcDetailed().missing / lastMissing.",
          );
        }
      } else {
        let s = 0;
        for (const y of x) s += y;
        out[f] = s / x.length;
      }
    }
    return out;
  }

  /**
   * Combined feature values per parameter set: `combine(model, data)` per
   * feature and trace (reference `FeatureMetric.get_features`).
   * @param model model traces (V), row `sample * nTraces + trace`
   * @param data data traces (V)
   * @param dt time step (s)
   * @returns one record per parameter set: feature -> `nTraces` values
   */
  getFeatures(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): FeatureValues[] {
    const { nSamples, nTraces } = checkLayout(
      model,
      data,
      "FeatureMetric",
      true,
    );
    this.lastMissing = [];
    const target = data.map((d, t) =>
      this.#values(d, dt, this.#stim(nTraces, t), -1, t)
    );
    const out: FeatureValues[] = [];
    for (let s = 0; s < nSamples; s++) {
      const rec: FeatureValues = {};
      for (const f of this.features) rec[f] = new Float64Array(nTraces);
      for (let t = 0; t < nTraces; t++) {
        const m = this.#values(
          model[s * nTraces + t],
          dt,
          this.#stim(nTraces, t),
          s,
          t,
        );
        for (const f of this.features) {
          rec[f][t] = this.combine(m[f], target[t][f]);
        }
      }
      out.push(rec);
    }
    return out;
  }

  /**
   * `Σ_features weight · Σ_traces value`, divided by `normalization`
   * (reference `FeatureMetric.get_errors`).
   * @param features the output of `getFeatures`
   * @returns one error per parameter set
   */
  getErrors(features: FeatureValues[]): Float64Array {
    const out = new Float64Array(features.length);
    const s = 1 / this.normalization;
    for (let i = 0; i < features.length; i++) {
      let e = 0;
      for (const [f, vals] of Object.entries(features[i])) {
        let sum = 0;
        for (const v of vals) sum += v;
        e += sum * (this.weights[f] ?? 1);
      }
      out[i] = e * s;
    }
    return out;
  }

  /**
   * Errors per parameter set. The traces are cut at tStart but NOT divided by
   * `normalization` (see the module docs).
   * @param model model traces (V), row `sample * nTraces + trace`
   * @param data data traces (V)
   * @param dt time step (s)
   * @returns one error per parameter set
   */
  override calc(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): Float64Array {
    return this.calcDetailed(model, data, dt).errors;
  }

  /**
   * Errors plus the list of feature values that could not be computed.
   * @param model model traces (V), row `sample * nTraces + trace`
   * @param data data traces (V)
   * @param dt time step (s)
   * @returns `{ errors, features, missing }`
   */
  calcDetailed(
    model: ArrayLike<number>[],
    data: ArrayLike<number>[],
    dt: number,
  ): {
    errors: Float64Array;
    features: FeatureValues[];
    missing: MissingFeature[];
  } {
    checkLayout(model, data, "FeatureMetric", true);
    if (!(dt > 0) || !Number.isFinite(dt)) {
      throw new RangeError(`FeatureMetric: dt must be > 0, got ${dt}`);
    }
    const start = this.startStep(dt);
    const cut = (rows: ArrayLike<number>[]): ArrayLike<number>[] =>
      start === 0
        ? rows
        : rows.map((r) =>
          Float64Array.prototype.slice.call(Float64Array.from(r), start)
        );
    const features = this.getFeatures(cut(model), cut(data), dt);
    return {
      errors: this.getErrors(features),
      features,
      missing: [...this.lastMissing],
    };
  }
}
