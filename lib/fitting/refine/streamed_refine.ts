/**
 * Streamed least-squares refinement of an `OnlineTraceFitter` (in memory or
 * over files): Levenberg–Marquardt on the normal equations, where each pass
 * over the data simulates the model with its forward sensitivity equations
 * (`_sensitivity.ts`) block by block (one `Runner` continued with
 * `continueWith`) and accumulates the cost `Σ r²`, `Jᵀr` (p) and `JᵀJ`
 * (p × p) as the blocks go by: memory O(p² + block), not O(trace length).
 *
 * Residuals are those of `trace_refine.ts`: `r = (v − d)/norm · sqrt(w/(count ·
 * nTraces))` over the samples after `tStart`, so `Σ r²` is the fitter's
 * error. Parameters are scaled to `u = (x − lo)/(hi − lo)`. Step:
 * `(JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr` (Marquardt 1963), projected onto the box;
 * λ updated by Nielsen's gain-ratio rule (IMM-REP-1999-05, eq. 2.21). Every
 * trial point costs one pass, which also gives the next JᵀJ when the step is
 * accepted.
 *
 * Resets: the sensitivities are not carried through threshold crossings
 * (no saltation/jump condition), as in `trace_refine.ts`: they are exact for
 * models without resets (passive, HH); for spiking models with resets the
 * Jacobian is only approximate, and a rejected-step sequence ends the
 * refinement at the best point found.
 * @module
 */
import { NeuronModel } from "../../simulation/neuron_model.ts";
import { Runner } from "../../simulation/runner.ts";
import { sensitivityEquations } from "./_sensitivity.ts";
import { MSEMetric } from "../metrics/mse.ts";
import type { Fitter, ParamBounds, ValueWithUnit } from "../fitters/fitter.ts";

/** Options of `OnlineTraceFitter.refine`. */
export interface StreamedRefineOptions {
  /** Start point (SI numbers or strings with units). Default: the best parameters of the last `fit`. */
  params?: Record<string, ValueWithUnit>;
  /** Bounds `[lo, hi]` or fixed values. Default: those of the last `fit`. */
  bounds?: ParamBounds;
  /** The metric (an `MSEMetric`). Default: the last fit's, else `new MSEMetric({ tStart })`. */
  metric?: MSEMetric;
  /** Maximum passes over the data (each pass simulates one parameter set with its sensitivities). Default 20. */
  maxPasses?: number;
  /** Stop when an accepted step reduces the error by less than `ftol·error`. Default 1e-6. */
  ftol?: number;
  /** Stop when the step is smaller than `xtol·(xtol + ‖u‖)` in scaled coordinates. Default 1e-8. */
  xtol?: number;
  /** Initial values (override the fitter's `paramInit`). */
  paramInit?: Record<string, number | string>;
  /** Samples per block. Default: the fitter's `blockSamples` (streamed) or 65536. */
  blockSamples?: number;
  /** Called after every pass with the parameters (SI) and their error. */
  callback?: (
    info: { params: Record<string, number>; error: number; pass: number },
  ) => void;
}

/** Result of `OnlineTraceFitter.refine`. */
export interface StreamedRefineResult {
  /** Refined parameters (SI), fitted and fixed. */
  params: Record<string, number>;
  /** Error at `params` (the fit objective). */
  error: number;
  /** Passes over the data. */
  passes: number;
  /** Accepted steps. */
  iterations: number;
  /** Why it stopped. */
  message: string;
}

/** One block of the recordings, as the refinement reads them. */
export interface RefineBlock {
  /** First sample of the block in the recording. */
  start: number;
  /** Samples in the block. */
  samples: number;
  /** Input rows per input variable (SI), one per trace. */
  input: Record<string, Float64Array[]>;
  /** Recorded output rows (SI), one per trace. */
  output: Float64Array[];
}

/** The parts of an `OnlineTraceFitter` the refinement uses. */
export type RefineFitter =
  & Pick<
    Fitter<MSEMetric>,
    | "bestParams"
    | "bounds"
    | "fixedParams"
    | "parseBounds"
    | "generateParams"
    | "initValues"
    | "outputVars"
    | "metric"
    | "nTraces"
    | "nSteps"
    | "dt"
    | "equations"
    | "modelOptions"
    | "device"
    | "seed"
  >
  & { readonly tStart: number };

/** What the refinement needs from a fitter. */
export interface RefineSource {
  /** The fitter. */
  fitter: RefineFitter;
  /** Blocks of the recordings, in order, `blockSamples` samples each (the last may be shorter). */
  blocks(blockSamples: number): AsyncGenerator<RefineBlock, void, undefined>;
  /** Default block size. */
  blockSamples: number;
}

interface Pass {
  cost: number;
  g: Float64Array;
  H: Float64Array;
}

/** Solve `A x = b` (n × n, row-major) by Gaussian elimination with partial pivoting; null when singular. */
function solve(
  A: Float64Array,
  b: Float64Array,
  n: number,
): Float64Array | null {
  const M = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) {
      if (Math.abs(M[r * n + c]) > Math.abs(M[piv * n + c])) piv = r;
    }
    if (!(Math.abs(M[piv * n + c]) > 0)) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) {
        const t = M[c * n + k];
        M[c * n + k] = M[piv * n + k];
        M[piv * n + k] = t;
      }
      const t = x[c];
      x[c] = x[piv];
      x[piv] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c] / M[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r * n + k] -= f * M[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < n; k++) s -= M[c * n + k] * x[k];
    x[c] = s / M[c * n + c];
  }
  return x.every(Number.isFinite) ? x : null;
}

/**
 * Refine the parameters of an online trace fitter by streamed
 * Levenberg–Marquardt (see the module documentation).
 * @param src the fitter and its blocks
 * @param options see {@linkcode StreamedRefineOptions}
 * @returns the refined parameters and their error
 * @throws {TypeError} no start point or bounds, a metric that is not an `MSEMetric`
 * @throws {RangeError} bad options
 */
export async function streamedRefine(
  src: RefineSource,
  options: StreamedRefineOptions = {},
): Promise<StreamedRefineResult> {
  const fitter = src.fitter;
  if (!options.params && !fitter.bestParams) {
    throw new TypeError(
      "refine() needs a start point: pass params or call fit() first",
    );
  }
  let bounds: Record<string, [number, number]>;
  let fixed: Record<string, number>;
  if (options.bounds) {
    ({ bounds, fixed } = fitter.parseBounds(options.bounds));
  } else if (fitter.bounds) {
    bounds = { ...fitter.bounds };
    fixed = { ...fitter.fixedParams };
  } else {
    throw new TypeError(
      "refine() needs bounds: pass bounds or call fit() first",
    );
  }
  const names = Object.keys(bounds);
  const p = names.length;
  if (p === 0) {
    throw new TypeError("refine() needs at least one parameter with bounds");
  }
  const maxPasses = options.maxPasses ?? 20;
  if (!Number.isInteger(maxPasses) || maxPasses < 1) {
    throw new RangeError(
      `maxPasses must be a positive integer, got ${maxPasses}`,
    );
  }
  const blockSamples = options.blockSamples ?? src.blockSamples;
  if (!Number.isInteger(blockSamples) || blockSamples < 1) {
    throw new RangeError(
      `blockSamples must be a positive integer, got ${blockSamples}`,
    );
  }
  const ftol = options.ftol ?? 1e-6;
  const xtol = options.xtol ?? 1e-8;
  const start = fitter.generateParams(options.params);
  for (const [k, v] of Object.entries(fixed)) {
    if (options.params?.[k] === undefined) start[k] = v;
  }
  const v = fitter.outputVars[0];
  const m = options.metric ?? fitter.metric?.[v] ??
    new MSEMetric({ tStart: fitter.tStart });
  if (!(m instanceof MSEMetric)) {
    throw new TypeError(
      `refine() works with an MSEMetric, got ${
        (m as object)?.constructor?.name ?? typeof m
      }`,
    );
  }
  const nTraces = fitter.nTraces;
  const nSteps = fitter.nSteps;
  if (m.tWeights && m.tWeights.length !== nSteps) {
    throw new TypeError(
      `MSEMetric: tWeights has ${m.tWeights.length} values but the recordings have ${nSteps} samples`,
    );
  }
  const startStep = m.startStep(fitter.dt);
  if (startStep >= nSteps) {
    throw new RangeError(
      `tStart = ${m.tStart} s is at or after the end of the recordings`,
    );
  }
  // the online error: mean over traces of sum/count/norm², count = samples
  // after tStart
  const scale = 1 /
    (m.normalization * Math.sqrt((nSteps - startStep) * nTraces));
  const init = fitter.initValues(options.paramInit);
  const stringInit: Record<string, string> = {};
  for (const [k, x] of Object.entries(init)) {
    if (typeof x === "string") stringInit[k] = x;
  }
  const sens = sensitivityEquations(fitter.equations, {
    namespace: fitter.modelOptions.namespace,
    inputUnits: fitter.modelOptions.inputUnits,
    targets: fitter.modelOptions.targets,
    params: names,
    outputs: [v],
    paramInit: stringInit,
    optimize: true,
  });
  const model = new NeuronModel(sens.equations, fitter.modelOptions);
  const sNames = names.map((q) => sens.outputs[v][q]);
  const record = [v, ...sNames.filter((s) => s !== "0")];
  const lo = Float64Array.from(names, (n) => bounds[n][0]);
  const span = Float64Array.from(names, (n) => bounds[n][1] - bounds[n][0]);
  const toX = (u: Float64Array) =>
    Float64Array.from(u, (x, j) => lo[j] + x * span[j]);
  const paramsOf = (x: Float64Array) => {
    const out: Record<string, number> = {};
    for (const q of model.parameters) {
      if (q === "iteration") out[q] = 1e9;
      else {
        const j = names.indexOf(q);
        out[q] = j >= 0 ? x[j] : start[q];
      }
    }
    return out;
  };

  let passes = 0;
  const pass = async (u: Float64Array): Promise<Pass> => {
    passes++;
    const x = toX(u);
    const g = new Float64Array(p);
    const H = new Float64Array(p * p);
    let cost = 0;
    const J = new Float64Array(p);
    let runner: Runner | null = null;
    try {
      for await (const b of src.blocks(blockSamples)) {
        const rel = Math.min(b.samples, Math.max(0, startStep - b.start));
        if (!runner) {
          runner = await Runner.create(model, {
            dt: fitter.dt,
            nNeurons: nTraces,
            input: b.input,
            targets: { [v]: b.output },
            params: paramsOf(x),
            init: { ...init, ...sens.init },
            record,
            device: fitter.device,
            seed: fitter.seed,
            stepOrigin: b.start,
          });
        } else {
          await runner.continueWith({
            input: b.input,
            targets: { [v]: b.output },
            stepOrigin: b.start,
          });
        }
        const c = await runner.step(b.samples);
        const vals = c.vars[v];
        const cols = sNames.map((s) => (s === "0" ? null : c.vars[s]));
        const n = c.samples;
        for (let tr = 0; tr < nTraces; tr++) {
          const d = b.output[tr];
          for (let k = rel; k < b.samples; k++) {
            const w = m.tWeights ? Math.sqrt(m.tWeights[b.start + k]) : 1;
            const f = scale * w;
            const r = (vals[tr * n + k] - d[k]) * f;
            cost += r * r;
            for (let j = 0; j < p; j++) {
              const col = cols[j];
              // ∂r/∂u_j = ∂v/∂x_j · span_j · f
              J[j] = col ? col[tr * n + k] * span[j] * f : 0;
              g[j] += J[j] * r;
            }
            for (let i = 0; i < p; i++) {
              const Ji = J[i];
              if (Ji === 0) continue;
              for (let j = 0; j <= i; j++) H[i * p + j] += Ji * J[j];
            }
          }
        }
      }
    } finally {
      runner?.dispose();
    }
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < i; j++) H[j * p + i] = H[i * p + j];
    }
    if (!Number.isFinite(cost)) cost = Infinity;
    const params = { ...start };
    names.forEach((n, j) => (params[n] = x[j]));
    options.callback?.({
      params,
      error: m.revertNormalization(cost),
      pass: passes,
    });
    return { cost, g, H };
  };

  let u = Float64Array.from(names, (n, j) => {
    const x = (start[n] - lo[j]) / span[j];
    return Math.min(1, Math.max(0, x));
  });
  let cur = await pass(u);
  if (!Number.isFinite(cur.cost)) {
    throw new RangeError(
      "refine(): the error at the start point is not finite",
    );
  }
  let lambda = 1e-3;
  let nu = 2;
  let iterations = 0;
  let message = `maximum number of passes (${maxPasses}) reached`;
  while (passes < maxPasses) {
    // damped normal equations, variables at a bound whose step points
    // outward held fixed
    const A = Float64Array.from(cur.H);
    for (let j = 0; j < p; j++) {
      A[j * p + j] += lambda * Math.max(cur.H[j * p + j], 1e-12);
    }
    const b = Float64Array.from(cur.g, (x) => -x);
    for (let j = 0; j < p; j++) {
      const out = (u[j] <= 0 && b[j] < 0) || (u[j] >= 1 && b[j] > 0);
      if (out) {
        for (let k = 0; k < p; k++) A[j * p + k] = A[k * p + j] = 0;
        A[j * p + j] = 1;
        b[j] = 0;
      }
    }
    const delta = solve(A, b, p);
    if (!delta) {
      message = "singular normal equations";
      break;
    }
    const uNew = Float64Array.from(
      u,
      (x, j) => Math.min(1, Math.max(0, x + delta[j])),
    );
    let step = 0, norm = 0;
    for (let j = 0; j < p; j++) {
      step += (uNew[j] - u[j]) ** 2;
      norm += u[j] ** 2;
    }
    if (Math.sqrt(step) <= xtol * (xtol + Math.sqrt(norm))) {
      message = "xtol: the step is below the tolerance";
      break;
    }
    // predicted reduction of Σr² under the Gauss–Newton model
    const d = Float64Array.from(uNew, (x, j) => x - u[j]);
    let pred = 0;
    for (let i = 0; i < p; i++) {
      let hd = 0;
      for (let j = 0; j < p; j++) hd += cur.H[i * p + j] * d[j];
      pred -= 2 * d[i] * cur.g[i] + d[i] * hd;
    }
    const next = await pass(uNew);
    const gain = cur.cost - next.cost;
    if (next.cost < cur.cost) {
      const rho = pred > 0 ? gain / pred : 1;
      lambda *= Math.max(1 / 3, 1 - (2 * rho - 1) ** 3);
      nu = 2;
      u = uNew;
      const prev = cur.cost;
      cur = next;
      iterations++;
      if (gain < ftol * prev) {
        message = "ftol: the error decreased by less than the tolerance";
        break;
      }
    } else {
      lambda *= nu;
      nu *= 2;
    }
  }
  const x = toX(u);
  const params: Record<string, number> = { ...start };
  names.forEach((n, j) => (params[n] = x[j]));
  return {
    params,
    error: m.revertNormalization(cur.cost),
    passes,
    iterations,
    message,
  };
}
