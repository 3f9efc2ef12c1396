/**
 * Independent log-normal prior: `log(theta_i) ~ N(mean_i, std_i^2)`.
 * @module
 */
import { Matrix, type MatrixLike } from "../matrix.ts";
import {
  checkVector,
  PriorBase,
  type PriorDescription,
  type RandomSource,
  toRng,
} from "./prior.ts";

/** Options of {@linkcode LogNormal}. */
export interface LogNormalOptions {
  /** Mean of `log(theta)`, one per dimension. */
  mean: ArrayLike<number>;
  /** Standard deviation of `log(theta)`, one per dimension (> 0). */
  std: ArrayLike<number>;
}

/** Product of independent log-normal distributions (support `theta > 0`). */
export class LogNormal extends PriorBase {
  /** Number of parameters. */
  readonly dim: number;
  /** Means of log(theta). */
  readonly mean: number[];
  /** Standard deviations of log(theta). */
  readonly std: number[];

  /**
   * Creates the object from its options.
   * @param options `{ mean, std }` of the underlying normal
   * @throws {TypeError} if lengths differ
   * @throws {RangeError} if a std is not positive
   * @example
   * ```ts
   * import { LogNormal } from "./log_normal.ts";
   * const prior = new LogNormal({ mean: [0], std: [1] });
   * console.log(prior.logProb([[1]])[0].toFixed(4)); // -0.9189
   * ```
   */
  constructor(options: LogNormalOptions) {
    super();
    const mean = checkVector("LogNormal mean", options?.mean);
    const std = checkVector("LogNormal std", options?.std);
    if (mean.length !== std.length || mean.length === 0) {
      throw new TypeError(
        `LogNormal mean (${mean.length}) and std (${std.length}) must have equal non-zero length`,
      );
    }
    for (const s of std) {
      if (!(s > 0)) {
        throw new RangeError(`LogNormal std must be > 0, got ${s}`);
      }
    }
    this.mean = mean;
    this.std = std;
    this.dim = mean.length;
  }

  /**
   * Draws samples.
   * @param n number of samples
   * @param rng random source or seed
   * @returns an `n x dim` Matrix of positive values
   */
  sample(n: number, rng?: RandomSource | number): Matrix {
    const r = toRng(rng);
    const out = new Matrix(n, this.dim);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < this.dim; j++) {
        out.data[i * this.dim + j] = Math.exp(
          this.mean[j] + this.std[j] * r.normal(),
        );
      }
    }
    return out;
  }

  /**
   * Log-density of one parameter vector.
   * @param row parameter vector
   * @returns the log-density (`-Infinity` for non-positive entries)
   */
  logProbRow(row: ArrayLike<number>): number {
    let s = 0;
    for (let j = 0; j < this.dim; j++) {
      const v = row[j];
      if (!(v > 0) || !Number.isFinite(v)) return -Infinity;
      const z = (Math.log(v) - this.mean[j]) / this.std[j];
      s += -0.5 * z * z - Math.log(this.std[j]) - 0.5 * Math.log(2 * Math.PI) -
        Math.log(v);
    }
    return s;
  }

  /**
   * Gradient of the log-density, -(1 + (log theta - mean) / std²) / theta.
   * @param theta rows of parameters
   * @returns d log p / d theta, row-major `rows x dim` (0 for entries outside the support)
   * @throws {TypeError} if the column count differs from `dim`
   */
  gradLogProb(theta: MatrixLike): Float64Array {
    const m = Matrix.of(theta);
    const d = this.dim;
    if (m.rows > 0 && m.cols !== d) {
      throw new TypeError(`prior has dim ${d} but theta has ${m.cols} columns`);
    }
    const out = new Float64Array(m.rows * d);
    for (let i = 0; i < m.rows * d; i++) {
      const v = m.data[i], j = i % d;
      if (!(v > 0) || !Number.isFinite(v)) continue;
      const s2 = this.std[j] * this.std[j];
      out[i] = -(1 + (Math.log(v) - this.mean[j]) / s2) / v;
    }
    return out;
  }

  /**
   * Whether a parameter vector lies in the support.
   * @param row parameter vector
   * @returns true when every entry is positive and finite
   */
  inSupport(row: ArrayLike<number>): boolean {
    for (let j = 0; j < this.dim; j++) {
      if (!(row[j] > 0 && Number.isFinite(row[j]))) return false;
    }
    return true;
  }

  /**
   * JSON description of this prior.
   * @returns the JSON description
   */
  describe(): PriorDescription {
    return {
      type: "LogNormal",
      mean: this.mean.slice(),
      std: this.std.slice(),
    };
  }
}
