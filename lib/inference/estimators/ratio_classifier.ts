/**
 * Ratio classifiers of neural ratio estimation on TensorFlow.js: a network
 * d(θ, x) whose logit estimates log r(x, θ) = log p(x | θ) / p(x). The three
 * architectures are sbi's (`sbi/neural_nets/net_builders/classifier.py`):
 * `linear` (one dense layer on the concatenated inputs), `mlp` (two hidden
 * layers of 50 units with LayerNorm and ReLU) and `resnet` (nflows
 * `ResidualNet`: input layer, 2 pre-activation residual blocks of 50 units
 * with near-zero initialised second layers, output layer; the default).
 * θ and x are z-scored inside the network with statistics of the training
 * data. The training loop is sbi's (Adam 5e-4, batch 200, gradient-norm clip
 * 5, validation early stopping with best-weight restore) with the losses of
 * NRE-A (Hermans et al. 2020), NRE-B (Durkan et al. 2020), NRE-C (Miller et
 * al. 2022) and BNRE (Delaunoy et al. 2022). Only typed arrays cross this API.
 * @module
 */
import * as tf from "./_deps.ts";
import { Rng } from "../../_internal/random.ts";
import { ProgressBar } from "../../_internal/progress.ts";
import { ensureBackend } from "./_backend.ts";
import type { SimulationBuffer } from "./simulation_buffer.ts";
import {
  dense,
  type Linear,
  Params,
  rebuildBudget,
  withAllocationBudget,
} from "./_nn.ts";
import {
  Adam,
  type EstimatorTrainResult,
  skippedStepSummary,
  type ZScoreStats,
} from "./density_estimator.ts";

/** Names of the built-in ratio classifiers. */
export type RatioClassifierKind = "linear" | "mlp" | "resnet";

/** Hyper-parameters of the ratio classifiers (defaults as in sbi). */
export interface RatioClassifierOptions {
  /** Hidden units (mlp, resnet). Default 50. */
  hiddenFeatures?: number;
  /** Residual blocks (resnet). Default 2. */
  numBlocks?: number;
  /** Seed of the weight initialisation. Default 0. */
  seed?: number;
}

/** Serializable configuration of a ratio classifier (everything except weights). */
export interface RatioClassifierConfig {
  /** Architecture. */
  kind: RatioClassifierKind;
  /** Parameter dimension. */
  thetaDim: number;
  /** Data dimension. */
  xDim: number;
  /** Hidden units. */
  hiddenFeatures: number;
  /** Residual blocks. */
  numBlocks: number;
  /** Initialisation seed. */
  seed: number;
  /** z-scoring statistics of θ and x. */
  zscore: ZScoreStats;
  /** Weight shapes in storage order. */
  weightShapes: number[][];
}

/**
 * The classification loss:
 * - `nre_a`: binary cross-entropy of one joint against one marginal pair per
 *   x (Hermans, Begy & Louppe 2020, "Likelihood-free MCMC with amortized
 *   approximate ratio estimators"; sbi `NRE_A`);
 * - `nre_b`: softmax cross-entropy, 1 joint out of `numAtoms` pairs sharing x
 *   (Durkan, Murray & Papamakarios 2020, "On contrastive learning for
 *   likelihood-free inference"; sbi `NRE_B`, default 10 atoms);
 * - `nre_c`: 1-out-of-(K+1) classification with an extra "all marginal"
 *   class of weight 1/(1+γ) (Miller, Weniger & Forré 2022, "Contrastive neural
 *   ratio estimation", eq. 7; sbi `NRE_C`, K = 5, γ = 1);
 * - `bnre`: `nre_a` plus λ (mean(σ(joint)) + mean(σ(marginal)) − 1)²
 *   (Delaunoy et al. 2022, "Towards reliable simulation-based inference with
 *   balanced neural ratio estimation"; sbi `BNRE`, λ = 100).
 */
export type RatioLoss =
  | { type: "nre_a" }
  | { type: "nre_b"; numAtoms: number }
  | { type: "nre_c"; numClasses: number; gamma: number }
  | { type: "bnre"; regularizationStrength: number };

/** Options of {@linkcode RatioClassifier.train}. */
export interface RatioTrainOptions {
  /** The loss. */
  loss: RatioLoss;
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
  /** Keep the Adam state of the previous call. Default false. */
  resumeTraining?: boolean;
  /** Draw a progress bar on stderr. Default true (only drawn on a terminal). */
  showProgress?: boolean;
  /** Seed of shuffling and contrastive draws. Default 0. */
  seed?: number;
}

/** Architectures. */
const KINDS: RatioClassifierKind[] = ["linear", "mlp", "resnet"];

/**
 * Checks a loss description and returns the number of θ per x it needs (the
 * joint one included): 2 (NRE-A, BNRE), `numAtoms` (NRE-B) or 2K + 1 (NRE-C:
 * K + 1 for the marginal term and K for the joint term, drawn independently
 * as in sbi).
 * @param loss the loss
 * @returns atoms per x
 * @throws {RangeError} for bad loss parameters
 */
export function ratioLossAtoms(loss: RatioLoss): number {
  switch (loss?.type) {
    case "nre_a":
      return 2;
    case "bnre":
      if (!(loss.regularizationStrength >= 0)) {
        throw new RangeError(
          `regularizationStrength must be >= 0, got ${loss.regularizationStrength}`,
        );
      }
      return 2;
    case "nre_b":
      if (!Number.isInteger(loss.numAtoms) || loss.numAtoms < 2) {
        throw new RangeError(
          `numAtoms must be an integer >= 2, got ${loss.numAtoms}`,
        );
      }
      return loss.numAtoms;
    case "nre_c":
      if (!Number.isInteger(loss.numClasses) || loss.numClasses < 1) {
        throw new RangeError(
          `numClasses must be an integer >= 1, got ${loss.numClasses}`,
        );
      }
      if (!(loss.gamma > 0) || !Number.isFinite(loss.gamma)) {
        throw new RangeError(`gamma must be > 0, got ${loss.gamma}`);
      }
      return 2 * loss.numClasses + 1;
    default:
      throw new RangeError(
        `unknown ratio loss ${
          JSON.stringify((loss as { type?: unknown })?.type)
        }; use "nre_a", "nre_b", "nre_c" or "bnre"`,
      );
  }
}

/** A trainable classifier d(θ, x) whose logit estimates log p(x | θ) / p(x). */
export class RatioClassifier {
  /** The configuration (kind, dims, z-score statistics, hyper-parameters). */
  readonly config: RatioClassifierConfig;
  #params: Params;
  #input: Linear | null = null; // mlp / resnet input layer
  #hidden: Linear[] = []; // mlp second layer; resnet block layers (2 per block)
  #norms: { g: tf.Variable; b: tf.Variable }[] = []; // mlp LayerNorms
  #out: Linear;
  #mean: tf.Tensor2D;
  #std: tf.Tensor2D;
  #adam: Adam | null = null;
  #disposed = false;

  private constructor(cfg: RatioClassifierConfig) {
    this.config = cfg;
    const p = (this.#params = new Params(cfg.seed));
    const din = cfg.thetaDim + cfg.xDim;
    const h = cfg.hiddenFeatures;
    if (cfg.kind === "linear") {
      this.#out = p.linear("lin", din, 1);
    } else if (cfg.kind === "mlp") {
      // sbi build_mlp_classifier: Linear-Norm-ReLU-Linear-Norm-ReLU-Linear
      this.#input = p.linear("mlp.l0", din, h);
      this.#norms.push({
        g: p.add("mlp.ln0.g", [h], new Float32Array(h).fill(1)),
        b: p.add("mlp.ln0.b", [h], new Float32Array(h)),
      });
      this.#hidden.push(p.linear("mlp.l1", h, h));
      this.#norms.push({
        g: p.add("mlp.ln1.g", [h], new Float32Array(h).fill(1)),
        b: p.add("mlp.ln1.b", [h], new Float32Array(h)),
      });
      this.#out = p.linear("mlp.out", h, 1);
    } else {
      // nflows ResidualNet without context: initial linear, blocks of
      // relu-linear-relu-linear (second linear U(-1e-3, 1e-3)), final linear
      this.#input = p.linear("res.in", din, h);
      for (let b = 0; b < cfg.numBlocks; b++) {
        this.#hidden.push(p.linear(`res.block${b}.l0`, h, h));
        this.#hidden.push(p.linear(`res.block${b}.l1`, h, h, 1e-3));
      }
      this.#out = p.linear("res.out", h, 1);
    }
    const z = cfg.zscore;
    this.#mean = tf.keep(
      tf.tensor2d([...z.thetaMean, ...z.xMean], [1, din], "float32"),
    );
    this.#std = tf.keep(
      tf.tensor2d([...z.thetaStd, ...z.xStd], [1, din], "float32"),
    );
    cfg.weightShapes = p.vars.map((v) => v.shape.slice());
  }

  /**
   * Builds an untrained classifier (initialises the tfjs backend first).
   * @param kind `"linear" | "mlp" | "resnet"`
   * @param zscore z-score statistics of θ and x (their lengths fix the dimensions)
   * @param options hyper-parameters
   * @returns the classifier
   * @throws {RangeError} for an unknown kind or bad hyper-parameters
   * @example
   * ```ts
   * import { RatioClassifier } from "./ratio_classifier.ts";
   * import { zScoreStats } from "./density_estimator.ts";
   * const theta = new Float32Array([0, 1, 2, 3]);
   * const x = new Float32Array([0, 1, 2, 3]);
   * const c = await RatioClassifier.create("mlp", zScoreStats(theta, x, 4));
   * console.log(c.logits(theta, x, 4).length); // 4
   * c.dispose();
   * ```
   */
  static async create(
    kind: RatioClassifierKind,
    zscore: ZScoreStats,
    options: RatioClassifierOptions = {},
  ): Promise<RatioClassifier> {
    await ensureBackend();
    if (!KINDS.includes(kind)) {
      throw new RangeError(
        `unknown ratio classifier ${
          JSON.stringify(kind)
        }; use "linear", "mlp" or "resnet"`,
      );
    }
    const posInt = (name: string, v: number | undefined, def: number) => {
      const r = v ?? def;
      if (!Number.isInteger(r) || r < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${r}`);
      }
      return r;
    };
    const thetaDim = zscore.thetaMean.length;
    const xDim = zscore.xMean.length;
    if (thetaDim < 1 || xDim < 1) {
      throw new RangeError(
        `theta and x need at least one dimension, got ${thetaDim} and ${xDim}`,
      );
    }
    return new RatioClassifier({
      kind,
      thetaDim,
      xDim,
      hiddenFeatures: posInt("hiddenFeatures", options.hiddenFeatures, 50),
      numBlocks: posInt("numBlocks", options.numBlocks, 2),
      seed: options.seed ?? 0,
      zscore: {
        thetaMean: zscore.thetaMean.slice(),
        thetaStd: zscore.thetaStd.slice(),
        xMean: zscore.xMean.slice(),
        xStd: zscore.xStd.slice(),
      },
      weightShapes: [],
    });
  }

  /**
   * Rebuilds a classifier from its configuration and weights.
   * @param config the configuration ({@linkcode RatioClassifier.config})
   * @param weights weight arrays in `config.weightShapes` order
   * @returns the classifier
   * @throws {TypeError} if the weights do not match the configuration
   * @throws {RangeError} for an unknown kind
   */
  static async fromConfig(
    config: RatioClassifierConfig,
    weights: Float32Array[],
  ): Promise<RatioClassifier> {
    await ensureBackend();
    const cfg: RatioClassifierConfig = JSON.parse(JSON.stringify(config));
    if (!KINDS.includes(cfg.kind)) {
      throw new RangeError(
        `unknown ratio classifier ${JSON.stringify(cfg.kind)} in config`,
      );
    }
    const expected = JSON.stringify(cfg.weightShapes);
    const c = withAllocationBudget(
      rebuildBudget(weights),
      () => new RatioClassifier(cfg),
    );
    if (JSON.stringify(c.config.weightShapes) !== expected) {
      c.dispose();
      throw new TypeError(
        "weight shapes do not match the rebuilt ratio classifier",
      );
    }
    try {
      c.setWeights(weights);
    } catch (e) {
      c.dispose();
      throw e;
    }
    return c;
  }

  /**
   * A deep copy with the same configuration and current weights (no optimizer state).
   * @returns the copy
   */
  clone(): RatioClassifier {
    this.#check();
    const c = new RatioClassifier(JSON.parse(JSON.stringify(this.config)));
    c.setWeights(this.getWeights());
    return c;
  }

  /** Number of trainable parameters. */
  get numParameters(): number {
    return this.#params.vars.reduce((a, v) => a + v.size, 0);
  }

  #check(): void {
    if (this.#disposed) {
      throw new TypeError("this ratio classifier has been disposed");
    }
  }

  /** Logits `[n]` of concatenated raw (θ, x) rows `[n, dθ + dx]`. */
  #forward(input: tf.Tensor2D): tf.Tensor1D {
    let h = tf.div(tf.sub(input, this.#mean), this.#std) as tf.Tensor2D;
    const kind = this.config.kind;
    if (kind === "mlp") {
      const ln = (t: tf.Tensor2D, n: { g: tf.Variable; b: tf.Variable }) => {
        const { mean, variance } = tf.moments(t, 1, true);
        return tf.add(
          tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), n.g),
          n.b,
        ) as tf.Tensor2D;
      };
      h = tf.relu(ln(dense(this.#input!, h), this.#norms[0]));
      h = tf.relu(ln(dense(this.#hidden[0], h), this.#norms[1]));
    } else if (kind === "resnet") {
      h = dense(this.#input!, h);
      for (let b = 0; b < this.#hidden.length; b += 2) {
        const t = dense(this.#hidden[b], tf.relu(h));
        h = tf.add(h, dense(this.#hidden[b + 1], tf.relu(t))) as tf.Tensor2D;
      }
    }
    return tf.reshape(dense(this.#out, h), [-1]) as tf.Tensor1D;
  }

  /**
   * Classifier logits, i.e. the estimated log r(x, θ) = log p(x | θ) / p(x)
   * (up to a function of x for NRE-B).
   * @param theta `n * thetaDim` values
   * @param x `xDim` values (one observation for all rows) or `n * xDim`
   * @param n number of rows
   * @param chunk rows per tfjs call. Default 10,000
   * @returns one logit per row
   * @throws {TypeError} on shape mismatch
   */
  logits(
    theta: ArrayLike<number>,
    x: ArrayLike<number>,
    n: number,
    chunk = 10_000,
  ): Float64Array {
    this.#check();
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    if (theta.length !== n * d) {
      throw new TypeError(
        `theta has ${theta.length} values, expected ${n}x${d}`,
      );
    }
    const shared = x.length === dx;
    if (!shared && x.length !== n * dx) {
      throw new TypeError(
        `x has ${x.length} values; expected ${dx} (one row) or ${n}x${dx}`,
      );
    }
    const out = new Float64Array(n);
    const w = d + dx;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const inp = new Float32Array(m * w);
      for (let i = 0; i < m; i++) {
        const r = s + i;
        for (let j = 0; j < d; j++) inp[i * w + j] = theta[r * d + j];
        const xo = shared ? 0 : r * dx;
        for (let j = 0; j < dx; j++) inp[i * w + d + j] = x[xo + j];
      }
      const v = tf.tidy(() => this.#forward(tf.tensor2d(inp, [m, w])));
      const a = v.dataSync();
      v.dispose();
      for (let i = 0; i < m; i++) out[s + i] = a[i];
    }
    return out;
  }

  /**
   * Logits and their gradient with respect to θ (for gradient-based samplers).
   * @param theta `n * thetaDim` values
   * @param x `xDim` values (one observation for all rows) or `n * xDim`
   * @param n number of rows
   * @returns logits (`n`) and gradients (`n * thetaDim`, row-major)
   * @throws {TypeError} on shape mismatch
   */
  logitsWithGrad(
    theta: ArrayLike<number>,
    x: ArrayLike<number>,
    n: number,
  ): { value: Float64Array; grad: Float64Array } {
    this.#check();
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    if (theta.length !== n * d) {
      throw new TypeError(
        `theta has ${theta.length} values, expected ${n}x${d}`,
      );
    }
    const shared = x.length === dx;
    if (!shared && x.length !== n * dx) {
      throw new TypeError(
        `x has ${x.length} values; expected ${dx} (one row) or ${n}x${dx}`,
      );
    }
    const [v, g] = tf.tidy(() => {
      const t = tf.tensor2d(Float32Array.from(theta), [n, d]);
      const xr = tf.tensor2d(Float32Array.from(x), [shared ? 1 : n, dx]);
      const xt = shared ? tf.tile(xr, [n, 1]) : xr;
      const f = (tt: tf.Tensor) =>
        this.#forward(tf.concat([tt as tf.Tensor2D, xt], 1));
      const { value, grad } = tf.valueAndGrad(f)(t);
      return [value, grad];
    });
    const value = Float64Array.from(v.dataSync());
    const grad = Float64Array.from(g.dataSync());
    tf.dispose([v, g]);
    return { value, grad };
  }

  /**
   * Copies of all trainable weights (storage order of `config.weightShapes`).
   * @returns the weights
   */
  getWeights(): Float32Array[] {
    this.#check();
    return this.#params.getWeights();
  }

  /**
   * Overwrites all trainable weights.
   * @param ws weights in `config.weightShapes` order
   * @throws {TypeError} on a count or size mismatch
   */
  setWeights(ws: Float32Array[]): void {
    this.#check();
    tf.tidy(() => this.#params.setWeights(ws));
  }

  /**
   * Draws the contrastive atoms of a batch of `m` rows: for every row i, `a`
   * row indices whose first is i and whose others are distinct rows ≠ i drawn
   * uniformly (sbi `_classifier_logits`). For NRE-C two independent draws of
   * K + 1 and K atoms are concatenated per row.
   */
  static #atoms(m: number, sizes: number[], rng: Rng): Int32Array {
    const a = sizes.reduce((s, v) => s + v, 0);
    const idx = new Int32Array(m * a);
    for (let i = 0; i < m; i++) {
      let off = i * a;
      for (const k of sizes) {
        idx[off] = i;
        for (let c = 1; c < k; c++) {
          let j: number;
          let dup: boolean;
          do {
            j = Math.floor(rng.random() * (m - 1));
            if (j >= i) j++; // uniform over the rows other than i
            dup = false;
            for (let q = 1; q < c && !dup; q++) dup = idx[off + q] === j;
          } while (dup);
          idx[off + c] = j;
        }
        off += k;
      }
    }
    return idx;
  }

  /** Atom group sizes for a batch of `m` rows (clamped to the batch), or null to skip it. */
  static #sizes(loss: RatioLoss, m: number): number[] | null {
    if (m < 2) return null;
    switch (loss.type) {
      case "nre_b":
        return [Math.min(loss.numAtoms, m)];
      case "nre_c": {
        const k = Math.min(loss.numClasses, m - 1);
        return [k + 1, k];
      }
      default:
        return [2];
    }
  }

  /** Builds the `[m * a, dθ + dx]` input of a batch from its atoms. */
  #atomInput(
    theta: Float32Array,
    x: Float32Array,
    rows: ArrayLike<number>,
    m: number,
    idx: Int32Array,
    a: number,
  ): Float32Array {
    const d = this.config.thetaDim;
    const dx = this.config.xDim;
    const w = d + dx;
    const inp = new Float32Array(m * a * w);
    for (let i = 0; i < m; i++) {
      const xr = rows[i];
      for (let c = 0; c < a; c++) {
        const o = (i * a + c) * w;
        const tr = rows[idx[i * a + c]];
        inp.set(theta.subarray(tr * d, tr * d + d), o);
        inp.set(x.subarray(xr * dx, xr * dx + dx), o + d);
      }
    }
    return inp;
  }

  /** Scalar batch loss from the atom logits `[m * a]`. */
  static #loss(
    logits: tf.Tensor1D,
    loss: RatioLoss,
    m: number,
    sizes: number[],
  ): tf.Scalar {
    const a = sizes.reduce((s, v) => s + v, 0);
    const L = tf.reshape(logits, [m, a]) as tf.Tensor2D;
    const col = (j: number) =>
      tf.reshape(tf.slice(L, [0, j], [m, 1]), [m]) as tf.Tensor1D;
    switch (loss.type) {
      case "nre_b": // -log softmax of the joint pair among the atoms
        return tf.neg(tf.mean(tf.sub(col(0), tf.logSumExp(L, 1)))) as tf.Scalar;
      case "nre_c": {
        // Miller et al. 2022, eq. 7 (sbi NRE_C._loss): K marginal logits from
        // the first draw (its joint column dropped), K joint-draw logits.
        const k = sizes[1];
        const lm = tf.slice(L, [0, 1], [m, k]);
        const lj = tf.slice(L, [0, k + 1], [m, k]);
        const logG = Math.log(loss.gamma);
        const logK = tf.fill([m, 1], Math.log(k));
        const lseM = tf.logSumExp(tf.concat([tf.add(lm, logG), logK], 1), 1);
        const lseJ = tf.logSumExp(tf.concat([tf.add(lj, logG), logK], 1), 1);
        const lpM = tf.sub(Math.log(k), lseM);
        const lj0 = tf.reshape(tf.slice(lj, [0, 0], [m, 1]), [m]);
        const lpJ = tf.sub(tf.add(lj0, logG), lseJ);
        const pM = 1 / (1 + loss.gamma);
        const pJ = loss.gamma / (1 + loss.gamma);
        return tf.neg(
          tf.mean(tf.add(tf.mul(lpM, pM), tf.mul(lpJ, pJ))),
        ) as tf.Scalar;
      }
      default: {
        // binary cross-entropy, labels 1 (joint) and 0 (marginal):
        // mean over the 2m pairs of softplus(-l_joint) and softplus(l_marg)
        const j = col(0);
        const mg = col(1);
        const bce = tf.mul(
          tf.mean(tf.add(tf.softplus(tf.neg(j)), tf.softplus(mg))),
          0.5,
        );
        if (loss.type === "nre_a" || loss.regularizationStrength === 0) {
          return bce as tf.Scalar;
        }
        const bal = tf.square(
          tf.sub(tf.add(tf.mean(tf.sigmoid(j)), tf.mean(tf.sigmoid(mg))), 1),
        );
        return tf.add(
          bce,
          tf.mul(bal, loss.regularizationStrength),
        ) as tf.Scalar;
      }
    }
  }

  /**
   * Trains on the rows of `train` (the buffer's `theta` and `x`), validating
   * on `val` after each epoch; stops after `stopAfterEpochs` epochs without
   * improvement and restores the best weights (sbi). The validation loss is
   * computed in batches of `trainingBatchSize` with contrastive draws from a
   * generator reset every epoch, so epochs are compared on the same pairs.
   * @param train training rows
   * @param val validation rows (at least two rows)
   * @param options see {@linkcode RatioTrainOptions}
   * @returns a summary
   * @throws {RangeError} on bad options or too few rows
   */
  // deno-lint-ignore require-await
  async train(
    train: SimulationBuffer,
    val: SimulationBuffer,
    options: RatioTrainOptions,
  ): Promise<EstimatorTrainResult> {
    this.#check();
    const loss = options?.loss;
    ratioLossAtoms(loss);
    const bs = options.trainingBatchSize ?? 200;
    const lr = options.learningRate ?? 5e-4;
    const patience = options.stopAfterEpochs ?? 20;
    const maxEpochs = options.maxEpochs ?? 2 ** 31 - 1;
    const clip = options.clipMaxNorm ?? 5;
    if (!Number.isInteger(bs) || bs < 2) {
      throw new RangeError(
        `trainingBatchSize must be an integer >= 2, got ${bs}`,
      );
    }
    if (!(lr > 0)) throw new RangeError(`learningRate must be > 0, got ${lr}`);
    if (!(maxEpochs >= 1)) {
      throw new RangeError(`maxEpochs must be >= 1, got ${maxEpochs}`);
    }
    if (!(patience >= 1)) {
      throw new RangeError(`stopAfterEpochs must be >= 1, got ${patience}`);
    }
    if (!(clip > 0)) {
      throw new RangeError(`clipMaxNorm must be > 0, got ${clip}`);
    }
    if (train.n < 2 || val.n < 2) {
      throw new RangeError(
        `need at least 2 training and 2 validation rows, got ${train.n} and ${val.n}`,
      );
    }
    const rng = new Rng(options.seed ?? 0);
    const valSeed = rng.nextU32();
    const vars = this.#params.vars;
    if (!options.resumeTraining || !this.#adam) {
      this.#adam = new Adam(this.getWeights(), this.#params.masks);
    }
    const opt = this.#adam;
    opt.lr = lr;
    const before = { steps: opt.steps, skipped: opt.skipped };
    const bar = options.showProgress === false
      ? null
      : new ProgressBar(Math.min(maxEpochs, 1000), {
        label: `training ${this.config.kind} (${loss.type})`,
        unit: "epochs",
      });
    let best = Infinity;
    let bestWeights: Float32Array[] | null = null;
    let since = 0;
    let epochs = 0;
    let converged = false;
    const valLosses: number[] = [];
    const trainLosses: number[] = [];
    const t0 = performance.now();
    let trainRows = 0;
    let trainTime = 0;
    const w = this.config.thetaDim + this.config.xDim;
    try {
      while (epochs < maxEpochs) {
        const ts = performance.now();
        const perm = rng.permutation(train.n);
        let lossSum = 0;
        let lossN = 0;
        for (let s = 0; s < train.n; s += bs) {
          const m = Math.min(bs, train.n - s);
          const sizes = RatioClassifier.#sizes(loss, m);
          if (!sizes) continue;
          const a = sizes.reduce((p, v) => p + v, 0);
          const idx = RatioClassifier.#atoms(m, sizes, rng);
          const inp = this.#atomInput(
            train.theta,
            train.x,
            perm.subarray(s, s + m),
            m,
            idx,
            a,
          );
          const value = tf.tidy(() => {
            const t = tf.tensor2d(inp, [m * a, w]);
            const { value, grads } = tf.variableGrads(
              () => RatioClassifier.#loss(this.#forward(t), loss, m, sizes),
              vars,
            );
            // Adam + clipping on the CPU, as DensityEstimator.train
            const g = vars.map((v) => grads[v.name].dataSync() as Float32Array);
            if (opt.step(g, clip)) {
              opt.params.forEach((p, i) =>
                vars[i].assign(tf.tensor(p, vars[i].shape, "float32"))
              );
            }
            return value.dataSync()[0];
          });
          lossSum += value * m;
          lossN += m;
        }
        trainTime += performance.now() - ts;
        trainRows += lossN;
        trainLosses.push(lossN ? lossSum / lossN : NaN);
        const v = this.#validationLoss(val, loss, bs, new Rng(valSeed));
        valLosses.push(v);
        epochs++;
        if (v < best) {
          best = v;
          since = 0;
          bestWeights = opt.params.map((p) => p.slice());
        } else since++;
        bar?.tick(
          1,
          `val ${v.toFixed(4)} best ${
            best.toFixed(4)
          } wait ${since}/${patience}`,
        );
        if (since >= patience) {
          converged = true;
          break;
        }
      }
    } finally {
      if (bestWeights) {
        this.setWeights(bestWeights);
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
      ...skippedStepSummary(
        opt,
        before,
        `training ${this.config.kind} (${loss.type})`,
      ),
    };
  }

  /**
   * Mean loss over the validation rows, in batches of `bs` (BNRE's balancing
   * term is a batch statistic).
   */
  #validationLoss(
    val: SimulationBuffer,
    loss: RatioLoss,
    bs: number,
    rng: Rng,
  ): number {
    const w = this.config.thetaDim + this.config.xDim;
    let sum = 0;
    let cnt = 0;
    const rows = new Int32Array(bs);
    for (let s = 0; s < val.n; s += bs) {
      const m = Math.min(bs, val.n - s);
      const sizes = RatioClassifier.#sizes(loss, m);
      if (!sizes) continue;
      const a = sizes.reduce((p, v) => p + v, 0);
      for (let i = 0; i < m; i++) rows[i] = s + i;
      const idx = RatioClassifier.#atoms(m, sizes, rng);
      const inp = this.#atomInput(val.theta, val.x, rows, m, idx, a);
      const v = tf.tidy(() =>
        RatioClassifier.#loss(
          this.#forward(tf.tensor2d(inp, [m * a, w])),
          loss,
          m,
          sizes,
        )
      );
      sum += v.dataSync()[0] * m;
      v.dispose();
      cnt += m;
    }
    return cnt ? sum / cnt : Infinity;
  }

  /** Frees all tensors (weights, constants). Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#adam = null;
    this.#params.dispose();
    tf.dispose([this.#mean, this.#std]);
  }
}
