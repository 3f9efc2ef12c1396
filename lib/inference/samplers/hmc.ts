/**
 * Vectorised Hamiltonian Monte Carlo and the No-U-Turn sampler: many chains
 * advanced together, one batched gradient call per leapfrog step for all
 * chains still integrating.
 *
 * - HMC (Neal 2011, "MCMC using Hamiltonian dynamics", Handbook of MCMC ch. 5):
 *   leapfrog integration with a diagonal mass matrix, Metropolis correction.
 * - NUTS (Hoffman & Gelman 2014, "The No-U-Turn sampler", JMLR 15) in its
 *   multinomial form (Betancourt 2017, "A conceptual introduction to
 *   Hamiltonian Monte Carlo", arXiv:1701.02434, App. A): trajectories doubled
 *   in a random direction until the generalised no-U-turn criterion fails
 *   (also checked across the two halves of every merged subtree) or the tree
 *   depth reaches `maxTreeDepth` (10); uniform progressive sampling inside
 *   subtrees, biased progressive sampling when a subtree joins the trajectory.
 * - Warm-up: step size by dual averaging (Hoffman & Gelman 2014, Alg. 5;
 *   γ = 0.05, t0 = 10, κ = 0.75, μ = log 10ε, target acceptance 0.8) started
 *   from the step-size heuristic (Alg. 4); a diagonal inverse mass matrix from
 *   the variance of the warm-up draws in Stan's windowed scheme (initial
 *   buffer 75, doubling windows from 25, final buffer 50 steps; 15/75/10 % of
 *   the warm-up when it is shorter than 150), regularised towards 1e-3 as Stan
 *   does. Step size and mass matrix are shared by all chains (pooled
 *   statistics) and frozen after warm-up.
 *
 * A state whose log-density or gradient is not finite (`-Infinity` outside the
 * support, NaN) or whose energy error exceeds `maxDeltaH` (1000) ends the
 * trajectory as a divergence: HMC rejects the proposal, NUTS keeps a sample of
 * the trajectory built so far. Divergent transitions after warm-up are counted
 * in `divergences`.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix } from "../matrix.ts";
import type { GradPotential } from "../potentials/potential.ts";
import {
  type ChainOptions,
  resolveChains,
  type SamplerResult,
} from "./_chains.ts";

export type { GradPotential } from "../potentials/potential.ts";

/** Options of {@linkcode hmcSample} and {@linkcode nutsSample}. */
export interface HMCOptions extends ChainOptions {
  /** Initial step size. Default: Hoffman & Gelman's heuristic (Alg. 4) from 1. */
  stepSize?: number;
  /** Adapt the step size by dual averaging during warm-up. Default true. */
  adaptStepSize?: boolean;
  /** Adapt a diagonal mass matrix during warm-up (needs >= 20 warm-up steps). Default true. */
  adaptMassMatrix?: boolean;
  /** Initial diagonal of the inverse mass matrix (`dim` values). Default all 1. */
  inverseMassMatrix?: ArrayLike<number>;
  /** Target mean acceptance statistic of the dual averaging. Default 0.8. */
  targetAccept?: number;
  /** Energy error that marks a divergence. Default 1000 (Stan). */
  maxDeltaH?: number;
  /** HMC only: leapfrog steps per transition. Default 10. */
  numSteps?: number;
  /**
   * HMC only: each chain's step size is drawn uniformly from
   * `stepSize * [1 - jitter, 1 + jitter]` per transition (breaks periodic
   * trajectories). Default 0.1.
   */
  jitter?: number;
  /** NUTS only: maximal tree depth (at most 2^depth - 1 leapfrog steps). Default 10. */
  maxTreeDepth?: number;
}

/** What {@linkcode hmcSample} and {@linkcode nutsSample} return. */
export interface HMCResult extends SamplerResult {
  /**
   * After warm-up: fraction of accepted proposals (HMC) or mean acceptance
   * statistic of the trajectories (NUTS).
   */
  acceptanceRate: number;
  /** Divergent transitions after warm-up (summed over chains). */
  divergences: number;
  /** Divergent transitions during warm-up. */
  warmupDivergences: number;
  /** Step size used after warm-up. */
  stepSize: number;
  /** Diagonal of the inverse mass matrix used after warm-up. */
  inverseMassMatrix: Float64Array;
  /** Mean number of leapfrog steps per transition after warm-up. */
  meanLeapfrogSteps: number;
  /** NUTS: mean tree depth after warm-up (HMC: 0). */
  meanTreeDepth: number;
}

/** Counts calls and rows of a gradient potential; maps NaN / non-finite gradients to `-Infinity`. */
class CountedGradPotential {
  calls = 0;
  rows = 0;
  #p: GradPotential;
  #d: number;
  constructor(p: GradPotential, d: number) {
    this.#p = p;
    this.#d = d;
  }
  /**
   * Evaluates the chains `idx` at positions `z` (row c of `z` for chain c);
   * writes log-density into `lp[c]` and gradient into row c of `g`.
   */
  eval(
    idx: ArrayLike<number>,
    z: Float64Array,
    lp: Float64Array,
    g: Float64Array,
  ): void {
    const n = idx.length;
    if (n === 0) return;
    const d = this.#d;
    const m = new Matrix(n, d);
    for (let a = 0; a < n; a++) {
      const c = idx[a];
      for (let j = 0; j < d; j++) m.data[a * d + j] = z[c * d + j];
    }
    this.calls++;
    this.rows += n;
    const r = this.#p(m);
    if (!r || r.logProb?.length !== n || r.grad?.length !== n * d) {
      throw new TypeError(
        `gradient potential returned ${r?.logProb?.length} values and ${r?.grad?.length} gradient entries for ${n} rows of dim ${d}`,
      );
    }
    for (let a = 0; a < n; a++) {
      const c = idx[a];
      let v = r.logProb[a];
      for (let j = 0; j < d; j++) {
        const gj = r.grad[a * d + j];
        if (!Number.isFinite(gj)) v = -Infinity;
        g[c * d + j] = gj;
      }
      lp[c] = v === v && v < Infinity ? v : -Infinity;
    }
  }
}

/** Stan's windowed warm-up: the slow windows [start, end) of mass-matrix adaptation. */
function massWindows(warmup: number): [number, number][] {
  if (warmup < 20) return [];
  let init = 75, term = 50, base = 25;
  if (init + term + base > warmup) {
    init = Math.floor(0.15 * warmup);
    term = Math.floor(0.1 * warmup);
    base = warmup - init - term;
  }
  const out: [number, number][] = [];
  const stop = warmup - term;
  let start = init, size = base;
  while (start < stop) {
    let end = start + size;
    if (end + 2 * size > stop) end = stop;
    out.push([start, end]);
    start = end;
    size *= 2;
  }
  return out;
}

const logAddExp = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
};

/** State and machinery shared by HMC and NUTS. */
class Engine {
  readonly C: number;
  readonly d: number;
  readonly rng: Rng;
  readonly pot: CountedGradPotential;
  /** Chain positions, log-densities and gradients. */
  readonly z: Float64Array;
  readonly lp: Float64Array;
  readonly g: Float64Array;
  invM: Float64Array;
  eps: number;
  readonly maxDeltaH: number;
  // dual averaging (Hoffman & Gelman 2014, Alg. 5)
  #mu = 0;
  #hBar = 0;
  #logEpsBar = 0;
  #m = 0;
  readonly #delta: number;

  constructor(
    potential: GradPotential,
    init: Float64Array,
    d: number,
    C: number,
    o: HMCOptions,
  ) {
    this.C = C;
    this.d = d;
    this.rng = new Rng(o.seed ?? 0);
    this.pot = new CountedGradPotential(potential, d);
    this.z = Float64Array.from(init);
    this.lp = new Float64Array(C);
    this.g = new Float64Array(C * d);
    this.maxDeltaH = o.maxDeltaH ?? 1000;
    if (!(this.maxDeltaH > 0)) {
      throw new RangeError(`maxDeltaH must be > 0, got ${this.maxDeltaH}`);
    }
    this.#delta = o.targetAccept ?? 0.8;
    if (!(this.#delta > 0 && this.#delta < 1)) {
      throw new RangeError(
        `targetAccept must be in (0, 1), got ${this.#delta}`,
      );
    }
    if (o.inverseMassMatrix !== undefined) {
      const m = Float64Array.from(o.inverseMassMatrix);
      if (m.length !== d || !m.every((v) => v > 0 && Number.isFinite(v))) {
        throw new RangeError(
          `inverseMassMatrix must be ${d} positive finite values, got [${
            Array.from(m).join(", ")
          }]`,
        );
      }
      this.invM = m;
    } else this.invM = new Float64Array(d).fill(1);
    const all = Array.from({ length: C }, (_, c) => c);
    this.pot.eval(all, this.z, this.lp, this.g);
    for (let c = 0; c < C; c++) {
      if (!(this.lp[c] > -Infinity)) {
        throw new RangeError(
          `initial state of chain ${c} has potential ${
            this.lp[c]
          } (or a non-finite gradient)`,
        );
      }
    }
    const s = o.stepSize;
    if (s !== undefined && !(s > 0 && Number.isFinite(s))) {
      throw new RangeError(`stepSize must be a positive number, got ${s}`);
    }
    this.eps = s ?? this.reasonableStepSize(1);
    this.restartDualAveraging();
  }

  /** Draws momenta p ~ N(0, M) for all chains into `p`. */
  drawMomentum(p: Float64Array): void {
    const d = this.d;
    for (let c = 0; c < this.C; c++) {
      for (let j = 0; j < d; j++) {
        p[c * d + j] = this.rng.normal() / Math.sqrt(this.invM[j]);
      }
    }
  }

  /** Kinetic energy of row c of `p`. */
  kinetic(p: Float64Array, c: number): number {
    const d = this.d;
    let k = 0;
    for (let j = 0; j < d; j++) k += this.invM[j] * p[c * d + j] ** 2;
    return 0.5 * k;
  }

  /**
   * One leapfrog step of size `h[c]` for the chains `idx`, in place on
   * (z, p, lp, g): half kick, drift, gradient call, half kick.
   */
  leapfrog(
    idx: number[],
    h: Float64Array,
    z: Float64Array,
    p: Float64Array,
    lp: Float64Array,
    g: Float64Array,
  ): void {
    const d = this.d;
    for (const c of idx) {
      const e = h[c];
      for (let j = 0; j < d; j++) {
        const k = c * d + j;
        p[k] += 0.5 * e * g[k];
        z[k] += e * this.invM[j] * p[k];
      }
    }
    this.pot.eval(idx, z, lp, g);
    for (const c of idx) {
      if (!(lp[c] > -Infinity)) continue;
      const e = h[c];
      for (let j = 0; j < d; j++) p[c * d + j] += 0.5 * e * g[c * d + j];
    }
  }

  /**
   * Hoffman & Gelman (2014) Alg. 4 on all chains at once: doubles or halves the
   * step size until the mean one-step acceptance probability crosses 1/2.
   */
  reasonableStepSize(eps0: number): number {
    const C = this.C, d = this.d;
    const all = Array.from({ length: C }, (_, c) => c);
    const p0 = new Float64Array(C * d);
    this.drawMomentum(p0);
    const h0 = new Float64Array(C);
    for (let c = 0; c < C; c++) h0[c] = -this.lp[c] + this.kinetic(p0, c);
    const accept = (eps: number): number => {
      const z = this.z.slice(), p = p0.slice();
      const lp = this.lp.slice(), g = this.g.slice();
      this.leapfrog(all, new Float64Array(C).fill(eps), z, p, lp, g);
      let s = 0;
      for (let c = 0; c < C; c++) {
        const dh = h0[c] - (-lp[c] + this.kinetic(p, c));
        s += dh === dh ? Math.min(1, Math.exp(dh)) : 0;
      }
      return s / C;
    };
    let eps = eps0;
    const up = accept(eps) > 0.5;
    for (let k = 0; k < 60; k++) {
      const next = up ? eps * 2 : eps / 2;
      const a = accept(next);
      if (up ? !(a > 0.5) : a > 0.5) return up ? eps : next;
      eps = next;
    }
    return eps;
  }

  restartDualAveraging(): void {
    this.#mu = Math.log(10 * this.eps);
    this.#hBar = 0;
    this.#logEpsBar = 0;
    this.#m = 0;
  }

  /** One dual-averaging update with the mean acceptance statistic `alpha`. */
  dualAverage(alpha: number): void {
    const t0 = 10, gamma = 0.05, kappa = 0.75;
    this.#m++;
    const m = this.#m;
    const eta = 1 / (m + t0);
    this.#hBar = (1 - eta) * this.#hBar + eta * (this.#delta - alpha);
    const logEps = this.#mu - Math.sqrt(m) / gamma * this.#hBar;
    const w = m ** -kappa;
    this.#logEpsBar = w * logEps + (1 - w) * this.#logEpsBar;
    this.eps = Math.exp(logEps);
  }

  /** Ends warm-up: the averaged step size. */
  finishDualAveraging(): void {
    if (this.#m > 0) this.eps = Math.exp(this.#logEpsBar);
  }
}

/** Runs warm-up (adaptation) and sampling around a transition function. */
function run(
  name: string,
  potential: GradPotential,
  init: Float64Array,
  dim: number,
  n: number,
  o: HMCOptions,
  transition: (e: Engine, divergent: Uint8Array) => {
    accept: Float64Array;
    acceptedFraction: number;
    leapfrogs: number;
    depth: number;
  },
  useAcceptedFraction: boolean,
): HMCResult {
  const { warmup, thin, chains: C } = resolveChains(n, init, dim, o);
  const d = dim;
  const e = new Engine(potential, init, d, C, o);
  const adaptStep = o.adaptStepSize !== false;
  const windows = o.adaptMassMatrix === false ? [] : massWindows(warmup);
  const out = new Matrix(n, d);
  let filled = 0;
  const divergent = new Uint8Array(C);
  let divergences = 0, warmupDivergences = 0;
  let accSum = 0, accN = 0, leapSum = 0, depthSum = 0, trans = 0;
  // pooled Welford variance of the current slow window
  let wCount = 0;
  const wMean = new Float64Array(d), wM2 = new Float64Array(d);
  let wi = 0;
  for (let step = 0; filled < n; step++) {
    const warming = step < warmup;
    divergent.fill(0);
    const r = transition(e, divergent);
    let nd = 0;
    for (let c = 0; c < C; c++) nd += divergent[c];
    if (warming) {
      warmupDivergences += nd;
      if (adaptStep) {
        let a = 0;
        for (let c = 0; c < C; c++) a += r.accept[c];
        e.dualAverage(a / C);
      }
      const w = windows[wi];
      if (w && step >= w[0] && step < w[1]) {
        for (let c = 0; c < C; c++) {
          wCount++;
          for (let j = 0; j < d; j++) {
            const v = e.z[c * d + j];
            const delta = v - wMean[j];
            wMean[j] += delta / wCount;
            wM2[j] += delta * (v - wMean[j]);
          }
        }
        if (step === w[1] - 1) {
          // Stan's regularisation: shrink towards 1e-3 with weight 5 / (n + 5)
          const nn = wCount;
          const inv = new Float64Array(d);
          for (let j = 0; j < d; j++) {
            const v = wM2[j] / Math.max(1, nn - 1);
            inv[j] = (nn / (nn + 5)) * v + 1e-3 * (5 / (nn + 5));
          }
          if (inv.every((v) => v > 0 && Number.isFinite(v))) e.invM = inv;
          wCount = 0;
          wMean.fill(0);
          wM2.fill(0);
          wi++;
          if (adaptStep) {
            e.eps = e.reasonableStepSize(e.eps);
            e.restartDualAveraging();
          }
        }
      }
      if (step === warmup - 1 && adaptStep) e.finishDualAveraging();
    } else {
      divergences += nd;
      trans += C;
      leapSum += r.leapfrogs;
      depthSum += r.depth;
      if (useAcceptedFraction) accSum += r.acceptedFraction * C;
      else for (let c = 0; c < C; c++) accSum += r.accept[c];
      accN += C;
      if ((step + 1 - warmup) % thin === 0) {
        for (let c = 0; c < C && filled < n; c++) {
          for (let j = 0; j < d; j++) out.data[filled * d + j] = e.z[c * d + j];
          filled++;
        }
      }
    }
  }
  if (!(e.eps > 0 && Number.isFinite(e.eps))) {
    throw new RangeError(`${name}: step size adaptation failed (${e.eps})`);
  }
  return {
    samples: out,
    acceptanceRate: accN ? accSum / accN : 0,
    potentialCalls: e.pot.calls,
    potentialEvaluations: e.pot.rows,
    divergences,
    warmupDivergences,
    stepSize: e.eps,
    inverseMassMatrix: e.invM.slice(),
    meanLeapfrogSteps: trans ? leapSum / trans : 0,
    meanTreeDepth: trans ? depthSum / trans : 0,
  };
}

/**
 * Draws `n` samples with vectorised HMC (fixed number of leapfrog steps,
 * jittered step size) from the chains started at `init` (rows).
 * @param potential batched log-density with its gradient (`-Infinity` outside the support)
 * @param init initial states, `numChains * dim` values (finite log-density and gradient)
 * @param dim parameter dimension
 * @param n number of samples to return
 * @param options see {@linkcode HMCOptions}
 * @returns the samples, acceptance rate, divergences, adapted step size and mass matrix, counters
 * @throws {RangeError} for bad options or an initial state with zero density
 * @example
 * ```ts
 * import { hmcSample } from "./hmc.ts";
 * import type { Matrix } from "../matrix.ts";
 * const pot = (t: Matrix) => ({
 *   logProb: Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.data[i] ** 2),
 *   grad: Float64Array.from(t.data, (v) => -v),
 * });
 * const r = hmcSample(pot, new Float64Array(20), 1, 2000, { seed: 1 });
 * const m = r.samples.mean()[0];
 * if (Math.abs(m) > 0.2) throw new Error(`mean ${m}`);
 * ```
 */
export function hmcSample(
  potential: GradPotential,
  init: Float64Array,
  dim: number,
  n: number,
  options: HMCOptions = {},
): HMCResult {
  const L = options.numSteps ?? 10;
  if (!Number.isInteger(L) || L < 1) {
    throw new RangeError(`numSteps must be a positive integer, got ${L}`);
  }
  const jitter = options.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) {
    throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  }
  let buf: {
    z: Float64Array;
    p: Float64Array;
    lp: Float64Array;
    g: Float64Array;
    h: Float64Array;
    h0: Float64Array;
  } | null = null;
  const transition = (e: Engine, divergent: Uint8Array) => {
    const C = e.C, d = e.d;
    buf ??= {
      z: new Float64Array(C * d),
      p: new Float64Array(C * d),
      lp: new Float64Array(C),
      g: new Float64Array(C * d),
      h: new Float64Array(C),
      h0: new Float64Array(C),
    };
    const { z, p, lp, g, h, h0 } = buf;
    e.drawMomentum(p);
    z.set(e.z);
    lp.set(e.lp);
    g.set(e.g);
    for (let c = 0; c < C; c++) {
      h0[c] = -lp[c] + e.kinetic(p, c);
      h[c] = e.eps * (1 + jitter * (2 * e.rng.random() - 1));
    }
    let act = Array.from({ length: C }, (_, c) => c);
    let leapfrogs = 0;
    for (let l = 0; l < L && act.length; l++) {
      e.leapfrog(act, h, z, p, lp, g);
      leapfrogs += act.length;
      act = act.filter((c) => {
        const dh = -lp[c] + e.kinetic(p, c) - h0[c];
        if (dh === dh && dh <= e.maxDeltaH) return true;
        divergent[c] = 1;
        return false;
      });
    }
    const accept = new Float64Array(C);
    let accepted = 0;
    for (let c = 0; c < C; c++) {
      if (divergent[c]) continue;
      const logA = h0[c] - (-lp[c] + e.kinetic(p, c));
      accept[c] = Math.min(1, Math.exp(logA));
      if (Math.log(e.rng.random()) < logA) {
        accepted++;
        e.lp[c] = lp[c];
        for (let j = 0; j < d; j++) {
          e.z[c * d + j] = z[c * d + j];
          e.g[c * d + j] = g[c * d + j];
        }
      }
    }
    return {
      accept,
      acceptedFraction: accepted / C,
      leapfrogs: leapfrogs,
      depth: 0,
    };
  };
  return run("hmcSample", potential, init, dim, n, options, transition, true);
}

/** A subtree of a NUTS trajectory, per chain (rows of `C x d` arrays). */
interface Subtree {
  /** 1 while the subtree may be used (no divergence, no internal U-turn). */
  valid: Uint8Array;
  /** log of the sum of exp(H0 - H) over its states. */
  logW: Float64Array;
  /** The state sampled from it (position, log-density, gradient). */
  sz: Float64Array;
  slp: Float64Array;
  sg: Float64Array;
  /** Sum of the momenta. */
  rho: Float64Array;
  /** Momentum of its first and last state in integration order. */
  pBeg: Float64Array;
  pEnd: Float64Array;
}

/**
 * Draws `n` samples with the vectorised No-U-Turn sampler (multinomial,
 * generalised U-turn criterion, dual averaging, diagonal mass matrix) from the
 * chains started at `init` (rows).
 * @param potential batched log-density with its gradient (`-Infinity` outside the support)
 * @param init initial states, `numChains * dim` values (finite log-density and gradient)
 * @param dim parameter dimension
 * @param n number of samples to return
 * @param options see {@linkcode HMCOptions}
 * @returns the samples, mean acceptance statistic, divergences, tree depth, counters
 * @throws {RangeError} for bad options or an initial state with zero density
 * @example
 * ```ts
 * import { nutsSample } from "./hmc.ts";
 * import type { Matrix } from "../matrix.ts";
 * const pot = (t: Matrix) => ({
 *   logProb: Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.data[i] ** 2),
 *   grad: Float64Array.from(t.data, (v) => -v),
 * });
 * const r = nutsSample(pot, new Float64Array(20), 1, 2000, { seed: 1 });
 * const m = r.samples.mean()[0];
 * if (Math.abs(m) > 0.2) throw new Error(`mean ${m}`);
 * ```
 */
export function nutsSample(
  potential: GradPotential,
  init: Float64Array,
  dim: number,
  n: number,
  options: HMCOptions = {},
): HMCResult {
  const maxDepth = options.maxTreeDepth ?? 10;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 30) {
    throw new RangeError(
      `maxTreeDepth must be an integer in [1, 30], got ${maxDepth}`,
    );
  }
  const transition = (e: Engine, divergent: Uint8Array) => {
    const C = e.C, d = e.d, invM = e.invM, rng = e.rng;
    // trajectory ends in time order (backward / forward) and the frontier
    const bz = e.z.slice(), bp = new Float64Array(C * d);
    const blp = e.lp.slice(), bg = e.g.slice();
    e.drawMomentum(bp);
    const fz = bz.slice(), fp = bp.slice(), flp = blp.slice(), fg = bg.slice();
    const xz = new Float64Array(C * d), xp = new Float64Array(C * d);
    const xlp = new Float64Array(C), xg = new Float64Array(C * d);
    const h = new Float64Array(C);
    const dir = new Int8Array(C);
    const h0 = new Float64Array(C);
    for (let c = 0; c < C; c++) h0[c] = -blp[c] + e.kinetic(bp, c);
    const rho = bp.slice();
    const logW = new Float64Array(C); // the initial state has weight 1
    const accSum = new Float64Array(C), nLeap = new Float64Array(C);
    const depthOf = new Float64Array(C);

    // p_sharp(a) . r > 0 and p_sharp(b) . r > 0, with p_sharp = M^{-1} p
    const noUTurn = (
      pa: Float64Array,
      pb: Float64Array,
      r: Float64Array,
      c: number,
      extra?: Float64Array,
    ): boolean => {
      let sa = 0, sb = 0;
      for (let j = 0; j < d; j++) {
        const k = c * d + j;
        const rj = r[k] + (extra ? extra[k] : 0);
        sa += invM[j] * pa[k] * rj;
        sb += invM[j] * pb[k] * rj;
      }
      return sa > 0 && sb > 0;
    };
    // criterion of two adjacent parts A then B (integration order): over the
    // union, and over A plus B's first state, and A's last state plus B
    // (Stan's additional checks across the merge)
    const mergeOk = (
      aRho: Float64Array,
      aBeg: Float64Array,
      aEnd: Float64Array,
      bRho: Float64Array,
      bBeg: Float64Array,
      bEnd: Float64Array,
      c: number,
      sum: Float64Array,
    ): boolean =>
      noUTurn(aBeg, bEnd, sum, c) &&
      noUTurn(aBeg, bBeg, aRho, c, bBeg) &&
      noUTurn(aEnd, bEnd, bRho, c, aEnd);

    const leaf = (act: number[]): Subtree => {
      e.leapfrog(act, h, xz, xp, xlp, xg);
      const s: Subtree = {
        valid: new Uint8Array(C),
        logW: new Float64Array(C).fill(-Infinity),
        sz: new Float64Array(C * d),
        slp: new Float64Array(C),
        sg: new Float64Array(C * d),
        rho: new Float64Array(C * d),
        pBeg: new Float64Array(C * d),
        pEnd: new Float64Array(C * d),
      };
      for (const c of act) {
        let hh = -xlp[c] + e.kinetic(xp, c);
        if (!(hh === hh)) hh = Infinity;
        const dH = hh - h0[c];
        nLeap[c]++;
        accSum[c] += dH < 0 ? 1 : Math.exp(-dH);
        if (!(dH <= e.maxDeltaH)) {
          divergent[c] = 1;
          continue;
        }
        s.valid[c] = 1;
        s.logW[c] = -dH;
        s.slp[c] = xlp[c];
        const o = c * d;
        for (let j = 0; j < d; j++) {
          s.sz[o + j] = xz[o + j];
          s.sg[o + j] = xg[o + j];
          s.rho[o + j] = s.pBeg[o + j] = s.pEnd[o + j] = xp[o + j];
        }
      }
      return s;
    };

    const build = (depth: number, act: number[]): Subtree => {
      if (depth === 0) return leaf(act);
      const a = build(depth - 1, act);
      const act2 = act.filter((c) => a.valid[c]);
      if (act2.length === 0) return a;
      const b = build(depth - 1, act2);
      const sum = new Float64Array(C * d);
      for (const c of act2) {
        if (!b.valid[c]) {
          a.valid[c] = 0;
          continue;
        }
        const o = c * d;
        const lw = logAddExp(a.logW[c], b.logW[c]);
        if (rng.random() < Math.exp(b.logW[c] - lw)) {
          a.slp[c] = b.slp[c];
          for (let j = 0; j < d; j++) {
            a.sz[o + j] = b.sz[o + j];
            a.sg[o + j] = b.sg[o + j];
          }
        }
        a.logW[c] = lw;
        for (let j = 0; j < d; j++) sum[o + j] = a.rho[o + j] + b.rho[o + j];
        if (!mergeOk(a.rho, a.pBeg, a.pEnd, b.rho, b.pBeg, b.pEnd, c, sum)) {
          a.valid[c] = 0;
          continue;
        }
        for (let j = 0; j < d; j++) {
          a.rho[o + j] = sum[o + j];
          a.pEnd[o + j] = b.pEnd[o + j];
        }
      }
      return a;
    };

    let act = Array.from({ length: C }, (_, c) => c);
    const sum = new Float64Array(C * d);
    const far = new Float64Array(C * d), near = new Float64Array(C * d);
    for (let depth = 0; depth < maxDepth && act.length; depth++) {
      // the frontier starts at the end we extend from
      for (const c of act) {
        dir[c] = rng.random() < 0.5 ? -1 : 1;
        h[c] = dir[c] * e.eps;
        const o = c * d;
        const [sz, sp, slp, sg, op] = dir[c] > 0
          ? [fz, fp, flp, fg, bp]
          : [bz, bp, blp, bg, fp];
        xlp[c] = slp[c];
        for (let j = 0; j < d; j++) {
          xz[o + j] = sz[o + j];
          xp[o + j] = sp[o + j];
          xg[o + j] = sg[o + j];
          near[o + j] = sp[o + j];
          far[o + j] = op[o + j];
        }
      }
      const s = build(depth, act);
      const next: number[] = [];
      for (const c of act) {
        if (!s.valid[c]) continue;
        depthOf[c] = depth + 1;
        const o = c * d;
        // biased progressive sampling (Betancourt 2017, App. A.3.2)
        if (
          s.logW[c] > logW[c] || rng.random() < Math.exp(s.logW[c] - logW[c])
        ) {
          e.lp[c] = s.slp[c];
          for (let j = 0; j < d; j++) {
            e.z[o + j] = s.sz[o + j];
            e.g[o + j] = s.sg[o + j];
          }
        }
        logW[c] = logAddExp(logW[c], s.logW[c]);
        const [ez, ep, elp, eg] = dir[c] > 0
          ? [fz, fp, flp, fg]
          : [bz, bp, blp, bg];
        elp[c] = xlp[c];
        for (let j = 0; j < d; j++) {
          ez[o + j] = xz[o + j];
          ep[o + j] = xp[o + j];
          eg[o + j] = xg[o + j];
          sum[o + j] = rho[o + j] + s.rho[o + j];
        }
        // old trajectory (far end first, then the end we extended) + subtree
        const ok = mergeOk(rho, far, near, s.rho, s.pBeg, s.pEnd, c, sum);
        for (let j = 0; j < d; j++) rho[o + j] = sum[o + j];
        if (ok) next.push(c);
      }
      act = next;
    }
    const accept = new Float64Array(C);
    let leapfrogs = 0, depthTotal = 0;
    for (let c = 0; c < C; c++) {
      accept[c] = nLeap[c] ? accSum[c] / nLeap[c] : 0;
      leapfrogs += nLeap[c];
      depthTotal += depthOf[c];
    }
    return { accept, acceptedFraction: 0, leapfrogs, depth: depthTotal };
  };
  return run("nutsSample", potential, init, dim, n, options, transition, false);
}
