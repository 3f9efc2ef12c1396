/**
 * Posteriors defined by a potential (unnormalised log-density) and sampled by
 * the samplers of `../samplers/`: `MCMCPosterior` (vectorised slice sampling,
 * adaptive Metropolis–Hastings, gradient-based HMC / NUTS, or the
 * proposal-based rejection and SIR samplers); its fixed-method variants are
 * `RejectionPosterior` (`./rejection_posterior.ts`) and `ImportancePosterior`
 * (`./importance_posterior.ts`). Used by NLE: the potential is log q(x_o | θ) + log p(θ).
 * @module
 */
import { JUPYTER_DISPLAY, type MediaBundle } from "../../display.ts";
import { posteriorBundle } from "./_display.ts";
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import { BoxUniform } from "../priors/box_uniform.ts";
import type {
  DensityEstimator,
  EmbeddingNetSpec,
  EstimatorConfig,
} from "../estimators/density_estimator.ts";
import { pack } from "./_format.ts";
import { loadEstimatorFile, rebuilding } from "./_load.ts";
import type { PriorDescription } from "../priors/prior.ts";
import {
  likelihoodGradPotential,
  likelihoodPotential,
  observationRows,
} from "../potentials/likelihood_potential.ts";
import {
  type BoxTransform,
  clampToBox,
  fromUnconstrained,
  type GradPotential,
  type Potential,
  toUnconstrained,
  unconstrainedGradPotential,
  unconstrainedPotential,
} from "../potentials/potential.ts";
import { sirInit } from "../samplers/resampling.ts";
import { type HMCOptions, hmcSample, nutsSample } from "../samplers/hmc.ts";
import { sliceSample } from "../samplers/slice.ts";
import { mhSample } from "../samplers/mh.ts";
import { rejectionSample, sirSample } from "../samplers/importance.ts";
import type { SamplerResult } from "../samplers/_chains.ts";

/** Header of a saved likelihood-based posterior. */
interface LikelihoodHeader {
  format: "neurofit-posterior";
  kind: "LikelihoodPosterior";
  estimator: EstimatorConfig;
  prior: PriorDescription;
  defaultX: number[][] | null;
  mcmc: MCMCPosteriorOptions;
}

/** Sampling method of {@linkcode MCMCPosterior}. */
export type MCMCMethod =
  | "slice_np_vectorized"
  | "mh"
  | "rejection"
  | "sir"
  | "hmc"
  | "nuts";

/** Options of {@linkcode MCMCPosterior}. */
export interface MCMCPosteriorOptions {
  /** Sampler. Default `"slice_np_vectorized"` (sbi). */
  mcmcMethod?: MCMCMethod;
  /** Chains (slice, MH, HMC, NUTS). Default 20. */
  numChains?: number;
  /** Warm-up steps per chain. Default 200. */
  warmupSteps?: number;
  /** Keep every `thin`-th step. Default 1. */
  thin?: number;
  /** Prior draws resampled by potential to start the chains ("sir" init). Default 10,000. */
  initCandidates?: number;
  /**
   * Sample in unconstrained (logit) space when the prior is a `BoxUniform`
   * (slice, MH, HMC, NUTS). Default true (as sbi's `enable_transform`).
   */
  transform?: boolean;
  /** Proposals per sample for `"sir"`. Default 32. */
  oversamplingFactor?: number;
  /** Seed of the posterior's own generator. Default 0. */
  seed?: number;
  /**
   * Options of the gradient-based samplers (`"hmc"`, `"nuts"`): step size,
   * target acceptance, tree depth, leapfrog steps, mass matrix.
   */
  hmcOptions?: Omit<HMCOptions, "seed" | "warmupSteps" | "thin">;
}

/** Options of {@linkcode MCMCPosterior.sample}. */
export interface MCMCSampleOptions {
  /** Observation (a vector, or iid observations as rows); default from `setDefaultX`. */
  x?: ArrayLike<number> | MatrixLike;
  /** Seed of this draw; without it the posterior's own generator advances. */
  seed?: number;
}

/** Options of {@linkcode MCMCPosterior.map}. */
export interface MCMCMapOptions {
  /** Observation; default from `setDefaultX`. */
  x?: ArrayLike<number> | MatrixLike;
  /** Seed. Default 0. */
  seed?: number;
  /** Prior draws scored to start from. Default 10,000. */
  numInitSamples?: number;
  /** Best draws refined. Default 20. */
  numToOptimize?: number;
  /** Refinement iterations. Default 200. */
  numIter?: number;
}

/**
 * A potential built from something other than a likelihood estimator (e.g. the
 * ratio classifier of NRE): `potential(xo)` returns θ ↦ U(θ) at the
 * observation rows `xo` (K x `xDim`, iid observations), including the prior.
 */
export interface PotentialFactory {
  /** Data dimension of an observation. */
  readonly xDim: number;
  /**
   * Builds the potential at the observations.
   * @param xo observations as rows (K x `xDim`)
   * @returns the batched potential
   */
  potential(xo: Matrix): Potential;
  /**
   * Optional: the potential with its gradient w.r.t. θ (for HMC / NUTS).
   * @param xo observations as rows (K x `xDim`)
   * @returns the batched gradient potential
   */
  gradPotential?(xo: Matrix): GradPotential;
  /** Frees resources (called by the posterior's `dispose`). */
  dispose?(): void;
}

/** A posterior known through its potential, sampled by MCMC / rejection / SIR. */
export class MCMCPosterior {
  /** The prior. */
  readonly prior: Prior;
  /** Sampler used by `sample`. */
  readonly method: MCMCMethod;
  /** Counters of the last `sample` call. */
  lastResult: Omit<SamplerResult, "samples"> | null = null;
  #est: DensityEstimator | null;
  #factory: PotentialFactory | null;
  #opts: MCMCPosteriorOptions;
  #rng: Rng;
  #defaultX: Matrix | null = null;

  /**
   * Creates the posterior from a trained likelihood estimator (NLE), or from
   * a {@linkcode PotentialFactory} (NRE).
   * @param estimator the likelihood estimator q(x | θ), or a potential
   *   factory (owned from now on)
   * @param prior the prior
   * @param options see {@linkcode MCMCPosteriorOptions}
   * @throws {TypeError} on a dimension mismatch
   * @throws {RangeError} for an unknown method or bad sizes
   * @example
   * ```ts
   * import { NLE } from "../methods/nle.ts";
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
   * const theta = prior.sample(300, 1);
   * const x = theta.toArray().map(([a, b]) => [a + b, a - b]);
   * const nle = new NLE({ prior, densityEstimator: "mdn", seed: 1 });
   * nle.appendSimulations(theta, x);
   * await nle.train({ maxEpochs: 2, showProgress: false });
   * const post = nle.buildPosterior({ warmupSteps: 20 });
   * const s = await post.sample(100, { x: [0.2, 0.1], seed: 1 });
   * console.log(s.rows); // 100
   * post.dispose();
   * nle.dispose();
   * ```
   */
  constructor(
    estimator: DensityEstimator | PotentialFactory,
    prior: Prior | UserPrior,
    options: MCMCPosteriorOptions = {},
  ) {
    this.prior = asPrior(prior);
    const isEst = "config" in estimator;
    if (isEst && this.prior.dim !== estimator.config.xDim) {
      throw new TypeError(
        `prior dim ${this.prior.dim} != likelihood context dim ${estimator.config.xDim}`,
      );
    }
    const method = options.mcmcMethod ?? "slice_np_vectorized";
    if (
      !["slice_np_vectorized", "mh", "rejection", "sir", "hmc", "nuts"]
        .includes(method)
    ) {
      throw new RangeError(
        `unknown mcmcMethod ${
          JSON.stringify(method)
        }; use "slice_np_vectorized", "mh", "rejection", "sir", "hmc" or "nuts"`,
      );
    }
    const nc = options.numChains ?? 20;
    if (!Number.isInteger(nc) || nc < 1) {
      throw new RangeError(`numChains must be a positive integer, got ${nc}`);
    }
    this.method = method;
    if (
      (method === "hmc" || method === "nuts") && isEst &&
      typeof this.prior.gradLogProb !== "function"
    ) {
      throw new TypeError(
        `mcmcMethod ${
          JSON.stringify(method)
        } needs the prior's gradLogProb; this prior (${this.prior.describe().type}) has none`,
      );
    }
    this.#est = isEst ? estimator : null;
    this.#factory = isEst ? null : estimator;
    this.#opts = options;
    this.#rng = new Rng(options.seed ?? 0);
  }

  /** The likelihood estimator (throws for a posterior built from a potential factory). */
  get estimator(): DensityEstimator {
    if (!this.#est) {
      throw new TypeError(
        "this posterior was built from a potential factory, not a likelihood estimator",
      );
    }
    return this.#est;
  }

  /** Parameter dimension. */
  get thetaDim(): number {
    return this.prior.dim;
  }

  /** Data dimension. */
  get xDim(): number {
    return this.#est ? this.#est.config.thetaDim : this.#factory!.xDim;
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
   * Sets the observation used when `x` is not passed.
   * @param x a vector, or iid observations as rows
   * @returns this posterior
   * @throws {TypeError} on a dimension mismatch
   */
  setDefaultX(x: ArrayLike<number> | MatrixLike): this {
    this.#defaultX = observationRows(x, this.xDim);
    return this;
  }

  #x(x?: ArrayLike<number> | MatrixLike): Matrix {
    if (x !== undefined) return observationRows(x, this.xDim);
    if (!this.#defaultX) {
      throw new TypeError("no x given and no default x set (setDefaultX)");
    }
    return this.#defaultX;
  }

  /**
   * The batched potential log q(x_o | θ) + log p(θ) at an observation.
   * @param x observation(s); default from `setDefaultX`
   * @returns the potential function
   */
  potential(x?: ArrayLike<number> | MatrixLike): Potential {
    if (this.#factory) return this.#factory.potential(this.#x(x));
    return likelihoodPotential(this.#est!, this.prior, this.#x(x));
  }

  /**
   * The potential with its gradient w.r.t. θ at an observation (for HMC / NUTS).
   * @param x observation(s); default from `setDefaultX`
   * @returns the batched gradient potential
   * @throws {TypeError} if the prior or the potential factory has no gradient
   */
  gradPotential(x?: ArrayLike<number> | MatrixLike): GradPotential {
    if (this.#factory) {
      if (!this.#factory.gradPotential) {
        throw new TypeError(
          "this potential factory has no gradPotential; HMC / NUTS need one",
        );
      }
      return this.#factory.gradPotential(this.#x(x));
    }
    return likelihoodGradPotential(this.#est!, this.prior, this.#x(x));
  }

  /**
   * Draws `n` posterior samples with the configured sampler.
   * @param n number of samples
   * @param options `{ x, seed }`
   * @returns an `n x dim` Matrix
   * @throws {RangeError} for bad sizes or when sampling fails
   */
  // deno-lint-ignore require-await
  async sample(n: number, options: MCMCSampleOptions = {}): Promise<Matrix> {
    const pot = this.potential(options.x);
    const seed = options.seed ?? this.#rng.nextU32();
    const rng = new Rng(seed);
    const o = this.#opts;
    const d = this.thetaDim;
    let res: SamplerResult;
    if (this.method === "rejection") {
      res = rejectionSample(pot, this.prior, n, { seed: rng.nextU32() });
    } else if (this.method === "sir") {
      res = sirSample(pot, this.prior, n, {
        seed: rng.nextU32(),
        oversamplingFactor: o.oversamplingFactor,
      });
    } else {
      const init = sirInit(
        pot,
        this.prior,
        o.numChains ?? 20,
        rng,
        o.initCandidates ?? 10_000,
      );
      const box: BoxTransform | null =
        o.transform !== false && this.prior instanceof BoxUniform
          ? { low: this.prior.low, high: this.prior.high }
          : null;
      const target = box ? unconstrainedPotential(pot, box) : pot;
      const start = box ? toUnconstrained(init, box) : init;
      const chainOpts = {
        seed: rng.nextU32(),
        warmupSteps: o.warmupSteps ?? 200,
        thin: o.thin ?? 1,
      };
      if (this.method === "hmc" || this.method === "nuts") {
        const gp = this.gradPotential(options.x);
        const gTarget = box ? unconstrainedGradPotential(gp, box) : gp;
        const run = this.method === "hmc" ? hmcSample : nutsSample;
        res = run(gTarget, start, d, n, { ...o.hmcOptions, ...chainOpts });
      } else {
        res = this.method === "mh"
          ? mhSample(target, start, d, n, chainOpts)
          : sliceSample(target, start, d, n, chainOpts);
      }
      if (box) {
        const th = fromUnconstrained(Float64Array.from(res.samples.data), box);
        const m = new Matrix(n, d, Float32Array.from(th));
        clampToBox(m.data, box); // float32 rounding at the bounds
        res = { ...res, samples: m };
      }
    }
    const { samples, ...stats } = res;
    this.lastResult = stats;
    return samples;
  }

  /**
   * Unnormalised posterior log-density (the potential) of each row.
   * @param theta rows of parameters
   * @param options `{ x }`
   * @returns one value per row (`-Infinity` outside the prior support)
   * @throws {TypeError} on a column-count mismatch
   */
  // deno-lint-ignore require-await
  async logProb(
    theta: MatrixLike,
    options: { x?: ArrayLike<number> | MatrixLike } = {},
  ): Promise<Float64Array> {
    const t = Matrix.of(theta);
    if (t.cols !== this.thetaDim) {
      throw new TypeError(
        `theta has ${t.cols} columns, expected ${this.thetaDim}`,
      );
    }
    return this.potential(options.x)(t);
  }

  /**
   * Maximum a-posteriori estimate without gradients (so it also works for
   * potentials without a gradient): the best `numToOptimize` of
   * `numInitSamples` prior draws, refined by a batched (1+1) random search with
   * per-point step sizes adapted by the 1/5th success rule (Rechenberg 1973).
   * @param options see {@linkcode MCMCMapOptions}
   * @returns the MAP parameter vector
   */
  // deno-lint-ignore require-await
  async map(options: MCMCMapOptions = {}): Promise<Float32Array> {
    const pot = this.potential(options.x);
    const rng = new Rng(options.seed ?? 0);
    const d = this.thetaDim;
    const cand = this.prior.sample(options.numInitSamples ?? 10_000, rng);
    const lp0 = pot(cand);
    const k = Math.min(options.numToOptimize ?? 20, cand.rows);
    const order = [...lp0.keys()].sort((a, b) => lp0[b] - lp0[a]).slice(0, k);
    const cur = new Matrix(k, d);
    const lp = new Float64Array(k);
    order.forEach((r, i) => {
      cur.data.set(cand.row(r), i * d);
      lp[i] = lp0[r];
    });
    // initial step: 10% of the spread of the prior draws per coordinate
    const sd = new Float64Array(d);
    const mean = cand.mean();
    for (let r = 0; r < cand.rows; r++) {
      for (let j = 0; j < d; j++) {
        sd[j] += (cand.data[r * d + j] - mean[j]) ** 2;
      }
    }
    for (let j = 0; j < d; j++) sd[j] = 0.1 * Math.sqrt(sd[j] / cand.rows);
    const step = new Float64Array(k).fill(1);
    const prop = new Matrix(k, d);
    for (let it = 0; it < (options.numIter ?? 200); it++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < d; j++) {
          prop.data[i * d + j] = cur.data[i * d + j] +
            step[i] * sd[j] * rng.normal();
        }
      }
      const v = pot(prop);
      for (let i = 0; i < k; i++) {
        if (v[i] > lp[i]) {
          lp[i] = v[i];
          cur.data.set(prop.data.subarray(i * d, i * d + d), i * d);
          step[i] *= 1.5;
        } else step[i] *= 0.9;
      }
    }
    let bi = 0;
    for (let i = 1; i < k; i++) if (lp[i] > lp[bi]) bi = i;
    return cur.data.slice(bi * d, bi * d + d);
  }

  /**
   * Serialises a likelihood-based posterior (NLE: estimator configuration
   * with z-score statistics, prior description, default x, sampler options,
   * weights) into the versioned neurofit format.
   * @returns the bytes
   * @throws {TypeError} for a posterior built from a potential factory
   */
  toBytes(): Uint8Array {
    if (!this.#est) {
      throw new TypeError(
        "this posterior was built from a potential factory; save the method's own posterior (e.g. NRE's RatioPosterior)",
      );
    }
    const header: LikelihoodHeader = {
      format: "neurofit-posterior",
      kind: "LikelihoodPosterior",
      estimator: this.#est.config,
      prior: this.prior.describe(),
      defaultX: this.#defaultX ? this.#defaultX.toArray() : null,
      mcmc: this.#opts,
    };
    return pack(header, this.#est.getWeights());
  }

  /**
   * Rebuilds a posterior saved with {@linkcode MCMCPosterior.toBytes}.
   * @param bytes the file contents
   * @param options `prior` / `embeddingNet` when they were user objects
   * @returns the posterior
   * @throws {RangeError} for a foreign, corrupt or newer-version file
   */
  static async fromBytes(
    bytes: Uint8Array,
    options: { prior?: Prior | UserPrior; embeddingNet?: EmbeddingNetSpec } =
      {},
  ): Promise<MCMCPosterior> {
    const { header, prior, estimator } = await loadEstimatorFile<
      LikelihoodHeader
    >(bytes, "LikelihoodPosterior", options);
    return await rebuilding("LikelihoodPosterior", "posterior", 16, () => {
      let p: MCMCPosterior | null = null;
      try {
        p = new MCMCPosterior(estimator, prior, header.mcmc);
        if (header.defaultX) p.setDefaultX(header.defaultX);
        return p;
      } catch (e) {
        if (p) p.dispose();
        else estimator.dispose();
        throw e;
      }
    });
  }

  /** Frees the estimator's (or potential factory's) resources. */
  dispose(): void {
    this.#est?.dispose();
    this.#factory?.dispose?.();
  }
}
