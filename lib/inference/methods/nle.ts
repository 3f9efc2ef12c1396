/**
 * Neural likelihood estimation, NLE-A (Papamakarios, Sterratt & Murray 2019,
 * "Sequential neural likelihood", AISTATS; sbi's `NLE_A`): a conditional
 * density estimator q(x | θ) is trained by maximum likelihood on (θ, x) pairs
 * — the roles of θ and x are swapped with respect to NPE, so the estimator's
 * modelled variable is x and its context is θ — and the posterior is sampled
 * by MCMC on the potential log q(x_o | θ) + log p(θ). Simulations from any
 * proposal can be pooled: the likelihood does not depend on the proposal.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import type { MatrixLike } from "../matrix.ts";
import { SimulationStore, splitRows } from "./_simulations.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import {
  DensityEstimator,
  type DensityEstimatorOptions,
  zScoreStats,
} from "../estimators/density_estimator.ts";
import { activeBackend } from "../estimators/_backend.ts";
import {
  MCMCPosterior,
  type MCMCPosteriorOptions,
} from "../posteriors/mcmc_posterior.ts";
import type { TrainingSummary } from "./npe.ts";

/** Options of {@linkcode NLE}. */
export interface NLEOptions {
  /** The prior. */
  prior: Prior | UserPrior;
  /** `"maf"` (default, as sbi), `"nsf"` or `"mdn"`. */
  densityEstimator?: "maf" | "nsf" | "mdn";
  /** Seed of initialisation, data split, shuffling and sampling. Default 0. */
  seed?: number;
  /** Hyper-parameters of the estimator (hidden units, transforms, bins, ...). */
  estimatorOptions?: Omit<DensityEstimatorOptions, "embeddingNet" | "seed">;
}

/** Options of {@linkcode NLE.train} (defaults as in sbi). */
export interface NLETrainOptions {
  /** Minibatch size. Default 200. */
  trainingBatchSize?: number;
  /** Adam learning rate. Default 5e-4. */
  learningRate?: number;
  /** Fraction held out for validation. Default 0.1. */
  validationFraction?: number;
  /** Epochs without validation improvement before stopping. Default 20. */
  stopAfterEpochs?: number;
  /** Maximum number of epochs. Default 2^31 - 1. */
  maxEpochs?: number;
  /** Total gradient-norm clip. Default 5. */
  clipMaxNorm?: number;
  /** Continue with the previous optimizer state. Default false. */
  resumeTraining?: boolean;
  /** Build a fresh network (and new z-scoring) before training. Default false. */
  retrainFromScratch?: boolean;
  /** Progress bar on stderr (drawn only on a terminal). Default true. */
  showProgress?: boolean;
}

/** Neural likelihood estimation (NLE-A) with an MCMC posterior. */
export class NLE {
  /** The prior. */
  readonly prior: Prior;
  /** Density estimator kind. */
  readonly densityEstimator: "maf" | "nsf" | "mdn";
  #seed: number;
  #rng: Rng;
  #estOptions: Omit<DensityEstimatorOptions, "embeddingNet" | "seed">;
  #sims: SimulationStore;
  #est: DensityEstimator | null = null;

  /**
   * Creates the object from its options.
   * @param options see {@linkcode NLEOptions}
   * @throws {TypeError} if the prior is not a prior
   * @throws {RangeError} for an unknown density estimator
   * @example
   * ```ts
   * import { NLE } from "./nle.ts";
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });
   * const theta = prior.sample(500, 1);
   * const x = theta.toArray().map(([a, b]) => [a, b]);
   * const nle = new NLE({ prior, densityEstimator: "mdn", seed: 1 });
   * nle.appendSimulations(theta, x);
   * const summary = await nle.train({ maxEpochs: 2, showProgress: false });
   * const posterior = nle.buildPosterior({ warmupSteps: 20 });
   * const s = await posterior.sample(200, { x: [0.5, -0.5], seed: 2 });
   * console.log(summary.epochs, s.rows); // 2 200
   * posterior.dispose();
   * nle.dispose();
   * ```
   */
  constructor(options: NLEOptions) {
    if (!options || typeof options !== "object") {
      throw new TypeError("NLE needs an options object with a prior");
    }
    this.prior = asPrior(options.prior);
    this.#sims = new SimulationStore(this.prior.dim);
    const kind = options.densityEstimator ?? "maf";
    if (!["maf", "nsf", "mdn"].includes(kind)) {
      throw new RangeError(
        `unknown densityEstimator ${
          JSON.stringify(kind)
        }; use "maf", "nsf" or "mdn"`,
      );
    }
    this.densityEstimator = kind;
    this.#seed = options.seed ?? 0;
    this.#rng = new Rng(this.#seed);
    this.#estOptions = options.estimatorOptions ?? {};
  }

  /** Number of valid simulations appended so far. */
  get nSimulations(): number {
    return this.#sims.n;
  }

  /** Number of simulations excluded for NaN/Inf values. */
  get nExcluded(): number {
    return this.#sims.nExcluded;
  }

  /** The trained likelihood estimator (null before `train`). */
  get estimator(): DensityEstimator | null {
    return this.#est;
  }

  /**
   * Adds simulations (from the prior or any other proposal). Rows with NaN or
   * infinite values are excluded and counted.
   * @param theta parameters, rows = simulations
   * @param x simulated data, rows = simulations
   * @returns this NLE
   * @throws {TypeError} on mismatched rows or dimensions
   */
  appendSimulations(theta: MatrixLike, x: MatrixLike): this {
    this.#sims.append(theta, x);
    return this;
  }

  /**
   * Trains q(x | θ) by maximum likelihood (sbi defaults: batch 200, Adam 5e-4,
   * 10% validation, patience 20, best weights restored, gradient clip 5).
   * @param options see {@linkcode NLETrainOptions}
   * @returns the training summary (`loss: "ml"`, `round: 0`)
   * @throws {RangeError} with fewer than 2 simulations or bad options
   */
  async train(options: NLETrainOptions = {}): Promise<TrainingSummary> {
    const vf = options.validationFraction ?? 0.1;
    if (!(vf > 0 && vf < 1)) {
      throw new RangeError(`validationFraction must be in (0, 1), got ${vf}`);
    }
    const total = this.#sims.n;
    if (total < 2) {
      throw new RangeError(
        `need at least 2 valid simulations to train, got ${total}`,
      );
    }
    const dT = this.prior.dim, dX = this.#sims.xDim;
    const all = this.#sims.all();
    const rng = this.#rng.fork();
    const perm = rng.permutation(total);
    const nVal = Math.max(1, Math.floor(vf * total));
    // roles swapped: the buffer's "theta" is the modelled x, its "x" the context θ
    const { tr, va } = splitRows(all, dT, dX, perm, nVal, true);
    if (!this.#est || options.retrainFromScratch) {
      this.#est?.dispose();
      const z = zScoreStats(
        tr.theta.subarray(0, tr.n * dX),
        tr.x.subarray(0, tr.n * dT),
        tr.n,
      );
      this.#est = await DensityEstimator.create(this.densityEstimator, z, {
        ...this.#estOptions,
        embeddingNet: "none",
        seed: this.#seed,
      });
    }
    const res = await this.#est.train(tr, va, {
      trainingBatchSize: options.trainingBatchSize,
      learningRate: options.learningRate,
      stopAfterEpochs: options.stopAfterEpochs,
      maxEpochs: options.maxEpochs,
      clipMaxNorm: options.clipMaxNorm,
      resumeTraining: options.resumeTraining,
      showProgress: options.showProgress,
      loss: "ml",
      seed: rng.nextU32(),
    });
    return {
      epochs: res.epochs,
      bestValidationLoss: res.bestValidationLoss,
      validationLosses: res.validationLosses,
      trainingTime: res.trainingTime,
      samplesPerSecond: res.samplesPerSecond,
      nSimulations: total,
      nExcluded: this.#sims.nExcluded,
      nTrain: tr.n,
      nValidation: va.n,
      round: 0,
      loss: "ml",
      converged: res.converged,
      steps: res.steps,
      skippedSteps: res.skippedSteps,
      backend: activeBackend(),
    };
  }

  /**
   * Builds the MCMC posterior on log q(x_o | θ) + log p(θ). The posterior
   * gets its own copy of the estimator (so it survives further training and
   * `dispose()` of either object).
   * @param options see {@linkcode MCMCPosteriorOptions}
   * @returns the posterior
   * @throws {RangeError} before `train`
   */
  buildPosterior(options: MCMCPosteriorOptions = {}): MCMCPosterior {
    if (!this.#est) {
      throw new RangeError("NLE.buildPosterior: call train() first");
    }
    return new MCMCPosterior(this.#est.clone(), this.prior, {
      seed: this.#rng.nextU32(),
      ...options,
    });
  }

  /** Frees the estimator's tensors. */
  dispose(): void {
    this.#est?.dispose();
    this.#est = null;
  }
}
