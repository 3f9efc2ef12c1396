/**
 * `refine`: local refinement of a `TraceFitter` result by bounded nonlinear
 * least squares (reference: brian2modelfitting `TraceFitter.refine`, which
 * calls scipy's `least_squares`).
 *
 * The objective is **the same as `fit`'s** with `MSEMetric`s: the sum over
 * output variables of the mean over traces of the (weighted) mean squared
 * error after `tStart`, divided by `normalization²`. The residual of output
 * `v`, trace `j`, step `k` is
 * `(m − d)/norm · sqrt(w_k / (count_v · nTraces))`, so `Σ r²` is exactly the
 * fit error (the reference instead concatenates raw residuals, which weights
 * outputs by their number of samples). Parameters and residuals are scaled
 * inside the solver (`_least_squares.ts`), so conductances in siemens against
 * currents in amperes work without user scaling.
 *
 * Not included: the fitter's `penalty` (as in the reference), and
 * sensitivities through threshold/reset events (the sensitivity equations are
 * exact only for models without resets; use finite differences for spiking
 * models).
 *
 * Jacobian: forward differences (all perturbed parameter sets simulated in one
 * batch), or with `calcGradient: true` the forward sensitivity equations
 * `dS/dt = J·S + ∂f/∂p` generated symbolically (`_sensitivity.ts`) and
 * integrated alongside the model.
 * @module
 */
import { NeuronModel } from "../../simulation/neuron_model.ts";
import { Runner } from "../../simulation/runner.ts";
import { MSEMetric } from "../metrics/mse.ts";
import type { TraceMetric } from "../metrics/metric.ts";
import { leastSquares, type LeastSquaresProblem } from "./_least_squares.ts";
import { sensitivityEquations } from "./_sensitivity.ts";
import type { Fitter, ParamBounds, ValueWithUnit } from "../fitters/fitter.ts";

/**
 * What {@linkcode refineTraceFitter} needs of a fitter: the model, the
 * recorded traces, the last fit's bounds, metrics and best parameters, and
 * the parameter helpers. `TraceFitter` is one; the interface keeps this
 * module independent of it (no import cycle).
 */
export interface RefineProblem extends
  Pick<
    Fitter<TraceMetric>,
    | "model"
    | "equations"
    | "modelOptions"
    | "dt"
    | "nTraces"
    | "nSteps"
    | "input"
    | "outputVars"
    | "device"
    | "seed"
    | "bounds"
    | "fixedParams"
    | "metric"
    | "bestParams"
    | "parseBounds"
    | "generateParams"
    | "initValues"
  > {
  /** The target traces, one set of rows per output variable. */
  readonly output: Readonly<Record<string, Float64Array[]>>;
}

/** Options of `TraceFitter.refine`. */
export interface RefineOptions {
  /** Start point (SI numbers or strings with units). Default: the fitter's best parameters. */
  params?: Record<string, ValueWithUnit>;
  /** Bounds `[lo, hi]` or fixed values. Default: those of the last `fit`. */
  bounds?: ParamBounds;
  /** `MSEMetric` (or one per output variable). Default: the last fit's metrics, else `new MSEMetric()`. */
  metric?: MSEMetric | Record<string, MSEMetric>;
  /** Use the sensitivity equations for the Jacobian. Default false (finite differences). */
  calcGradient?: boolean;
  /** Drop sensitivity variables that stay identically zero. Default true. */
  optimize?: boolean;
  /** Maximum number of simulated parameter sets (finite-difference sets included). Default 100·(n+1). */
  maxEvaluations?: number;
  /** Relative cost-reduction tolerance. Default 1e-8. */
  ftol?: number;
  /** Relative step tolerance. Default 1e-8. */
  xtol?: number;
  /** Projected-gradient tolerance (normalized). Default 1e-8. */
  gtol?: number;
  /** Initial values (override the constructor's `paramInit`). */
  paramInit?: Record<string, number | string>;
  /** Value of `iteration`. Default 1e9 (as the reference). */
  iteration?: number;
  /**
   * Called after every trial evaluation with the parameters (SI) and their
   * error; `index` starts at 0 (the reference starts at -1). Finite-difference
   * points are not reported. The return value is ignored.
   */
  callback?: (
    info: { params: Record<string, number>; error: number; index: number },
  ) => void;
}

/** Result of `TraceFitter.refine`. */
export interface RefineResult {
  /** Refined parameters (SI), fitted and fixed. */
  params: Record<string, number>;
  /** Error at `params` (the fit objective). */
  error: number;
  /** Simulated parameter sets (trial points and finite-difference points). */
  evaluations: number;
  /** Jacobian evaluations. */
  jacobians: number;
  /** Trial steps. */
  iterations: number;
  /** Why the solver stopped. */
  message: string;
}

interface Term {
  v: string;
  start: number;
  w: Float64Array | null;
  scale: number;
}

const sensCache = new WeakMap<
  RefineProblem,
  Map<
    string,
    {
      model: NeuronModel;
      outputs: Record<string, Record<string, string>>;
      init: Record<string, string>;
    }
  >
>();

/**
 * Refine the parameters of a trace fitter (implementation of
 * `TraceFitter.refine`).
 * @param fitter the fitter
 * @param options see {@linkcode RefineOptions}
 * @returns the refined parameters, their error and solver statistics
 * @throws {TypeError} no start point, no bounds, a metric that is not an `MSEMetric`
 * @throws {RangeError} unknown parameters, inverted bounds
 */
export async function refineTraceFitter(
  fitter: RefineProblem,
  options: RefineOptions = {},
): Promise<RefineResult> {
  // start point
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
  if (names.length === 0) {
    throw new TypeError("refine() needs at least one parameter with bounds");
  }
  const start = fitter.generateParams(
    options.params as Record<string, ValueWithUnit> | undefined,
  );
  for (const [k, v] of Object.entries(fixed)) {
    if (options.params?.[k] === undefined) start[k] = v;
  }
  // metrics
  let metrics: Record<string, TraceMetric>;
  const arg = options.metric;
  if (arg === undefined) {
    metrics = fitter.metric
      ? { ...fitter.metric }
      : Object.fromEntries(fitter.outputVars.map((v) => [v, new MSEMetric()]));
  } else if (arg instanceof MSEMetric) {
    metrics = Object.fromEntries(fitter.outputVars.map((v) => [v, arg]));
  } else if (arg && typeof arg === "object" && !Array.isArray(arg)) {
    metrics = {};
    for (const v of fitter.outputVars) {
      if (!(v in arg)) {
        throw new TypeError(`no metric given for the output variable '${v}'`);
      }
      metrics[v] = (arg as Record<string, MSEMetric>)[v];
    }
  } else {
    throw new TypeError(
      `refine() metric must be an MSEMetric or one per output variable, got ${typeof arg}`,
    );
  }
  for (const [v, m] of Object.entries(metrics)) {
    if (!(m instanceof MSEMetric)) {
      throw new TypeError(
        `refine() only works with MSEMetric; the metric of '${v}' is ${
          m?.constructor?.name ?? typeof m
        }`,
      );
    }
  }
  const nTraces = fitter.nTraces;
  const nSteps = fitter.nSteps;
  const terms: Term[] = fitter.outputVars.map((v) => {
    const m = metrics[v];
    if (m.tWeights && m.tWeights.length !== nSteps) {
      throw new TypeError(
        `MSEMetric: tWeights has ${m.tWeights.length} values but the traces have ${nSteps} steps`,
      );
    }
    const s = m.startStep(fitter.dt);
    if (s >= nSteps) {
      throw new RangeError(
        `tStart = ${m.tStart} s is at or after the end of the traces`,
      );
    }
    const count = m.tWeights ? nSteps : nSteps - s;
    return {
      v,
      start: s,
      w: m.tWeights,
      scale: 1 / (m.normalization * Math.sqrt(count * nTraces)),
    };
  });
  const nRes = terms.reduce((a, t) => a + (nSteps - t.start) * nTraces, 0);
  const iteration = options.iteration ?? 1e9;
  const init = fitter.initValues(options.paramInit);

  const paramArrays = (
    points: Float64Array[],
  ): Record<string, Float64Array> => {
    const N = points.length * nTraces;
    const out: Record<string, Float64Array> = {};
    for (const p of fitter.model.parameters) {
      const a = new Float64Array(N);
      if (p === "iteration") a.fill(iteration);
      else {
        const j = names.indexOf(p);
        for (let s = 0; s < points.length; s++) {
          a.fill(
            j >= 0 ? points[s][j] : start[p],
            s * nTraces,
            (s + 1) * nTraces,
          );
        }
      }
      out[p] = a;
    }
    return out;
  };
  const residualsOf = (
    rec: Record<string, Float64Array>,
    samples: number,
    set: number,
    key: (v: string) => string,
  ) => {
    const r = new Float64Array(nRes);
    let o = 0;
    for (const t of terms) {
      const data = fitter.output[t.v];
      const vals = rec[key(t.v)];
      for (let tr = 0; tr < nTraces; tr++) {
        const n = set * nTraces + tr;
        const d = data[tr];
        for (let k = t.start; k < nSteps; k++) {
          const w = t.w ? Math.sqrt(t.w[k]) : 1;
          r[o++] = (vals[n * samples + k] - d[k]) * t.scale * w;
        }
      }
    }
    return r;
  };

  let index = 0;
  const report = (x: Float64Array, cost: number) => {
    const p: Record<string, number> = { ...start };
    names.forEach((n, j) => (p[n] = x[j]));
    options.callback?.({ params: p, error: cost, index: index++ });
  };

  const problem: LeastSquaresProblem = {
    lower: Float64Array.from(names, (n) => bounds[n][0]),
    upper: Float64Array.from(names, (n) => bounds[n][1]),
    async residuals(points) {
      const runner = await Runner.create(fitter.model, {
        dt: fitter.dt,
        nNeurons: points.length * nTraces,
        input: fitter.input,
        targets: fitter.output,
        params: paramArrays(points),
        init,
        record: [...fitter.outputVars],
        device: fitter.device,
        seed: fitter.seed,
      });
      try {
        const c = await runner.step(nSteps);
        return points.map((_, s) =>
          residualsOf(
            c.vars as Record<string, Float64Array>,
            c.samples,
            s,
            (v) => v,
          )
        );
      } finally {
        runner.dispose();
      }
    },
  };
  if (options.calcGradient) {
    const key = `${names.join(",")}|${options.optimize !== false}|${
      JSON.stringify(init)
    }`;
    let cache = sensCache.get(fitter);
    if (!cache) sensCache.set(fitter, cache = new Map());
    let sens = cache.get(key);
    if (!sens) {
      const stringInit: Record<string, string> = {};
      for (const [k, v] of Object.entries(init)) {
        if (typeof v === "string") stringInit[k] = v;
      }
      const s = sensitivityEquations(fitter.equations, {
        namespace: fitter.modelOptions.namespace,
        inputUnits: fitter.modelOptions.inputUnits,
        targets: fitter.modelOptions.targets,
        params: names,
        outputs: fitter.outputVars,
        paramInit: stringInit,
        optimize: options.optimize,
      });
      sens = {
        model: new NeuronModel(s.equations, fitter.modelOptions),
        outputs: s.outputs,
        init: s.init,
      };
      cache.set(key, sens);
    }
    const S = sens;
    const record = [...fitter.outputVars];
    for (const v of fitter.outputVars) {
      for (const p of names) {
        if (S.outputs[v][p] !== "0") record.push(S.outputs[v][p]);
      }
    }
    problem.residualsAndJacobian = async (x) => {
      const runner = await Runner.create(S.model, {
        dt: fitter.dt,
        nNeurons: nTraces,
        input: fitter.input,
        targets: fitter.output,
        params: paramArrays([x]),
        init: { ...init, ...S.init },
        record,
        device: fitter.device,
        seed: fitter.seed,
      });
      try {
        const c = await runner.step(nSteps);
        const vars = c.vars as Record<string, Float64Array>;
        const r = residualsOf(vars, c.samples, 0, (v) => v);
        const columns = names.map((p) => {
          const col = new Float64Array(nRes);
          let o = 0;
          for (const t of terms) {
            const sn = S.outputs[t.v][p];
            const vals = sn === "0" ? null : vars[sn];
            for (let tr = 0; tr < nTraces; tr++) {
              for (let k = t.start; k < nSteps; k++) {
                const w = t.w ? Math.sqrt(t.w[k]) : 1;
                col[o++] = vals ? vals[tr * c.samples + k] * t.scale * w : 0;
              }
            }
          }
          return col;
        });
        return { r, columns };
      } finally {
        runner.dispose();
      }
    };
  }
  const x0 = Float64Array.from(names, (n) => start[n]);
  const res = await leastSquares(problem, x0, {
    ftol: options.ftol,
    xtol: options.xtol,
    gtol: options.gtol,
    maxEvaluations: options.maxEvaluations,
    onEvaluation: report,
  });
  const params: Record<string, number> = { ...start };
  names.forEach((n, j) => (params[n] = res.x[j]));
  return {
    params,
    error: res.cost,
    evaluations: res.evaluations,
    jacobians: res.jacobians,
    iterations: res.iterations,
    message: res.message,
  };
}
