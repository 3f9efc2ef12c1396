/**
 * Restriction estimator: learn which parameter sets give *valid* simulations
 * (every entry of x finite) and restrict the prior to them (Lueckmann et al.
 * 2017, "Flexible statistical inference for mechanistic models of neural
 * dynamics", NeurIPS, Fig. 4; Deistler, Gonçalves & Macke 2022, "Energy-
 * efficient network activity from disparate circuit parameters", PNAS; sbi's
 * `RestrictionEstimator` / `RestrictedPrior`, `sbi/utils/restriction_estimator.py`).
 *
 * A binary classifier (the library's {@linkcode MlpClassifier}) is trained on
 * z-scored θ with label 1 = valid, 0 = invalid; the classes are balanced by
 * resampling the minority class (sbi weights the loss instead). Its decision
 * threshold is tuned on held-out *valid* parameter sets so that at most a
 * fraction `allowedFalseNegatives` of them would be rejected; with 0 the
 * threshold is the smallest held-out valid probability, lowered further by
 * the "frequentist" (German-tank) margin of sbi. The restricted prior samples
 * the prior and rejects parameter sets classified invalid.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import {
  MlpClassifier,
  type MlpClassifierOptions,
} from "../estimators/mlp_classifier.ts";
import { RestrictedPrior } from "../priors/restricted_prior.ts";

/** Options of {@linkcode RestrictionEstimator}. */
export interface RestrictionEstimatorOptions {
  /** The prior to restrict. */
  prior: Prior | UserPrior;
  /** Seed of the data split, class balancing, classifier and sampling. Default 0. */
  seed?: number;
  /**
   * Decides whether a simulation is valid. Default: every entry finite
   * (sbi's `decision_criterion="nan"`).
   */
  isValid?: (x: Float32Array) => boolean;
}

/** Options of {@linkcode RestrictionEstimator.train}. */
export interface RestrictionTrainOptions
  extends Omit<MlpClassifierOptions, "seed"> {
  /** Fraction of the simulations held out to tune the threshold. Default 0.1. */
  validationFraction?: number;
}

/** What {@linkcode RestrictionEstimator.train} returns. */
export interface RestrictionTrainSummary {
  /** Training rows (before class balancing). */
  nTrain: number;
  /** Held-out rows. */
  nValidation: number;
  /** Valid / invalid simulations in total. */
  nValid: number;
  /** Invalid simulations in total. */
  nInvalid: number;
  /** Classifier epochs. */
  epochs: number;
  /** Accuracy on the held-out rows at threshold 0.5. */
  validationAccuracy: number;
  /** Training wall time in seconds. */
  trainingTime: number;
}

/** Options of {@linkcode RestrictionEstimator.restrictPrior}. */
export interface RestrictPriorOptions {
  /** Fraction of valid parameter sets the restriction may reject. Default 0 (exact inference). */
  allowedFalseNegatives?: number;
  /**
   * Extra margin below the smallest valid probability when
   * `allowedFalseNegatives` is 0: `"frequentist"` (default, sbi), a number to
   * subtract, or `null` for none.
   */
  safetyMargin?: "frequentist" | number | null;
  /** Prior draws used to estimate the acceptance rate. Default 10,000. */
  numAcceptanceSamples?: number;
}

/**
 * Learns the region of parameter space that gives valid simulations.
 * @example
 * ```ts
 * import { RestrictionEstimator } from "./restriction.ts";
 * import { BoxUniform } from "../priors/box_uniform.ts";
 * const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
 * const theta = prior.sample(500, 1);
 * // simulations fail (NaN) where θ1 > 0.3
 * const x = theta.toArray().map(([a, b]) => a > 0.3 ? [NaN] : [a + b]);
 * const est = new RestrictionEstimator({ prior, seed: 1 });
 * est.appendSimulations(theta, x);
 * await est.train({ maxIter: 50 });
 * const restricted = est.restrictPrior();
 * const s = restricted.sample(200, 2);
 * console.log(restricted.acceptanceRate > 0.5, s.rows); // true 200
 * est.dispose();
 * ```
 */
export class RestrictionEstimator {
  /** The prior. */
  readonly prior: Prior;
  #seed: number;
  #isValid: (x: Float32Array) => boolean;
  #theta: Float32Array[] = [];
  #label: Uint8Array[] = [];
  #clf: MlpClassifier | null = null;
  #mean: Float64Array | null = null;
  #std: Float64Array | null = null;
  #valTheta: Matrix | null = null;
  #valLabel: Uint8Array | null = null;

  /**
   * Creates the estimator.
   * @param options prior, seed, validity criterion
   */
  constructor(options: RestrictionEstimatorOptions) {
    this.prior = asPrior(options.prior);
    this.#seed = options.seed ?? 0;
    this.#isValid = options.isValid ??
      ((x) => x.every((v) => Number.isFinite(v)));
  }

  /** Number of simulations appended. */
  get nSimulations(): number {
    return this.#label.reduce((a, l) => a + l.length, 0);
  }

  /** Number of valid simulations appended. */
  get nValid(): number {
    let n = 0;
    for (const l of this.#label) for (const v of l) n += v;
    return n;
  }

  /**
   * Adds simulations (any proposal); x rows are only checked for validity.
   * @param theta parameter sets, one per row
   * @param x simulation outputs, one row per parameter set (NaN/Inf = invalid)
   * @returns this
   * @throws {TypeError} on a row-count or dimension mismatch
   */
  appendSimulations(theta: MatrixLike, x: MatrixLike): this {
    const t = Matrix.of(theta);
    const xm = Matrix.of(x);
    if (t.rows !== xm.rows) {
      throw new TypeError(
        `theta has ${t.rows} rows but x has ${xm.rows}`,
      );
    }
    if (t.cols !== this.prior.dim) {
      throw new TypeError(
        `theta has ${t.cols} columns, the prior has dim ${this.prior.dim}`,
      );
    }
    const labels = new Uint8Array(t.rows);
    for (let i = 0; i < t.rows; i++) {
      labels[i] = this.#isValid(xm.row(i)) ? 1 : 0;
    }
    this.#theta.push(t.data.slice());
    this.#label.push(labels);
    return this;
  }

  /**
   * Trains the valid/invalid classifier (replacing a previous one) on all
   * simulations appended so far.
   * @param options classifier options (default hidden layers [100, 100]) and validation fraction
   * @returns a training summary
   * @throws {RangeError} when there are no valid or no invalid simulations, or
   *   too few to hold out a validation set
   */
  async train(
    options: RestrictionTrainOptions = {},
  ): Promise<RestrictionTrainSummary> {
    const t0 = performance.now();
    const d = this.prior.dim;
    const n = this.nSimulations;
    const theta = new Float32Array(n * d);
    const label = new Uint8Array(n);
    let off = 0;
    this.#theta.forEach((t, k) => {
      theta.set(t, off * d);
      label.set(this.#label[k], off);
      off += this.#label[k].length;
    });
    const nValid = label.reduce((a, v) => a + v, 0);
    const nInvalid = n - nValid;
    if (nValid === 0 || nInvalid === 0) {
      throw new RangeError(
        `the restriction classifier needs valid and invalid simulations, got ${nValid} valid and ${nInvalid} invalid`,
      );
    }
    const vf = options.validationFraction ?? 0.1;
    if (!(vf > 0 && vf < 1)) {
      throw new RangeError(`validationFraction must be in (0, 1), got ${vf}`);
    }
    const rng = new Rng(this.#seed);
    const perm = rng.permutation(n);
    const nVal = Math.max(1, Math.round(vf * n));
    const nTrain = n - nVal;
    // z-score by the training rows (sbi's z_score="independent").
    const mean = new Float64Array(d);
    const std = new Float64Array(d);
    for (let a = nVal; a < n; a++) {
      for (let j = 0; j < d; j++) mean[j] += theta[perm[a] * d + j];
    }
    for (let j = 0; j < d; j++) mean[j] /= nTrain;
    for (let a = nVal; a < n; a++) {
      for (let j = 0; j < d; j++) {
        std[j] += (theta[perm[a] * d + j] - mean[j]) ** 2;
      }
    }
    for (let j = 0; j < d; j++) {
      const s = Math.sqrt(std[j] / Math.max(1, nTrain - 1));
      std[j] = s > 0 && Number.isFinite(s) ? s : 1;
    }
    // Balance the classes by resampling the minority class (cyclically over
    // a shuffled order) up to the majority count.
    const byClass: number[][] = [[], []];
    for (let a = nVal; a < n; a++) byClass[label[perm[a]]].push(perm[a]);
    if (byClass[0].length === 0 || byClass[1].length === 0) {
      throw new RangeError(
        `the training split has ${byClass[1].length} valid and ${
          byClass[0].length
        } invalid simulations; append more simulations`,
      );
    }
    const big = Math.max(byClass[0].length, byClass[1].length);
    const rows: number[] = [];
    const ys: number[] = [];
    for (const c of [0, 1]) {
      const idx = byClass[c];
      const order = rng.permutation(idx.length);
      for (let k = 0; k < big; k++) {
        rows.push(idx[order[k % idx.length]]);
        ys.push(c);
      }
    }
    const xTrain = new Float32Array(rows.length * d);
    rows.forEach((i, a) => {
      for (let j = 0; j < d; j++) {
        xTrain[a * d + j] = (theta[i * d + j] - mean[j]) / std[j];
      }
    });
    this.#clf?.dispose();
    this.#clf = null;
    this.#mean = mean;
    this.#std = std;
    const { validationFraction: _vf, ...clfOptions } = options;
    this.#clf = await MlpClassifier.fit(
      { data: xTrain, rows: rows.length, cols: d },
      ys,
      {
        hiddenLayerSizes: [100, 100],
        ...clfOptions,
        seed: rng.nextU32(),
      },
    );
    const valTheta = new Matrix(nVal, d);
    const valLabel = new Uint8Array(nVal);
    for (let a = 0; a < nVal; a++) {
      valTheta.data.set(theta.subarray(perm[a] * d, perm[a] * d + d), a * d);
      valLabel[a] = label[perm[a]];
    }
    this.#valTheta = valTheta;
    this.#valLabel = valLabel;
    const p = this.validProbability(valTheta);
    let correct = 0;
    for (let a = 0; a < nVal; a++) {
      if ((p[a] > 0.5 ? 1 : 0) === valLabel[a]) correct++;
    }
    return {
      nTrain,
      nValidation: nVal,
      nValid,
      nInvalid,
      epochs: this.#clf.summary.nIter,
      validationAccuracy: correct / nVal,
      trainingTime: (performance.now() - t0) / 1000,
    };
  }

  /**
   * Classifier probability that each parameter set gives a valid simulation.
   * @param theta parameter sets, one per row
   * @returns one probability per row
   * @throws {Error} before `train`
   * @throws {TypeError} on a column-count mismatch
   */
  validProbability(theta: MatrixLike): Float32Array {
    if (!this.#clf || !this.#mean || !this.#std) {
      throw new Error("RestrictionEstimator: call train() first");
    }
    const t = Matrix.of(theta);
    const d = this.prior.dim;
    if (t.cols !== d) {
      throw new TypeError(`theta has ${t.cols} columns, expected ${d}`);
    }
    const z = new Float32Array(t.rows * d);
    for (let i = 0; i < t.rows; i++) {
      for (let j = 0; j < d; j++) {
        z[i * d + j] = (t.data[i * d + j] - this.#mean[j]) / this.#std[j];
      }
    }
    return this.#clf.predictProba({ data: z, rows: t.rows, cols: d });
  }

  /**
   * The prior restricted to parameter sets classified valid. The threshold is
   * tuned on the held-out valid simulations of the last `train`.
   * @param options allowed false-negative rate, safety margin, acceptance estimate size
   * @returns the restricted prior (its `acceptanceRate` is the fraction of prior draws kept)
   * @throws {Error} before `train`
   * @throws {RangeError} for `allowedFalseNegatives` outside [0, 1) or when no
   *   prior draw is accepted
   */
  restrictPrior(options: RestrictPriorOptions = {}): RestrictedPrior {
    if (!this.#clf || !this.#valTheta || !this.#valLabel) {
      throw new Error("RestrictionEstimator: call train() first");
    }
    const fn = options.allowedFalseNegatives ?? 0;
    if (!(fn >= 0 && fn < 1)) {
      throw new RangeError(
        `allowedFalseNegatives must be in [0, 1), got ${fn}`,
      );
    }
    const p = this.validProbability(this.#valTheta);
    const valid: number[] = [];
    for (let a = 0; a < p.length; a++) if (this.#valLabel[a]) valid.push(p[a]);
    let thr: number;
    if (valid.length === 0) {
      // No held-out valid set: fall back to the 0.5 decision rule.
      thr = 0.5;
    } else if (fn === 0) {
      const minP = Math.min(...valid);
      const margin = options.safetyMargin === undefined
        ? "frequentist"
        : options.safetyMargin;
      if (margin === null) thr = minP;
      else if (typeof margin === "number") thr = minP - margin;
      else {
        // German-tank estimate of the largest 1 − p among all valid sets.
        const m = 1 - minP;
        thr = 1 - (m + m / valid.length);
      }
      // Strictly below the smallest held-out valid probability.
      thr = Math.min(thr, minP) - 1e-7;
    } else {
      valid.sort((a, b) => a - b);
      const h = (valid.length - 1) * fn;
      const lo = Math.floor(h);
      thr = valid[lo] +
        (h - lo) * (valid[Math.min(lo + 1, valid.length - 1)] - valid[lo]);
    }
    return new RestrictedPrior(
      this.prior,
      (t) => this.validProbability(t),
      thr,
      options.numAcceptanceSamples ?? 10_000,
      this.#seed + 7,
    );
  }

  /** Frees the classifier's tensors. */
  dispose(): void {
    this.#clf?.dispose();
    this.#clf = null;
  }
}
