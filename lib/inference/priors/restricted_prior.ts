/**
 * {@linkcode RestrictedPrior}: a prior cut down to the parameter sets a
 * validity classifier accepts (sbi's `RestrictedPrior`), sampled by rejection
 * from the unrestricted prior.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import {
  asPrior,
  type Prior,
  PriorBase,
  type PriorDescription,
  type RandomSource,
  toRng,
  type UserPrior,
} from "./prior.ts";

/**
 * A prior restricted to the parameter sets a classifier deems valid:
 * p_r(θ) = p(θ) 1[q(valid | θ) > threshold] / acceptanceRate. Sampling is by
 * rejection from the prior. Built by `RestrictionEstimator.restrictPrior`
 * (`../methods/restriction.ts`), it stays usable only while that estimator
 * is not disposed.
 */
export class RestrictedPrior extends PriorBase {
  /** Number of parameters. */
  readonly dim: number;
  /** The unrestricted prior. */
  readonly prior: Prior;
  /** Decision threshold on the valid probability. */
  readonly threshold: number;
  /** Fraction of prior draws accepted (estimated at construction). */
  readonly acceptanceRate: number;
  #prob: (t: Matrix) => ArrayLike<number>;

  /**
   * Creates the restricted prior (normally through `RestrictionEstimator.restrictPrior`).
   * @param prior the prior
   * @param validProbability probability of a valid simulation per row
   * @param threshold accept rows whose probability exceeds this
   * @param numAcceptanceSamples prior draws used to estimate the acceptance rate
   * @param seed seed of that estimate
   * @throws {RangeError} when no prior draw is accepted
   */
  constructor(
    prior: Prior | UserPrior,
    validProbability: (t: Matrix) => ArrayLike<number>,
    threshold: number,
    numAcceptanceSamples = 10_000,
    seed = 0,
  ) {
    super();
    this.prior = asPrior(prior);
    this.dim = this.prior.dim;
    this.#prob = validProbability;
    this.threshold = threshold;
    const s = this.prior.sample(numAcceptanceSamples, new Rng(seed));
    const p = validProbability(s);
    let k = 0;
    for (let i = 0; i < s.rows; i++) if (p[i] > threshold) k++;
    if (k === 0) {
      throw new RangeError(
        `the restricted prior accepts none of ${numAcceptanceSamples} prior draws (threshold ${threshold})`,
      );
    }
    this.acceptanceRate = k / s.rows;
  }

  /**
   * Whether each row is accepted by the classifier.
   * @param theta rows of parameters
   * @returns 1 for accepted rows, else 0
   */
  accepts(theta: MatrixLike): Uint8Array {
    const t = Matrix.of(theta);
    const p = this.#prob(t);
    return Uint8Array.from(
      { length: t.rows },
      (_, i) => p[i] > this.threshold ? 1 : 0,
    );
  }

  /**
   * Draws `n` samples by rejection from the prior.
   * @param n number of samples
   * @param rng random source or seed
   * @returns an `n x dim` Matrix
   * @throws {RangeError} if `n` is not a non-negative integer
   */
  sample(n: number, rng?: RandomSource | number): Matrix {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `number of samples must be a non-negative integer, got ${n}`,
      );
    }
    const r = toRng(rng);
    const d = this.dim;
    const out = new Matrix(n, d);
    let got = 0;
    while (got < n) {
      const want = Math.min(
        100_000,
        Math.ceil(((n - got) / this.acceptanceRate) * 1.2) + 10,
      );
      const s = this.prior.sample(want, r);
      const ok = this.accepts(s);
      for (let i = 0; i < want && got < n; i++) {
        if (ok[i]) out.data.set(s.row(i), (got++) * d);
      }
    }
    return out;
  }

  /**
   * Normalised log-density: the prior's minus log(acceptanceRate) where
   * accepted, −∞ elsewhere.
   * @param theta rows of parameters
   * @returns one log-density per row
   * @throws {TypeError} on a column-count mismatch
   */
  override logProb(theta: MatrixLike): Float64Array {
    const t = Matrix.of(theta);
    const lp = this.prior.logProb(t);
    if (t.rows === 0) return lp;
    const ok = this.accepts(t);
    const c = Math.log(this.acceptanceRate);
    for (let i = 0; i < t.rows; i++) lp[i] = ok[i] ? lp[i] - c : -Infinity;
    return lp;
  }

  /**
   * Log-density of one row.
   * @param row parameter vector
   * @returns the log-density
   */
  logProbRow(row: ArrayLike<number>): number {
    return this.logProb(new Matrix(1, this.dim, Float32Array.from(row)))[0];
  }

  /**
   * Whether a parameter vector is in the prior support and accepted.
   * @param row parameter vector
   * @returns true inside the restricted support
   */
  inSupport(row: ArrayLike<number>): boolean {
    return this.prior.inSupport(row) &&
      this.accepts(new Matrix(1, this.dim, Float32Array.from(row)))[0] === 1;
  }

  /**
   * JSON description (a custom prior: the classifier is not serialised).
   * @returns `{ type: "custom", dim }`
   */
  describe(): PriorDescription {
    return { type: "custom", dim: this.dim };
  }
}
