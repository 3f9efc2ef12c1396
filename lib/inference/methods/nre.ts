/**
 * Neural ratio estimation: a classifier d(θ, x) learns to tell pairs drawn
 * jointly, (θ, x) ~ p(θ) p(x | θ), from pairs drawn from the product of the
 * marginals, p(θ) p(x); its logit then estimates the likelihood-to-evidence
 * ratio log r(x, θ) = log p(x | θ) / p(x), and the posterior is sampled by
 * MCMC on the potential log r(x_o, θ) + log p(θ) (for iid observations the
 * log-ratios add). Variants (sbi names, defaults as in sbi):
 * - {@linkcode NRE} = NRE-B / SRE (Durkan, Murray & Papamakarios 2020):
 *   1-out-of-10 contrastive softmax loss; the ratio is exact up to a function
 *   of x, which the posterior does not see;
 * - {@linkcode NRE_A} (AALR; Hermans, Begy & Louppe 2020): binary
 *   cross-entropy, one joint and one marginal pair per x;
 * - {@linkcode NRE_C} (CNRE; Miller, Weniger & Forré 2022): 1-out-of-(K+1)
 *   with K = 5 and γ = 1, exact ratio at the optimum;
 * - {@linkcode BNRE} (Delaunoy et al. 2022): NRE-A plus a balancing
 *   regulariser of weight 100 (more conservative posteriors).
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import type { MatrixLike } from "../matrix.ts";
import { SimulationStore, splitRows } from "./_simulations.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import { zScoreStats } from "../estimators/density_estimator.ts";
import {
  RatioClassifier,
  type RatioClassifierKind,
  type RatioClassifierOptions,
  type RatioLoss,
} from "../estimators/ratio_classifier.ts";
import { activeBackend } from "../estimators/_backend.ts";
import type { MCMCPosteriorOptions } from "../posteriors/mcmc_posterior.ts";
import { RatioPosterior } from "../posteriors/ratio_posterior.ts";

/** Options of the NRE classes. */
export interface NREOptions {
  /** The prior. */
  prior: Prior | UserPrior;
  /** `"resnet"` (default, as sbi), `"mlp"` or `"linear"`. */
  classifier?: RatioClassifierKind;
  /** Seed of initialisation, data split, shuffling, contrastive draws and sampling. Default 0. */
  seed?: number;
  /** Hyper-parameters of the classifier (hidden units, residual blocks). */
  classifierOptions?: Omit<RatioClassifierOptions, "seed">;
}

/** Options of `train` shared by all NRE variants (defaults as in sbi). */
export interface NRETrainOptions {
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

/** Options of {@linkcode NRE.train}. */
export interface NRE_BTrainOptions extends NRETrainOptions {
  /** Pairs per x in the contrastive loss (one joint). Default 10. */
  numAtoms?: number;
}

/** Options of {@linkcode NRE_C.train}. */
export interface NRE_CTrainOptions extends NRETrainOptions {
  /** K, the number of contrasting θ per term. Default 5. */
  numClasses?: number;
  /** Weight γ = K p_K / p_0 of the joint classes against the marginal one. Default 1. */
  gamma?: number;
}

/** Options of {@linkcode BNRE.train}. */
export interface BNRETrainOptions extends NRETrainOptions {
  /** Weight λ of the balancing regulariser. Default 100. */
  regularizationStrength?: number;
}

/** Training summary of the NRE variants (the fields of NPE's and NLE's summary). */
export interface NRETrainingSummary {
  /** Epochs run. */
  epochs: number;
  /** Best validation loss (of the classification loss used). */
  bestValidationLoss: number;
  /** Validation loss per epoch. */
  validationLosses: number[];
  /** Training wall time in seconds. */
  trainingTime: number;
  /** Training rows (x values) processed per second. */
  samplesPerSecond: number;
  /** Valid simulations available to this training run. */
  nSimulations: number;
  /** Simulations excluded because of NaN/Inf values. */
  nExcluded: number;
  /** Rows used for training. */
  nTrain: number;
  /** Rows used for validation. */
  nValidation: number;
  /** Round index (always 0: simulations of all proposals are pooled). */
  round: number;
  /** The loss used. */
  loss: RatioLoss["type"];
  /** True when stopped by the patience criterion (not maxEpochs). */
  converged: boolean;
  /** Optimisation steps (minibatches) of this training run. */
  steps: number;
  /**
   * Steps skipped for a non-finite gradient (weights unchanged); above 1% of
   * the steps training prints a warning.
   */
  skippedSteps: number;
  /** tfjs backend used. */
  backend: string;
}

/** Common part of the NRE variants (simulation store, training, posterior). */
export abstract class RatioEstimation {
  /** The prior. */
  readonly prior: Prior;
  /** Classifier architecture. */
  readonly classifier: RatioClassifierKind;
  #seed: number;
  #rng: Rng;
  #cOptions: Omit<RatioClassifierOptions, "seed">;
  #sims: SimulationStore;
  #net: RatioClassifier | null = null;

  /**
   * Creates the object from its options.
   * @param options see {@linkcode NREOptions}
   * @throws {TypeError} if the options or the prior are missing or invalid
   * @throws {RangeError} for an unknown classifier
   */
  constructor(options: NREOptions) {
    if (!options || typeof options !== "object") {
      throw new TypeError(
        `${new.target.name} needs an options object with a prior`,
      );
    }
    this.prior = asPrior(options.prior);
    this.#sims = new SimulationStore(this.prior.dim);
    const kind = options.classifier ?? "resnet";
    if (!["linear", "mlp", "resnet"].includes(kind)) {
      throw new RangeError(
        `unknown classifier ${
          JSON.stringify(kind)
        }; use "resnet", "mlp" or "linear"`,
      );
    }
    this.classifier = kind;
    this.#seed = options.seed ?? 0;
    if (!Number.isFinite(this.#seed)) {
      throw new TypeError(`seed must be a finite number, got ${this.#seed}`);
    }
    this.#rng = new Rng(this.#seed);
    this.#cOptions = options.classifierOptions ?? {};
  }

  /** Number of valid simulations appended so far. */
  get nSimulations(): number {
    return this.#sims.n;
  }

  /** Number of simulations excluded for NaN/Inf values. */
  get nExcluded(): number {
    return this.#sims.nExcluded;
  }

  /** The trained ratio classifier (null before `train`). */
  get ratioClassifier(): RatioClassifier | null {
    return this.#net;
  }

  /**
   * Adds simulations (from the prior or any other proposal). Rows with NaN or
   * infinite values are excluded and counted.
   * @param theta parameters, rows = simulations
   * @param x simulated data, rows = simulations
   * @returns this object
   * @throws {TypeError} on mismatched rows or dimensions
   */
  appendSimulations(theta: MatrixLike, x: MatrixLike): this {
    this.#sims.append(theta, x);
    return this;
  }

  /**
   * Trains the classifier with the given loss (used by the variants' `train`).
   * @param options common training options
   * @param loss the loss
   * @returns the training summary
   * @throws {RangeError} with too few simulations or bad options
   */
  protected async trainWithLoss(
    options: NRETrainOptions,
    loss: RatioLoss,
  ): Promise<NRETrainingSummary> {
    const vf = options.validationFraction ?? 0.1;
    if (!(vf > 0 && vf < 1)) {
      throw new RangeError(`validationFraction must be in (0, 1), got ${vf}`);
    }
    const total = this.#sims.n;
    const nVal = Math.max(2, Math.floor(vf * total));
    if (total - nVal < 2) {
      throw new RangeError(
        `need at least 2 training and 2 validation simulations, got ${total} valid simulations`,
      );
    }
    const dT = this.prior.dim, dX = this.#sims.xDim;
    const all = this.#sims.all();
    const rng = this.#rng.fork();
    const perm = rng.permutation(total);
    const { tr, va } = splitRows(all, dT, dX, perm, nVal, false);
    if (!this.#net || options.retrainFromScratch) {
      this.#net?.dispose();
      this.#net = null;
      const z = zScoreStats(
        tr.theta.subarray(0, tr.n * dT),
        tr.x.subarray(0, tr.n * dX),
        tr.n,
      );
      this.#net = await RatioClassifier.create(this.classifier, z, {
        ...this.#cOptions,
        seed: this.#seed,
      });
    }
    const res = await this.#net.train(tr, va, {
      loss,
      trainingBatchSize: options.trainingBatchSize,
      learningRate: options.learningRate,
      stopAfterEpochs: options.stopAfterEpochs,
      maxEpochs: options.maxEpochs,
      clipMaxNorm: options.clipMaxNorm,
      resumeTraining: options.resumeTraining,
      showProgress: options.showProgress,
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
      loss: loss.type,
      converged: res.converged,
      steps: res.steps,
      skippedSteps: res.skippedSteps,
      backend: activeBackend(),
    };
  }

  /**
   * Builds the MCMC posterior on log r(x_o, θ) + log p(θ). The posterior gets
   * its own copy of the classifier (it survives further training and
   * `dispose()` of either object).
   * @param options see {@linkcode MCMCPosteriorOptions}
   * @returns the posterior
   * @throws {RangeError} before `train`
   */
  buildPosterior(options: MCMCPosteriorOptions = {}): RatioPosterior {
    if (!this.#net) {
      throw new RangeError(
        `${this.constructor.name}.buildPosterior: call train() first`,
      );
    }
    return new RatioPosterior(this.#net.clone(), this.prior, {
      seed: this.#rng.nextU32(),
      ...options,
    });
  }

  /** Frees the classifier's tensors. */
  dispose(): void {
    this.#net?.dispose();
    this.#net = null;
  }
}

/**
 * NRE-B / SRE (Durkan, Murray & Papamakarios 2020, "On contrastive learning
 * for likelihood-free inference", ICML; sbi `NRE` = `NRE_B`): each x is
 * paired with its own θ and `numAtoms - 1` other θ of the batch, and the
 * classifier learns which pair is the joint one (softmax cross-entropy).
 */
export class NRE extends RatioEstimation {
  /**
   * Creates the object.
   * @param options see {@linkcode NREOptions}
   * @example
   * ```ts
   * import { NRE } from "./nre.ts";
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });
   * const theta = prior.sample(500, 1);
   * const x = theta.toArray().map(([a, b]) => [a, b]);
   * const nre = new NRE({ prior, classifier: "mlp", seed: 1 });
   * nre.appendSimulations(theta, x);
   * const summary = await nre.train({ maxEpochs: 2, showProgress: false });
   * const posterior = nre.buildPosterior({ warmupSteps: 20 });
   * const s = await posterior.sample(200, { x: [0.5, -0.5], seed: 2 });
   * console.log(summary.epochs, s.rows); // 2 200
   * posterior.dispose();
   * nre.dispose();
   * ```
   */
  constructor(options: NREOptions) {
    super(options);
  }

  /**
   * Trains the classifier with the 1-out-of-`numAtoms` contrastive loss.
   * @param options see {@linkcode NRE_BTrainOptions}
   * @returns the training summary (`loss: "nre_b"`)
   * @throws {RangeError} for bad options or too few simulations
   */
  train(options: NRE_BTrainOptions = {}): Promise<NRETrainingSummary> {
    return this.trainWithLoss(options, {
      type: "nre_b",
      numAtoms: options.numAtoms ?? 10,
    });
  }
}

/** Alias of {@linkcode NRE} under sbi's explicit name. */
export const NRE_B: typeof NRE = NRE;

/**
 * NRE-A / AALR (Hermans, Begy & Louppe 2020, "Likelihood-free MCMC with
 * amortized approximate ratio estimators", ICML; sbi `NRE_A`): binary
 * classification of joint pairs (label 1) against pairs with a θ from another
 * row of the batch (label 0).
 */
export class NRE_A extends RatioEstimation {
  /**
   * Creates the object.
   * @param options see {@linkcode NREOptions}
   */
  constructor(options: NREOptions) {
    super(options);
  }

  /**
   * Trains the classifier with binary cross-entropy.
   * @param options see {@linkcode NRETrainOptions}
   * @returns the training summary (`loss: "nre_a"`)
   * @throws {RangeError} for bad options or too few simulations
   */
  train(options: NRETrainOptions = {}): Promise<NRETrainingSummary> {
    return this.trainWithLoss(options, { type: "nre_a" });
  }
}

/**
 * NRE-C / CNRE (Miller, Weniger & Forré 2022, "Contrastive neural ratio
 * estimation", NeurIPS; sbi `NRE_C`): 1-out-of-(K+1) classification where
 * class 0 means "every pair is marginal"; the optimum is the exact ratio.
 */
export class NRE_C extends RatioEstimation {
  /**
   * Creates the object.
   * @param options see {@linkcode NREOptions}
   */
  constructor(options: NREOptions) {
    super(options);
  }

  /**
   * Trains the classifier with the NRE-C loss.
   * @param options see {@linkcode NRE_CTrainOptions}
   * @returns the training summary (`loss: "nre_c"`)
   * @throws {RangeError} for bad options or too few simulations
   */
  train(options: NRE_CTrainOptions = {}): Promise<NRETrainingSummary> {
    return this.trainWithLoss(options, {
      type: "nre_c",
      numClasses: options.numClasses ?? 5,
      gamma: options.gamma ?? 1,
    });
  }
}

/**
 * Balanced NRE (Delaunoy, Hermans, Rozet, Wehenkel & Louppe 2022, "Towards
 * reliable simulation-based inference with balanced neural ratio
 * estimation", NeurIPS; sbi `BNRE`): NRE-A plus λ (E_joint σ(d) +
 * E_marginal σ(d) − 1)², which pushes towards conservative posteriors.
 */
export class BNRE extends RatioEstimation {
  /**
   * Creates the object.
   * @param options see {@linkcode NREOptions}
   */
  constructor(options: NREOptions) {
    super(options);
  }

  /**
   * Trains the classifier with the balanced binary cross-entropy.
   * @param options see {@linkcode BNRETrainOptions}
   * @returns the training summary (`loss: "bnre"`)
   * @throws {RangeError} for bad options or too few simulations
   */
  train(options: BNRETrainOptions = {}): Promise<NRETrainingSummary> {
    return this.trainWithLoss(options, {
      type: "bnre",
      regularizationStrength: options.regularizationStrength ?? 100,
    });
  }
}
