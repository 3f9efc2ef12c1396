/**
 * A small multilayer-perceptron binary classifier in TensorFlow.js, written to
 * reproduce scikit-learn's `MLPClassifier(solver="adam")` training procedure,
 * which is what the sbibm C2ST metric uses (`sbibm/metrics/c2st.py`).
 *
 * What is reproduced from scikit-learn 1.x (`sklearn/neural_network/
 * _multilayer_perceptron.py`, `_stochastic_optimizers.py`, `_base.py`):
 * - Glorot-uniform initialisation of weights *and* biases with bound
 *   `sqrt(6 / (fan_in + fan_out))` (factor 6 for relu hidden layers);
 * - relu hidden layers, one logistic output unit, binary log-loss;
 * - L2 penalty `0.5 · alpha · Σ‖W‖² / batch_size` on the weights (not the
 *   biases), added to each mini-batch loss and its gradient;
 * - Adam with the bias correction folded into the step size,
 *   `lr_t = lr · sqrt(1 − β2^t) / (1 − β1^t)`, update `−lr_t · m / (sqrt(v) + ε)`;
 * - mini-batches of `min(200, n)` in a freshly shuffled order every epoch, the
 *   last batch smaller;
 * - the epoch loss is the sample-weighted mean of the batch losses; training
 *   stops when that loss has not improved by more than `tol` on the best loss
 *   for more than `nIterNoChange` consecutive epochs, or after `maxIter` epochs;
 * - prediction is class 1 when the predicted probability exceeds 0.5.
 *
 * The gradients are written out by hand (backpropagation for this fixed
 * architecture), which needs far fewer tfjs operations per step than automatic
 * differentiation; the inputs and outputs are plain typed arrays.
 * @module
 */

import * as tf from "./_deps.ts";
import { ensureBackend } from "./_backend.ts";
import { Rng } from "../../_internal/random.ts";

/** Row-major matrix of samples: anything with `data`, `rows` and `cols`. */
export interface RowMatrix {
  /** Row-major values, `rows · cols` of them. */
  readonly data: Float32Array | Float64Array;
  /** Number of samples. */
  readonly rows: number;
  /** Number of features. */
  readonly cols: number;
}

/** Options of {@linkcode MlpClassifier}; the defaults are scikit-learn's. */
export interface MlpClassifierOptions {
  /** Sizes of the hidden relu layers (default `[100]`, as scikit-learn). */
  hiddenLayerSizes?: number[];
  /** Adam learning rate (default `1e-3`). */
  learningRate?: number;
  /** L2 penalty on the weights (default `1e-4`). */
  alpha?: number;
  /** Mini-batch size (default `min(200, n)`). */
  batchSize?: number;
  /** Maximum number of epochs (default `200`; sbibm's C2ST uses `10000`). */
  maxIter?: number;
  /** Minimum improvement of the epoch loss (default `1e-4`). */
  tol?: number;
  /** Epochs without improvement before stopping (default `10`). */
  nIterNoChange?: number;
  /** Reshuffle the samples every epoch (default `true`). */
  shuffle?: boolean;
  /** Adam β1 (default `0.9`). */
  beta1?: number;
  /** Adam β2 (default `0.999`). */
  beta2?: number;
  /** Adam ε (default `1e-8`). */
  epsilon?: number;
  /** Seed of the initial weights and of the shuffling (default `0`). */
  seed?: number;
}

/** What {@linkcode MlpClassifier.fit} reports. */
export interface MlpFitSummary {
  /** Number of epochs run. */
  nIter: number;
  /** Final epoch loss (log-loss plus L2 term). */
  loss: number;
  /** Best epoch loss. */
  bestLoss: number;
  /** Epoch losses in order. */
  lossCurve: number[];
  /** Whether the `maxIter` limit stopped training (no convergence). */
  hitMaxIter: boolean;
}

interface Resolved {
  hidden: number[];
  lr: number;
  alpha: number;
  batchSize: number | undefined;
  maxIter: number;
  tol: number;
  nIterNoChange: number;
  shuffle: boolean;
  beta1: number;
  beta2: number;
  epsilon: number;
  seed: number;
}

function resolve(options: MlpClassifierOptions): Resolved {
  const o = {
    hidden: options.hiddenLayerSizes ?? [100],
    lr: options.learningRate ?? 1e-3,
    alpha: options.alpha ?? 1e-4,
    batchSize: options.batchSize,
    maxIter: options.maxIter ?? 200,
    tol: options.tol ?? 1e-4,
    nIterNoChange: options.nIterNoChange ?? 10,
    shuffle: options.shuffle ?? true,
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    epsilon: options.epsilon ?? 1e-8,
    seed: options.seed ?? 0,
  };
  for (const h of o.hidden) {
    if (!Number.isInteger(h) || h < 1) {
      throw new RangeError(
        `hiddenLayerSizes must be positive integers, got ${o.hidden}`,
      );
    }
  }
  const positive: [string, number][] = [
    ["learningRate", o.lr],
    ["epsilon", o.epsilon],
  ];
  for (const [name, v] of positive) {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`${name} must be a positive number, got ${v}`);
    }
  }
  if (!(o.alpha >= 0)) {
    throw new RangeError(`alpha must be >= 0, got ${o.alpha}`);
  }
  if (!(o.tol >= 0)) throw new RangeError(`tol must be >= 0, got ${o.tol}`);
  if (!Number.isInteger(o.maxIter) || o.maxIter < 1) {
    throw new RangeError(
      `maxIter must be a positive integer, got ${o.maxIter}`,
    );
  }
  if (!Number.isInteger(o.nIterNoChange) || o.nIterNoChange < 1) {
    throw new RangeError(
      `nIterNoChange must be a positive integer, got ${o.nIterNoChange}`,
    );
  }
  if (
    o.batchSize !== undefined &&
    (!Number.isInteger(o.batchSize) || o.batchSize < 1)
  ) {
    throw new RangeError(
      `batchSize must be a positive integer, got ${o.batchSize}`,
    );
  }
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
    throw new RangeError(
      `beta1 and beta2 must be in [0, 1), got ${o.beta1}, ${o.beta2}`,
    );
  }
  return o;
}

function checkMatrix(x: RowMatrix, name: string): void {
  if (
    x === null || typeof x !== "object" || !(x.data instanceof Float32Array ||
      x.data instanceof Float64Array)
  ) {
    throw new TypeError(
      `${name} must have a Float32Array or Float64Array "data" field`,
    );
  }
  if (
    !Number.isInteger(x.rows) || !Number.isInteger(x.cols) || x.rows < 0 ||
    x.cols < 1 ||
    x.data.length !== x.rows * x.cols
  ) {
    throw new TypeError(
      `${name} has inconsistent shape: rows ${x.rows} × cols ${x.cols} but ${x.data.length} values`,
    );
  }
}

/**
 * Binary MLP classifier (relu hidden layers, logistic output) trained with
 * Adam exactly as scikit-learn's `MLPClassifier` does. Hold it only as long
 * as needed and call {@linkcode MlpClassifier.dispose} to free its tensors.
 *
 * @example
 * ```ts
 * import { MlpClassifier } from "./mlp_classifier.ts";
 * // Two well-separated 1-D clusters, labels 0 and 1.
 * const n = 200;
 * const data = new Float32Array(n);
 * const labels = new Uint8Array(n);
 * for (let i = 0; i < n; i++) {
 *   labels[i] = i % 2;
 *   data[i] = (labels[i] === 1 ? 3 : -3) + Math.sin(i);
 * }
 * const clf = await MlpClassifier.fit({ data, rows: n, cols: 1 }, labels, {
 *   hiddenLayerSizes: [10, 10],
 *   seed: 1,
 * });
 * const acc = clf.score({ data, rows: n, cols: 1 }, labels);
 * clf.dispose();
 * if (acc < 0.99) throw new Error(`accuracy ${acc}`);
 * ```
 */
export class MlpClassifier {
  /** Number of input features. */
  readonly nFeatures: number;
  /** Training summary of this classifier. */
  readonly summary: MlpFitSummary;
  #weights: tf.Tensor2D[];
  #biases: tf.Tensor1D[];
  #disposed = false;

  private constructor(
    nFeatures: number,
    weights: tf.Tensor2D[],
    biases: tf.Tensor1D[],
    summary: MlpFitSummary,
  ) {
    this.nFeatures = nFeatures;
    this.#weights = weights;
    this.#biases = biases;
    this.summary = summary;
  }

  /**
   * Train a classifier.
   *
   * @param x training inputs, `rows` samples × `cols` features.
   * @param y labels 0 or 1, one per row of `x`.
   * @param options architecture and optimiser settings (scikit-learn defaults).
   * @returns the trained classifier; its `summary` says how training went.
   * @throws {TypeError} if `x` is not matrix-like or `y` has the wrong length.
   * @throws {RangeError} if a label is not 0/1, `x` is empty or has non-finite
   *   values, or an option is out of range.
   */
  static async fit(
    x: RowMatrix,
    y: ArrayLike<number>,
    options: MlpClassifierOptions = {},
  ): Promise<MlpClassifier> {
    checkMatrix(x, "x");
    if (y === null || typeof y !== "object" || typeof y.length !== "number") {
      throw new TypeError("y must be an array of 0/1 labels");
    }
    if (y.length !== x.rows) {
      throw new TypeError(`y has ${y.length} labels but x has ${x.rows} rows`);
    }
    if (x.rows === 0) {
      throw new RangeError("cannot fit a classifier on 0 samples");
    }
    const o = resolve(options);
    await ensureBackend();

    const n = x.rows;
    const d = x.cols;
    const xs = new Float32Array(n * d);
    for (let i = 0; i < n * d; i++) {
      const v = x.data[i];
      if (!Number.isFinite(v)) {
        throw new RangeError(
          `x has a non-finite value ${v} at row ${Math.floor(i / d)}`,
        );
      }
      xs[i] = v;
    }
    const ys = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const v = y[i];
      if (v !== 0 && v !== 1) {
        throw new RangeError(`label ${i} must be 0 or 1, got ${v}`);
      }
      ys[i] = v;
    }

    const batch = Math.min(Math.max(o.batchSize ?? Math.min(200, n), 1), n);
    const sizes = [d, ...o.hidden, 1];
    const nLayers = sizes.length - 1;
    const rng = new Rng(o.seed);
    const initRng = rng.fork();
    const shuffleRng = rng.fork();

    // Glorot-uniform init of weights and biases (scikit-learn `_init_coef`).
    // All parameters live in one flat vector laid out as
    // [W_0, …, W_{L-1}, b_0, …, b_{L-1}] (weights row-major [fanIn, fanOut]) so
    // that the Adam update is a handful of tfjs operations per step.
    const wOffsets: number[] = [];
    const bOffsets: number[] = [];
    let total = 0;
    for (let l = 0; l < nLayers; l++) {
      wOffsets.push(total);
      total += sizes[l] * sizes[l + 1];
    }
    const nWeights = total;
    for (let l = 0; l < nLayers; l++) {
      bOffsets.push(total);
      total += sizes[l + 1];
    }
    const init = new Float32Array(total);
    for (let l = 0; l < nLayers; l++) {
      const fanIn = sizes[l];
      const fanOut = sizes[l + 1];
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < fanIn * fanOut; i++) {
        init[wOffsets[l] + i] = initRng.uniform(-bound, bound);
      }
      for (let i = 0; i < fanOut; i++) {
        init[bOffsets[l] + i] = initRng.uniform(-bound, bound);
      }
    }
    const weightMask = new Float32Array(total);
    weightMask.fill(1, 0, nWeights);

    const [P, M, V] = tf.tidy(() => [
      tf.variable(tf.tensor1d(init), false),
      tf.variable(tf.zeros([total]), false),
      tf.variable(tf.zeros([total]), false),
    ]);
    const mask = tf.tensor1d(weightMask);
    const b1 = tf.scalar(o.beta1);
    const b2 = tf.scalar(o.beta2);
    const oneMinusB1 = tf.scalar(1 - o.beta1);
    const oneMinusB2 = tf.scalar(1 - o.beta2);
    const eps = tf.scalar(o.epsilon);
    const unpack = (flat: tf.Tensor1D): [tf.Tensor2D[], tf.Tensor1D[]] => {
      const ws: tf.Tensor2D[] = [];
      const bs: tf.Tensor1D[] = [];
      for (let l = 0; l < nLayers; l++) {
        ws.push(
          tf.reshape(tf.slice(flat, [wOffsets[l]], [sizes[l] * sizes[l + 1]]), [
            sizes[l],
            sizes[l + 1],
          ]),
        );
        bs.push(tf.slice(flat, [bOffsets[l]], [sizes[l + 1]]));
      }
      return [ws, bs];
    };

    const lossCurve: number[] = [];
    let bestLoss = Infinity;
    let noImprovement = 0;
    let t = 0;
    let hitMaxIter = true;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const xEpoch = new Float32Array(n * d);
    const yEpoch = new Float32Array(n);

    try {
      for (let epoch = 0; epoch < o.maxIter; epoch++) {
        if (o.shuffle) {
          for (let i = n - 1; i > 0; i--) {
            const j = shuffleRng.int(i + 1);
            const tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
          }
        }
        for (let i = 0; i < n; i++) {
          const src = order[i];
          xEpoch.set(xs.subarray(src * d, src * d + d), i * d);
          yEpoch[i] = ys[src];
        }
        const xAll = tf.tensor2d(xEpoch, [n, d]);
        const yAll = tf.tensor2d(yEpoch, [n, 1]);
        let accumulated = tf.scalar(0);
        try {
          for (let start = 0; start < n; start += batch) {
            const size = Math.min(batch, n - start);
            t += 1;
            // Adam step size with the bias corrections folded in (scikit-learn).
            const lrT = o.lr * Math.sqrt(1 - Math.pow(o.beta2, t)) /
              (1 - Math.pow(o.beta1, t));
            const next = tf.tidy(() => {
              const [ws, bs] = unpack(P as tf.Tensor1D);
              const xb = tf.slice(xAll, [start, 0], [size, d]);
              const yb = tf.slice(yAll, [start, 0], [size, 1]);
              // Forward pass, keeping the activations (fused matmul+bias+relu).
              const acts: tf.Tensor2D[] = [xb];
              let h: tf.Tensor2D = xb;
              for (let l = 0; l < nLayers - 1; l++) {
                h = tf.fused.matMul({
                  a: h,
                  b: ws[l],
                  bias: bs[l],
                  activation: "relu",
                }) as tf.Tensor2D;
                acts.push(h);
              }
              const logits = tf.fused.matMul({
                a: h,
                b: ws[nLayers - 1],
                bias: bs[nLayers - 1],
              });
              // Binary log-loss in the stable form softplus(z) − y·z, plus the
              // L2 term 0.5·alpha·Σ‖W‖²/size.
              const bce = tf.mean(
                tf.sub(tf.softplus(logits), tf.mul(yb, logits)),
              );
              const l2 = tf.sum(tf.square(tf.slice(P, [0], [nWeights])));
              const batchLoss = tf.add(bce, tf.mul(l2, 0.5 * o.alpha / size));
              // Backward pass: logistic output with log-loss gives δ = p − y;
              // the 1/size of the mean is folded into δ.
              const gradsW: tf.Tensor[] = new Array(nLayers);
              const gradsB: tf.Tensor[] = new Array(nLayers);
              let delta: tf.Tensor2D = tf.mul(
                tf.sub(tf.sigmoid(logits), yb),
                1 / size,
              );
              for (let l = nLayers - 1; l >= 0; l--) {
                // Explicit transposes: the wasm backend's transposed matMul is slow.
                gradsW[l] = tf.reshape(
                  tf.matMul(tf.transpose(acts[l]), delta),
                  [-1],
                );
                gradsB[l] = tf.sum(delta, 0);
                if (l > 0) {
                  delta = tf.mul(
                    tf.matMul(delta, tf.transpose(ws[l])),
                    tf.step(acts[l]),
                  );
                }
              }
              const g = tf.add(
                tf.concat([...gradsW, ...gradsB]),
                tf.mul(P, tf.mul(mask, o.alpha / size)),
              );
              const m = tf.add(tf.mul(M, b1), tf.mul(g, oneMinusB1));
              const v = tf.add(tf.mul(V, b2), tf.mul(tf.square(g), oneMinusB2));
              M.assign(m);
              V.assign(v);
              P.assign(
                tf.sub(P, tf.mul(tf.div(m, tf.add(tf.sqrt(v), eps)), lrT)),
              );
              return tf.add(accumulated, tf.mul(batchLoss, size)) as tf.Scalar;
            });
            accumulated.dispose();
            accumulated = next;
          }
          const epochLoss = (await accumulated.data())[0] / n;
          lossCurve.push(epochLoss);
        } finally {
          accumulated.dispose();
          xAll.dispose();
          yAll.dispose();
        }
        const last = lossCurve[lossCurve.length - 1];
        if (!Number.isFinite(last)) {
          throw new RangeError(
            `classifier training diverged: epoch loss ${last}`,
          );
        }
        // scikit-learn `_update_no_improvement_count` (early_stopping=False).
        if (last > bestLoss - o.tol) noImprovement += 1;
        else noImprovement = 0;
        if (last < bestLoss) bestLoss = last;
        if (noImprovement > o.nIterNoChange) {
          hitMaxIter = false;
          break;
        }
      }
    } catch (e) {
      P.dispose();
      throw e;
    } finally {
      for (const v of [M, V, mask, b1, b2, oneMinusB1, oneMinusB2, eps]) {
        v.dispose();
      }
    }

    const [finalW, finalB] = tf.tidy(() => {
      const [ws, bs] = unpack(P as tf.Tensor1D);
      return [
        ws.map((w) => tf.keep(tf.clone(w))),
        bs.map((b) => tf.keep(tf.clone(b))),
      ];
    });
    P.dispose();
    return new MlpClassifier(d, finalW, finalB, {
      nIter: lossCurve.length,
      loss: lossCurve[lossCurve.length - 1],
      bestLoss,
      lossCurve,
      hitMaxIter,
    });
  }

  /**
   * Probability of class 1 for every row of `x`.
   *
   * @param x inputs with `nFeatures` columns.
   * @returns one probability per row.
   * @throws {TypeError} if `x` has the wrong number of columns.
   * @throws {Error} if the classifier was disposed.
   */
  predictProba(x: RowMatrix): Float32Array {
    checkMatrix(x, "x");
    if (this.#disposed) throw new Error("MlpClassifier was disposed");
    if (x.cols !== this.nFeatures) {
      throw new TypeError(
        `x has ${x.cols} columns, the classifier expects ${this.nFeatures}`,
      );
    }
    const out = new Float32Array(x.rows);
    const chunk = 8192;
    for (let start = 0; start < x.rows; start += chunk) {
      const size = Math.min(chunk, x.rows - start);
      const vals = x.data instanceof Float32Array
        ? x.data.subarray(start * x.cols, (start + size) * x.cols)
        : Float32Array.from(
          x.data.subarray(start * x.cols, (start + size) * x.cols),
        );
      const p = tf.tidy(() => {
        let h: tf.Tensor2D = tf.tensor2d(vals, [size, x.cols]);
        const nl = this.#weights.length;
        for (let l = 0; l < nl - 1; l++) {
          h = tf.fused.matMul({
            a: h,
            b: this.#weights[l],
            bias: this.#biases[l],
            activation: "relu",
          }) as tf.Tensor2D;
        }
        return tf.sigmoid(
          tf.fused.matMul({
            a: h,
            b: this.#weights[nl - 1],
            bias: this.#biases[nl - 1],
          }),
        );
      });
      try {
        out.set(p.dataSync() as Float32Array, start);
      } finally {
        p.dispose();
      }
    }
    return out;
  }

  /**
   * Predicted class (1 when the probability exceeds 0.5, else 0) of every row.
   *
   * @param x inputs with `nFeatures` columns.
   * @returns one 0/1 label per row.
   * @throws {TypeError} if `x` has the wrong number of columns.
   */
  predict(x: RowMatrix): Uint8Array {
    const p = this.predictProba(x);
    const out = new Uint8Array(p.length);
    for (let i = 0; i < p.length; i++) out[i] = p[i] > 0.5 ? 1 : 0;
    return out;
  }

  /**
   * Fraction of rows whose predicted class equals the label.
   *
   * @param x inputs with `nFeatures` columns.
   * @param y labels 0/1, one per row.
   * @returns accuracy in [0, 1].
   * @throws {TypeError} if shapes disagree.
   */
  score(x: RowMatrix, y: ArrayLike<number>): number {
    if (y.length !== x.rows) {
      throw new TypeError(`y has ${y.length} labels but x has ${x.rows} rows`);
    }
    const pred = this.predict(x);
    let correct = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) correct++;
    return pred.length === 0 ? NaN : correct / pred.length;
  }

  /** Free the tensors of this classifier. Further use throws. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const w of this.#weights) w.dispose();
    for (const b of this.#biases) b.dispose();
  }
}

/** Result of {@linkcode fitAndScoreClassifier}. */
export interface ClassifierScore {
  /** Accuracy on the test set. */
  accuracy: number;
  /** Epochs of training. */
  nIter: number;
  /** Final training-epoch loss. */
  loss: number;
  /** Whether training stopped at `maxIter` without converging. */
  hitMaxIter: boolean;
}

/**
 * Train an {@linkcode MlpClassifier} on one set and report its accuracy on
 * another, disposing every tensor before returning. This is the plain-typed
 * entry point used by the C2ST diagnostic.
 *
 * @param xTrain training inputs.
 * @param yTrain training labels (0/1).
 * @param xTest test inputs (same number of columns).
 * @param yTest test labels (0/1).
 * @param options classifier options (scikit-learn defaults).
 * @returns test accuracy and training summary.
 * @throws {TypeError} on inconsistent shapes.
 * @throws {RangeError} on bad labels, values or options.
 *
 * @example
 * ```ts
 * import { fitAndScoreClassifier } from "./mlp_classifier.ts";
 * const x = { data: new Float32Array([-2, -1.5, -1, 1, 1.5, 2]), rows: 6, cols: 1 };
 * const y = [0, 0, 0, 1, 1, 1];
 * const r = await fitAndScoreClassifier(x, y, x, y, { hiddenLayerSizes: [10], seed: 3 });
 * console.log(r.accuracy, r.nIter);
 * ```
 */
export async function fitAndScoreClassifier(
  xTrain: RowMatrix,
  yTrain: ArrayLike<number>,
  xTest: RowMatrix,
  yTest: ArrayLike<number>,
  options: MlpClassifierOptions = {},
): Promise<ClassifierScore> {
  checkMatrix(xTest, "xTest");
  if (xTest.cols !== xTrain.cols) {
    throw new TypeError(
      `xTest has ${xTest.cols} columns but xTrain has ${xTrain.cols}`,
    );
  }
  const clf = await MlpClassifier.fit(xTrain, yTrain, options);
  try {
    return {
      accuracy: clf.score(xTest, yTest),
      nIter: clf.summary.nIter,
      loss: clf.summary.loss,
      hitMaxIter: clf.summary.hitMaxIter,
    };
  } finally {
    clf.dispose();
  }
}
