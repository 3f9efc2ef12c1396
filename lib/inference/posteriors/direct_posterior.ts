/**
 * `DirectPosterior`: a posterior given directly by a trained conditional
 * density estimator q(theta | x) (NPE), restricted to the prior support by
 * rejection ("leakage" correction as in sbi's `DirectPosterior`).
 * @module
 */
import { JUPYTER_DISPLAY, type MediaBundle } from "../../display.ts";
import { posteriorBundle } from "./_display.ts";
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike, toVector } from "../matrix.ts";
import {
  asPrior,
  type Prior,
  type PriorDescription,
  type UserPrior,
} from "../priors/prior.ts";
import type {
  DensityEstimator,
  EmbeddingNetSpec,
  EstimatorConfig,
} from "../estimators/density_estimator.ts";
import { pack } from "./_format.ts";
import { loadEstimatorFile, rebuilding } from "./_load.ts";

/** Options of {@linkcode DirectPosterior.sample}. */
export interface SampleOptions {
  /** Observation to condition on (default: the one set by `setDefaultX`). */
  x?: ArrayLike<number> | Matrix;
  /** Seed of the draw; without it the posterior's own generator advances. */
  seed?: number;
  /** Largest number of proposals per network call. Default 10,000. */
  maxSamplingBatch?: number;
  /** Give up (RangeError) when the acceptance rate falls below this. Default 1e-4. */
  minAcceptanceRate?: number;
  /** Give up (RangeError) after this many proposals. Default `max(1e6, 1000 n)`. */
  maxDraws?: number;
}

/** Options of {@linkcode DirectPosterior.logProb}. */
export interface LogProbOptions {
  /** Observation (default: the one set by `setDefaultX`). */
  x?: ArrayLike<number> | Matrix;
  /**
   * Divide by the in-support mass of q (estimated with 10,000 seeded draws, cached per x)
   * so that the density integrates to 1 on the prior support (sbi's `norm_posterior`). Default true.
   */
  normalize?: boolean;
}

/** Options of {@linkcode DirectPosterior.map}. */
export interface MapOptions {
  /** Observation (default: the one set by `setDefaultX`). */
  x?: ArrayLike<number> | Matrix;
  /** Seed. Default 0. */
  seed?: number;
  /** Posterior draws used to initialise. Default 1,000. */
  numInitSamples?: number;
  /** Best draws refined by gradient ascent. Default 100. */
  numToOptimize?: number;
  /** Adam iterations. Default 300. */
  numIter?: number;
  /** Adam learning rate (in z-scored units of each parameter's posterior std). Default 0.01. */
  learningRate?: number;
}

/** Options of {@linkcode DirectPosterior.fromBytes}. */
export interface LoadOptions {
  /** The prior, required when the saved prior was a user (custom) prior; otherwise overrides it. */
  prior?: Prior | UserPrior;
  /** The user tfjs embedding model, when one was used. */
  embeddingNet?: EmbeddingNetSpec;
}

interface Header {
  format: "neurofit-posterior";
  kind: "DirectPosterior";
  estimator: EstimatorConfig;
  prior: PriorDescription;
  defaultX: number[] | null;
  seed: number;
}

/** Posterior q(theta | x) from NPE, sampled directly with rejection outside the prior support. */
export class DirectPosterior {
  /** The prior (defines the support). */
  readonly prior: Prior;
  /** Acceptance rate of the last `sample` call (1 = no leakage). */
  lastAcceptanceRate = 1;
  #est: DensityEstimator;
  #defaultX: Float32Array | null = null;
  #rng: Rng;
  #seed: number;
  #leak = new Map<string, number>();

  /**
   * Creates the object from its options.
   * @param estimator a trained estimator (owned by the posterior from now on)
   * @param prior the prior
   * @param options `{ seed }` of the posterior's own generator (default 0)
   * @throws {TypeError} if the prior dimension differs from the estimator's
   */
  constructor(
    estimator: DensityEstimator,
    prior: Prior | UserPrior,
    options: { seed?: number } = {},
  ) {
    this.prior = asPrior(prior);
    if (this.prior.dim !== estimator.config.thetaDim) {
      throw new TypeError(
        `prior dim ${this.prior.dim} != estimator theta dim ${estimator.config.thetaDim}`,
      );
    }
    this.#est = estimator;
    this.#seed = options.seed ?? 0;
    this.#rng = new Rng(this.#seed);
  }

  /** The underlying density estimator. */
  get estimator(): DensityEstimator {
    return this.#est;
  }

  /** Parameter dimension. */
  get thetaDim(): number {
    return this.#est.config.thetaDim;
  }

  /** Data dimension. */
  get xDim(): number {
    return this.#est.config.xDim;
  }

  /**
   * What `deno jupyter` shows for a posterior: marginal histograms (SVG,
   * `image/svg+xml`) of 1,000 samples (seed 0) at the default observation;
   * without one, a text summary.
   * @returns the media bundle
   */
  [JUPYTER_DISPLAY](): Promise<MediaBundle> {
    return posteriorBundle(
      this.constructor.name,
      this.prior.dim,
      this.#defaultX ? (n) => this.sample(n, { seed: 0 }) : null,
    );
  }

  /**
   * Sets the observation used when `x` is omitted.
   * @param x the observation
   * @returns this posterior
   * @throws {TypeError} if its length is not the data dimension
   */
  setDefaultX(x: ArrayLike<number> | Matrix): this {
    this.#defaultX = this.#x(x);
    return this;
  }

  /** The default observation, if set. */
  get defaultX(): Float32Array | null {
    return this.#defaultX ? this.#defaultX.slice() : null;
  }

  #x(x?: ArrayLike<number> | Matrix): Float32Array {
    if (x === undefined) {
      if (!this.#defaultX) {
        throw new TypeError(
          "no x given and no default x set (use setDefaultX)",
        );
      }
      return this.#defaultX;
    }
    const v = toVector(x);
    if (v.length !== this.xDim) {
      throw new TypeError(`x has length ${v.length}, expected ${this.xDim}`);
    }
    // an estimator trained with NaN imputation imputes missing features of x too
    const imputes = this.#est.config.imputation !== undefined;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        if (imputes) v[i] = NaN;
        else throw new RangeError(`x must be finite, got ${v[i]}`);
      }
    }
    return v;
  }

  /**
   * Draws `n` samples from q(theta | x) restricted to the prior support.
   * @param n number of samples
   * @param options see {@linkcode SampleOptions}
   * @returns an `n x dim` Matrix
   * @throws {RangeError} when the acceptance rate is too low (most mass outside the prior)
   * @example
   * ```ts
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * import { NPE } from "../methods/npe.ts";
   * const prior = new BoxUniform({ low: [-1], high: [1] });
   * const theta = prior.sample(300, 1);
   * const x = theta.toArray().map(([t]) => [t + 0.1]);
   * const npe = new NPE({ prior, densityEstimator: "mdn", seed: 1 });
   * npe.appendSimulations(theta, x);
   * await npe.train({ maxEpochs: 2, showProgress: false });
   * const posterior = npe.buildPosterior();
   * const s = await posterior.sample(100, { x: [0.2], seed: 3 });
   * console.log(s.rows, s.cols); // 100 1
   * posterior.dispose();
   * npe.dispose();
   * ```
   */
  // deno-lint-ignore require-await
  async sample(n: number, options: SampleOptions = {}): Promise<Matrix> {
    return this.#sample(n, this.#x(options.x), options);
  }

  #sample(n: number, x: Float32Array, options: SampleOptions): Matrix {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `number of samples must be a non-negative integer, got ${n}`,
      );
    }
    const rng = options.seed !== undefined
      ? new Rng(options.seed)
      : this.#rng.fork();
    const maxBatch = options.maxSamplingBatch ?? 10_000;
    const minRate = options.minAcceptanceRate ?? 1e-4;
    const maxDraws = options.maxDraws ?? Math.max(1e6, 1000 * n);
    const d = this.thetaDim;
    const out = new Matrix(n, d);
    let accepted = 0;
    let drawn = 0;
    while (accepted < n) {
      const rate = drawn > 0 ? Math.max(accepted / drawn, minRate) : 1;
      const want = Math.min(
        maxBatch,
        Math.max(100, Math.ceil(((n - accepted) / rate) * 1.1)),
      );
      const s = this.#est.sample(want, x, rng);
      drawn += want;
      for (let i = 0; i < want && accepted < n; i++) {
        const row = s.subarray(i * d, (i + 1) * d);
        if (this.prior.inSupport(row)) out.data.set(row, (accepted++) * d);
      }
      const r = accepted / drawn;
      this.lastAcceptanceRate = r;
      if (
        accepted < n && ((drawn >= 10_000 && r < minRate) || drawn >= maxDraws)
      ) {
        throw new RangeError(
          `posterior sampling stopped: acceptance rate ${
            r.toExponential(2)
          } after ${drawn} draws ` +
            `(${accepted}/${n} samples inside the prior support); the estimator puts most mass outside the prior`,
        );
      }
    }
    return out;
  }

  /**
   * Draws `n` samples for each of several observations (one network pass per chunk).
   * @param n samples per observation
   * @param xs observations as rows
   * @param options `{ seed }`
   * @returns one `n x dim` Matrix per observation
   * @throws {TypeError} if `xs` has the wrong number of columns
   */
  // deno-lint-ignore require-await
  async sampleBatched(
    n: number,
    xs: MatrixLike,
    options: { seed?: number } = {},
  ): Promise<Matrix[]> {
    const X = Matrix.of(xs);
    if (X.cols !== this.xDim) {
      throw new TypeError(`xs has ${X.cols} columns, expected ${this.xDim}`);
    }
    const rng = options.seed !== undefined
      ? new Rng(options.seed)
      : this.#rng.fork();
    const d = this.thetaDim;
    const outs = Array.from({ length: X.rows }, () => new Matrix(n, d));
    const counts = new Int32Array(X.rows);
    let rounds = 0;
    let pending = [...Array(X.rows).keys()];
    while (pending.length) {
      if (++rounds > 1000) {
        throw new RangeError(
          "sampleBatched: acceptance rate too low for some observations",
        );
      }
      const per = Math.max(
        1,
        Math.min(n, Math.floor(100_000 / pending.length)),
      );
      const rows = pending.length * per;
      const xr = new Float32Array(rows * this.xDim);
      pending.forEach((j, a) => {
        for (let r = 0; r < per; r++) {
          xr.set(X.row(j), (a * per + r) * this.xDim);
        }
      });
      const s = this.#est.sample(rows, xr, rng);
      pending.forEach((j, a) => {
        for (let r = 0; r < per && counts[j] < n; r++) {
          const row = s.subarray((a * per + r) * d, (a * per + r + 1) * d);
          if (this.prior.inSupport(row)) {
            outs[j].data.set(row, (counts[j]++) * d);
          }
        }
      });
      pending = pending.filter((j) => counts[j] < n);
    }
    return outs;
  }

  /**
   * Posterior log-density of each row of `theta` (`-Infinity` outside the prior support).
   * @param theta rows of parameters
   * @param options see {@linkcode LogProbOptions}
   * @returns one log-density per row
   * @throws {TypeError} on a column-count mismatch
   */
  // deno-lint-ignore require-await
  async logProb(
    theta: MatrixLike,
    options: LogProbOptions = {},
  ): Promise<Float64Array> {
    const t = Matrix.of(theta);
    if (t.cols !== this.thetaDim) {
      throw new TypeError(
        `theta has ${t.cols} columns, expected ${this.thetaDim}`,
      );
    }
    const x = this.#x(options.x);
    const lp = this.#est.logProb(t.data, x, t.rows);
    const corr = options.normalize === false
      ? 0
      : Math.log(this.#acceptance(x));
    for (let i = 0; i < t.rows; i++) {
      lp[i] = this.prior.inSupport(t.row(i)) ? lp[i] - corr : -Infinity;
    }
    return lp;
  }

  #acceptance(x: Float32Array): number {
    const key = Array.from(x).join(",");
    let a = this.#leak.get(key);
    if (a === undefined) {
      const m = 10_000;
      const s = this.#est.sample(m, x, new Rng(12345));
      let k = 0;
      for (let i = 0; i < m; i++) {
        if (
          this.prior.inSupport(
            s.subarray(i * this.thetaDim, (i + 1) * this.thetaDim),
          )
        ) k++;
      }
      a = Math.max(k, 1) / m;
      this.#leak.set(key, a);
    }
    return a;
  }

  /**
   * Maximum a-posteriori estimate: the best of `numInitSamples` posterior draws,
   * refined by Adam gradient ascent on log q(theta | x) within the prior support.
   * @param options see {@linkcode MapOptions}
   * @returns the MAP parameter vector
   */
  async map(options: MapOptions = {}): Promise<Float32Array> {
    const x = this.#x(options.x);
    const d = this.thetaDim;
    const init = await this.sample(options.numInitSamples ?? 1000, {
      x,
      seed: options.seed ?? 0,
    });
    const lp0 = this.#est.logProb(init.data, x, init.rows);
    const k = Math.min(options.numToOptimize ?? 100, init.rows);
    const order = [...lp0.keys()].sort((a, b) => lp0[b] - lp0[a]).slice(0, k);
    const th = new Float32Array(k * d);
    order.forEach((r, i) => th.set(init.row(r), i * d));
    const scale = this.#est.config.zscore.thetaStd;
    const lr = options.learningRate ?? 0.01;
    const m = new Float64Array(k * d);
    const v = new Float64Array(k * d);
    const best = new Float32Array(k * d).fill(NaN);
    const bestLp = new Float64Array(k).fill(-Infinity);
    const iters = options.numIter ?? 300;
    for (let t = 1; t <= iters + 1; t++) {
      const { value, grad } = this.#est.logProbWithGrad(th, x, k);
      for (let i = 0; i < k; i++) {
        const row = th.subarray(i * d, (i + 1) * d);
        if (value[i] > bestLp[i] && this.prior.inSupport(row)) {
          bestLp[i] = value[i];
          best.set(row, i * d);
        }
      }
      if (t > iters) break;
      for (let j = 0; j < k * d; j++) {
        const g = grad[j] * scale[j % d]; // ascend in z-scored coordinates
        m[j] = 0.9 * m[j] + 0.1 * g;
        v[j] = 0.999 * v[j] + 0.001 * g * g;
        const mh = m[j] / (1 - 0.9 ** t);
        const vh = v[j] / (1 - 0.999 ** t);
        th[j] += lr * scale[j % d] * mh / (Math.sqrt(vh) + 1e-8);
      }
    }
    let bi = 0;
    for (let i = 1; i < k; i++) if (bestLp[i] > bestLp[bi]) bi = i;
    return best.slice(bi * d, (bi + 1) * d);
  }

  /**
   * Serialises the posterior (estimator configuration with z-score statistics, prior
   * description, default x, weights) into the versioned neurofit format.
   * @returns the bytes
   */
  toBytes(): Uint8Array {
    const header: Header = {
      format: "neurofit-posterior",
      kind: "DirectPosterior",
      estimator: this.#est.config,
      prior: this.prior.describe(),
      defaultX: this.#defaultX ? Array.from(this.#defaultX) : null,
      seed: this.#seed,
    };
    return pack(header, this.#est.getWeights());
  }

  /**
   * Rebuilds a posterior saved with {@linkcode DirectPosterior.toBytes}.
   * @param bytes the file contents
   * @param options prior / embedding net to supply when they were user objects
   * @returns the posterior
   * @throws {RangeError} for a foreign, corrupt or newer-version file
   * @throws {TypeError} when a custom prior or user embedding net is needed but missing
   */
  static async fromBytes(
    bytes: Uint8Array,
    options: LoadOptions = {},
  ): Promise<DirectPosterior> {
    const { header, prior, estimator } = await loadEstimatorFile<Header>(
      bytes,
      "DirectPosterior",
      options,
    );
    return await rebuilding("DirectPosterior", "posterior", 16, () => {
      let p: DirectPosterior | null = null;
      try {
        p = new DirectPosterior(estimator, prior, { seed: header.seed });
        if (header.defaultX) {
          // JSON stores a missing (NaN) feature as null
          p.setDefaultX(header.defaultX.map((v) => v ?? NaN));
        }
        return p;
      } catch (e) {
        if (p) p.dispose();
        else estimator.dispose();
        throw e;
      }
    });
  }

  /** Frees the estimator's tensors. */
  dispose(): void {
    this.#est.dispose();
  }
}
