/**
 * TARP, "Tests of Accuracy with Random Points" (Lemos, Coogan, Hezaveh &
 * Perreault-Levasseur 2023, "Sampling-based accuracy testing of posterior
 * estimators for general inference", ICML, arXiv:2302.03026, Algorithm 2;
 * sbi's `run_tarp` / `check_tarp`, `sbi/diagnostics/tarp.py`).
 *
 * For each pair (θ*, x) draw a random reference point θ_r and L posterior
 * samples; f = fraction of samples closer to θ_r than θ* is. The expected
 * coverage probability ECP(α) = P(f < α) equals α for every α when (and,
 * with random references, only when) the posterior is correct. Parameters are
 * min–max normalised over the θ* before measuring distances, and references
 * are drawn uniformly in that box (sbi's defaults).
 *
 * Summaries (sbi's `check_tarp`): the area to curve ATC = Σ_{α ≥ ½} (ECP − α) Δα
 * (≈ 0 calibrated, < 0 over-confident/narrow, > 0 under-confident/wide), and a
 * KS test of the counts L·f against the discrete uniform on 0…L (instead of
 * sbi's two-sample test between the ECP and α grids, which has no sampling
 * interpretation).
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import {
  type DiagnosticPosterior,
  ksTest,
  resolvePairs,
  samplePosteriors,
  type SamplePosteriorsOptions,
  type SbcData,
} from "./sbc.ts";

/** Options of {@linkcode tarpFromSamples}. */
export interface TarpOptions {
  /** Reference points, one per pair. Default: uniform in the min–max box of the θ*. */
  references?: MatrixLike;
  /** Number of α bins. Default max(1, ⌊N/10⌋) (sbi). */
  numBins?: number;
  /** Min–max normalise the parameters first. Default true. */
  zScoreTheta?: boolean;
  /** Distance. Default `"l2"`. */
  distance?: "l1" | "l2";
  /** Seed of the reference points. Default 0. */
  seed?: number;
}

/** Options of {@linkcode runTarp}. */
export interface RunTarpOptions
  extends SbcData, SamplePosteriorsOptions, Omit<TarpOptions, "seed"> {
  /** The posterior to check. */
  posterior: DiagnosticPosterior;
  /** Posterior samples per pair, L. Default 1000. */
  numPosteriorSamples?: number;
}

/** Result of TARP; `alpha`/`ecp` feed `coveragePlot({ levels: alpha, coverage: ecp })`. */
export interface TarpResult {
  /** Credibility grid 0 … 1 (numBins + 1 points). */
  alpha: number[];
  /** Expected coverage probability at each α. */
  ecp: number[];
  /** Area to curve Σ_{α ≥ ½} (ECP − α) Δα. */
  atc: number;
  /** KS statistic of the coverage counts against the uniform. */
  ksStatistic: number;
  /** KS p-value of the coverage counts against the uniform. */
  ksPValue: number;
  /** f per pair (in [0, 1]). */
  coverageValues: Float64Array;
  /** L. */
  numPosteriorSamples: number;
  /** Pairs dropped because x had NaN/Inf values. */
  nInvalid: number;
}

/**
 * TARP from given posterior samples (sbi's `run_tarp_from_posterior_samples`
 * followed by `check_tarp`).
 * @param thetas true parameters, one per row (N rows)
 * @param samples posterior samples, one L x dim Matrix per pair
 * @param options references, bins, normalisation, distance, seed
 * @returns ECP curve, ATC and KS summary
 * @throws {TypeError} on inconsistent shapes
 * @throws {RangeError} for bad options
 */
export function tarpFromSamples(
  thetas: MatrixLike,
  samples: Matrix[],
  options: TarpOptions = {},
): Omit<TarpResult, "nInvalid"> {
  const th = Matrix.of(thetas);
  const N = th.rows;
  const d = th.cols;
  if (samples.length !== N) {
    throw new TypeError(`${N} thetas but ${samples.length} sample sets`);
  }
  if (N === 0) throw new RangeError("TARP needs at least one pair");
  const L = samples[0].rows;
  for (const s of samples) {
    if (s.rows !== L || s.cols !== d) {
      throw new TypeError(
        `every sample set must be ${L}x${d}, got ${s.rows}x${s.cols}`,
      );
    }
  }
  const numBins = options.numBins ?? Math.max(1, Math.floor(N / 10));
  if (!Number.isInteger(numBins) || numBins < 1) {
    throw new RangeError(`numBins must be a positive integer, got ${numBins}`);
  }
  const dist = options.distance ?? "l2";
  if (dist !== "l1" && dist !== "l2") {
    throw new RangeError(`distance must be "l1" or "l2", got ${dist}`);
  }
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < d; j++) {
      const v = th.data[i * d + j];
      lo[j] = Math.min(lo[j], v);
      hi[j] = Math.max(hi[j], v);
    }
  }
  const zs = options.zScoreTheta !== false;
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) scale[j] = zs ? 1 / (hi[j] - lo[j] + 1e-10) : 1;
  let refs: Matrix;
  if (options.references !== undefined) {
    refs = Matrix.of(options.references);
    if (refs.rows !== N || refs.cols !== d) {
      throw new TypeError(
        `references must be ${N}x${d}, got ${refs.rows}x${refs.cols}`,
      );
    }
  } else {
    const rng = new Rng(options.seed ?? 0);
    refs = new Matrix(N, d);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < d; j++) {
        refs.data[i * d + j] = rng.uniform(lo[j], hi[j]);
      }
    }
  }
  const distance = (a: ArrayLike<number>, ao: number, r: number): number => {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const u = (a[ao + j] - refs.data[r * d + j]) * scale[j];
      s += dist === "l2" ? u * u : Math.abs(u);
    }
    return s; // squared l2 orders like l2
  };
  const counts = new Int32Array(N);
  const f = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const dt = distance(th.data, i * d, i);
    const s = samples[i];
    let c = 0;
    for (let k = 0; k < L; k++) if (distance(s.data, k * d, i) < dt) c++;
    counts[i] = c;
    f[i] = c / L;
  }
  // ECP(α) = fraction of pairs with f < α, with f's discreteness smoothed by
  // the mid-point convention (c + ½)/(L + 1).
  const mid = Float64Array.from(counts, (c) => (c + 0.5) / (L + 1)).sort();
  const alpha = Array.from({ length: numBins + 1 }, (_, k) => k / numBins);
  const ecp = alpha.map((a) => {
    let n = 0;
    while (n < N && mid[n] < a) n++;
    return n / N;
  });
  const midIndex = Math.floor(alpha.length / 2);
  const dAlpha = 1 / numBins;
  let atc = 0;
  for (let k = midIndex; k < alpha.length; k++) {
    atc += (ecp[k] - alpha[k]) * dAlpha;
  }
  const ks = ksTest(counts, L);
  return {
    alpha,
    ecp,
    atc,
    ksStatistic: ks.statistic,
    ksPValue: ks.pValue,
    coverageValues: f,
    numPosteriorSamples: L,
  };
}

/**
 * Runs TARP on (θ*, x) pairs: draws L posterior samples per pair (batched
 * when possible) and computes the ECP curve.
 * @param options pairs (or prior + simulator), posterior, L, TARP options, seed
 * @returns ECP curve, ATC and KS summary
 * @throws {TypeError} on missing data or inconsistent shapes
 * @example
 * ```ts
 * import { runTarp } from "./tarp.ts";
 * import { Matrix } from "../matrix.ts";
 * import { Normal } from "../priors/normal.ts";
 * import { Rng } from "../../_internal/random.ts";
 * const prior = new Normal({ mean: [0, 0], std: [1, 1] });
 * const simulate = (t: Matrix, seed: number) => {
 *   const r = new Rng(seed);
 *   return new Matrix(t.rows, 2, t.data.map((v) => v + r.normal()));
 * };
 * // exact posterior N(x/2, I/2)
 * const posterior = {
 *   sample: (n: number, o: { x: Float32Array; seed?: number }) => {
 *     const r = new Rng(o.seed);
 *     return new Matrix(n, 2, Float32Array.from({ length: 2 * n }, (_, k) => o.x[k % 2] / 2 + Math.SQRT1_2 * r.normal()));
 *   },
 * };
 * const t = await runTarp({ prior, simulate, posterior, numSbcSamples: 300, numPosteriorSamples: 100, seed: 2 });
 * if (Math.abs(t.atc) > 0.05) throw new Error(`atc ${t.atc}`);
 * ```
 */
export async function runTarp(options: RunTarpOptions): Promise<TarpResult> {
  const seed = options.seed ?? 0;
  const L = options.numPosteriorSamples ?? 1000;
  const { thetas, xs, nInvalid } = await resolvePairs(options, seed);
  const samples = await samplePosteriors(options.posterior, L, xs, {
    ...options,
    seed: seed + 1,
  });
  return {
    ...tarpFromSamples(thetas, samples, { ...options, seed: seed + 2 }),
    nInvalid,
  };
}
