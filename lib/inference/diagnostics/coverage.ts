/**
 * Expected coverage of highest-posterior-density (HPD) regions, estimated
 * from posterior samples (Hermans et al. 2022, "A Trust Crisis in
 * Simulation-Based Inference? Your Posterior Approximations Can Be
 * Unfaithful", TMLR; the sample-based variant of Deistler et al. 2022,
 * "Truncated proposals for scalable and hassle-free simulation-based
 * inference", NeurIPS, arXiv:2210.04815 — sbi's
 * `run_sbc(..., reduce_fns=posterior.log_prob)`).
 *
 * For each pair (θ*, x), the L posterior samples are ranked by their
 * posterior log-density together with θ*: with r = #{s : log q(s|x) <
 * log q(θ*|x)}, the fraction of posterior mass *denser* than θ* is ≈ 1 − r/L,
 * i.e. θ* lies on the boundary of the HPD region of credibility
 * c = (L − r + ½)/(L + 1). θ* lies inside the α-HPD region iff c ≤ α, so the
 * empirical coverage at level α is the fraction of pairs with c ≤ α. A
 * calibrated posterior gives coverage ≈ α (the diagonal); below the diagonal
 * means over-confident, above it conservative.
 * @module
 */
import type { Matrix } from "../matrix.ts";
import {
  type DiagnosticPosterior,
  ksTest,
  type ReduceFn,
  runSbc,
  type SamplePosteriorsOptions,
  type SbcData,
} from "./sbc.ts";

/** Options of {@linkcode expectedCoverage}. */
export interface ExpectedCoverageOptions
  extends SbcData, SamplePosteriorsOptions {
  /** The posterior; needs `logProb` unless `logProb` is given here. */
  posterior: DiagnosticPosterior;
  /** Posterior samples per pair, L. Default 1000. */
  numPosteriorSamples?: number;
  /** Credibility levels. Default 0, 0.05, …, 1. */
  levels?: number[];
  /**
   * Posterior log-density used for the ranking (any monotone transform of it
   * works, normalisation is irrelevant). Default `posterior.logProb(theta, { x, normalize: false })`.
   */
  logProb?: ReduceFn;
}

/** Result of {@linkcode expectedCoverage}; `levels`/`coverage` feed `coveragePlot`. */
export interface CoverageResult {
  /** Nominal credibility levels. */
  levels: number[];
  /** Empirical coverage per level. */
  coverage: number[];
  /** HPD credibility c of each θ* (uniform on (0, 1) when calibrated). */
  credibility: Float64Array;
  /** HPD ranks r in 0…L (feed `sbcRankPlot([ranks])`). */
  ranks: Int32Array;
  /** L. */
  numPosteriorSamples: number;
  /** KS p-value of the ranks against the discrete uniform on 0…L. */
  ksPValue: number;
  /** Mean of coverage − level over the levels: < 0 over-confident, > 0 conservative. */
  meanDeviation: number;
  /** Largest |coverage − level|. */
  maxDeviation: number;
  /** Pairs dropped because x had NaN/Inf values. */
  nInvalid: number;
}

/**
 * Coverage curve from HPD ranks.
 * @param ranks HPD ranks r (samples with lower log-density than θ*), in 0…L
 * @param L posterior samples per rank
 * @param levels credibility levels in [0, 1]. Default 0, 0.05, …, 1
 * @returns levels, coverage, credibility per pair and summaries
 * @throws {RangeError} for a level outside [0, 1] or a bad rank
 * @example
 * ```ts
 * import { coverageFromRanks } from "./coverage.ts";
 * const ranks = Array.from({ length: 1001 }, (_, i) => i % 101);
 * const c = coverageFromRanks(ranks, 100);
 * if (c.maxDeviation > 0.02) throw new Error(`${c.maxDeviation}`);
 * ```
 */
export function coverageFromRanks(
  ranks: ArrayLike<number>,
  L: number,
  levels?: number[],
): Omit<CoverageResult, "nInvalid"> {
  const lv = levels ?? Array.from({ length: 21 }, (_, k) => k / 20);
  for (const a of lv) {
    if (!(a >= 0 && a <= 1)) {
      throw new RangeError(`credibility level ${a} is not in [0, 1]`);
    }
  }
  const ks = ksTest(ranks, L); // also validates the ranks
  const n = ranks.length;
  const cred = new Float64Array(n);
  for (let i = 0; i < n; i++) cred[i] = (L - ranks[i] + 0.5) / (L + 1);
  const sorted = Float64Array.from(cred).sort();
  const coverage = lv.map((a) => {
    let lo = 0, hi = n; // first index with sorted[i] > a
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (sorted[m] <= a) lo = m + 1;
      else hi = m;
    }
    return lo / n;
  });
  let sum = 0, mx = 0;
  lv.forEach((a, k) => {
    sum += coverage[k] - a;
    mx = Math.max(mx, Math.abs(coverage[k] - a));
  });
  return {
    levels: lv,
    coverage,
    credibility: cred,
    ranks: Int32Array.from(ranks),
    numPosteriorSamples: L,
    ksPValue: ks.pValue,
    meanDeviation: lv.length ? sum / lv.length : 0,
    maxDeviation: mx,
  };
}

/**
 * Sample-based expected coverage of the posterior's HPD regions over (θ*, x)
 * pairs drawn from the prior and the simulator.
 * @param options pairs (or prior + simulator), posterior, L, levels, seed
 * @returns the coverage curve, per-pair credibilities and summaries
 * @throws {TypeError} if neither `logProb` nor `posterior.logProb` exists
 * @example
 * ```ts
 * import { expectedCoverage } from "./coverage.ts";
 * import { Matrix } from "../matrix.ts";
 * import { Normal } from "../priors/normal.ts";
 * import { Rng } from "../../_internal/random.ts";
 * // θ ~ N(0, 1), x ~ N(θ, 1); this posterior is too narrow (std 0.3 instead of 0.71).
 * const prior = new Normal({ mean: [0], std: [1] });
 * const simulate = (t: Matrix, seed: number) => {
 *   const r = new Rng(seed);
 *   return new Matrix(t.rows, 1, t.data.map((v) => v + r.normal()));
 * };
 * const sd = 0.3;
 * const posterior = {
 *   sample: (n: number, o: { x: Float32Array; seed?: number }) => {
 *     const r = new Rng(o.seed);
 *     return new Matrix(n, 1, Float32Array.from({ length: n }, () => o.x[0] / 2 + sd * r.normal()));
 *   },
 *   logProb: (t: Matrix, o: { x: Float32Array }) => Array.from(t.data, (v) => -0.5 * ((v - o.x[0] / 2) / sd) ** 2),
 * };
 * const c = await expectedCoverage({ prior, simulate, posterior, numSbcSamples: 300, numPosteriorSamples: 100 });
 * if (c.meanDeviation > -0.1) throw new Error("over-confidence missed");
 * ```
 */
export async function expectedCoverage(
  options: ExpectedCoverageOptions,
): Promise<CoverageResult> {
  const post = options.posterior;
  let lp = options.logProb;
  if (!lp) {
    if (typeof post.logProb !== "function") {
      throw new TypeError(
        "expectedCoverage needs posterior.logProb or a logProb option",
      );
    }
    lp = (theta: Matrix, x: Float32Array) =>
      post.logProb!(theta, { x, normalize: false });
  }
  const res = await runSbc({ ...options, reduceFns: [lp] });
  return {
    ...coverageFromRanks(
      res.ranks[0],
      res.numPosteriorSamples,
      options.levels,
    ),
    nInvalid: res.nInvalid,
  };
}
