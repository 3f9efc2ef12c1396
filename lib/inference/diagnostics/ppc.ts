/**
 * Posterior predictive check (Gelman, Meng & Stern 1996, "Posterior
 * predictive assessment of model fitness via realized discrepancies",
 * Statistica Sinica 6; sbi's tutorial
 * `docs/advanced_tutorials/10_diagnostics_posterior_predictive_checks.ipynb`):
 * simulate data from posterior samples and check, feature by feature, where
 * the observation falls in the posterior predictive distribution. A good
 * posterior (and model) puts x_o inside the bulk of the predictive
 * distribution for nearly every feature.
 * @module
 */
import { Matrix, type MatrixLike, toVector } from "../matrix.ts";

/** Options of {@linkcode posteriorPredictiveCheck}. */
export interface PpcOptions {
  /** Posterior samples θ (rows). */
  samples: MatrixLike;
  /** Simulator: rows of θ → rows of x (seeded). */
  simulate: (theta: Matrix, seed: number) => MatrixLike | Promise<MatrixLike>;
  /** The observation x_o. */
  observation: ArrayLike<number> | Matrix;
  /** Feature names (default `x1`, `x2`, …). */
  featureNames?: string[];
  /** Central predictive interval probability. Default 0.95. */
  interval?: number;
  /** Seed of the simulator. Default 0. */
  seed?: number;
}

/** Per-feature result of {@linkcode posteriorPredictiveCheck}. */
export interface PpcFeature {
  /** Feature name. */
  name: string;
  /** Observed value. */
  observed: number;
  /** Predictive mean. */
  mean: number;
  /** Predictive standard deviation. */
  std: number;
  /** (observed − mean) / std (±Infinity if std is 0 and observed differs). */
  zScore: number;
  /** Predictive quantile of the observation: P(x < x_o) + ½ P(x = x_o). */
  quantile: number;
  /** Lower end of the central predictive interval. */
  lower: number;
  /** Predictive median. */
  median: number;
  /** Upper end of the central predictive interval. */
  upper: number;
  /** Whether lower ≤ observed ≤ upper. */
  inside: boolean;
}

/** Result of {@linkcode posteriorPredictiveCheck}. */
export interface PpcResult {
  /** One entry per feature. */
  features: PpcFeature[];
  /** Fraction of features whose observation is inside the interval. */
  fractionInside: number;
  /** Interval probability used. */
  interval: number;
  /** The predictive simulations (valid rows only). */
  simulations: Matrix;
  /** Simulations dropped because they had NaN/Inf values. */
  nInvalid: number;
}

function quantileSorted(s: Float64Array, q: number): number {
  // Linear interpolation between order statistics (NumPy's default, type 7).
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/**
 * Simulates from posterior samples and locates the observation in the
 * per-feature posterior predictive distribution.
 * @param options samples, simulator, observation, names, interval, seed
 * @returns per-feature quantiles, z-scores and intervals, and the fraction inside
 * @throws {TypeError} when the simulator output or names do not match the observation
 * @throws {RangeError} when every simulation is invalid or `interval` is not in (0, 1)
 * @example
 * ```ts
 * import { posteriorPredictiveCheck } from "./ppc.ts";
 * import { Matrix } from "../matrix.ts";
 * import { Rng } from "../../_internal/random.ts";
 * const r = new Rng(1);
 * const samples = new Matrix(500, 1, Float32Array.from({ length: 500 }, () => 1 + 0.1 * r.normal()));
 * const simulate = (t: Matrix, seed: number) => {
 *   const g = new Rng(seed);
 *   return new Matrix(t.rows, 1, t.data.map((v) => v + 0.5 * g.normal()));
 * };
 * const ok = await posteriorPredictiveCheck({ samples, simulate, observation: [1.2] });
 * const bad = await posteriorPredictiveCheck({ samples, simulate, observation: [4] });
 * if (ok.fractionInside !== 1 || bad.fractionInside !== 0) throw new Error("ppc");
 * ```
 */
export async function posteriorPredictiveCheck(
  options: PpcOptions,
): Promise<PpcResult> {
  const theta = Matrix.of(options.samples);
  const xo = toVector(options.observation);
  const interval = options.interval ?? 0.95;
  if (!(interval > 0 && interval < 1)) {
    throw new RangeError(`interval must be in (0, 1), got ${interval}`);
  }
  const sim = Matrix.of(await options.simulate(theta, options.seed ?? 0));
  if (sim.rows !== theta.rows) {
    throw new TypeError(
      `simulator returned ${sim.rows} rows for ${theta.rows} parameter sets`,
    );
  }
  if (sim.cols !== xo.length) {
    throw new TypeError(
      `simulator returned ${sim.cols} features but the observation has ${xo.length}`,
    );
  }
  const names = options.featureNames ??
    Array.from({ length: xo.length }, (_, j) => `x${j + 1}`);
  if (names.length !== xo.length) {
    throw new TypeError(
      `${names.length} feature names for ${xo.length} features`,
    );
  }
  const keep: number[] = [];
  for (let i = 0; i < sim.rows; i++) {
    if (sim.row(i).every(Number.isFinite)) keep.push(i);
  }
  if (keep.length === 0) {
    throw new RangeError(
      `all ${sim.rows} posterior predictive simulations have NaN/Inf values`,
    );
  }
  const valid = new Matrix(keep.length, sim.cols);
  keep.forEach((i, a) => valid.data.set(sim.row(i), a * sim.cols));
  const n = valid.rows;
  const tail = (1 - interval) / 2;
  const features: PpcFeature[] = [];
  let inside = 0;
  for (let j = 0; j < xo.length; j++) {
    const col = Float64Array.from(valid.col(j)).sort();
    const o = xo[j];
    let mean = 0;
    for (const v of col) mean += v;
    mean /= n;
    let ss = 0;
    for (const v of col) ss += (v - mean) ** 2;
    const std = Math.sqrt(ss / Math.max(1, n - 1));
    let below = 0, equal = 0;
    for (const v of col) {
      if (v < o) below++;
      else if (v === o) equal++;
    }
    const lower = quantileSorted(col, tail);
    const upper = quantileSorted(col, 1 - tail);
    const isIn = o >= lower && o <= upper;
    if (isIn) inside++;
    features.push({
      name: names[j],
      observed: o,
      mean,
      std,
      zScore: std > 0
        ? (o - mean) / std
        : o === mean
        ? 0
        : Math.sign(o - mean) * Infinity,
      quantile: (below + 0.5 * equal) / n,
      lower,
      median: quantileSorted(col, 0.5),
      upper,
      inside: isIn,
    });
  }
  return {
    features,
    fractionInside: inside / xo.length,
    interval,
    simulations: valid,
    nInvalid: sim.rows - n,
  };
}
