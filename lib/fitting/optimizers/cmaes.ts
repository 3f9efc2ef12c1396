/**
 * CMA-ES, the covariance matrix adaptation evolution strategy, following
 * N. Hansen, "The CMA Evolution Strategy: A Tutorial" (arXiv:1604.00772,
 * 2016): (μ/μ_W, λ) selection with the default weights, cumulative step-size
 * adaptation (eqs. 43–44), rank-one and rank-μ covariance updates (eqs. 45–47),
 * default strategy parameters of Table 1 (positive weights only), and the
 * IPOP restart scheme of A. Auger & N. Hansen, "A Restart CMA Evolution
 * Strategy With Increasing Population Size" (CEC 2005): on stagnation the
 * search restarts from a random mean with the population doubled.
 *
 * The search runs in normalized coordinates `u = (x − lo)/(hi − lo)` (or
 * `log(x/lo)/log(hi/lo)` for parameters on the log scale, option `scale`); the
 * initial mean is the centre of the box (or `x0`), `sigma0` is relative to
 * the box width. Samples outside [0, 1] are reflected back into the box and
 * the reflected (evaluated) points are used in the update, so that the
 * distribution learns from what was actually evaluated.
 *
 * Ask/tell: points handed out since the last update belong to the current
 * generation; once at least λ of them have been told (and none is still
 * outstanding) the distribution is updated from the best μ. Asking more than
 * λ points per round is allowed (they all come from the same distribution).
 * @module
 */

import { Rng } from "../../_internal/random.ts";
import { BoxOptimizer, type ScaleOption, type ToldEntry } from "./optimizer.ts";

/** Options of {@linkcode CMAES}. */
export interface CMAESOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Search scale per parameter (`"linear"`, `"log"` or `"auto"`, one for
   * all or `{ name: scale }`). Default `"auto"`: log for bounds `0 < lo`
   * spanning more than two decades, linear otherwise.
   */
  scale?: ScaleOption;
  /** Initial step size relative to the box width. Default 0.3. */
  sigma0?: number;
  /**
   * Population size λ. Default `max(requested popsize, 4 + ⌊3 ln d⌋)`.
   */
  popsize?: number;
  /** Maximum number of IPOP restarts (population doubled each time). Default 0. */
  restarts?: number;
  /** Initial mean in SI units per parameter (default: the centre of the bounds). */
  x0?: Record<string, number>;
  /** Stop-and-restart tolerance on the step size (normalized units). Default 1e-11. */
  tolX?: number;
  /** Stop-and-restart tolerance on the spread of best errors. Default 1e-12. */
  tolFun?: number;
}

/**
 * CMA-ES with optional IPOP restarts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CMAES } from "./cmaes.ts";
 * const opt = new CMAES({ seed: 1 });
 * const n = opt.initialize(["x", "y"], 8, 60, { x: [-2, 2], y: [-2, 2] });
 * for (let r = 0; r < 60; r++) {
 *   const ps = opt.ask(n);
 *   opt.tell(ps, ps.map((p) => (p.x - 1) ** 2 + 10 * (p.y + 0.5) ** 2));
 * }
 * assert.ok(Math.abs(opt.recommend().x - 1) < 1e-4);
 * ```
 */
export class CMAES extends BoxOptimizer<number> {
  #o: {
    seed: number;
    sigma0: number;
    popsize?: number;
    restarts: number;
    x0?: Record<string, number>;
    tolX: number;
    tolFun: number;
  };
  #rng: Rng = new Rng(0);
  #lambda = 0;
  #restartsDone = 0;
  // strategy state
  #m: Float64Array = new Float64Array(0);
  #sigma = 0;
  #C: Float64Array[] = [];
  #B: Float64Array[] = [];
  #D: Float64Array = new Float64Array(0);
  #pc: Float64Array = new Float64Array(0);
  #ps: Float64Array = new Float64Array(0);
  #gen = 0;
  #genCount = 0;
  #told: ToldEntry<number>[] = [];
  #outstanding = 0;
  #history: number[] = [];

  /**
   * Create the optimizer.
   * @param options seed, sigma0, popsize, restarts, x0, tolX, tolFun
   * @throws {RangeError} sigma0 not in (0, 1], popsize < 2, restarts < 0
   */
  constructor(options: CMAESOptions = {}) {
    super(options.scale);
    const o = {
      seed: options.seed ?? 0,
      sigma0: options.sigma0 ?? 0.3,
      popsize: options.popsize,
      restarts: options.restarts ?? 0,
      x0: options.x0,
      tolX: options.tolX ?? 1e-11,
      tolFun: options.tolFun ?? 1e-12,
    };
    if (!(o.sigma0 > 0 && o.sigma0 <= 1)) {
      throw new RangeError(
        `CMAES: sigma0 must be in (0, 1] (relative to the box), got ${o.sigma0}`,
      );
    }
    if (
      o.popsize !== undefined &&
      !(Number.isInteger(o.popsize) && o.popsize >= 2)
    ) {
      throw new RangeError(
        `CMAES: popsize must be an integer >= 2, got ${o.popsize}`,
      );
    }
    if (!(Number.isInteger(o.restarts) && o.restarts >= 0)) {
      throw new RangeError(
        `CMAES: restarts must be an integer >= 0, got ${o.restarts}`,
      );
    }
    this.#o = o;
  }

  /** Name used in error messages. */
  protected get label(): string {
    return "CMAES";
  }

  /** Current step size (normalized units). */
  get sigma(): number {
    return this.#sigma;
  }

  /** Number of IPOP restarts performed so far. */
  get restartsDone(): number {
    return this.#restartsDone;
  }

  /** Current population size λ (doubles at each restart). */
  get lambda(): number {
    return this.#lambda;
  }

  /** Reset the algorithm state after the bounds were validated; returns the population size. */
  protected initializeState(popsize: number, _rounds: number): number {
    const d = this.dimension;
    this.#rng = new Rng(this.#o.seed);
    this.#lambda = this.#o.popsize ??
      Math.max(popsize, 4 + Math.floor(3 * Math.log(d)));
    this.#restartsDone = 0;
    const m = new Float64Array(d).fill(0.5);
    if (this.#o.x0) {
      const x0 = this.#o.x0;
      for (let i = 0; i < d; i++) {
        const name = this.names[i];
        const v = x0[name];
        if (v === undefined) continue;
        if (!(v >= this.lower[i] && v <= this.upper[i])) {
          throw new RangeError(
            `CMAES: x0.${name} = ${v} is outside the bounds [${
              this.lower[i]
            }, ${this.upper[i]}]`,
          );
        }
        m[i] = this.toCoordinate(i, v);
      }
    }
    this.#reset(m);
    return this.#lambda;
  }

  #reset(mean: Float64Array): void {
    const d = this.dimension;
    this.#m = mean;
    this.#sigma = this.#o.sigma0;
    this.#C = [];
    this.#B = [];
    for (let i = 0; i < d; i++) {
      const c = new Float64Array(d);
      c[i] = 1;
      this.#C.push(c);
      this.#B.push(Float64Array.from(c));
    }
    this.#D = new Float64Array(d).fill(1);
    this.#pc = new Float64Array(d);
    this.#ps = new Float64Array(d);
    this.#genCount = 0;
    this.#gen++;
    this.#told = [];
    this.#outstanding = 0;
    this.#history = [];
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: number }[] {
    const d = this.dimension;
    const out: { u: Float64Array; tag: number }[] = [];
    for (let k = 0; k < n; k++) {
      const z = new Float64Array(d);
      for (let i = 0; i < d; i++) z[i] = this.#D[i] * this.#rng.normal();
      const u = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += this.#B[i][j] * z[j];
        u[i] = reflect(this.#m[i] + this.#sigma * s);
      }
      out.push({ u, tag: this.#gen });
      this.#outstanding++;
    }
    return out;
  }

  /** Consume told points (matched to their tags). */
  protected update(entries: ToldEntry<number>[]): void {
    for (const e of entries) {
      if (e.tag !== this.#gen) continue; // external or stale point
      this.#told.push(e);
      this.#outstanding--;
    }
    if (this.#told.length >= this.#lambda && this.#outstanding <= 0) {
      const told = this.#told;
      this.#told = [];
      this.#outstanding = 0;
      this.#step(told);
    }
  }

  #step(told: ToldEntry<number>[]): void {
    const d = this.dimension;
    const order = told.map((_, i) => i).sort((a, b) =>
      told[a].key - told[b].key || a - b
    );
    const finite = order.filter((i) => told[i].key < Infinity);
    if (finite.length === 0) return; // nothing to learn from; sample again
    // Table 1 (Hansen 2016): weights for the mu best, positive only
    const lambda = Math.max(this.#lambda, 2);
    const mu = Math.max(1, Math.min(Math.floor(lambda / 2), finite.length));
    const w = new Float64Array(mu);
    let sw = 0;
    for (let i = 0; i < mu; i++) {
      w[i] = Math.log((lambda + 1) / 2) - Math.log(i + 1);
      if (w[i] <= 0) w[i] = 1e-12;
      sw += w[i];
    }
    let sw2 = 0;
    for (let i = 0; i < mu; i++) {
      w[i] /= sw;
      sw2 += w[i] * w[i];
    }
    const mueff = 1 / sw2;
    const cs = (mueff + 2) / (d + mueff + 5);
    const ds = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (d + 1)) - 1) + cs;
    const cc = (4 + mueff / d) / (d + 4 + 2 * mueff / d);
    const c1 = 2 / ((d + 1.3) ** 2 + mueff);
    const cmu = Math.min(
      1 - c1,
      (2 * (mueff - 2 + 1 / mueff)) / ((d + 2) ** 2 + mueff),
    );
    const chiN = Math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d));

    const sigma = this.#sigma;
    const ys: Float64Array[] = [];
    const yw = new Float64Array(d);
    for (let k = 0; k < mu; k++) {
      const u = told[finite[k]].u;
      const y = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        y[i] = (u[i] - this.#m[i]) / sigma;
        yw[i] += w[k] * y[i];
      }
      ys.push(y);
    }
    // mean update (eq. 41, c_m = 1)
    for (let i = 0; i < d; i++) this.#m[i] += sigma * yw[i];
    // C^{-1/2} yw = B D^{-1} B^T yw
    const bty = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += this.#B[i][j] * yw[i];
      bty[j] = s / this.#D[j];
    }
    const cinvy = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.#B[i][j] * bty[j];
      cinvy[i] = s;
    }
    // step-size path (eq. 43)
    const fs = Math.sqrt(cs * (2 - cs) * mueff);
    let psNorm = 0;
    for (let i = 0; i < d; i++) {
      this.#ps[i] = (1 - cs) * this.#ps[i] + fs * cinvy[i];
      psNorm += this.#ps[i] ** 2;
    }
    psNorm = Math.sqrt(psNorm);
    this.#genCount++;
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * this.#genCount)) <
        (1.4 + 2 / (d + 1)) * chiN
      ? 1
      : 0;
    // covariance path (eq. 45)
    const fc = Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < d; i++) {
      this.#pc[i] = (1 - cc) * this.#pc[i] + hsig * fc * yw[i];
    }
    // covariance update (eq. 47 with positive weights)
    const dh = (1 - hsig) * cc * (2 - cc);
    const keep = 1 + c1 * dh - c1 - cmu;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let rmu = 0;
        for (let k = 0; k < mu; k++) rmu += w[k] * ys[k][i] * ys[k][j];
        const v = keep * this.#C[i][j] + c1 * this.#pc[i] * this.#pc[j] +
          cmu * rmu;
        this.#C[i][j] = v;
        this.#C[j][i] = v;
      }
    }
    // step size (eq. 44)
    this.#sigma = sigma *
      Math.exp(Math.min(1, (cs / ds) * (psNorm / chiN - 1)));
    this.#sigma = Math.min(this.#sigma, 2);
    this.#eigen();
    // stagnation bookkeeping for IPOP
    this.#history.push(told[finite[0]].key);
    if (
      this.#o.restarts > this.#restartsDone && this.#shouldRestart(told, finite)
    ) {
      this.#restartsDone++;
      this.#lambda *= 2;
      const m = new Float64Array(d);
      for (let i = 0; i < d; i++) m[i] = this.#rng.random();
      this.#reset(m);
    }
  }

  #shouldRestart(told: ToldEntry<number>[], finite: number[]): boolean {
    const d = this.dimension;
    let maxStd = 0;
    for (let i = 0; i < d; i++) {
      maxStd = Math.max(maxStd, Math.sqrt(this.#C[i][i]));
    }
    if (this.#sigma * maxStd < this.#o.tolX) return true;
    let dmax = 0;
    let dmin = Infinity;
    for (const v of this.#D) {
      dmax = Math.max(dmax, v);
      dmin = Math.min(dmin, v);
    }
    if ((dmax / dmin) ** 2 > 1e14) return true;
    const window = 10 + Math.ceil((30 * d) / this.#lambda);
    if (this.#history.length >= window) {
      const recent = this.#history.slice(-window);
      const range = Math.max(...recent) - Math.min(...recent);
      const genRange = told[finite[finite.length - 1]].key -
        told[finite[0]].key;
      if (range < this.#o.tolFun && genRange < this.#o.tolFun) return true;
    }
    return false;
  }

  #eigen(): void {
    const { vectors, values } = jacobiEigen(this.#C);
    for (let j = 0; j < values.length; j++) {
      this.#D[j] = Math.sqrt(Math.max(values[j], 1e-300));
    }
    this.#B = vectors;
  }
}

/** Reflect a coordinate into [0, 1] (mirror at the walls, periodic with period 2). */
function reflect(v: number): number {
  if (!Number.isFinite(v)) return 0.5;
  let x = v % 2;
  if (x < 0) x += 2;
  return x > 1 ? 2 - x : x;
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
 * Returns `vectors[i][j]` = component i of eigenvector j.
 */
export function jacobiEigen(
  A: Float64Array[],
): { values: Float64Array; vectors: Float64Array[] } {
  const n = A.length;
  const a = A.map((r) => Float64Array.from(r));
  const v: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = new Float64Array(n);
    r[i] = 1;
    v.push(r);
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) off += a[i][j] ** 2;
    }
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) /
          (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i][i];
  return { values, vectors: v };
}
