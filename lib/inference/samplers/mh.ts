/**
 * Vectorised random-walk Metropolis–Hastings with an adaptive Gaussian
 * proposal (Haario, Saksman & Tamminen 2001, "An adaptive Metropolis
 * algorithm", Bernoulli 7(2)): during warm-up the proposal covariance is
 * `s_d · (Σ + ε I)` with `s_d = 2.38² / d` and Σ the empirical covariance of
 * the chains' history (pooled over chains, early transient discarded); after
 * warm-up it is frozen, so the kept part of each chain is a plain (valid)
 * Metropolis chain.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix } from "../matrix.ts";
import type { Potential } from "../potentials/potential.ts";
import {
  type ChainOptions,
  CountedPotential,
  resolveChains,
  type SamplerResult,
} from "./_chains.ts";

/** Options of {@linkcode mhSample}. */
export interface MHOptions extends ChainOptions {
  /** Standard deviation of the initial isotropic proposal. Default 0.1. */
  initialScale?: number;
  /** Regulariser ε added to the diagonal of the adapted covariance. Default 1e-8. */
  epsilon?: number;
  /** Adapt the proposal during warm-up. Default true. */
  adapt?: boolean;
}

function cholesky(a: Float64Array, d: number): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  }
  return l;
}

/**
 * Draws `n` samples with adaptive Metropolis–Hastings from `numChains` chains
 * started at `init` (rows); all chains' proposals go to the potential in one call.
 * @param potential batched log-density (`-Infinity` outside the support)
 * @param init initial states, `numChains * dim` values (finite potential)
 * @param dim parameter dimension
 * @param n number of samples to return
 * @param options see {@linkcode MHOptions}
 * @returns the samples, acceptance rate and counters
 * @throws {RangeError} for bad options or an initial state with zero density
 * @example
 * ```ts
 * import { mhSample } from "./mh.ts";
 * import type { Matrix } from "../matrix.ts";
 * const pot = (t: Matrix) =>
 *   Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.get(i, 0) ** 2);
 * const r = mhSample(pot, new Float64Array(20), 1, 4000, { seed: 1, thin: 5 });
 * const m = r.samples.mean()[0];
 * if (Math.abs(m) > 0.3) throw new Error(`mean ${m}`);
 * ```
 */
export function mhSample(
  potential: Potential,
  init: Float64Array,
  dim: number,
  n: number,
  options: MHOptions = {},
): SamplerResult {
  const { warmup, thin, chains: C } = resolveChains(n, init, dim, options);
  const d = dim;
  const rng = new Rng(options.seed ?? 0);
  const s0 = options.initialScale ?? 0.1;
  if (!(s0 > 0)) throw new RangeError(`initialScale must be > 0, got ${s0}`);
  const eps = options.epsilon ?? 1e-8;
  const adapt = options.adapt !== false;
  const sd = 2.38 * 2.38 / d;
  const pot = new CountedPotential(potential);
  const x = Float64Array.from(init);
  const lp = pot.eval(x, C, d);
  for (let c = 0; c < C; c++) {
    if (!(lp[c] > -Infinity)) {
      throw new RangeError(
        `initial state of chain ${c} has potential ${lp[c]}`,
      );
    }
  }
  let chol: Float64Array = new Float64Array(d * d);
  for (let i = 0; i < d; i++) chol[i * d + i] = s0;
  // running moments of the pooled history (Welford)
  let cnt = 0;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d * d);
  const resetAt = new Set([Math.floor(warmup / 4), Math.floor(warmup / 2)]);
  const out = new Matrix(n, d);
  let filled = 0;
  const prop = new Float64Array(C * d);
  const z = new Float64Array(d);
  let accepted = 0;
  let proposed = 0;
  for (let step = 0; filled < n; step++) {
    const warming = step < warmup;
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < d; j++) z[j] = rng.normal();
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let k = 0; k <= i; k++) s += chol[i * d + k] * z[k];
        prop[c * d + i] = x[c * d + i] + s;
      }
    }
    const v = pot.eval(prop, C, d);
    for (let c = 0; c < C; c++) {
      if (Math.log(rng.random()) < v[c] - lp[c]) {
        x.set(prop.subarray(c * d, c * d + d), c * d);
        lp[c] = v[c];
        if (!warming) accepted++;
      }
      if (!warming) proposed++;
    }
    if (warming && adapt) {
      if (resetAt.has(step)) {
        cnt = 0;
        mean.fill(0);
        m2.fill(0);
      }
      for (let c = 0; c < C; c++) {
        cnt++;
        const delta = new Float64Array(d);
        for (let i = 0; i < d; i++) {
          delta[i] = x[c * d + i] - mean[i];
          mean[i] += delta[i] / cnt;
        }
        for (let i = 0; i < d; i++) {
          for (let k = 0; k < d; k++) {
            m2[i * d + k] += delta[i] * (x[c * d + k] - mean[k]);
          }
        }
      }
      if (cnt > 2 * d && step % 5 === 4) {
        const cov = new Float64Array(d * d);
        for (let i = 0; i < d * d; i++) cov[i] = sd * m2[i] / (cnt - 1);
        for (let i = 0; i < d; i++) cov[i * d + i] += sd * eps;
        const l = cholesky(cov, d);
        if (l) chol = l;
      }
    }
    if (!warming && (step + 1 - warmup) % thin === 0) {
      for (let c = 0; c < C && filled < n; c++) {
        for (let j = 0; j < d; j++) out.data[filled * d + j] = x[c * d + j];
        filled++;
      }
    }
  }
  return {
    samples: out,
    acceptanceRate: proposed ? accepted / proposed : 0,
    potentialCalls: pot.calls,
    potentialEvaluations: pot.rows,
  };
}
