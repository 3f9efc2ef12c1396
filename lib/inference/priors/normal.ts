/**
 * Multivariate normal prior with full or diagonal covariance.
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

/** Options of {@linkcode Normal}: a mean plus either `covariance` or `std`. */
export interface NormalOptions {
  /** Mean vector. */
  mean: ArrayLike<number>;
  /** Full covariance matrix (symmetric positive definite). */
  covariance?: number[][];
  /** Per-dimension standard deviations (diagonal covariance). */
  std?: ArrayLike<number>;
}

/**
 * Cholesky factor (lower triangular, row-major float64) of an SPD matrix.
 * @param a the matrix as rows
 * @returns L with `a = L L^T`
 * @throws {RangeError} if `a` is not positive definite
 */
export function cholesky(a: number[][]): Float64Array {
  const n = a.length;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) {
          throw new RangeError(
            `covariance is not positive definite (pivot ${i} = ${s})`,
          );
        }
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  return L;
}

/** Multivariate normal distribution N(mean, covariance). */
export class Normal extends PriorBase {
  /** Number of parameters. */
  readonly dim: number;
  /** Mean vector. */
  readonly mean: number[];
  /** Covariance matrix. */
  readonly covariance: number[][];
  #L: Float64Array;
  #logNorm: number;

  /**
   * Creates the object from its options.
   * @param options `{ mean, covariance }` or `{ mean, std }`
   * @throws {TypeError} if shapes disagree or neither covariance nor std is given
   * @throws {RangeError} if the covariance is not positive definite or a std is not positive
   * @example
   * ```ts
   * import { Normal } from "./normal.ts";
   * const prior = new Normal({ mean: [0, 0], covariance: [[1, 0], [0, 1]] });
   * console.log(prior.logProb([[0, 0]])[0].toFixed(4)); // -1.8379
   * ```
   */
  constructor(options: NormalOptions) {
    super();
    const mean = checkVector("Normal mean", options?.mean);
    const d = mean.length;
    if (d === 0) throw new TypeError("Normal mean must not be empty");
    let cov: number[][];
    if (options.covariance !== undefined) {
      cov = options.covariance.map((r) =>
        checkVector("Normal covariance row", r)
      );
      if (cov.length !== d || cov.some((r) => r.length !== d)) {
        throw new TypeError(`Normal covariance must be ${d}x${d}`);
      }
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < i; j++) {
          if (
            Math.abs(cov[i][j] - cov[j][i]) > 1e-9 * (Math.abs(cov[i][j]) + 1)
          ) {
            throw new RangeError(
              `Normal covariance must be symmetric, [${i}][${j}]=${
                cov[i][j]
              } vs ${cov[j][i]}`,
            );
          }
        }
      }
    } else if (options.std !== undefined) {
      const std = checkVector("Normal std", options.std);
      if (std.length !== d) {
        throw new TypeError(
          `Normal std has length ${std.length}, expected ${d}`,
        );
      }
      cov = std.map((s, i) => {
        if (!(s > 0)) throw new RangeError(`Normal std must be > 0, got ${s}`);
        const r = new Array(d).fill(0);
        r[i] = s * s;
        return r;
      });
    } else throw new TypeError("Normal needs `covariance` or `std`");
    this.dim = d;
    this.mean = mean;
    this.covariance = cov;
    this.#L = cholesky(cov);
    let logDet = 0;
    for (let i = 0; i < d; i++) logDet += Math.log(this.#L[i * d + i]);
    this.#logNorm = -0.5 * d * Math.log(2 * Math.PI) - logDet;
  }

  /**
   * Draws `n` samples (`mean + L eps`).
   * @param n number of samples
   * @param rng random source or seed
   * @returns an `n x dim` Matrix
   */
  sample(n: number, rng?: RandomSource | number): Matrix {
    const r = toRng(rng);
    const d = this.dim;
    const out = new Matrix(n, d);
    const eps = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) eps[j] = r.normal();
      for (let j = 0; j < d; j++) {
        let s = this.mean[j];
        for (let k = 0; k <= j; k++) s += this.#L[j * d + k] * eps[k];
        out.data[i * d + j] = s;
      }
    }
    return out;
  }

  /**
   * Log-density of one parameter vector.
   * @param row parameter vector
   * @returns the log-density
   */
  logProbRow(row: ArrayLike<number>): number {
    const d = this.dim;
    const L = this.#L;
    const z = new Float64Array(d);
    let q = 0;
    for (let i = 0; i < d; i++) {
      let s = row[i] - this.mean[i];
      for (let k = 0; k < i; k++) s -= L[i * d + k] * z[k];
      z[i] = s / L[i * d + i];
      q += z[i] * z[i];
    }
    const v = this.#logNorm - 0.5 * q;
    return Number.isNaN(v) ? -Infinity : v;
  }

  /**
   * Gradient of the log-density, -Σ⁻¹ (theta - mean) (two triangular solves with L).
   * @param theta rows of parameters
   * @returns d log p / d theta, row-major `rows x dim`
   * @throws {TypeError} if the column count differs from `dim`
   */
  gradLogProb(theta: MatrixLike): Float64Array {
    const m = Matrix.of(theta);
    const d = this.dim;
    if (m.rows > 0 && m.cols !== d) {
      throw new TypeError(`prior has dim ${d} but theta has ${m.cols} columns`);
    }
    const L = this.#L;
    const out = new Float64Array(m.rows * d);
    const y = new Float64Array(d);
    for (let r = 0; r < m.rows; r++) {
      for (let i = 0; i < d; i++) { // L y = theta - mean
        let s = m.data[r * d + i] - this.mean[i];
        for (let k = 0; k < i; k++) s -= L[i * d + k] * y[k];
        y[i] = s / L[i * d + i];
      }
      for (let i = d - 1; i >= 0; i--) { // L^T x = y; grad = -x
        let s = y[i];
        for (let k = i + 1; k < d; k++) s += L[k * d + i] * out[r * d + k];
        out[r * d + i] = -s / L[i * d + i];
      }
    }
    return out;
  }

  /**
   * Whether a parameter vector lies in the support.
   * @param row parameter vector
   * @returns true when every entry is finite
   */
  inSupport(row: ArrayLike<number>): boolean {
    for (let j = 0; j < this.dim; j++) {
      if (!Number.isFinite(row[j])) return false;
    }
    return true;
  }

  /**
   * JSON description of this prior.
   * @returns the JSON description
   */
  describe(): PriorDescription {
    return {
      type: "Normal",
      mean: this.mean.slice(),
      covariance: this.covariance.map((r) => r.slice()),
    };
  }
}
