/**
 * Classifier two-sample test (C2ST) with the exact protocol of the sbibm
 * benchmark (`sbibm/metrics/c2st.py`; Lopez-Paz & Oquab 2017, "Revisiting
 * classifier two-sample tests"; Lueckmann et al. 2021, "Benchmarking
 * simulation-based inference", AISTATS):
 *
 * 1. z-score both sample sets with the mean and the unbiased standard
 *    deviation of the *reference* samples (the first argument);
 * 2. label the reference 0 and the other set 1 and concatenate them;
 * 3. train scikit-learn's `MLPClassifier(activation="relu",
 *    hidden_layer_sizes=(10·dim, 10·dim), solver="adam", max_iter=10000)`
 *    with its defaults (alpha 1e-4, batch min(200, n), lr 1e-3, tol 1e-4,
 *    n_iter_no_change 10, shuffled mini-batches) — reproduced by
 *    {@linkcode MlpClassifier};
 * 4. `KFold(n_splits=5, shuffle=True)` cross-validation; the C2ST value is the
 *    mean test accuracy over the folds. 0.5 means indistinguishable sets, 1.0
 *    fully separable ones.
 *
 * The random streams (fold assignment, initial weights, mini-batch order) are
 * seeded through `seed` but are not NumPy's, so values agree with sbibm's up to
 * the run-to-run spread of the metric, not bit for bit.
 * @module
 */

import { Matrix, type MatrixLike } from "../matrix.ts";
import {
  fitAndScoreClassifier,
  type MlpClassifierOptions,
} from "../estimators/mlp_classifier.ts";
import { Rng } from "../../_internal/random.ts";

/** Options of {@linkcode c2st}. Classifier options default to sbibm's. */
export interface C2stOptions extends Omit<MlpClassifierOptions, "seed"> {
  /** Seed of the folds, the initial weights and the batch order (default `1`, as sbibm). */
  seed?: number;
  /** z-score both sets by the reference's mean and unbiased std (default `true`). */
  zScore?: boolean;
  /** Number of cross-validation folds (default `5`). */
  nFolds?: number;
  /**
   * Train and score only the first `foldsToRun` of the `nFolds` folds
   * (default: all). Each fold still trains on `(nFolds−1)/nFolds` of the data,
   * so the classifier is as strong as in the full protocol; only the variance
   * of the estimate grows. Meant for quick checks, not for published numbers.
   */
  foldsToRun?: number;
}

/** Detailed result of {@linkcode c2stScores}. */
export interface C2stResult {
  /** Mean accuracy over the folds that were run (the C2ST value). */
  accuracy: number;
  /** Test accuracy of each fold that was run. */
  foldAccuracies: number[];
  /** Training epochs of each fold. */
  nIter: number[];
  /** Whether a fold stopped at `maxIter` before converging. */
  hitMaxIter: boolean;
}

function toMatrix(value: Matrix | MatrixLike, name: string): Matrix {
  if (value instanceof Matrix) return value;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${name} must be a Matrix or an array of rows, got ${typeof value}`,
    );
  }
  return Matrix.from(value);
}

/**
 * C2ST accuracy with per-fold details. See {@linkcode c2st}.
 *
 * @param reference reference samples (label 0; also defines the z-scoring).
 * @param other samples to compare (label 1), same number of columns.
 * @param options protocol and classifier options.
 * @returns mean fold accuracy, the per-fold accuracies and epochs.
 * @throws {TypeError} if the inputs are not matrices or their columns differ.
 * @throws {RangeError} if there are fewer samples than folds, values are not
 *   finite, or an option is out of range.
 */
export async function c2stScores(
  reference: Matrix | MatrixLike,
  other: Matrix | MatrixLike,
  options: C2stOptions = {},
): Promise<C2stResult> {
  const x = toMatrix(reference, "reference");
  const y = toMatrix(other, "other");
  if (x.cols !== y.cols) {
    throw new TypeError(
      `sample sets have different dimensions: ${x.cols} and ${y.cols}`,
    );
  }
  const dim = x.cols;
  if (dim < 1) throw new TypeError("samples must have at least one column");
  const seed = options.seed ?? 1;
  const zScore = options.zScore ?? true;
  const nFolds = options.nFolds ?? 5;
  if (!Number.isInteger(nFolds) || nFolds < 2) {
    throw new RangeError(`nFolds must be an integer >= 2, got ${nFolds}`);
  }
  const foldsToRun = options.foldsToRun ?? nFolds;
  if (!Number.isInteger(foldsToRun) || foldsToRun < 1 || foldsToRun > nFolds) {
    throw new RangeError(
      `foldsToRun must be an integer in [1, ${nFolds}], got ${foldsToRun}`,
    );
  }
  const n = x.rows + y.rows;
  if (x.rows < 2 || y.rows < 1 || n < nFolds) {
    throw new RangeError(
      `C2ST needs at least 2 reference samples and ${nFolds} samples in total, got ${x.rows} and ${y.rows}`,
    );
  }

  // Step 1: z-score by the reference's mean and unbiased std (torch.std).
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim).fill(1);
  if (zScore) {
    for (let i = 0; i < x.rows; i++) {
      for (let j = 0; j < dim; j++) mean[j] += x.data[i * dim + j];
    }
    for (let j = 0; j < dim; j++) mean[j] /= x.rows;
    const ss = new Float64Array(dim);
    for (let i = 0; i < x.rows; i++) {
      for (let j = 0; j < dim; j++) {
        const dv = x.data[i * dim + j] - mean[j];
        ss[j] += dv * dv;
      }
    }
    for (let j = 0; j < dim; j++) {
      const s = Math.sqrt(ss[j] / (x.rows - 1));
      // A constant reference column would divide by zero; leave it unscaled.
      std[j] = s > 0 && Number.isFinite(s) ? s : 1;
    }
  }
  // Step 2: concatenate, reference first with label 0.
  const data = new Float32Array(n * dim);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const src = i < x.rows ? x.data : y.data;
    const r = i < x.rows ? i : i - x.rows;
    for (let j = 0; j < dim; j++) {
      const v = src[r * dim + j];
      if (!Number.isFinite(v)) {
        throw new RangeError(
          `${
            i < x.rows ? "reference" : "other"
          } sample ${r} has a non-finite value ${v}`,
        );
      }
      data[i * dim + j] = (v - mean[j]) / std[j];
    }
    labels[i] = i < x.rows ? 0 : 1;
  }

  // Step 4: KFold(shuffle=True): shuffle the indices once, then cut them into
  // nFolds consecutive folds, the first n % nFolds of them one larger.
  const perm = new Rng(seed).permutation(n);
  const foldSizes: number[] = [];
  for (let k = 0; k < nFolds; k++) {
    foldSizes.push(Math.floor(n / nFolds) + (k < n % nFolds ? 1 : 0));
  }
  // Step 3: the sbibm classifier settings; explicit options override them.
  const clfOptions: MlpClassifierOptions = {
    ...options,
    hiddenLayerSizes: options.hiddenLayerSizes ?? [10 * dim, 10 * dim],
    maxIter: options.maxIter ?? 10000,
    seed,
  };

  const foldAccuracies: number[] = [];
  const nIter: number[] = [];
  let hitMaxIter = false;
  let start = 0;
  for (let k = 0; k < foldsToRun; k++) {
    const stop = start + foldSizes[k];
    const nTest = stop - start;
    const nTrain = n - nTest;
    const xTrain = new Float32Array(nTrain * dim);
    const yTrain = new Uint8Array(nTrain);
    const xTest = new Float32Array(nTest * dim);
    const yTest = new Uint8Array(nTest);
    // Keep the original (sorted) order inside each split, as scikit-learn does.
    const inTest = new Uint8Array(n);
    for (let i = start; i < stop; i++) inTest[perm[i]] = 1;
    let a = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const row = data.subarray(i * dim, (i + 1) * dim);
      if (inTest[i]) {
        xTest.set(row, b * dim);
        yTest[b++] = labels[i];
      } else {
        xTrain.set(row, a * dim);
        yTrain[a++] = labels[i];
      }
    }
    const r = await fitAndScoreClassifier(
      { data: xTrain, rows: nTrain, cols: dim },
      yTrain,
      { data: xTest, rows: nTest, cols: dim },
      yTest,
      clfOptions,
    );
    foldAccuracies.push(r.accuracy);
    nIter.push(r.nIter);
    hitMaxIter ||= r.hitMaxIter;
    start = stop;
  }
  const accuracy = foldAccuracies.reduce((s, v) => s + v, 0) /
    foldAccuracies.length;
  return { accuracy, foldAccuracies, nIter, hitMaxIter };
}

/**
 * Classifier two-sample test accuracy between two sample sets, following the
 * sbibm protocol (see the module documentation). Returns about 0.5 for sets
 * from the same distribution and about 1.0 for fully separable ones. With the
 * default settings a 10-dimensional comparison of 10,000 against 10,000
 * samples takes minutes (it trains five 100×100 MLPs for hundreds of epochs).
 *
 * @param reference reference samples, rows = samples (label 0; defines the
 *   z-scoring).
 * @param other samples to compare, same number of columns (label 1).
 * @param options `seed` (default 1), `zScore` (default true), `nFolds`
 *   (default 5), `foldsToRun`, and classifier options (default: sbibm's).
 * @returns the mean cross-validated accuracy in [0, 1].
 * @throws {TypeError} if the inputs are not matrices or their columns differ.
 * @throws {RangeError} if there are too few samples, values are not finite,
 *   or an option is out of range.
 *
 * @example
 * ```ts
 * import { c2st } from "./c2st.ts";
 * import { Rng } from "../../_internal/random.ts";
 * const rng = new Rng(0);
 * const a = Array.from({ length: 300 }, () => [rng.normal()]);
 * const b = Array.from({ length: 300 }, () => [rng.normal() + 4]);
 * const acc = await c2st(a, b, { seed: 1 });
 * if (acc < 0.95) throw new Error(`expected separable sets, got ${acc}`);
 * ```
 */
export async function c2st(
  reference: Matrix | MatrixLike,
  other: Matrix | MatrixLike,
  options: C2stOptions = {},
): Promise<number> {
  return (await c2stScores(reference, other, options)).accuracy;
}
