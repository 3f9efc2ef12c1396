/**
 * Uniform prior on an axis-aligned box (sbi's `BoxUniform`).
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

/** Options of {@linkcode BoxUniform}. */
export interface BoxUniformOptions {
  /** Lower bounds, one per dimension. */
  low: ArrayLike<number>;
  /** Upper bounds, one per dimension (each > low). */
  high: ArrayLike<number>;
}

/** Independent uniform distributions on `[low_i, high_i]`. */
export class BoxUniform extends PriorBase {
  /** Number of parameters. */
  readonly dim: number;
  /** Lower bounds. */
  readonly low: number[];
  /** Upper bounds. */
  readonly high: number[];
  #logVolume: number;

  /**
   * Creates the object from its options.
   * @param options `{ low, high }`
   * @throws {TypeError} if low and high differ in length
   * @throws {RangeError} if a bound is not finite or `high <= low`
   * @example
   * ```ts
   * import { BoxUniform } from "./box_uniform.ts";
   * const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
   * const s = prior.sample(5, 42);
   * console.log(s.rows, prior.logProb(s)[0]); // 5 -1.3862943611198906
   * ```
   */
  constructor(options: BoxUniformOptions) {
    super();
    const low = checkVector("BoxUniform low", options?.low);
    const high = checkVector("BoxUniform high", options?.high);
    if (low.length !== high.length || low.length === 0) {
      throw new TypeError(
        `BoxUniform low (${low.length}) and high (${high.length}) must have equal non-zero length`,
      );
    }
    for (let i = 0; i < low.length; i++) {
      if (!(high[i] > low[i])) {
        throw new RangeError(
          `BoxUniform needs high > low, got low[${i}]=${low[i]} high[${i}]=${
            high[i]
          }`,
        );
      }
    }
    this.low = low;
    this.high = high;
    this.dim = low.length;
    this.#logVolume = low.reduce((a, l, i) => a + Math.log(high[i] - l), 0);
  }

  /**
   * Draws `n` samples.
   * @param n number of samples
   * @param rng random source or seed (default seed 0)
   * @returns an `n x dim` Matrix
   */
  sample(n: number, rng?: RandomSource | number): Matrix {
    const r = toRng(rng);
    const out = new Matrix(n, this.dim);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < this.dim; j++) {
        let v = Math.fround(
          this.low[j] + (this.high[j] - this.low[j]) * r.random(),
        );
        if (v >= this.high[j]) v = Math.fround(this.low[j]); // float32 rounding up to high
        out.data[i * this.dim + j] = v;
      }
    }
    return out;
  }

  /**
   * Log-density of one parameter vector.
   * @param row parameter vector
   * @returns `-log(volume)` inside the box, `-Infinity` outside
   */
  logProbRow(row: ArrayLike<number>): number {
    return this.inSupport(row) ? -this.#logVolume : -Infinity;
  }

  /**
   * Gradient of the log-density: zero (constant inside the box; also 0 outside).
   * @param theta rows of parameters
   * @returns zeros, row-major `rows x dim`
   */
  gradLogProb(theta: MatrixLike): Float64Array {
    const m = Matrix.of(theta);
    return new Float64Array(m.rows * this.dim);
  }

  /**
   * Whether a parameter vector lies in the support.
   * @param row parameter vector
   * @returns true if `low <= row <= high` elementwise
   */
  inSupport(row: ArrayLike<number>): boolean {
    for (let j = 0; j < this.dim; j++) {
      const v = row[j];
      if (!(v >= this.low[j] && v <= this.high[j])) return false;
    }
    return true;
  }

  /**
   * JSON description of this prior.
   * @returns the JSON description
   */
  describe(): PriorDescription {
    return {
      type: "BoxUniform",
      low: this.low.slice(),
      high: this.high.slice(),
    };
  }
}
