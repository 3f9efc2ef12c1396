/**
 * Concatenation of independent priors (sbi's `MultipleIndependent`).
 * @module
 */
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

/** Independent priors stacked into one parameter vector, in order. */
export class MultipleIndependent extends PriorBase {
  /** Total number of parameters. */
  readonly dim: number;
  /** The component priors. */
  readonly priors: Prior[];
  /**
   * Gradient of the log-density (the components' gradients side by side);
   * present only when every component has `gradLogProb`.
   */
  readonly gradLogProb?: (theta: MatrixLike) => Float64Array;

  /**
   * Creates the object from its options.
   * @param priors component priors (each may be multi-dimensional)
   * @throws {TypeError} if the list is empty or an entry is not a prior
   * @example
   * ```ts
   * import { MultipleIndependent } from "./multiple_independent.ts";
   * import { BoxUniform } from "./box_uniform.ts";
   * import { LogNormal } from "./log_normal.ts";
   * const prior = new MultipleIndependent([
   *   new BoxUniform({ low: [0], high: [1] }),
   *   new LogNormal({ mean: [0], std: [1] }),
   * ]);
   * console.log(prior.dim, prior.sample(4, 1).cols); // 2 2
   * ```
   */
  constructor(priors: (Prior | UserPrior)[]) {
    super();
    if (!Array.isArray(priors) || priors.length === 0) {
      throw new TypeError(
        "MultipleIndependent needs a non-empty array of priors",
      );
    }
    this.priors = priors.map(asPrior);
    this.dim = this.priors.reduce((a, p) => a + p.dim, 0);
    if (this.priors.every((p) => typeof p.gradLogProb === "function")) {
      this.gradLogProb = (theta: MatrixLike) => {
        const m = Matrix.of(theta);
        const D = this.dim;
        if (m.rows > 0 && m.cols !== D) {
          throw new TypeError(
            `prior has dim ${D} but theta has ${m.cols} columns`,
          );
        }
        const out = new Float64Array(m.rows * D);
        let off = 0;
        for (const p of this.priors) {
          const sub = new Matrix(m.rows, p.dim);
          for (let i = 0; i < m.rows; i++) {
            for (let j = 0; j < p.dim; j++) {
              sub.data[i * p.dim + j] = m.data[i * D + off + j];
            }
          }
          const g = p.gradLogProb!(sub);
          for (let i = 0; i < m.rows; i++) {
            for (let j = 0; j < p.dim; j++) {
              out[i * D + off + j] = g[i * p.dim + j];
            }
          }
          off += p.dim;
        }
        return out;
      };
    }
  }

  /**
   * Draws samples.
   * @param n number of samples
   * @param rng random source or seed
   * @returns an `n x dim` Matrix
   */
  sample(n: number, rng?: RandomSource | number): Matrix {
    const r = toRng(rng);
    const out = new Matrix(n, this.dim);
    let off = 0;
    for (const p of this.priors) {
      const s = p.sample(n, r);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p.dim; j++) {
          out.data[i * this.dim + off + j] = s.data[i * p.dim + j];
        }
      }
      off += p.dim;
    }
    return out;
  }

  /**
   * Log-density of one parameter vector.
   * @param row parameter vector
   * @returns the sum of the component log-densities
   */
  logProbRow(row: ArrayLike<number>): number {
    let off = 0;
    let s = 0;
    for (const p of this.priors) {
      const sub = Array.prototype.slice.call(row, off, off + p.dim) as number[];
      s += p.logProb([sub])[0];
      off += p.dim;
    }
    return s;
  }

  /**
   * Whether a parameter vector lies in the support.
   * @param row parameter vector
   * @returns true when every block is in its prior's support
   */
  inSupport(row: ArrayLike<number>): boolean {
    let off = 0;
    for (const p of this.priors) {
      const sub = Array.prototype.slice.call(row, off, off + p.dim) as number[];
      if (!p.inSupport(sub)) return false;
      off += p.dim;
    }
    return true;
  }

  /**
   * JSON description of this prior.
   * @returns the JSON description
   */
  describe(): PriorDescription {
    return {
      type: "MultipleIndependent",
      priors: this.priors.map((p) => p.describe()),
    };
  }
}
