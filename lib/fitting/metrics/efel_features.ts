/**
 * Electrophysiology features computed natively under eFEL's names and with
 * eFEL's definitions and default settings (BlueBrain/eFEL 5.x,
 * `efel/cppcore/{BasicFeatures,SpikeEvent,SpikeShape,Subthreshold,Utils}.cpp`,
 * `efel/pyfeatures/{pyfeatures,isi}.py`, `efel/settings.py`):
 *
 * - inputs in SI (volts, seconds); inside, as eFEL, voltages are in mV and
 *   times in ms: `T_k = (k·dt)/1 ms`, `V_k = v_k / 1 mV` (brian2modelfitting's
 *   `calc_eFEL` conversion);
 * - the trace is first linearly resampled to `interpStep` = 0.1 ms (eFEL's
 *   `interpolate`, reproducing its accumulated time grid);
 * - spikes: `peak_indices` = maxima between upward and downward crossings of
 *   `threshold` = −20 mV; `derivativeThreshold` = 10 mV/ms (AP onset),
 *   `derivativeWindow` = 3, `spikeSkipf` = 0.1, `maxSpikeSkip` = 2,
 *   `ignoreFirstISI` = true, `voltageBaseStartPerc` = 0.9,
 *   `voltageBaseEndPerc` = 1.0 (mean mode), precision threshold 1e-10.
 *
 * A feature that eFEL cannot compute (e.g. `AP_width` without spikes) is
 * `null`, as eFEL's `None`; `Spikecount` is 0 without spikes. Vector features
 * (`AP_amplitude`, `AP_width`, `AHP_depth`) return one value per spike.
 * @module
 */

/** The supported feature names (eFEL names). */
export const FEATURE_NAMES: readonly string[] = [
  "voltage_base",
  "steady_state_voltage_stimend",
  "voltage_deflection",
  "Spikecount",
  "spike_count",
  "mean_frequency",
  "time_to_first_spike",
  "ISI_CV",
  "adaptation_index",
  "AP_amplitude",
  "AP_width",
  "AHP_depth",
  "AHP_depth_abs",
  "peak_time",
  "peak_voltage",
  "all_ISI_values",
];

/** eFEL settings used here (defaults as eFEL's `Settings`). */
export interface EfelSettings {
  /** Spike detection threshold (mV). Default -20. */
  threshold?: number;
  /** dV/dt threshold for the AP onset (mV/ms). Default 10. */
  derivativeThreshold?: number;
  /** Window (samples) in which dV/dt must stay above threshold. Default 3. */
  derivativeWindow?: number;
  /** Interpolation step (ms). Default 0.1. */
  interpStep?: number;
  /** Fraction of spikes skipped by adaptation_index. Default 0.1. */
  spikeSkipf?: number;
  /** Maximum number of spikes skipped. Default 2. */
  maxSpikeSkip?: number;
  /** Ignore the first ISI in ISI_CV. Default true. */
  ignoreFirstISI?: boolean;
  /** voltage_base window start as a fraction of stim_start. Default 0.9. */
  voltageBaseStartPerc?: number;
  /** voltage_base window end as a fraction of stim_start. Default 1.0. */
  voltageBaseEndPerc?: number;
}

/** One trace for {@linkcode computeFeatures} (SI units). */
export interface EfelTrace {
  /** Membrane potential (V), uniformly sampled from t = 0. */
  v: ArrayLike<number>;
  /** Sampling step (s). */
  dt: number;
  /** Stimulus start (s). */
  stimStart: number;
  /** Stimulus end (s). */
  stimEnd: number;
}

class FeatureError extends Error {}

/** eFEL `LinearInterpolation` (Utils.cpp), including its accumulated grid. */
function interpolate(
  step: number,
  X: Float64Array,
  Y: Float64Array,
): { T: Float64Array; V: Float64Array } {
  if (X.length <= 2) throw new FeatureError("Need at least 2 points in X");
  const start = X[0];
  const stop = X[X.length - 1];
  const tx: number[] = [];
  let x = start;
  const size = Math.ceil((stop - start) / step);
  for (let i = 0; i < size; i++) {
    tx.push(x);
    x += step;
  }
  if (tx[tx.length - 1] < stop) tx.push(x);
  const ty: number[] = [];
  let j = 0;
  for (let i = 0; i < tx.length; i++) {
    const xi = tx[i];
    while (X[j + 1] < xi) {
      j++;
      if (j + 1 >= X.length) {
        j = X.length - 1;
        break;
      }
    }
    if (j === X.length - 1) {
      ty.push(Y[j]);
      break;
    }
    const dydx = (Y[j + 1] - Y[j]) / (X[j + 1] - X[j]);
    ty.push(Y[j] + dydx * (xi - X[j]));
  }
  return {
    T: Float64Array.from(tx.slice(0, ty.length)),
    V: Float64Array.from(ty),
  };
}

/** eFEL `first_min_element` (Utils.h): first local minimum followed by two non-decreasing values, else the global minimum. */
function firstMinElement(v: Float64Array, first: number, last: number): number {
  if (first === last) return last;
  let lowest = first;
  let lowestMin = first;
  let minCounter = 0;
  for (let loop = first + 1; loop < last; loop++) {
    if (v[loop] < v[lowest]) lowest = loop;
    if (v[loop] >= v[lowestMin]) minCounter++;
    if (v[loop] < v[lowestMin]) {
      minCounter = 0;
      lowestMin = loop;
    }
    if (minCounter === 2) return lowestMin;
  }
  return lowest;
}

function mean(a: ArrayLike<number>, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i];
  return s / (to - from);
}

/** Lazily computed, cached eFEL feature graph for one trace. */
class TraceFeatures {
  readonly T: Float64Array;
  readonly V: Float64Array;
  readonly stimStart: number;
  readonly stimEnd: number;
  readonly s: Required<EfelSettings>;
  #cache = new Map<string, Float64Array | FeatureError>();

  constructor(trace: EfelTraceMs, settings: Required<EfelSettings>) {
    const r = interpolate(
      settings.interpStep,
      Float64Array.from(trace.T),
      Float64Array.from(trace.V),
    );
    this.T = r.T;
    this.V = r.V;
    this.stimStart = trace.stimStart;
    this.stimEnd = trace.stimEnd;
    this.s = settings;
  }

  get(name: string): Float64Array {
    let v = this.#cache.get(name);
    if (v === undefined) {
      try {
        v = this.#compute(name);
      } catch (e) {
        if (!(e instanceof FeatureError)) throw e;
        v = e;
      }
      this.#cache.set(name, v);
    }
    if (v instanceof FeatureError) throw v;
    return v;
  }

  #compute(name: string): Float64Array {
    const { T, V } = this;
    switch (name) {
      case "peak_indices": { // SpikeEvent.cpp __peak_indices
        const th = this.s.threshold;
        const up: number[] = [];
        const dn: number[] = [];
        for (let i = 1; i < V.length; i++) {
          if (V[i] > th && V[i - 1] < th) up.push(i);
          else if (V[i] < th && V[i - 1] > th) dn.push(i);
        }
        if (dn.length === 0) {
          throw new FeatureError("Voltage never goes below or above threshold");
        }
        if (up.length === 0) {
          throw new FeatureError("Voltage never goes above threshold");
        }
        while (dn.length > 0 && dn[0] < up[0]) dn.shift();
        while (up.length > dn.length) up.pop();
        const pi: number[] = [];
        for (let i = 0; i < up.length; i++) {
          let vmax = -1e9;
          let imax = -1;
          for (let j = up[i]; j <= dn[i]; j++) {
            if (vmax < V[j]) {
              vmax = V[j];
              imax = j;
            }
          }
          if (imax >= 0) pi.push(imax);
        }
        if (pi.length === 0) throw new FeatureError("no peaks");
        return Float64Array.from(pi);
      }
      case "peak_time":
        return this.get("peak_indices").map((i) => T[i]);
      case "peak_voltage":
        return this.get("peak_indices").map((i) => V[i]);
      case "Spikecount":
      case "spike_count": {
        try {
          return Float64Array.of(this.get("peak_indices").length);
        } catch {
          return Float64Array.of(0);
        }
      }
      case "mean_frequency": { // SpikeEvent.cpp firing_rate
        const pt = this.get("peak_time");
        let last = 0;
        let count = 0;
        for (const t of pt) {
          if (t >= this.stimStart && t <= this.stimEnd) {
            last = t;
            count++;
          }
        }
        if (last === this.stimStart) {
          throw new FeatureError("Prevent divide by zero.");
        }
        return Float64Array.of((count * 1000) / (last - this.stimStart));
      }
      case "time_to_first_spike": {
        const pt = this.get("peak_time");
        return Float64Array.of(pt[0] - this.stimStart);
      }
      case "all_ISI_values": {
        const pt = this.get("peak_time");
        if (pt.length < 2) {
          throw new FeatureError("Two spikes required for all_ISI_values.");
        }
        const isi = new Float64Array(pt.length - 1);
        for (let i = 1; i < pt.length; i++) isi[i - 1] = pt[i] - pt[i - 1];
        return isi;
      }
      case "ISI_CV": { // pyfeatures/isi.py
        let isi = this.get("all_ISI_values");
        if (this.s.ignoreFirstISI) isi = isi.subarray(1);
        if (isi.length < 2) throw new FeatureError("ISI_CV needs 2 ISIs");
        const m = mean(isi);
        let ss = 0;
        for (const x of isi) ss += (x - m) ** 2;
        return Float64Array.of(Math.sqrt(ss / (isi.length - 1)) / m);
      }
      case "adaptation_index": { // SpikeEvent.cpp __adaptation_index (offset 0)
        const pt = this.get("peak_time");
        const sk = this.s.spikeSkipf;
        if (sk < 0 || sk >= 1) {
          throw new FeatureError("spike_skipf should lie between [0 1).");
        }
        let spikes = Array.from(pt).filter((t) =>
          t >= this.stimStart && t <= this.stimEnd
        );
        let toRemove = Math.trunc(spikes.length * sk + 0.5);
        if (this.s.maxSpikeSkip < toRemove) toRemove = this.s.maxSpikeSkip;
        spikes = spikes.slice(toRemove);
        if (spikes.length < 4) {
          throw new FeatureError(
            "Minimum 4 spikes needed for adaptation_index.",
          );
        }
        const isi: number[] = [];
        for (let i = 1; i < spikes.length; i++) {
          isi.push(spikes[i] - spikes[i - 1]);
        }
        let adi = 0;
        for (let i = 1; i < isi.length; i++) {
          adi += (isi[i] - isi[i - 1]) / (isi[i] + isi[i - 1]);
        }
        return Float64Array.of(adi / (isi.length - 1));
      }
      case "voltage_base": { // Subthreshold.cpp voltage_base, get_time_index
        const startTime = this.stimStart * this.s.voltageBaseStartPerc;
        const endTime = this.stimStart * this.s.voltageBaseEndPerc;
        if (startTime >= endTime) {
          throw new FeatureError("voltage_base: startTime >= endTime");
        }
        let si = 0;
        for (let i = 0; i < T.length; i++) {
          if (T[i] >= startTime) {
            si = i;
            break;
          }
        }
        let ei = T.length;
        for (let i = T.length - 1; i > 0; i--) {
          if (T[i] - endTime < 1e-10) {
            ei = i + 1;
            break;
          }
        }
        if (ei <= si) throw new FeatureError("voltage_base: empty window");
        return Float64Array.of(mean(V, si, ei));
      }
      case "steady_state_voltage_stimend": {
        const startTime = this.stimEnd - 0.1 * (this.stimEnd - this.stimStart);
        let a = T.findIndex((t) => t >= startTime);
        if (a < 0) a = T.length;
        let b = T.findIndex((t) => t >= this.stimEnd);
        if (b < 0) b = T.length;
        if (!(b - a > 0)) {
          throw new FeatureError("steady_state_voltage_stimend: empty window");
        }
        return Float64Array.of(mean(V, a, b));
      }
      case "voltage_deflection": { // Subthreshold.cpp __voltage_deflection
        const w = 5;
        let stimEndIndex = 0;
        let base = 0;
        let baseSize = 0;
        for (let i = 0; i < T.length; i++) {
          if (T[i] < this.stimStart) {
            base += V[i];
            baseSize++;
          }
          if (T[i] > this.stimEnd) {
            stimEndIndex = i;
            break;
          }
        }
        if (baseSize === 0) {
          throw new FeatureError("voltage_deflection: no baseline");
        }
        base /= baseSize;
        if (
          !(stimEndIndex >= 2 * w && V.length > 0 && stimEndIndex > w &&
            stimEndIndex - w < V.length)
        ) {
          throw new FeatureError(
            "voltage_deflection: stimulus end too close to the edges",
          );
        }
        let wm = 0;
        for (let i = stimEndIndex - 2 * w; i < stimEndIndex - w; i++) {
          wm += V[i];
        }
        return Float64Array.of(wm / w - base);
      }
      case "min_AHP_indices": { // SpikeShape.cpp __min_AHP_indices (non-strict)
        const pi = Array.from(this.get("peak_indices"));
        const end = T.length;
        pi.push(end);
        const out: number[] = [];
        for (let i = 0; i < pi.length - 1; i++) {
          const idx = firstMinElement(V, pi[i], pi[i + 1]);
          if (idx !== end - 1) out.push(idx);
        }
        if (out.length === 0) throw new FeatureError("no min_AHP_indices");
        return Float64Array.from(out);
      }
      case "min_AHP_values":
        return this.get("min_AHP_indices").map((i) => V[i]);
      case "AHP_depth_abs":
        return this.get("min_AHP_values");
      case "AHP_depth": {
        const vb = this.get("voltage_base")[0];
        const out = this.get("min_AHP_values").map((x) => x - vb);
        if (out.length === 0) throw new FeatureError("no AHP");
        return out;
      }
      case "AP_width": { // SpikeShape.cpp __AP_width (non-strict)
        this.get("peak_indices");
        const ahp = this.get("min_AHP_indices");
        const th = this.s.threshold;
        const idx = [0, ...ahp];
        const out: number[] = [];
        for (let i = 0; i < idx.length - 1; i++) {
          let onset = idx[i];
          while (onset < idx[i + 1] && !(V[onset] >= th)) onset++;
          let end = onset;
          while (end < idx[i + 1] && !(V[end] <= th)) end++;
          out.push(T[end] - T[onset]);
        }
        if (out.length === 0) throw new FeatureError("no AP_width");
        return Float64Array.from(out);
      }
      case "AP_begin_indices":
        return this.#apBeginIndices();
      case "AP_amplitude": { // SpikeShape.cpp AP_amplitude
        const pt = this.get("peak_time");
        const pv = this.get("peak_voltage");
        const apbi = this.get("AP_begin_indices");
        const during: number[] = [];
        for (let i = 0; i < pt.length; i++) {
          if (pt[i] >= this.stimStart && pt[i] <= this.stimEnd) {
            during.push(pv[i]);
          }
        }
        if (during.length > apbi.length) {
          throw new FeatureError(
            "AP_amplitude: more peaks during the stimulus than AP_begin_indices",
          );
        }
        if (during.length === 0) {
          throw new FeatureError("AP_amplitude: no spike during the stimulus");
        }
        return Float64Array.from(during.map((p, i) => p - V[apbi[i]]));
      }
      default:
        throw new RangeError(
          `unknown feature '${name}' (supported: ${FEATURE_NAMES.join(", ")})`,
        );
    }
  }

  /** SpikeShape.cpp __AP_begin_indices. */
  #apBeginIndices(): Float64Array {
    const { T, V } = this;
    const n = V.length;
    const pi = this.get("peak_indices");
    let ahpi: Float64Array = new Float64Array(0);
    try {
      ahpi = this.get("min_AHP_indices");
    } catch (e) {
      if (!(e instanceof FeatureError)) throw e;
    }
    // central differences of V and T (getCentralDifferenceDerivative, dx = 1)
    const cd = (a: Float64Array): Float64Array => {
      const out = new Float64Array(a.length);
      out[0] = a[1] - a[0];
      for (let i = 1; i < a.length - 1; i++) out[i] = (a[i + 1] - a[i - 1]) / 2;
      out[a.length - 1] = a[a.length - 1] - a[a.length - 2];
      return out;
    };
    const dv = cd(V);
    const dtt = cd(T);
    const dvdt = new Float64Array(n);
    for (let i = 0; i < n; i++) dvdt[i] = dv[i] / dtt[i];
    const dTh = this.s.derivativeThreshold;
    const width = this.s.derivativeWindow;
    let stimBegin = T.findIndex((t) => t >= this.stimStart);
    if (stimBegin < 0) stimBegin = n;
    const minima: number[] = [
      stimBegin > 1 ? stimBegin - 2 : stimBegin === 1 ? 0 : stimBegin,
    ];
    for (const a of ahpi) if (a > stimBegin) minima.push(a);
    const peaks = Array.from(pi).filter((p) => p > stimBegin);
    if (minima.length < peaks.length) {
      throw new FeatureError("More peaks than min_AHP in AP_begin_indices.");
    }
    const out: number[] = [];
    for (let i = 0; i < peaks.length; i++) {
      let newBegin = peaks[i];
      let begin = minima[i];
      let skip = false;
      for (;;) {
        // last index k in [minima[i], newBegin) with dvdt[k] <= dTh, searching backwards; begin = k + 1
        let k = newBegin - 1;
        while (k >= minima[i] && !(dvdt[k] <= dTh)) k--;
        begin = k >= minima[i] ? k + 1 : minima[i];
        if (begin > n - width) begin = n - width;
        if (begin === minima[i]) {
          skip = true;
          break;
        }
        newBegin = begin - 1;
        let below = false;
        for (let j = begin; j < begin + width; j++) {
          if (dvdt[j] < dTh) {
            below = true;
            break;
          }
        }
        if (!below) break;
      }
      if (!skip) out.push(begin);
    }
    return Float64Array.from(out);
  }
}

/** One trace in eFEL's own units (for {@linkcode computeFeaturesMs}). */
export interface EfelTraceMs {
  /** Times (ms), increasing. */
  T: ArrayLike<number>;
  /** Membrane potential (mV). */
  V: ArrayLike<number>;
  /** Stimulus start (ms). */
  stimStart: number;
  /** Stimulus end (ms). */
  stimEnd: number;
}

function fullSettings(settings: EfelSettings): Required<EfelSettings> {
  return {
    threshold: settings.threshold ?? -20,
    derivativeThreshold: settings.derivativeThreshold ?? 10,
    derivativeWindow: settings.derivativeWindow ?? 3,
    interpStep: settings.interpStep ?? 0.1,
    spikeSkipf: settings.spikeSkipf ?? 0.1,
    maxSpikeSkip: settings.maxSpikeSkip ?? 2,
    ignoreFirstISI: settings.ignoreFirstISI ?? true,
    voltageBaseStartPerc: settings.voltageBaseStartPerc ?? 0.9,
    voltageBaseEndPerc: settings.voltageBaseEndPerc ?? 1.0,
  };
}

/**
 * Compute eFEL features of one trace given in eFEL's units (times in ms,
 * voltages in mV, possibly non-uniform times), exactly as
 * `efel.get_feature_values([{T, V, stim_start: [..], stim_end: [..]}], names)`.
 *
 * @param trace T (ms), V (mV), stimStart and stimEnd (ms)
 * @param names feature names (see {@linkcode FEATURE_NAMES})
 * @param settings eFEL settings (defaults as eFEL)
 * @returns per name: the values or null when eFEL could not compute the feature
 * @throws {RangeError} unknown feature name, stimEnd <= stimStart
 * @throws {TypeError} T and V of different lengths or fewer than 3 samples
 * @example
 * ```ts
 * import { computeFeaturesMs } from "./efel_features.ts";
 * import assert from "node:assert/strict";
 * const T = Array.from({ length: 200 }, (_, i) => i);
 * const V = T.map((t) => (t < 50 ? -70 : -60));
 * const f = computeFeaturesMs({ T, V, stimStart: 49, stimEnd: 150 }, ["voltage_base"]);
 * assert.ok(Math.abs(f.voltage_base![0] + 70) < 1e-9);
 * ```
 */
export function computeFeaturesMs(
  trace: EfelTraceMs,
  names: readonly string[],
  settings: EfelSettings = {},
): Record<string, Float64Array | null> {
  if (!(trace.stimEnd > trace.stimStart)) {
    throw new RangeError(
      `computeFeatures: stimEnd needs to be larger than stimStart, got stimStart=${trace.stimStart}, stimEnd=${trace.stimEnd}`,
    );
  }
  if (trace.T.length !== trace.V.length) {
    throw new TypeError(
      `computeFeatures: T has ${trace.T.length} samples, V has ${trace.V.length}`,
    );
  }
  if (trace.V.length < 3) {
    throw new TypeError(
      `computeFeatures: need at least 3 samples, got ${trace.V.length}`,
    );
  }
  for (const name of names) {
    if (!FEATURE_NAMES.includes(name)) {
      throw new RangeError(
        `unknown feature '${name}' (supported: ${FEATURE_NAMES.join(", ")})`,
      );
    }
  }
  const tf = new TraceFeatures(trace, fullSettings(settings));
  const out: Record<string, Float64Array | null> = {};
  for (const name of names) {
    try {
      const v = tf.get(name);
      out[name] = v.length > 0 ? Float64Array.from(v) : null;
    } catch (e) {
      if (!(e instanceof FeatureError)) throw e;
      out[name] = null;
    }
  }
  return out;
}

/**
 * Compute eFEL features of one uniformly sampled trace given in SI units
 * (converted as brian2modelfitting's `calc_eFEL` does: `T = k·dt / 1 ms`,
 * `V = v / 1 mV`, stimulus times / 1 ms).
 *
 * @param trace voltage (V), dt (s), stimulus start and end (s)
 * @param names feature names (see {@linkcode FEATURE_NAMES})
 * @param settings eFEL settings (defaults as eFEL)
 * @returns per name: the values (mV, ms, Hz or dimensionless, as eFEL) or null
 *   when eFEL could not compute the feature
 * @throws {RangeError} unknown feature name, bad dt, stimEnd <= stimStart
 * @throws {TypeError} fewer than 3 samples
 * @example
 * ```ts
 * import { computeFeatures } from "./efel_features.ts";
 * import assert from "node:assert/strict";
 * // -70 mV for 50 ms then -60 mV for 150 ms, dt = 1 ms; stimulus at 99 ms
 * const v = Array.from({ length: 200 }, (_, i) => (i < 50 ? -70e-3 : -60e-3));
 * const f = computeFeatures({ v, dt: 1e-3, stimStart: 99e-3, stimEnd: 150e-3 }, ["voltage_base", "AP_width"]);
 * assert.ok(Math.abs(f.voltage_base![0] + 60) < 1e-9);
 * assert.equal(f.AP_width, null); // no spikes
 * ```
 */
export function computeFeatures(
  trace: EfelTrace,
  names: readonly string[],
  settings: EfelSettings = {},
): Record<string, Float64Array | null> {
  if (!(trace.dt > 0) || !Number.isFinite(trace.dt)) {
    throw new RangeError(
      `computeFeatures: dt must be a finite number > 0, got ${trace.dt}`,
    );
  }
  const n = trace.v.length;
  const T = new Float64Array(n);
  const V = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    T[i] = (i * trace.dt) / 1e-3;
    V[i] = trace.v[i] / 1e-3;
  }
  return computeFeaturesMs(
    { T, V, stimStart: trace.stimStart / 1e-3, stimEnd: trace.stimEnd / 1e-3 },
    names,
    settings,
  );
}
