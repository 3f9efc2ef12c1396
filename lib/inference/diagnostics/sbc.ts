/**
 * Simulation-based calibration (SBC; Talts, Betancourt, Simpson, Vehtari &
 * Gelman 2018, "Validating Bayesian inference algorithms with
 * simulation-based calibration", arXiv:1804.06788; sbi's `run_sbc` /
 * `check_sbc`, `sbi/diagnostics/sbc.py`).
 *
 * For pairs θ* ~ p(θ), x ~ p(x | θ*), draw L samples from the approximate
 * posterior q(θ | x) and count how many of them fall below θ* (per marginal,
 * or after any 1-D reduction). If q is the true posterior, each count (rank)
 * is uniform on 0…L; deviations from uniformity reveal bias (skewed ranks),
 * over-confidence (∪-shaped) or under-confidence (∩-shaped). A second check:
 * the data-averaged posterior (one posterior draw per x) must be distributed
 * as the prior.
 *
 * Uniformity is tested with the Kolmogorov–Smirnov statistic against the
 * discrete uniform CDF; its p-value uses the asymptotic Kolmogorov
 * distribution with Stephens' small-sample correction (see
 * {@linkcode kolmogorovPValue}). For a discrete null distribution the
 * asymptotic p-value is conservative (too large; Noether 1963), so a small
 * p-value is reliable evidence of miscalibration.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import { MCMCPosterior } from "../posteriors/mcmc_posterior.ts";
import { groupedSliceSample } from "../samplers/grouped_slice.ts";
import { c2st, type C2stOptions } from "./c2st.ts";

// ------------------------------------------------------------ Kolmogorov

/**
 * Survival function of the Kolmogorov distribution,
 * Q(λ) = P(K > λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²) (Kolmogorov 1933).
 * For λ < 1.18 the equivalent theta-function form
 * 1 − (√(2π)/λ) Σ_{j≥1} exp(−(2j−1)² π² / (8 λ²)) converges faster (Press et
 * al., "Numerical Recipes", 3rd ed., §6.14.12).
 * @param lambda the scaled statistic λ ≥ 0
 * @returns Q(λ) in [0, 1]
 * @example
 * ```ts
 * import { kolmogorovSurvival } from "./sbc.ts";
 * // 1.358 is the 5 % critical value of the Kolmogorov distribution.
 * if (Math.abs(kolmogorovSurvival(1.358) - 0.05) > 1e-3) throw new Error("Q");
 * ```
 */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  if (lambda < 1.18) {
    const y = Math.exp(-(Math.PI * Math.PI) / (8 * lambda * lambda));
    // Σ y^{(2j−1)²} for j = 1…4 is exact to double precision for λ < 1.18.
    const s = y * (1 + y ** 8 * (1 + y ** 16 * (1 + y ** 24)));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += (j % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Asymptotic p-value of a Kolmogorov–Smirnov statistic `D` from `n` samples
 * (effective size n₁n₂/(n₁+n₂) for two samples), with Stephens' correction
 * λ = (√n + 0.12 + 0.11/√n) · D (Stephens 1970, "Use of the Kolmogorov–Smirnov,
 * Cramér–von Mises and related statistics without extensive tables", JRSS B
 * 32(1); Press et al., "Numerical Recipes", 3rd ed., §14.3.3).
 * @param d the KS statistic sup |F_n − F|
 * @param n the (effective) sample size
 * @returns the p-value Q(λ)
 * @throws {RangeError} if `d` is not in [0, 1] or `n` is not positive
 */
export function kolmogorovPValue(d: number, n: number): number {
  if (!(d >= 0 && d <= 1)) {
    throw new RangeError(`KS statistic must be in [0, 1], got ${d}`);
  }
  if (!(n > 0)) throw new RangeError(`sample size must be > 0, got ${n}`);
  const sn = Math.sqrt(n);
  return kolmogorovSurvival((sn + 0.12 + 0.11 / sn) * d);
}

/** Result of a Kolmogorov–Smirnov test. */
export interface KsResult {
  /** The statistic D = sup |F_n − F|. */
  statistic: number;
  /** Asymptotic p-value with Stephens' correction. */
  pValue: number;
}

/**
 * One-sample KS test of integer ranks against the discrete uniform
 * distribution on 0…L (the SBC null). Both CDFs are step functions jumping at
 * the integers, so D = max_k |F_n(k) − (k+1)/(L+1)|.
 * @param ranks ranks, integers in 0…L
 * @param L number of posterior samples per rank
 * @returns statistic and p-value
 * @throws {RangeError} for an empty input or a rank outside 0…L
 * @example
 * ```ts
 * import { ksTest } from "./sbc.ts";
 * const uniform = Array.from({ length: 500 }, (_, i) => i % 101);
 * const skewed = Array.from({ length: 500 }, (_, i) => Math.floor((i % 101) / 2));
 * if (ksTest(uniform, 100).pValue < 0.5) throw new Error("uniform rejected");
 * if (ksTest(skewed, 100).pValue > 1e-6) throw new Error("skew missed");
 * ```
 */
export function ksTest(ranks: ArrayLike<number>, L: number): KsResult {
  if (!Number.isInteger(L) || L < 1) {
    throw new RangeError(`L must be a positive integer, got ${L}`);
  }
  const n = ranks.length;
  if (n === 0) throw new RangeError("ksTest: no ranks");
  const counts = new Float64Array(L + 1);
  for (let i = 0; i < n; i++) {
    const r = ranks[i];
    if (!(Number.isInteger(r) && r >= 0 && r <= L)) {
      throw new RangeError(
        `ksTest: rank ${r} (index ${i}) is not an integer in 0…${L}`,
      );
    }
    counts[r]++;
  }
  let cum = 0;
  let dmax = 0;
  for (let k = 0; k <= L; k++) {
    cum += counts[k];
    dmax = Math.max(dmax, Math.abs(cum / n - (k + 1) / (L + 1)));
  }
  return { statistic: dmax, pValue: kolmogorovPValue(dmax, n) };
}

/**
 * Two-sample KS test (continuous data; ties are handled by stepping over all
 * equal values at once).
 * @param a first sample
 * @param b second sample
 * @returns statistic and asymptotic p-value (effective n = n_a n_b / (n_a + n_b))
 * @throws {RangeError} for an empty sample or a non-finite value
 */
export function ksTwoSample(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): KsResult {
  if (a.length === 0 || b.length === 0) {
    throw new RangeError(
      `ksTwoSample: empty sample (${a.length} and ${b.length} values)`,
    );
  }
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  for (const v of [sa[0], sa[sa.length - 1], sb[0], sb[sb.length - 1]]) {
    if (!Number.isFinite(v)) {
      throw new RangeError(`ksTwoSample: non-finite value ${v}`);
    }
  }
  let i = 0, j = 0, dmax = 0;
  while (i < sa.length && j < sb.length) {
    const v = Math.min(sa[i], sb[j]);
    while (i < sa.length && sa[i] === v) i++;
    while (j < sb.length && sb[j] === v) j++;
    dmax = Math.max(dmax, Math.abs(i / sa.length - j / sb.length));
  }
  const ne = (sa.length * sb.length) / (sa.length + sb.length);
  return { statistic: dmax, pValue: kolmogorovPValue(dmax, ne) };
}

// ------------------------------------------------------------- posteriors

/**
 * Any posterior the diagnostics can use: it draws samples given an
 * observation (`DirectPosterior`, `MCMCPosterior`, or a user object). A
 * `sampleBatched` method (DirectPosterior) is used when present.
 */
export interface DiagnosticPosterior {
  /** Draws `n` samples given `x` (seeded). */
  sample(
    n: number,
    options: { x: Float32Array; seed?: number },
  ): Matrix | Promise<Matrix>;
  /** Optional: `n` samples for each row of `xs` at once. */
  sampleBatched?(
    n: number,
    xs: Matrix,
    options: { seed?: number },
  ): Matrix[] | Promise<Matrix[]>;
  /** Optional: (unnormalised) posterior log-density, needed for expected coverage. */
  logProb?(
    theta: Matrix,
    options: { x: Float32Array; normalize?: boolean },
  ): ArrayLike<number> | Promise<ArrayLike<number>>;
}

/** Settings of the batched slice sampler used for an `MCMCPosterior` (NLE). */
export interface BatchedMcmcOptions {
  /** Chains per observation. Default 4. */
  chainsPerGroup?: number;
  /** Warm-up sweeps. Default 50. */
  warmupSteps?: number;
  /** Keep every `thin`-th sweep. Default 1. */
  thin?: number;
  /** Initial bracket width (adapted during warm-up). Default 0.1. */
  initialWidth?: number;
  /** Most stepping-out steps per update. Default 50. */
  maxSteps?: number;
  /** Prior draws scored per observation to start the chains. Default 500. */
  initCandidates?: number;
}

/** Options of {@linkcode samplePosteriors}. */
export interface SamplePosteriorsOptions {
  /** Seed. Default 0. */
  seed?: number;
  /**
   * Use batched sampling: `sampleBatched` when the posterior has it, and for an
   * `MCMCPosterior` built from a likelihood estimator a slice sampler that
   * runs the chains of all observations together. Default true.
   */
  batched?: boolean;
  /** Settings of the batched slice sampler (MCMCPosterior only). */
  mcmc?: BatchedMcmcOptions;
}

/**
 * Draws `n` posterior samples for every row of `xs`.
 * @param posterior the posterior
 * @param n samples per observation
 * @param xs observations as rows
 * @param options seed and batching
 * @returns one `n x dim` Matrix per observation
 * @throws {RangeError} if a sample set has the wrong size
 */
export async function samplePosteriors(
  posterior: DiagnosticPosterior,
  n: number,
  xs: Matrix,
  options: SamplePosteriorsOptions = {},
): Promise<Matrix[]> {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `number of posterior samples must be a positive integer, got ${n}`,
    );
  }
  const seed = options.seed ?? 0;
  const batched = options.batched !== false;
  let out: Matrix[] | null = null;
  if (batched && typeof posterior.sampleBatched === "function") {
    out = await posterior.sampleBatched(n, xs, { seed });
  } else if (
    batched && posterior instanceof MCMCPosterior &&
    posterior.method === "slice_np_vectorized"
  ) {
    out = mcmcBatched(posterior, n, xs, seed, options.mcmc ?? {});
  }
  if (out === null) {
    out = [];
    const rng = new Rng(seed);
    for (let i = 0; i < xs.rows; i++) {
      out.push(
        await posterior.sample(n, {
          x: xs.row(i).slice(),
          seed: rng.nextU32(),
        }),
      );
    }
  }
  if (out.length !== xs.rows) {
    throw new RangeError(
      `posterior returned ${out.length} sample sets for ${xs.rows} observations`,
    );
  }
  for (const m of out) {
    if (m.rows !== n) {
      throw new RangeError(
        `posterior returned ${m.rows} samples, expected ${n}`,
      );
    }
  }
  return out;
}

/** Batched slice sampling of an NLE posterior; null when not applicable. */
function mcmcBatched(
  post: MCMCPosterior,
  n: number,
  xs: Matrix,
  seed: number,
  o: BatchedMcmcOptions,
): Matrix[] | null {
  let est;
  try {
    est = post.estimator;
  } catch {
    return null; // built from a potential factory: no batched likelihood
  }
  const prior = post.prior;
  const d = prior.dim;
  const dx = est.config.thetaDim; // the likelihood models x
  if (xs.cols !== dx) {
    throw new TypeError(`xs has ${xs.cols} columns, expected ${dx}`);
  }
  const G = xs.rows;
  const potential = (theta: Float64Array, groups: Int32Array, m: number) => {
    const t = new Matrix(m, d, Float32Array.from(theta.subarray(0, m * d)));
    const lp = prior.logProb(t);
    const idx: number[] = [];
    for (let i = 0; i < m; i++) if (lp[i] > -Infinity) idx.push(i);
    if (idx.length === 0) return lp;
    const ctx = new Float32Array(idx.length * d);
    const mod = new Float32Array(idx.length * dx);
    idx.forEach((i, a) => {
      ctx.set(t.data.subarray(i * d, i * d + d), a * d);
      mod.set(xs.data.subarray(groups[i] * dx, groups[i] * dx + dx), a * dx);
    });
    const ll = est.logProb(mod, ctx, idx.length);
    idx.forEach((i, a) => {
      lp[i] += ll[a];
      if (lp[i] !== lp[i]) lp[i] = -Infinity;
    });
    return lp;
  };
  // Initialise every group's chains by sampling-importance-resampling from a
  // shared set of prior draws (sbi's "resample" init).
  const rng = new Rng(seed);
  const C = o.chainsPerGroup ?? 4;
  const M = o.initCandidates ?? 500;
  const cand = prior.sample(M, rng);
  const init = new Float64Array(G * C * d);
  const all = new Float64Array(G * M * d);
  const allG = new Int32Array(G * M);
  for (let g = 0; g < G; g++) {
    for (let i = 0; i < M; i++) {
      allG[g * M + i] = g;
      for (let j = 0; j < d; j++) {
        all[(g * M + i) * d + j] = cand.data[i * d + j];
      }
    }
  }
  const lpAll = potential(all, allG, G * M);
  for (let g = 0; g < G; g++) {
    let mx = -Infinity;
    for (let i = 0; i < M; i++) mx = Math.max(mx, lpAll[g * M + i]);
    if (!(mx > -Infinity)) {
      throw new RangeError(
        `batched MCMC init: none of ${M} prior draws has a finite potential for observation ${g}`,
      );
    }
    const cum = new Float64Array(M);
    let s = 0;
    for (let i = 0; i < M; i++) {
      s += Math.exp(lpAll[g * M + i] - mx);
      cum[i] = s;
    }
    for (let c = 0; c < C; c++) {
      const u = rng.random() * s;
      let k = 0;
      while (k < M - 1 && cum[k] < u) k++;
      for (let j = 0; j < d; j++) {
        init[(g * C + c) * d + j] = cand.data[k * d + j];
      }
    }
  }
  return groupedSliceSample(potential, init, G, d, n, {
    ...o,
    chainsPerGroup: C,
    seed: rng.nextU32(),
  });
}

// -------------------------------------------------------------------- SBC

/**
 * Reduces posterior samples (rows of `theta`) and the true parameter to one
 * number each, given the observation (sbi's `reduce_fns`).
 */
export type ReduceFn = (
  theta: Matrix,
  x: Float32Array,
) => ArrayLike<number> | Promise<ArrayLike<number>>;

/** Test pairs: either given, or simulated from the prior. */
export interface SbcData {
  /** True parameters θ*, one per row (drawn from the prior). */
  thetas?: MatrixLike;
  /** Observations x ~ p(x | θ*), one per row. */
  xs?: MatrixLike;
  /** Prior to draw θ* from when `thetas`/`xs` are not given. */
  prior?: Prior | UserPrior;
  /** Simulator used with `prior` (rows of θ → rows of x). */
  simulate?: (theta: Matrix, seed: number) => MatrixLike | Promise<MatrixLike>;
  /** Number of pairs to simulate. Default 200. */
  numSbcSamples?: number;
}

/** Options of {@linkcode runSbc}. */
export interface RunSbcOptions extends SbcData, SamplePosteriorsOptions {
  /** The posterior to check. */
  posterior: DiagnosticPosterior;
  /** Posterior samples per pair, L (ranks lie in 0…L). Default 1000 (sbi). */
  numPosteriorSamples?: number;
  /** `"marginals"` (default: one rank per parameter) or reduce function(s). */
  reduceFns?: "marginals" | ReduceFn | ReduceFn[];
}

/** Result of {@linkcode runSbc}; `ranks` feeds `sbcRankPlot` directly. */
export interface SbcResult {
  /** One array of ranks (0…L) per marginal / reduce function, one entry per valid pair. */
  ranks: Int32Array[];
  /** L, the posterior samples per pair. */
  numPosteriorSamples: number;
  /** The true parameters used (pairs with non-finite x removed). */
  thetas: Matrix;
  /** The observations used. */
  xs: Matrix;
  /** Data-averaged posterior: the first posterior draw of every pair. */
  dapSamples: Matrix;
  /** Pairs dropped because x had NaN/Inf values. */
  nInvalid: number;
}

/**
 * Resolves the (θ*, x) pairs: given, or simulated from the prior; pairs with
 * non-finite x are dropped.
 * @param data pairs or prior + simulator
 * @param seed seed of the prior draws and the simulator
 * @returns the valid pairs and the number dropped
 * @throws {TypeError} when neither pairs nor prior + simulator are given, or shapes disagree
 */
export async function resolvePairs(
  data: SbcData,
  seed = 0,
): Promise<{ thetas: Matrix; xs: Matrix; nInvalid: number }> {
  let thetas: Matrix;
  let xs: Matrix;
  if (data.thetas !== undefined || data.xs !== undefined) {
    if (data.thetas === undefined || data.xs === undefined) {
      throw new TypeError("give both thetas and xs, or prior and simulate");
    }
    thetas = Matrix.of(data.thetas);
    xs = Matrix.of(data.xs);
  } else {
    if (!data.prior || typeof data.simulate !== "function") {
      throw new TypeError(
        "diagnostics need either thetas and xs, or prior and simulate",
      );
    }
    const n = data.numSbcSamples ?? 200;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `numSbcSamples must be a positive integer, got ${n}`,
      );
    }
    const rng = new Rng(seed);
    thetas = asPrior(data.prior).sample(n, rng);
    xs = Matrix.of(await data.simulate(thetas, rng.nextU32()));
  }
  if (thetas.rows !== xs.rows) {
    throw new TypeError(
      `thetas has ${thetas.rows} rows but xs has ${xs.rows}`,
    );
  }
  const keep: number[] = [];
  for (let i = 0; i < xs.rows; i++) {
    if (xs.row(i).every(Number.isFinite)) keep.push(i);
  }
  if (keep.length === xs.rows) return { thetas, xs, nInvalid: 0 };
  const t = new Matrix(keep.length, thetas.cols);
  const x = new Matrix(keep.length, xs.cols);
  keep.forEach((i, a) => {
    t.data.set(thetas.row(i), a * thetas.cols);
    x.data.set(xs.row(i), a * xs.cols);
  });
  return { thetas: t, xs: x, nInvalid: xs.rows - keep.length };
}

/**
 * Ranks of the true parameters among given posterior samples (sbi's
 * `run_sbc_from_posterior_samples`): rank = number of reduced posterior
 * samples strictly below the reduced θ*.
 * @param thetas true parameters, one per row
 * @param xs observations, one per row
 * @param samples posterior samples, one Matrix (L x dim) per pair
 * @param reduceFns `"marginals"` (default) or reduce function(s)
 * @returns one Int32Array of ranks per marginal / reduce function
 * @throws {TypeError} on inconsistent shapes
 */
export async function sbcRanks(
  thetas: Matrix,
  xs: Matrix,
  samples: Matrix[],
  reduceFns: "marginals" | ReduceFn | ReduceFn[] = "marginals",
): Promise<Int32Array[]> {
  const N = thetas.rows;
  if (samples.length !== N || xs.rows !== N) {
    throw new TypeError(
      `${N} thetas, ${xs.rows} xs and ${samples.length} sample sets must agree`,
    );
  }
  const d = thetas.cols;
  if (reduceFns === "marginals") {
    const ranks = Array.from({ length: d }, () => new Int32Array(N));
    for (let i = 0; i < N; i++) {
      const s = samples[i];
      if (s.cols !== d) {
        throw new TypeError(
          `sample set ${i} has ${s.cols} columns, expected ${d}`,
        );
      }
      for (let j = 0; j < d; j++) {
        const t = thetas.data[i * d + j];
        let r = 0;
        for (let k = 0; k < s.rows; k++) if (s.data[k * d + j] < t) r++;
        ranks[j][i] = r;
      }
    }
    return ranks;
  }
  const fns = typeof reduceFns === "function" ? [reduceFns] : reduceFns;
  const ranks = fns.map(() => new Int32Array(N));
  for (let i = 0; i < N; i++) {
    const x = xs.row(i).slice();
    const s = samples[i];
    const both = Matrix.vstack([thetas.sliceRows(i, i + 1), s]);
    for (let f = 0; f < fns.length; f++) {
      const v = await fns[f](both, x);
      if (v.length !== both.rows) {
        throw new TypeError(
          `reduce function ${f} returned ${v.length} values for ${both.rows} rows`,
        );
      }
      let r = 0;
      for (let k = 1; k < both.rows; k++) if (v[k] < v[0]) r++;
      ranks[f][i] = r;
    }
  }
  return ranks;
}

/**
 * Runs simulation-based calibration: draws L posterior samples for every
 * (θ*, x) pair and ranks θ* among them (Talts et al. 2018, Algorithm 1).
 * @param options pairs (or prior + simulator), posterior, L, reduce functions, seed
 * @returns ranks per marginal, the pairs used and data-averaged posterior samples
 * @throws {TypeError} on missing data or inconsistent shapes
 * @example
 * ```ts
 * import { checkSbc, runSbc } from "./sbc.ts";
 * import { Matrix } from "../matrix.ts";
 * import { Normal } from "../priors/normal.ts";
 * import { Rng } from "../../_internal/random.ts";
 * // θ ~ N(0, 1), x ~ N(θ, 1): the exact posterior is N(x/2, 1/2).
 * const prior = new Normal({ mean: [0], std: [1] });
 * const simulate = (t: Matrix, seed: number) => {
 *   const r = new Rng(seed);
 *   return new Matrix(t.rows, 1, t.data.map((v) => v + r.normal()));
 * };
 * const posterior = {
 *   sample: (n: number, o: { x: Float32Array; seed?: number }) => {
 *     const r = new Rng(o.seed);
 *     return new Matrix(n, 1, Float32Array.from({ length: n }, () => o.x[0] / 2 + Math.SQRT1_2 * r.normal()));
 *   },
 * };
 * const res = await runSbc({ prior, simulate, posterior, numSbcSamples: 300, numPosteriorSamples: 100, seed: 1 });
 * const check = await checkSbc(res);
 * if (check.ksPValues[0] < 0.01) throw new Error("exact posterior rejected");
 * ```
 */
export async function runSbc(options: RunSbcOptions): Promise<SbcResult> {
  const seed = options.seed ?? 0;
  const L = options.numPosteriorSamples ?? 1000;
  const { thetas, xs, nInvalid } = await resolvePairs(options, seed);
  if (thetas.rows === 0) {
    throw new RangeError("runSbc: no (theta, x) pair with a finite x");
  }
  const samples = await samplePosteriors(options.posterior, L, xs, {
    ...options,
    seed: seed + 1,
  });
  const ranks = await sbcRanks(
    thetas,
    xs,
    samples,
    options.reduceFns ?? "marginals",
  );
  const d = thetas.cols;
  const dap = new Matrix(thetas.rows, d);
  samples.forEach((s, i) => dap.data.set(s.data.subarray(0, d), i * d));
  return {
    ranks,
    numPosteriorSamples: L,
    thetas,
    xs,
    dapSamples: dap,
    nInvalid,
  };
}

/** Options of {@linkcode checkSbc}. */
export interface CheckSbcOptions {
  /** Prior samples to compare the data-averaged posterior with. Default: the θ* of the run (prior draws). */
  priorSamples?: MatrixLike;
  /** Also run a per-marginal C2ST between prior and DAP samples (slower; sbi's `c2st_dap`). Default false. */
  c2st?: boolean | C2stOptions;
}

/** Result of {@linkcode checkSbc}. */
export interface SbcCheck {
  /** KS p-value of rank uniformity per marginal / reduce function. */
  ksPValues: number[];
  /** KS statistics per marginal. */
  ksStatistics: number[];
  /** Data-averaged posterior vs prior, per parameter. */
  dap: {
    /** (mean_DAP − mean_prior) / std_prior. */
    meanShift: number[];
    /** std_DAP / std_prior. */
    stdRatio: number[];
    /** Two-sample KS p-values. */
    ksPValues: number[];
    /** C2ST accuracy per parameter (0.5 = indistinguishable), when requested. */
    c2st?: number[];
  };
}

function colStats(m: Matrix, j: number): [number, number] {
  let s = 0;
  for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + j];
  const mean = s / m.rows;
  let v = 0;
  for (let i = 0; i < m.rows; i++) v += (m.data[i * m.cols + j] - mean) ** 2;
  return [mean, Math.sqrt(v / Math.max(1, m.rows - 1))];
}

/**
 * Checks an SBC run (sbi's `check_sbc`): KS uniformity test of every rank
 * array, and the data-averaged posterior against prior samples (mean shift,
 * std ratio, two-sample KS, optionally C2ST).
 * @param result output of {@linkcode runSbc}
 * @param options prior samples and C2ST switch
 * @returns p-values and DAP statistics
 * @throws {TypeError} if the prior samples have the wrong number of columns
 */
export async function checkSbc(
  result: SbcResult,
  options: CheckSbcOptions = {},
): Promise<SbcCheck> {
  const L = result.numPosteriorSamples;
  const ks = result.ranks.map((r) => ksTest(r, L));
  const prior = options.priorSamples !== undefined
    ? Matrix.of(options.priorSamples)
    : result.thetas;
  const dap = result.dapSamples;
  if (prior.cols !== dap.cols) {
    throw new TypeError(
      `prior samples have ${prior.cols} columns, DAP samples ${dap.cols}`,
    );
  }
  const meanShift: number[] = [];
  const stdRatio: number[] = [];
  const dapKs: number[] = [];
  for (let j = 0; j < dap.cols; j++) {
    const [mp, sp] = colStats(prior, j);
    const [md, sd] = colStats(dap, j);
    meanShift.push((md - mp) / sp);
    stdRatio.push(sd / sp);
    dapKs.push(ksTwoSample(prior.col(j), dap.col(j)).pValue);
  }
  const out: SbcCheck = {
    ksPValues: ks.map((k) => k.pValue),
    ksStatistics: ks.map((k) => k.statistic),
    dap: { meanShift, stdRatio, ksPValues: dapKs },
  };
  if (options.c2st) {
    const co = options.c2st === true ? {} : options.c2st;
    const acc: number[] = [];
    for (let j = 0; j < dap.cols; j++) {
      const a = new Matrix(prior.rows, 1, prior.col(j));
      const b = new Matrix(dap.rows, 1, dap.col(j));
      acc.push(await c2st(a, b, co));
    }
    out.dap.c2st = acc;
  }
  return out;
}
