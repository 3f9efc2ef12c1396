/**
 * Bayesian optimization with a Gaussian-process surrogate, modelled on
 * scikit-optimize's `gp_minimize` / `Optimizer(base_estimator="GP")`:
 *
 * - surrogate: GP with ARD Matérn 5/2 kernel × amplitude + white noise on the
 *   normalized box [0, 1]^d, standardized errors, hyperparameters by maximum
 *   marginal likelihood (bounded Nelder–Mead in log space, restarted from the
 *   previous optimum and `hyperRestarts` random points), see `_gp.ts`;
 * - initial design: `nInitialPoints` (default 10, skopt's default) points of a
 *   Latin hypercube;
 * - acquisition (J. Močkus 1975; Jones, Schonlau & Welch 1998): expected
 *   improvement `EI = (f* − μ − ξ)Φ(z) + σφ(z)`, `z = (f* − μ − ξ)/σ`, or the
 *   lower confidence bound `LCB = μ − κσ`; ξ (default 0.01) and κ (default
 *   1.96, skopt's defaults) are in units of the standard deviation of the
 *   observed errors, so that they do not depend on the unit of the error
 *   (skopt uses raw error units; errors in V² would make its ξ = 0.01
 *   meaningless);
 * - acquisition maximisation: `nCandidates` random points plus the best
 *   observed points, the best few refined by bounded Nelder–Mead;
 * - batches (`ask(n)`, n > 1): constant liar (Ginsbourger, Le Riche & Carraro
 *   2010; skopt's `strategy="cl_min"` default) — after choosing a point the
 *   GP is conditioned on a fake observation (the minimum, mean or maximum of
 *   the observed errors) with fixed hyperparameters; `"kriging_believer"`
 *   uses the GP mean instead.
 *
 * Non-finite errors (diverging simulations) are given the largest finite
 * error observed so far before entering the GP (they are still never the
 * best point). The cost grows like n³ in the number of evaluations, so this
 * optimizer is meant for small budgets (hundreds of evaluations).
 * @module
 */

import { Rng } from "../../_internal/random.ts";
import { BoxOptimizer, type ScaleOption, type ToldEntry } from "./optimizer.ts";
import { GaussianProcess, nelderMead } from "./_gp.ts";
import { latinHypercube } from "./sampling.ts";

/** Options of {@linkcode BayesianOptimization}. */
export interface BayesianOptimizationOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Search scale per parameter (`"linear"`, `"log"` or `"auto"`, one for
   * all or `{ name: scale }`). Default `"auto"`: log for bounds `0 < lo`
   * spanning more than two decades, linear otherwise.
   */
  scale?: ScaleOption;
  /** Acquisition function. Default `"EI"`. */
  acquisition?: "EI" | "LCB";
  /** EI exploration margin ξ in units of the error's standard deviation. Default 0.01. */
  xi?: number;
  /** LCB exploration weight κ. Default 1.96. */
  kappa?: number;
  /** Number of initial Latin-hypercube points. Default 10. */
  nInitialPoints?: number;
  /** Batch strategy for `ask(n > 1)`. Default `"cl_min"`. */
  batchStrategy?: "cl_min" | "cl_mean" | "cl_max" | "kriging_believer";
  /** Random candidates per acquisition maximisation. Default 2000. */
  nCandidates?: number;
  /** Random restarts of the hyperparameter search. Default 2. */
  hyperRestarts?: number;
  /**
   * Transform of the errors before they enter the GP: `"none"` (skopt's
   * behaviour) or `"log"` (`log(e − min(e) + δ)`, δ = 1e-9 of the error range
   * plus the smallest positive double; helps when errors span decades, as
   * MSEs do). Default `"none"`.
   */
  errorTransform?: "none" | "log";
}

/**
 * Gaussian-process Bayesian optimization.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BayesianOptimization } from "./bayesian_optimization.ts";
 * const opt = new BayesianOptimization({ seed: 1, nCandidates: 300 });
 * opt.initialize(["x"], 1, 15, { x: [-3, 3] });
 * for (let r = 0; r < 15; r++) {
 *   const ps = opt.ask(1);
 *   opt.tell(ps, ps.map((p) => (p.x - 1) ** 2));
 * }
 * assert.ok(Math.abs(opt.recommend().x - 1) < 0.1);
 * ```
 */
export class BayesianOptimization extends BoxOptimizer<null> {
  #o: Required<BayesianOptimizationOptions>;
  #rng: Rng = new Rng(0);
  #X: Float64Array[] = [];
  #y: number[] = [];
  #initQueue: Float64Array[] = [];
  #gp: GaussianProcess | null = null;
  #dirty = true;

  /**
   * Create the optimizer.
   * @param options seed, acquisition, xi, kappa, nInitialPoints, batchStrategy, nCandidates, hyperRestarts
   * @throws {RangeError} unknown acquisition or batch strategy, bad numbers
   */
  constructor(options: BayesianOptimizationOptions = {}) {
    super(options.scale);
    const o = {
      seed: options.seed ?? 0,
      acquisition: options.acquisition ?? "EI",
      xi: options.xi ?? 0.01,
      kappa: options.kappa ?? 1.96,
      nInitialPoints: options.nInitialPoints ?? 10,
      batchStrategy: options.batchStrategy ?? "cl_min",
      nCandidates: options.nCandidates ?? 2000,
      hyperRestarts: options.hyperRestarts ?? 2,
      errorTransform: options.errorTransform ?? "none",
    } as Required<BayesianOptimizationOptions>;
    if (o.acquisition !== "EI" && o.acquisition !== "LCB") {
      throw new RangeError(
        `BayesianOptimization: acquisition must be "EI" or "LCB", got ${
          String(o.acquisition)
        }`,
      );
    }
    if (
      !["cl_min", "cl_mean", "cl_max", "kriging_believer"].includes(
        o.batchStrategy,
      )
    ) {
      throw new RangeError(
        `BayesianOptimization: unknown batchStrategy ${
          String(o.batchStrategy)
        }`,
      );
    }
    for (const k of ["xi", "kappa"] as const) {
      if (!(Number.isFinite(o[k]) && o[k] >= 0)) {
        throw new RangeError(
          `BayesianOptimization: ${k} must be a finite number >= 0, got ${
            o[k]
          }`,
        );
      }
    }
    for (
      const k of ["nInitialPoints", "nCandidates", "hyperRestarts"] as const
    ) {
      if (!(Number.isInteger(o[k]) && o[k] >= (k === "nCandidates" ? 1 : 0))) {
        throw new RangeError(
          `BayesianOptimization: ${k} must be a non-negative integer, got ${
            o[k]
          }`,
        );
      }
    }
    this.#o = o;
  }

  /** Name used in error messages. */
  protected get label(): string {
    return "BayesianOptimization";
  }

  /** Reset the algorithm state after the bounds were validated; returns the population size. */
  protected initializeState(popsize: number, _rounds: number): number {
    this.#rng = new Rng(this.#o.seed);
    this.#X = [];
    this.#y = [];
    this.#initQueue = latinHypercube(
      this.#o.nInitialPoints,
      this.dimension,
      this.#rng,
    );
    this.#gp = null;
    this.#dirty = true;
    return popsize;
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: null }[] {
    const out: { u: Float64Array; tag: null }[] = [];
    while (out.length < n && this.#initQueue.length > 0) {
      out.push({ u: this.#initQueue.shift()!, tag: null });
    }
    if (out.length === n) return out;
    const finite = this.#observations();
    if (finite.X.length < 2) {
      while (out.length < n) {
        const u = new Float64Array(this.dimension);
        for (let j = 0; j < u.length; j++) u[j] = this.#rng.random();
        out.push({ u, tag: null });
      }
      return out;
    }
    if (this.#gp === null) this.#gp = new GaussianProcess(this.dimension);
    const gp = this.#gp;
    const X = finite.X.slice();
    const y = finite.y.slice();
    gp.fit(X, y, this.#rng, this.#dirty, this.#o.hyperRestarts);
    this.#dirty = false;
    // points handed out in this batch (and earlier initial ones) act as lies
    for (const p of out) {
      X.push(p.u);
      y.push(this.#lie(y, gp, p.u));
    }
    if (out.length > 0) gp.fit(X, y, this.#rng, false);
    while (out.length < n) {
      const u = this.#maximizeAcquisition(gp, Math.min(...y), X, y);
      out.push({ u, tag: null });
      if (out.length < n) {
        X.push(u);
        y.push(this.#lie(y, gp, u));
        gp.fit(X, y, this.#rng, false);
      }
    }
    return out;
  }

  #lie(y: number[], gp: GaussianProcess, u: Float64Array): number {
    switch (this.#o.batchStrategy) {
      case "cl_min":
        return Math.min(...y);
      case "cl_max":
        return Math.max(...y);
      case "cl_mean":
        return y.reduce((a, b) => a + b, 0) / y.length;
      default:
        return gp.predict(u).mean;
    }
  }

  #observations(): { X: Float64Array[]; y: number[] } {
    let maxFinite = -Infinity;
    for (const v of this.#y) {
      if (Number.isFinite(v)) maxFinite = Math.max(maxFinite, v);
    }
    const X: Float64Array[] = [];
    const y: number[] = [];
    if (maxFinite === -Infinity) return { X, y };
    for (let i = 0; i < this.#y.length; i++) {
      X.push(this.#X[i]);
      y.push(Number.isFinite(this.#y[i]) ? this.#y[i] : maxFinite);
    }
    if (this.#o.errorTransform === "log") {
      const lo = Math.min(...y);
      const delta = 1e-9 * (maxFinite - lo) + Number.MIN_VALUE;
      for (let i = 0; i < y.length; i++) y[i] = Math.log(y[i] - lo + delta);
    }
    return { X, y };
  }

  #acquisition(
    gp: GaussianProcess,
    fBest: number,
  ): (u: Float64Array) => number {
    // returns a value to MINIMISE
    const scale = gp.yStd;
    if (this.#o.acquisition === "LCB") {
      const kappa = this.#o.kappa;
      return (u) => {
        const { mean, std } = gp.predict(u);
        return (mean - kappa * std) / scale;
      };
    }
    const xi = this.#o.xi * scale;
    return (u) => {
      const { mean, std } = gp.predict(u);
      const imp = fBest - mean - xi;
      if (std <= 0) return -Math.max(imp, 0) / scale;
      const z = imp / std;
      return -(imp * normCdf(z) + std * normPdf(z)) / scale;
    };
  }

  #maximizeAcquisition(
    gp: GaussianProcess,
    fBest: number,
    X: Float64Array[],
    y: number[],
  ): Float64Array {
    const d = this.dimension;
    const acq = this.#acquisition(gp, fBest);
    const cands: { u: Float64Array; v: number }[] = [];
    for (let c = 0; c < this.#o.nCandidates; c++) {
      const u = new Float64Array(d);
      for (let j = 0; j < d; j++) u[j] = this.#rng.random();
      cands.push({ u, v: acq(u) });
    }
    // perturbations of the best observed points help exploitation
    const order = X.map((_, i) => i).sort((a, b) => y[a] - y[b]);
    for (const i of order.slice(0, Math.min(order.length, 5))) {
      const u = Float64Array.from(X[i]);
      for (let j = 0; j < d; j++) {
        u[j] = Math.min(1, Math.max(0, u[j] + 0.02 * this.#rng.normal()));
      }
      cands.push({ u, v: acq(u) });
    }
    cands.sort((a, b) => a.v - b.v);
    const lo = new Float64Array(d);
    const hi = new Float64Array(d).fill(1);
    let best = cands[0];
    for (const c of cands.slice(0, 3)) {
      const r = nelderMead(acq, c.u, lo, hi, {
        maxEvaluations: 40 * d,
        step: 0.05,
        tol: 1e-10,
      });
      if (r.f < best.v) best = { u: r.x, v: r.f };
    }
    return Float64Array.from(best.u);
  }

  /** Consume told points (matched to their tags). */
  protected update(entries: ToldEntry<null>[]): void {
    for (const e of entries) {
      this.#X.push(Float64Array.from(e.u));
      this.#y.push(e.error);
    }
    if (entries.length > 0) this.#dirty = true;
  }
}

function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF via erfc (W. J. Cody's rational approximation is overkill here). */
function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes `erfcc`, |rel. error| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 +
            t * (0.37409196 +
                t * (0.09678418 +
                    t * (-0.18628806 +
                        t * (0.27886187 +
                            t *
                              (-1.13520398 +
                                t *
                                  (1.48851587 +
                                    t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
