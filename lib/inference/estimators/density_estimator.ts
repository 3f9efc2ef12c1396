/**
 * Conditional neural density estimators q(theta | x) on TensorFlow.js:
 * `maf`, `nsf`, `mdn` and `made`, with z-scoring of theta and x built in, an
 * optional embedding net for x, and sbi's training loop (Adam, validation
 * early stopping with best-weight restore, gradient-norm clipping). Only plain
 * typed arrays cross this API; tensors stay inside.
 * @module
 */
import * as tf from "./_deps.ts";
import { Rng } from "../../_internal/random.ts";
import type { RandomSource } from "../priors/prior.ts";
import { ProgressBar } from "../../_internal/progress.ts";
import { ensureBackend } from "./_backend.ts";
import type { SimulationBuffer } from "./simulation_buffer.ts";
import type { ConditionalModel } from "./_flow.ts";
import { MadeMog } from "./made.ts";
import { Maf } from "./maf.ts";
import { Mdn } from "./mdn.ts";
import {
  type Linear,
  mlp,
  Params,
  rebuildBudget,
  withAllocationBudget,
} from "./_nn.ts";
import { Nsf } from "./nsf.ts";
import {
  type BuiltinEmbeddingConfig,
  type BuiltinEmbeddingSpec,
  EmbeddingNet,
  isBuiltinEmbeddingSpec,
  poolTrialStats,
  resolveEmbedding,
} from "./embedding.ts";

/** Names of the built-in density estimators. */
export type DensityEstimatorKind = "maf" | "nsf" | "mdn" | "made";

/** Options of the fully-connected embedding net (sbi's `FCEmbedding`). */
export interface MlpEmbeddingOptions {
  /** Always `"mlp"`. */
  type: "mlp";
  /** Hidden units per layer. Default 50. */
  hiddenFeatures?: number;
  /** Number of hidden layers. Default 2. */
  numLayers?: number;
  /** Output (embedding) dimension. Default 20. */
  outputDim?: number;
}

/**
 * An embedding net for x: `"none"`, `"mlp"` (defaults), MLP options, a built-in
 * net (`{ type: "cnn" | "yulenet" | "gru" | "permutationInvariant", ... }`, see
 * `embedding.ts`), or a user TensorFlow.js layers model (opaque here: anything
 * with `apply(tensor)` and `trainableWeights`; it must come from the same tfjs
 * instance).
 */
export type EmbeddingNetSpec =
  | "none"
  | "mlp"
  | MlpEmbeddingOptions
  | BuiltinEmbeddingSpec
  | {
    apply: unknown;
    trainableWeights: unknown;
  };

/** Hyper-parameters of the estimators (defaults as in sbi). */
export interface DensityEstimatorOptions {
  /** Hidden units. Default 50. */
  hiddenFeatures?: number;
  /** Flow transforms (maf, nsf). Default 5. */
  numTransforms?: number;
  /** Spline bins (nsf). Default 10. */
  numBins?: number;
  /** Spline tail bound (nsf). Default 3. */
  tailBound?: number;
  /** Mixture components (mdn, made). Default 10. */
  numComponents?: number;
  /** Hidden blocks (maf: masked layers, nsf/made: residual blocks). Default 2. */
  numBlocks?: number;
  /**
   * maf only: batch normalisation before each masked hidden block, as sbi's MAF
   * until mid-2021 (the sbibm benchmark's setting). Default false (sbi today).
   */
  batchNorm?: boolean;
  /** Embedding net for x. Default `"mlp"` when x has more than 50 dimensions, else `"none"`. */
  embeddingNet?: EmbeddingNetSpec;
  /** Seed of the weight initialisation. Default 0. */
  seed?: number;
  /**
   * Learn imputation values for NaN features of x (Lueckmann et al. 2017): a NaN
   * feature is replaced, after z-scoring, by a trainable value. Default false.
   */
  imputeMissingX?: boolean;
  /** With `imputeMissingX`, also give the estimator a 0/1 missing-indicator per feature. Default false. */
  missingIndicator?: boolean;
}

/** Per-dimension z-scoring statistics (sbi's `z_score_theta/x="independent"`). */
export interface ZScoreStats {
  /** Means of theta. */
  thetaMean: number[];
  /** Standard deviations of theta. */
  thetaStd: number[];
  /** Means of x. */
  xMean: number[];
  /** Standard deviations of x. */
  xStd: number[];
}

/** Serializable configuration of an estimator (everything except weights). */
export interface EstimatorConfig {
  /** Estimator kind. */
  kind: DensityEstimatorKind;
  /** Parameter dimension. */
  thetaDim: number;
  /** Data dimension. */
  xDim: number;
  /** Resolved hyper-parameters. */
  hiddenFeatures: number;
  /** Flow transforms. */
  numTransforms: number;
  /** Spline bins. */
  numBins: number;
  /** Tail bound. */
  tailBound: number;
  /** Mixture components. */
  numComponents: number;
  /** Hidden blocks. */
  numBlocks: number;
  /** Batch norm in the MAF's MADE blocks (absent: off). */
  batchNorm?: boolean;
  /** Embedding net description (`user` = a tfjs model that must be supplied again when loading). */
  embedding:
    | { type: "none" }
    | {
      type: "mlp";
      hiddenFeatures: number;
      numLayers: number;
      outputDim: number;
    }
    | BuiltinEmbeddingConfig
    | {
      type: "user";
    };
  /** NaN imputation of x (absent: off); the imputation values are the last weight array. */
  imputation?: { indicator: boolean };
  /** Initialisation seed. */
  seed: number;
  /** z-scoring statistics. */
  zscore: ZScoreStats;
  /** Weight shapes in storage order. */
  weightShapes: number[][];
}

/** Options of {@linkcode DensityEstimator.train}. */
export interface EstimatorTrainOptions {
  /** Minibatch size. Default 200. */
  trainingBatchSize?: number;
  /** Adam learning rate. Default 5e-4. */
  learningRate?: number;
  /** Epochs without validation improvement before stopping. Default 20. */
  stopAfterEpochs?: number;
  /** Maximum number of epochs. Default 2^31 - 1. */
  maxEpochs?: number;
  /** Total gradient-norm clip. Default 5. */
  clipMaxNorm?: number;
  /** `"ml"` (maximum likelihood) or `"atomic"` (APT, Greenberg et al. 2019). Default `"ml"`. */
  loss?: "ml" | "atomic";
  /** Atoms of the atomic loss. Default 10. */
  numAtoms?: number;
  /** Keep the Adam state of the previous call. Default false. */
  resumeTraining?: boolean;
  /** Draw a progress bar on stderr. Default true (only drawn on a terminal). */
  showProgress?: boolean;
  /** Seed of shuffling and atom selection. Default 0. */
  seed?: number;
  /**
   * Streaming hook called before each epoch: moves newly arrived rows into the
   * buffers and resolves to true once the stream is finished.
   */
  feed?: () => Promise<boolean>;
}

/** What {@linkcode DensityEstimator.train} returns. */
export interface EstimatorTrainResult {
  /** Epochs run. */
  epochs: number;
  /** Best validation loss (mean negative log-density in theta space; atomic loss for APT). */
  bestValidationLoss: number;
  /** Validation loss per epoch. */
  validationLosses: number[];
  /** Mean training loss per epoch. */
  trainingLosses: number[];
  /** Wall time of training in seconds. */
  trainingTime: number;
  /** Training rows processed per second (forward + backward + Adam). */
  samplesPerSecond: number;
  /** True when stopped by the patience criterion. */
  converged: boolean;
  /** Optimisation steps attempted (minibatches trained on). */
  steps: number;
  /**
   * Steps skipped because the gradient was not finite (NaN/Infinity); the
   * weights were left unchanged for them. More than
   * {@linkcode SKIPPED_STEPS_WARN_FRACTION} of the steps prints a warning.
   */
  skippedSteps: number;
}

/** Fraction of skipped (non-finite gradient) steps above which training warns. */
export const SKIPPED_STEPS_WARN_FRACTION = 0.01;

/**
 * Steps and skipped steps of `opt` since a snapshot, with a warning when
 * more than {@linkcode SKIPPED_STEPS_WARN_FRACTION} were skipped.
 * @param opt the optimizer
 * @param before its `steps` and `skipped` when training started
 * @param label what was trained (for the warning)
 * @returns the counts for the training summary
 */
export function skippedStepSummary(
  opt: Adam,
  before: { steps: number; skipped: number },
  label: string,
): { steps: number; skippedSteps: number } {
  const steps = opt.steps - before.steps;
  const skippedSteps = opt.skipped - before.skipped;
  if (steps > 0 && skippedSteps > SKIPPED_STEPS_WARN_FRACTION * steps) {
    console.warn(
      `neurofit: ${label}: ${skippedSteps} of ${steps} training steps ` +
        `(${(100 * skippedSteps / steps).toFixed(1)}%) were skipped because ` +
        `the gradient was not finite; the training data may contain extreme ` +
        `values or the learning rate may be too high`,
    );
  }
  return { steps, skippedSteps };
}

/**
 * Computes independent z-score statistics of theta and x rows (std floored at
 * 1e-14 -> 1, as sbi).
 * @param theta theta rows, `n * dTheta`
 * @param x x rows, `n * dX`
 * @param n number of rows
 * @returns the statistics
 * @throws {RangeError} if `n < 1`
 */
export function zScoreStats(
  theta: Float32Array,
  x: Float32Array,
  n: number,
): ZScoreStats {
  if (n < 1) {
    throw new RangeError(`need at least one simulation to z-score, got ${n}`);
  }
  const stats = (a: Float32Array, d: number) => {
    // non-finite values (missing features to impute) are left out per column
    const mean = new Array(d).fill(0);
    const sd = new Array(d).fill(0);
    const cnt = new Array(d).fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = a[i * d + j];
        if (Number.isFinite(v)) {
          mean[j] += v;
          cnt[j]++;
        }
      }
    }
    for (let j = 0; j < d; j++) mean[j] = cnt[j] ? mean[j] / cnt[j] : 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = a[i * d + j];
        if (Number.isFinite(v)) sd[j] += (v - mean[j]) ** 2;
      }
    }
    for (let j = 0; j < d; j++) {
      sd[j] = Math.sqrt(sd[j] / Math.max(1, cnt[j] - 1));
      if (!(sd[j] > 1e-14)) sd[j] = 1;
      mean[j] = Math.fround(mean[j]);
      sd[j] = Math.fround(sd[j]);
    }
    return { mean, sd };
  };
  const dTheta = theta.length / n;
  const dX = x.length / n;
  const t = stats(theta, dTheta);
  const xs = stats(x, dX);
  return { thetaMean: t.mean, thetaStd: t.sd, xMean: xs.mean, xStd: xs.sd };
}

interface UserModel {
  apply(x: tf.Tensor): tf.Tensor;
  trainableWeights: { read(): tf.Variable }[];
  outputs?: { shape: (number | null)[] }[];
}

/** A trained or trainable conditional density estimator q(theta | x). */
export class DensityEstimator {
  /** The configuration (kind, dims, z-score statistics, hyper-parameters). */
  readonly config: EstimatorConfig;
  #model: ConditionalModel;
  #embed: Params | null;
  #embedLayers: Linear[] = [];
  #embedNet: EmbeddingNet | null = null;
  #impute: Params | null = null;
  #user: UserModel | null = null;
  #vars: tf.Variable[];
  #tMean: tf.Tensor2D;
  #tStd: tf.Tensor2D;
  #xMean: tf.Tensor2D;
  #xStd: tf.Tensor2D;
  #logStdSum: number;
  #masks: (Float32Array | null)[];
  #adam: Adam | null = null;
  #disposed = false;

  private constructor(
    config: EstimatorConfig,
    model: ConditionalModel,
    embed: Params | null,
    user: UserModel | null,
  ) {
    this.config = config;
    this.#model = model;
    this.#embed = embed;
    this.#user = user;
    const z = config.zscore;
    this.#tMean = tf.keep(tf.tensor2d(z.thetaMean, [1, config.thetaDim]));
    this.#tStd = tf.keep(tf.tensor2d(z.thetaStd, [1, config.thetaDim]));
    this.#xMean = tf.keep(tf.tensor2d(z.xMean, [1, config.xDim]));
    this.#xStd = tf.keep(tf.tensor2d(z.xStd, [1, config.xDim]));
    this.#logStdSum = z.thetaStd.reduce((a, s) => a + Math.log(s), 0);
    this.#vars = [
      ...(embed ? embed.vars : []),
      ...(user ? user.trainableWeights.map((w) => w.read()) : []),
      ...model.params.vars,
    ];
    this.#masks = [
      ...(embed ? embed.masks : []),
      ...(user ? user.trainableWeights.map(() => null) : []),
      ...model.params.masks,
    ];
  }

  /**
   * Builds an untrained estimator (initialises the tfjs backend first).
   * @param kind `"maf" | "nsf" | "mdn" | "made"`
   * @param zscore z-score statistics (their lengths fix the dimensions)
   * @param options hyper-parameters
   * @returns the estimator
   * @throws {RangeError} for an unknown kind or bad hyper-parameters
   * @example
   * ```ts
   * import { DensityEstimator, zScoreStats } from "./density_estimator.ts";
   * const theta = new Float32Array([0, 1, 2, 3]);
   * const x = new Float32Array([0, 1, 2, 3]);
   * const est = await DensityEstimator.create("mdn", zScoreStats(theta, x, 4));
   * console.log(est.logProb(theta, x, 4).length); // 4
   * est.dispose();
   * ```
   */
  static async create(
    kind: DensityEstimatorKind,
    zscore: ZScoreStats,
    options: DensityEstimatorOptions = {},
  ): Promise<DensityEstimator> {
    await ensureBackend();
    if (!["maf", "nsf", "mdn", "made"].includes(kind)) {
      throw new RangeError(
        `unknown density estimator ${
          JSON.stringify(kind)
        }; use "maf", "nsf", "mdn" or "made"`,
      );
    }
    const thetaDim = zscore.thetaMean.length;
    const xDim = zscore.xMean.length;
    const posInt = (name: string, v: number | undefined, def: number) => {
      const r = v ?? def;
      if (!Number.isInteger(r) || r < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${r}`);
      }
      return r;
    };
    const seed = options.seed ?? 0;
    const spec = options.embeddingNet ?? (xDim > 50 ? "mlp" : "none");
    let embedding: EstimatorConfig["embedding"];
    let user: UserModel | null = null;
    if (spec === "none") embedding = { type: "none" };
    else if (
      spec === "mlp" ||
      (typeof spec === "object" && (spec as MlpEmbeddingOptions).type === "mlp")
    ) {
      const o = spec === "mlp"
        ? { type: "mlp" as const }
        : spec as MlpEmbeddingOptions;
      embedding = {
        type: "mlp",
        hiddenFeatures: posInt(
          "embedding hiddenFeatures",
          o.hiddenFeatures,
          50,
        ),
        numLayers: posInt("embedding numLayers", o.numLayers, 2),
        outputDim: posInt("embedding outputDim", o.outputDim, 20),
      };
    } else if (
      typeof spec === "object" &&
      typeof (spec as UserModel).apply === "function"
    ) {
      user = spec as unknown as UserModel;
      embedding = { type: "user" };
    } else if (isBuiltinEmbeddingSpec(spec)) {
      embedding = resolveEmbedding(spec, xDim);
    } else {throw new TypeError(
        `embeddingNet must be "none", "mlp", MLP options, { type: "cnn" | "yulenet" | "gru" | "permutationInvariant", ... } or a tfjs layers model; got ${
          JSON.stringify(spec)
        }`,
      );}
    const partial = {
      kind,
      thetaDim,
      xDim,
      hiddenFeatures: posInt("hiddenFeatures", options.hiddenFeatures, 50),
      numTransforms: posInt("numTransforms", options.numTransforms, 5),
      numBins: posInt("numBins", options.numBins, 10),
      tailBound: options.tailBound ?? 3,
      numComponents: posInt("numComponents", options.numComponents, 10),
      numBlocks: posInt("numBlocks", options.numBlocks, 2),
      ...(options.batchNorm ? { batchNorm: true } : {}),
      embedding,
      seed,
      zscore: {
        thetaMean: zscore.thetaMean.slice(),
        thetaStd: zscore.thetaStd.slice(),
        xMean: zscore.xMean.slice(),
        xStd: zscore.xStd.slice(),
      },
      ...(options.imputeMissingX
        ? { imputation: { indicator: options.missingIndicator === true } }
        : {}),
    };
    if (embedding.type === "permutationInvariant") {
      // same z-scoring for every trial keeps the net exactly permutation invariant
      const pooled = poolTrialStats(
        partial.zscore.xMean,
        partial.zscore.xStd,
        embedding.nTrials,
      );
      partial.zscore.xMean = pooled.mean;
      partial.zscore.xStd = pooled.std;
    }
    if (!(partial.tailBound > 0)) {
      throw new RangeError(`tailBound must be > 0, got ${partial.tailBound}`);
    }
    if (partial.batchNorm && kind !== "maf") {
      throw new RangeError(
        `batchNorm is an option of "maf", not of ${JSON.stringify(kind)}`,
      );
    }
    if (partial.numBins < 2) {
      throw new RangeError(`numBins must be >= 2, got ${partial.numBins}`);
    }
    return DensityEstimator.#build({ ...partial, weightShapes: [] }, user);
  }

  static #build(
    cfg: EstimatorConfig,
    user: UserModel | null,
  ): DensityEstimator {
    let embed: Params | null = null;
    let embedNet: EmbeddingNet | null = null;
    const layers: Linear[] = [];
    let ctxDim = cfg.xDim;
    if (cfg.embedding.type === "mlp") {
      const e = cfg.embedding;
      embed = new Params(cfg.seed + 7919);
      let inp = cfg.xDim;
      for (let l = 0; l < e.numLayers; l++) {
        layers.push(embed.linear(`embed${l}`, inp, e.hiddenFeatures));
        inp = e.hiddenFeatures;
      }
      layers.push(embed.linear("embed.out", inp, e.outputDim));
      ctxDim = e.outputDim;
    } else if (cfg.embedding.type === "user") {
      if (!user) {
        throw new TypeError(
          "this estimator uses a user embedding net; pass it again as `embeddingNet`",
        );
      }
      const probe = tf.tidy(() => user.apply(tf.zeros([1, cfg.xDim])).shape);
      if (probe.length !== 2) {
        throw new TypeError(
          `embedding net must output [batch, features], got ${probe}`,
        );
      }
      ctxDim = probe[1];
    } else if (cfg.embedding.type !== "none") {
      embed = new Params(cfg.seed + 7919);
      const net = new EmbeddingNet(cfg.embedding, cfg.xDim, embed);
      embedNet = net;
      ctxDim = net.outputDim;
    }
    if (cfg.imputation?.indicator) ctxDim += cfg.xDim;
    const d = cfg.thetaDim;
    let model: ConditionalModel;
    switch (cfg.kind) {
      case "maf":
        model = new Maf(d, ctxDim, cfg, cfg.seed);
        break;
      case "nsf":
        model = new Nsf(d, ctxDim, cfg, cfg.seed);
        break;
      case "mdn":
        model = new Mdn(d, ctxDim, cfg, cfg.seed);
        break;
      default:
        model = new MadeMog(d, ctxDim, cfg, cfg.seed);
    }
    const est = new DensityEstimator(cfg, model, embed, user);
    est.#embedLayers = layers;
    est.#embedNet = embedNet;
    if (cfg.imputation) {
      // trainable imputation values in z-scored space, initialised at 0 (the mean)
      est.#impute = new Params(cfg.seed + 104729);
      est.#vars.push(
        est.#impute.add("impute", [1, cfg.xDim], new Float32Array(cfg.xDim)),
      );
      est.#masks.push(null);
    }
    cfg.weightShapes = est.#vars.map((v) => v.shape.slice());
    return est;
  }

  /**
   * Rebuilds an estimator from its configuration and weights (as produced by
   * {@linkcode DensityEstimator.config} and {@linkcode DensityEstimator.getWeights}).
   * @param config the configuration
   * @param weights weight arrays in `config.weightShapes` order
   * @param embeddingNet the user tfjs embedding model, when the config says `user`
   * @returns the estimator
   * @throws {TypeError} if the weights do not match the configuration
   */
  static async fromConfig(
    config: EstimatorConfig,
    weights: Float32Array[],
    embeddingNet?: EmbeddingNetSpec,
  ): Promise<DensityEstimator> {
    await ensureBackend();
    const cfg: EstimatorConfig = JSON.parse(JSON.stringify(config));
    const expected = cfg.weightShapes;
    // a configuration cannot describe a network much larger than its weights
    // (a corrupt or crafted file): the build stops before allocating more
    const est = withAllocationBudget(
      rebuildBudget(weights),
      () =>
        DensityEstimator.#build(
          cfg,
          (embeddingNet as unknown as UserModel) ?? null,
        ),
    );
    if (JSON.stringify(est.config.weightShapes) !== JSON.stringify(expected)) {
      est.dispose();
      throw new TypeError(
        "weight shapes in the file do not match the rebuilt estimator",
      );
    }
    est.setWeights(weights);
    return est;
  }

  /**
   * A deep copy with the same configuration and current weights (no optimizer
   * state). A user embedding model is shared, not copied.
   * @returns the copy
   */
  clone(): DensityEstimator {
    this.#check();
    const cfg: EstimatorConfig = JSON.parse(JSON.stringify(this.config));
    const est = DensityEstimator.#build(cfg, this.#user);
    est.setWeights(this.getWeights());
    return est;
  }

  /** Number of trainable parameters. */
  get numParameters(): number {
    // batch-norm running statistics (all-zero masks) are buffers, not parameters
    return this.#vars.reduce(
      (a, v, i) => a + (this.#masks[i]?.every((m) => m === 0) ? 0 : v.size),
      0,
    );
  }

  #check(): void {
    if (this.#disposed) {
      throw new TypeError("this density estimator has been disposed");
    }
  }

  #context(x: tf.Tensor2D): tf.Tensor2D {
    let xz = tf.div(tf.sub(x, this.#xMean), this.#xStd) as tf.Tensor2D;
    let missing: tf.Tensor2D | null = null;
    if (this.#impute) {
      // Lueckmann et al. 2017: NaN features -> trainable values (z-scored space)
      const nan = tf.isNaN(x);
      missing = tf.cast(nan, "float32") as tf.Tensor2D;
      xz = tf.add(
        tf.where(nan, tf.zerosLike(xz), xz),
        tf.mul(missing, this.#impute.vars[0]),
      ) as tf.Tensor2D;
    }
    let ctx = xz;
    if (this.#embedLayers.length) ctx = mlp(this.#embedLayers, xz);
    else if (this.#embedNet) ctx = this.#embedNet.apply(xz);
    else if (this.#user) ctx = this.#user.apply(xz) as tf.Tensor2D;
    if (missing && this.config.imputation?.indicator) {
      ctx = tf.concat([ctx, missing], 1) as tf.Tensor2D;
    }
    return ctx;
  }

  #u(theta: tf.Tensor2D): tf.Tensor2D {
    return tf.div(tf.sub(theta, this.#tMean), this.#tStd) as tf.Tensor2D;
  }

  #xTensor(x: Float32Array, n: number): tf.Tensor2D {
    const dx = this.config.xDim;
    if (x.length === dx && n !== 1) {
      return tf.tile(tf.tensor2d(x, [1, dx]), [n, 1]) as tf.Tensor2D;
    }
    if (x.length !== n * dx) {
      throw new TypeError(
        `x has ${x.length} values; expected ${dx} (one row) or ${n}x${dx}`,
      );
    }
    return tf.tensor2d(x, [n, dx]);
  }

  /**
   * log q(theta | x) in the original (un-z-scored) parameter space.
   * @param theta `n * thetaDim` values
   * @param x `xDim` values (one observation for all rows) or `n * xDim`
   * @param n number of rows
   * @param chunk rows per tfjs call. Default 10,000
   * @returns one log-density per row
   * @throws {TypeError} on shape mismatch
   */
  logProb(
    theta: Float32Array,
    x: Float32Array,
    n: number,
    chunk = 10_000,
  ): Float64Array {
    this.#check();
    const d = this.config.thetaDim;
    if (theta.length !== n * d) {
      throw new TypeError(
        `theta has ${theta.length} values, expected ${n}x${d}`,
      );
    }
    const out = new Float64Array(n);
    const dx = this.config.xDim;
    const shared = x.length === dx;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const v = tf.tidy(() => {
        const t = tf.tensor2d(theta.subarray(s * d, (s + m) * d), [m, d]);
        const xt = shared
          ? this.#xTensor(x, m)
          : this.#xTensor(x.subarray(s * dx, (s + m) * dx), m);
        return this.#model.logProb(this.#u(t), this.#context(xt));
      });
      const a = v.dataSync();
      v.dispose();
      for (let i = 0; i < m; i++) out[s + i] = a[i] - this.#logStdSum;
    }
    return out;
  }

  /**
   * log q(theta | x) and its gradient with respect to theta.
   * @param theta `n * thetaDim` values
   * @param x `xDim` values (shared) or `n * xDim`
   * @param n number of rows
   * @returns values and gradients (`n * thetaDim`)
   */
  logProbWithGrad(
    theta: Float32Array,
    x: Float32Array,
    n: number,
  ): { value: Float64Array; grad: Float32Array } {
    this.#check();
    const d = this.config.thetaDim;
    const [v, g] = tf.tidy(() => {
      const t = tf.tensor2d(theta, [n, d]);
      const ctx = this.#context(this.#xTensor(x, n));
      const f = (tt: tf.Tensor) =>
        this.#model.logProb(this.#u(tt as tf.Tensor2D), ctx);
      const { value, grad } = tf.valueAndGrad(f)(t);
      return [value, grad];
    });
    const value = Float64Array.from(v.dataSync(), (a) => a - this.#logStdSum);
    const grad = (g.dataSync() as Float32Array).slice();
    tf.dispose([v, g]);
    return { value, grad };
  }

  /**
   * log q(theta | x) and its gradient with respect to the context x (through
   * the z-scoring and the embedding net). For NLE, x is the parameter vector
   * of the likelihood q(x_o | θ), so this is the gradient the HMC / NUTS
   * samplers need.
   * @param theta `n * thetaDim` values (the modelled variable)
   * @param x `xDim` values (one context for all rows) or `n * xDim`
   * @param n number of rows
   * @param chunk rows per tfjs call. Default 10,000
   * @returns values and gradients w.r.t. x (`n * xDim`, one row per row of theta)
   * @throws {TypeError} on shape mismatch
   */
  logProbWithContextGrad(
    theta: Float32Array,
    x: Float32Array,
    n: number,
    chunk = 10_000,
  ): { value: Float64Array; grad: Float32Array } {
    this.#check();
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    if (theta.length !== n * d) {
      throw new TypeError(
        `theta has ${theta.length} values, expected ${n}x${d}`,
      );
    }
    const shared = x.length === dx;
    const value = new Float64Array(n);
    const grad = new Float32Array(n * dx);
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const [v, g] = tf.tidy(() => {
        const u = this.#u(
          tf.tensor2d(theta.subarray(s * d, (s + m) * d), [m, d]),
        );
        const xt = shared
          ? this.#xTensor(x, m)
          : this.#xTensor(x.subarray(s * dx, (s + m) * dx), m);
        const f = (xx: tf.Tensor) =>
          this.#model.logProb(u, this.#context(xx as tf.Tensor2D));
        const { value, grad } = tf.valueAndGrad(f)(xt);
        return [value, grad];
      });
      const a = v.dataSync();
      for (let i = 0; i < m; i++) value[s + i] = a[i] - this.#logStdSum;
      grad.set(g.dataSync() as Float32Array, s * dx);
      tf.dispose([v, g]);
    }
    return { value, grad };
  }

  /**
   * Draws one sample per context row: with `x` a single row, `n` samples at that x;
   * with `n` rows of x, one sample for each.
   * @param n number of samples
   * @param x `xDim` values or `n * xDim`
   * @param rng seeded generator
   * @param chunk rows per tfjs call. Default 10,000
   * @returns `n * thetaDim` values in the original parameter space
   */
  sample(
    n: number,
    x: Float32Array,
    rng: RandomSource,
    chunk = 10_000,
  ): Float32Array {
    this.#check();
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    const shared = x.length === dx;
    const out = new Float32Array(n * d);
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const ctx = tf.tidy(() =>
        this.#context(
          shared
            ? this.#xTensor(x, m)
            : this.#xTensor(x.subarray(s * dx, (s + m) * dx), m),
        )
      );
      const u = this.#model.sample(ctx, rng as Rng);
      const th = tf.tidy(() => tf.add(tf.mul(u, this.#tStd), this.#tMean));
      out.set(th.dataSync(), s * d);
      tf.dispose([ctx, u, th]);
    }
    return out;
  }

  /**
   * Flows only: maps theta to the base (noise) space, `z = f(theta; x)` (z-scoring included).
   * @param theta `n * thetaDim` values
   * @param x `xDim` values or `n * xDim`
   * @param n number of rows
   * @returns z values
   * @throws {TypeError} for mixture estimators (mdn, made)
   */
  toNoise(theta: Float32Array, x: Float32Array, n: number): Float32Array {
    this.#check();
    const fwd = this.#model.forward?.bind(this.#model);
    if (!fwd) throw new TypeError(`${this.config.kind} is not a flow`);
    const z = tf.tidy(() => {
      const t = tf.tensor2d(theta, [n, this.config.thetaDim]);
      return fwd(this.#u(t), this.#context(this.#xTensor(x, n))).z;
    });
    const a = (z.dataSync() as Float32Array).slice();
    z.dispose();
    return a;
  }

  /**
   * Flows only: maps base samples back to theta (inverse of {@linkcode DensityEstimator.toNoise}).
   * @param z `n * thetaDim` values
   * @param x `xDim` values or `n * xDim`
   * @param n number of rows
   * @returns theta values
   * @throws {TypeError} for mixture estimators (mdn, made)
   */
  fromNoise(z: Float32Array, x: Float32Array, n: number): Float32Array {
    this.#check();
    const inv = this.#model.inverse?.bind(this.#model);
    if (!inv) throw new TypeError(`${this.config.kind} is not a flow`);
    const t = tf.tidy(() => {
      const u = inv(
        tf.tensor2d(z, [n, this.config.thetaDim]),
        this.#context(this.#xTensor(x, n)),
      );
      return tf.add(tf.mul(u, this.#tStd), this.#tMean);
    });
    const a = (t.dataSync() as Float32Array).slice();
    t.dispose();
    return a;
  }

  /**
   * Copies of all trainable weights (storage order of `config.weightShapes`).
   * @returns the weights
   */
  getWeights(): Float32Array[] {
    this.#check();
    return this.#vars.map((v) => (v.dataSync() as Float32Array).slice());
  }

  /**
   * Overwrites all trainable weights.
   * @param ws weights in `config.weightShapes` order
   * @throws {TypeError} on a count or size mismatch
   */
  setWeights(ws: Float32Array[]): void {
    this.#check();
    if (ws.length !== this.#vars.length) {
      throw new TypeError(
        `expected ${this.#vars.length} weight arrays, got ${ws.length}`,
      );
    }
    ws.forEach((w, i) => {
      if (w.length !== this.#vars[i].size) {
        throw new TypeError(
          `weight ${i} has ${w.length} values, expected ${this.#vars[i].size}`,
        );
      }
      tf.tidy(() =>
        this.#vars[i].assign(tf.tensor(w, this.#vars[i].shape, "float32"))
      );
    });
  }

  /**
   * Trains on the rows of `train`, validating on `val` after each epoch; stops after
   * `stopAfterEpochs` epochs without improvement and restores the best weights (sbi).
   * @param train training rows
   * @param val validation rows (at least one row)
   * @param options see {@linkcode EstimatorTrainOptions}
   * @returns a summary
   * @throws {RangeError} on bad options or empty buffers
   */
  async train(
    train: SimulationBuffer,
    val: SimulationBuffer,
    options: EstimatorTrainOptions = {},
  ): Promise<EstimatorTrainResult> {
    this.#check();
    const atomic = (options.loss ?? "ml") === "atomic";
    const numAtoms = options.numAtoms ?? 10;
    if (atomic && !(numAtoms >= 2)) {
      throw new RangeError(`numAtoms must be >= 2, got ${numAtoms}`);
    }
    // deno-lint-ignore no-this-alias
    const self = this;
    return await trainLoop(
      {
        label: `training ${this.config.kind}`,
        get adam() {
          return self.#adam;
        },
        set adam(a: Adam | null) {
          self.#adam = a;
        },
        masks: this.#masks,
        getWeights: () => this.getWeights(),
        setWeights: (ws) => this.setWeights(ws),
        minBatch: atomic ? 2 : 1,
        lossOffset: atomic ? 0 : this.#logStdSum,
        step: (opt, theta, x, lp, m, clip, rng) =>
          this.#step(opt, theta, x, lp, m, atomic, numAtoms, clip, rng),
        validationLoss: (v, rng) =>
          this.#validationLoss(v, atomic, numAtoms, rng),
      },
      train,
      val,
      options,
    );
  }

  /** Per-row loss terms (negative log-density, or APT's atomic loss) as a tensor `[m]`. */
  #lossTerms(
    theta: tf.Tensor2D,
    x: tf.Tensor2D,
    logPrior: tf.Tensor1D | null,
    atoms: Int32Array | null,
    m: number,
    a: number,
  ): tf.Tensor1D {
    const ctx = this.#context(x);
    if (!atoms) return tf.neg(this.#model.logProb(this.#u(theta), ctx));
    // APT / NPE-C atomic loss (Greenberg, Nonnenmacher & Macke 2019, eq. 5; sbi npe_c.py):
    // atoms = the true theta_i plus a-1 other thetas of the batch; the proposal posterior is
    // q(theta_i|x_i)/p(theta_i) normalised over the atoms.
    const sel = tf.oneHot(tf.tensor1d(atoms, "int32"), m); // [m*a, m] constant selection
    const th = tf.matMul(sel, theta) as tf.Tensor2D;
    const lp = tf.reshape(tf.matMul(sel, tf.reshape(logPrior!, [m, 1])), [
      m,
      a,
    ]);
    const ctxRep = tf.reshape(tf.tile(tf.expandDims(ctx, 1), [1, a, 1]), [
      m * a,
      ctx.shape[1],
    ]) as tf.Tensor2D;
    const lq = tf.reshape(this.#model.logProb(this.#u(th), ctxRep), [m, a]);
    const un = tf.sub(lq, lp);
    return tf.neg(
      tf.sub(
        tf.reshape(tf.slice(un, [0, 0], [m, 1]), [m]),
        tf.logSumExp(un, 1),
      ),
    ) as tf.Tensor1D;
  }

  #atoms(
    m: number,
    numAtoms: number,
    rng: Rng,
  ): { idx: Int32Array; a: number } {
    const a = Math.min(numAtoms, m);
    const idx = new Int32Array(m * a);
    const used = new Int32Array(a);
    for (let i = 0; i < m; i++) {
      idx[i * a] = i;
      used[0] = i;
      for (let k = 1; k < a; k++) {
        let j: number;
        do j = Math.floor(rng.random() * m); while (
          used.subarray(0, k).includes(j)
        );
        used[k] = j;
        idx[i * a + k] = j;
      }
    }
    return { idx, a };
  }

  #step(
    opt: Adam,
    theta: Float32Array,
    x: Float32Array,
    lp: Float32Array,
    m: number,
    atomic: boolean,
    numAtoms: number,
    clip: number,
    rng: Rng,
  ): number {
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    const at = atomic ? this.#atoms(m, numAtoms, rng) : null;
    const model = this.#model;
    if (model.takeStatUpdates) model.training = true;
    try {
      return gradientStep(opt, this.#vars, () => {
        const tt = tf.tensor2d(theta.subarray(0, m * d), [m, d]);
        const xt = tf.tensor2d(x.subarray(0, m * dx), [m, dx]);
        const lpt = atomic ? tf.tensor1d(lp.subarray(0, m)) : null;
        return tf.mean(
          this.#lossTerms(tt, xt, lpt, at?.idx ?? null, m, at?.a ?? 1),
        ) as tf.Scalar;
      }, clip);
    } finally {
      if (model.takeStatUpdates) {
        model.training = false;
        // batch-norm running statistics: the optimiser's copy of the weights
        // (written back after every step) follows the model's variables
        const off = this.#vars.length - model.params.vars.length;
        for (const u of model.takeStatUpdates()) {
          opt.params[off + u.index].set(u.values);
        }
      }
    }
  }

  #validationLoss(
    val: SimulationBuffer,
    atomic: boolean,
    numAtoms: number,
    rng: Rng,
  ): number {
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    const chunk = atomic ? 200 : 5000;
    let sum = 0;
    let cnt = 0;
    for (let s = 0; s < val.n; s += chunk) {
      const m = Math.min(chunk, val.n - s);
      if (atomic && m < 2) continue;
      const at = atomic ? this.#atoms(m, numAtoms, rng) : null;
      const v = tf.tidy(() => {
        const tt = tf.tensor2d(val.theta.subarray(s * d, (s + m) * d), [m, d]);
        const xt = tf.tensor2d(val.x.subarray(s * dx, (s + m) * dx), [m, dx]);
        const lpt = atomic
          ? tf.tensor1d(val.logPrior.subarray(s, s + m))
          : null;
        return tf.sum(
          this.#lossTerms(tt, xt, lpt, at?.idx ?? null, m, at?.a ?? 1),
        );
      });
      sum += v.dataSync()[0];
      v.dispose();
      cnt += m;
    }
    return cnt ? sum / cnt + (atomic ? 0 : this.#logStdSum) : Infinity;
  }

  /** Frees all tensors (weights, optimizer state, constants). Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#adam = null;
    this.#model.params.dispose();
    this.#embed?.dispose();
    this.#impute?.dispose();
    tf.dispose([this.#tMean, this.#tStd, this.#xMean, this.#xStd]);
  }
}

/**
 * What {@linkcode trainLoop} needs from a model: its weights, one optimisation
 * step on a batch and the validation loss. Lets estimators other than
 * {@linkcode DensityEstimator} (e.g. the mixed estimator of MNLE) share sbi's
 * training loop.
 */
export interface TrainableModel {
  /** Progress-bar label. */
  readonly label: string;
  /** Adam state kept between calls (read, and replaced unless resuming). */
  adam: Adam | null;
  /** 0/1 masks parallel to the weights (null = dense). */
  readonly masks: (Float32Array | null)[];
  /** Copies of the trainable weights. */
  getWeights(): Float32Array[];
  /** Overwrites the trainable weights. */
  setWeights(ws: Float32Array[]): void;
  /** Smallest batch trained on (smaller last batches are skipped). */
  readonly minBatch: number;
  /** Constant added to the mean training loss when it is reported. */
  readonly lossOffset: number;
  /**
   * One optimisation step on the first `m` rows of the batch arrays.
   * @returns the mean batch loss
   */
  step(
    opt: Adam,
    theta: Float32Array,
    x: Float32Array,
    logPrior: Float32Array,
    m: number,
    clip: number,
    rng: Rng,
  ): number;
  /** Mean validation loss over all rows of `val`. */
  validationLoss(val: SimulationBuffer, rng: Rng): number;
}

/**
 * sbi's training loop (Adam, shuffled minibatches, validation after each
 * epoch, early stopping after `stopAfterEpochs` epochs without improvement,
 * best weights restored, optional streaming `feed`), shared by the
 * estimators. The rows' "theta" are the modelled variable, "x" the context.
 * @param model the model hooks
 * @param train training rows
 * @param val validation rows (at least one row)
 * @param options see {@linkcode EstimatorTrainOptions} (`loss`/`numAtoms` are the model's business)
 * @returns a summary
 * @throws {RangeError} on bad options or empty buffers
 */
export async function trainLoop(
  model: TrainableModel,
  train: SimulationBuffer,
  val: SimulationBuffer,
  options: EstimatorTrainOptions = {},
): Promise<EstimatorTrainResult> {
  const bs = options.trainingBatchSize ?? 200;
  const lr = options.learningRate ?? 5e-4;
  const patience = options.stopAfterEpochs ?? 20;
  const maxEpochs = options.maxEpochs ?? 2 ** 31 - 1;
  const clip = options.clipMaxNorm ?? 5;
  if (!Number.isInteger(bs) || bs < 1) {
    throw new RangeError(
      `trainingBatchSize must be a positive integer, got ${bs}`,
    );
  }
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new RangeError(`learningRate must be finite and > 0, got ${lr}`);
  }
  if (!(maxEpochs >= 1) || !Number.isInteger(maxEpochs)) {
    throw new RangeError(
      `maxEpochs must be a positive integer, got ${maxEpochs}`,
    );
  }
  if (!(patience >= 1) || !Number.isInteger(patience)) {
    throw new RangeError(
      `stopAfterEpochs must be a positive integer, got ${patience}`,
    );
  }
  if (!(clip > 0)) {
    throw new RangeError(`clipMaxNorm must be > 0, got ${clip}`);
  }
  const rng = new Rng(options.seed ?? 0);
  if (!options.resumeTraining || !model.adam) {
    model.adam = new Adam(model.getWeights(), model.masks);
  }
  const opt = model.adam;
  opt.lr = lr;
  const before = { steps: opt.steps, skipped: opt.skipped };
  const d = train.dTheta;
  const dx = train.dX;
  const bar = options.showProgress === false
    ? null
    : new ProgressBar(Math.min(maxEpochs, 1000), {
      label: model.label,
      unit: "epochs",
    });
  let best = Infinity;
  let bestWeights: Float32Array[] | null = null;
  let since = 0;
  let epochs = 0;
  let converged = false;
  let streamDone = !options.feed;
  const valLosses: number[] = [];
  const trainLosses: number[] = [];
  const t0 = performance.now();
  let trainRows = 0;
  let trainTime = 0;
  const bTheta = new Float32Array(bs * d);
  const bX = new Float32Array(bs * dx);
  const bLp = new Float32Array(bs);
  try {
    while (epochs < maxEpochs) {
      if (options.feed && !streamDone) {
        streamDone = await options.feed();
        if (streamDone) { // patience counts only on the complete data set
          best = Infinity;
          since = 0;
        }
      }
      if (train.n < 1 || val.n < 1) {
        throw new RangeError(
          `need training and validation rows, got ${train.n} and ${val.n}`,
        );
      }
      const ts = performance.now();
      const perm = rng.permutation(train.n);
      let lossSum = 0;
      let lossN = 0;
      for (let s = 0; s < train.n; s += bs) {
        const m = Math.min(bs, train.n - s);
        if (m < model.minBatch) continue;
        for (let i = 0; i < m; i++) {
          const r = perm[s + i];
          bTheta.set(train.theta.subarray(r * d, (r + 1) * d), i * d);
          bX.set(train.x.subarray(r * dx, (r + 1) * dx), i * dx);
          bLp[i] = train.logPrior[r];
        }
        const loss = model.step(opt, bTheta, bX, bLp, m, clip, rng);
        lossSum += loss * m;
        lossN += m;
      }
      trainTime += performance.now() - ts;
      trainRows += lossN;
      trainLosses.push(lossN ? lossSum / lossN + model.lossOffset : NaN);
      const v = model.validationLoss(val, rng);
      valLosses.push(v);
      epochs++;
      if (v < best) {
        best = v;
        since = 0;
        bestWeights = opt.params.map((p) => p.slice());
      } else if (streamDone) since++;
      bar?.tick(
        1,
        `val ${v.toFixed(4)} best ${best.toFixed(4)} wait ${since}/${patience}`,
      );
      if (streamDone && since >= patience) {
        converged = true;
        break;
      }
      // let a stream source make progress
      if (options.feed && !streamDone) {
        await new Promise((r) => setTimeout(r, 0));
      }
    }
  } finally {
    if (bestWeights) {
      model.setWeights(bestWeights);
      opt.params = bestWeights.map((p) => p.slice());
    }
  }
  return {
    epochs,
    bestValidationLoss: best,
    validationLosses: valLosses,
    trainingLosses: trainLosses,
    trainingTime: (performance.now() - t0) / 1000,
    samplesPerSecond: trainTime > 0 ? trainRows / (trainTime / 1000) : 0,
    converged,
    ...skippedStepSummary(opt, before, model.label),
  };
}

/**
 * One Adam step with total gradient-norm clipping on `vars`, minimising the
 * scalar `loss` (built inside; all intermediate tensors are freed). Adam runs
 * on the CPU: one read per gradient instead of ~15 tfjs kernels per variable
 * (kernel-launch overhead dominates at batch 200).
 * @param opt the optimizer (its `params` mirror `vars`)
 * @param vars trainable variables
 * @param loss builds the scalar loss
 * @param clip total gradient-norm clip
 * @returns the loss value
 */
export function gradientStep(
  opt: Adam,
  vars: tf.Variable[],
  loss: () => tf.Scalar,
  clip: number,
): number {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, vars);
    // variables outside the loss's graph (batch-norm running statistics while
    // training) get a zero gradient
    const g = vars.map((v) =>
      (grads[v.name]?.dataSync() as Float32Array | undefined) ??
        new Float32Array(v.size)
    );
    if (opt.step(g, clip)) {
      opt.params.forEach((p, i) =>
        vars[i].assign(tf.tensor(p, vars[i].shape, "float32"))
      );
    }
    return value.dataSync()[0];
  });
}

/**
 * Adam (Kingma & Ba 2015) as in torch.optim.Adam (eps 1e-8, bias correction)
 * after total gradient-norm clipping as torch.nn.utils.clip_grad_norm_
 * (`g *= max_norm / (norm + 1e-6)` when `norm > max_norm`). Masked entries
 * (MADE) receive zero gradient.
 */
export class Adam {
  params: Float32Array[];
  lr = 5e-4;
  #m: Float32Array[];
  #v: Float32Array[];
  #t = 0;
  #masks: (Float32Array | null)[];
  /** Steps attempted. */
  steps = 0;
  /** Steps skipped for a non-finite gradient. */
  skipped = 0;

  constructor(params: Float32Array[], masks: (Float32Array | null)[]) {
    this.params = params;
    this.#masks = masks;
    this.#m = params.map((p) => new Float32Array(p.length));
    this.#v = params.map((p) => new Float32Array(p.length));
  }

  /** Applies one step; returns false (and changes nothing) for a non-finite gradient. */
  step(grads: Float32Array[], clip: number): boolean {
    let sq = 0;
    for (let i = 0; i < grads.length; i++) {
      const g = grads[i];
      const mask = this.#masks[i];
      if (mask) {
        for (let j = 0; j < g.length; j++) sq += (g[j] * mask[j]) ** 2;
      } else for (let j = 0; j < g.length; j++) sq += g[j] * g[j];
    }
    const norm = Math.sqrt(sq);
    this.steps++;
    if (!Number.isFinite(norm)) {
      this.skipped++;
      return false;
    }
    const c = norm > clip ? clip / (norm + 1e-6) : 1;
    this.#t++;
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const bc1 = 1 - b1 ** this.#t;
    const bc2 = 1 - b2 ** this.#t;
    const stepSize = this.lr / bc1;
    const sbc2 = Math.sqrt(bc2);
    for (let i = 0; i < grads.length; i++) {
      const g = grads[i];
      const p = this.params[i];
      const m = this.#m[i];
      const v = this.#v[i];
      const mask = this.#masks[i];
      for (let j = 0; j < p.length; j++) {
        const gj = mask ? g[j] * c * mask[j] : g[j] * c;
        m[j] = b1 * m[j] + (1 - b1) * gj;
        v[j] = b2 * v[j] + (1 - b2) * gj * gj;
        p[j] -= stepSize * m[j] / (Math.sqrt(v[j]) / sbc2 + eps);
      }
    }
    return true;
  }
}
