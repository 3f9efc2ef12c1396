/**
 * The prior interface shared by inference methods, plus helpers that wrap
 * user-supplied priors and rebuild saved priors.
 * @module
 */
import { Matrix, type MatrixLike } from "../matrix.ts";
import { Rng } from "../../_internal/random.ts";

/** A source of random numbers (the library's seeded `Rng` satisfies it). */
export interface RandomSource {
  /** Uniform in [0, 1). */
  random(): number;
  /** Standard normal. */
  normal(): number;
}

/** JSON description of a built-in prior (stored in saved posteriors). */
export type PriorDescription =
  | { type: "BoxUniform"; low: number[]; high: number[] }
  | { type: "Normal"; mean: number[]; covariance: number[][] }
  | { type: "LogNormal"; mean: number[]; std: number[] }
  | { type: "MultipleIndependent"; priors: PriorDescription[] }
  | { type: "custom"; dim: number };

/** A prior distribution over parameter vectors of length `dim`. */
export interface Prior {
  /** Number of parameters. */
  readonly dim: number;
  /**
   * Draws `n` samples.
   * @param n number of samples
   * @param rng a random source or an integer seed
   * @returns an `n x dim` Matrix
   */
  sample(n: number, rng?: RandomSource | number): Matrix;
  /**
   * Log-density of each row (`-Infinity` outside the support).
   * @param theta rows of parameters
   * @returns one log-density per row
   */
  logProb(theta: MatrixLike): Float64Array;
  /**
   * Whether a parameter vector lies in the support.
   * @param row one parameter vector
   * @returns true inside the support
   */
  inSupport(row: ArrayLike<number>): boolean;
  /**
   * Optional gradient of the log-density with respect to theta (used by the
   * gradient-based samplers HMC / NUTS).
   * @param theta rows of parameters
   * @returns d log p / d theta, row-major `rows x dim` (0 outside the support)
   */
  gradLogProb?(theta: MatrixLike): Float64Array;
  /**
   * JSON description (for saving).
   * @returns the description
   */
  describe(): PriorDescription;
}

/** Minimal user-supplied prior: anything with `sample` and `logProb`. */
export interface UserPrior {
  /** Optional dimension (inferred from one sample when absent). */
  dim?: number;
  /** Draws `n` samples as rows. */
  sample(n: number, rng: RandomSource): MatrixLike | Promise<MatrixLike>;
  /** Log-density of rows (array-like of numbers). */
  logProb(theta: Matrix): ArrayLike<number>;
  /** Optional support check. */
  inSupport?(row: ArrayLike<number>): boolean;
  /** Optional gradient of `logProb` w.r.t. theta, row-major `rows x dim` (enables HMC / NUTS). */
  gradLogProb?(theta: Matrix): ArrayLike<number>;
}

/**
 * Returns a random source from an `Rng`-like object, a seed, or a fresh seeded default.
 * @param rng a random source or a seed (default 0)
 * @returns a random source
 */
export function toRng(rng?: RandomSource | number): RandomSource {
  if (rng === undefined) return new Rng(0);
  if (typeof rng === "number") return new Rng(rng);
  return rng;
}

/**
 * Wraps a user object with `sample(n, rng)` and `logProb(theta)` into a {@linkcode Prior}.
 * Built-in priors are returned unchanged. The support is where `logProb` is finite
 * unless the object has its own `inSupport`.
 * @param p the prior
 * @returns a Prior
 * @throws {TypeError} if `p` lacks `sample` or `logProb`, or its samples are not matrix-like
 * @example
 * ```ts
 * import { asPrior, type UserPrior } from "./prior.ts";
 * import { Rng } from "../../_internal/random.ts";
 * const unit: UserPrior = {
 *   sample: (n, rng) => Array.from({ length: n }, () => [rng.random()]),
 *   logProb: (t) => Array.from({ length: t.rows }, (_, i) => (t.get(i, 0) >= 0 && t.get(i, 0) <= 1 ? 0 : -Infinity)),
 * };
 * const p = asPrior(unit);
 * console.log(p.dim, p.sample(3, new Rng(1)).rows); // 1 3
 * ```
 */
export function asPrior(p: Prior | UserPrior): Prior {
  if (p instanceof PriorBase) return p;
  if (
    p === null || typeof p !== "object" || typeof p.sample !== "function" ||
    typeof p.logProb !== "function"
  ) {
    throw new TypeError(
      `a prior needs sample(n, rng) and logProb(theta) methods, got ${
        String(p)
      }`,
    );
  }
  return new WrappedPrior(p as UserPrior);
}

/** Base class of the built-in priors. */
export abstract class PriorBase implements Prior {
  /** Number of parameters. */
  abstract readonly dim: number;
  /**
   * Draws `n` samples.
   * @param n number of samples
   * @param rng random source or seed
   * @returns an `n x dim` Matrix
   */
  abstract sample(n: number, rng?: RandomSource | number): Matrix;
  /**
   * Log-density of one row (float64).
   * @param row parameter vector
   * @returns log-density (`-Infinity` outside the support)
   */
  abstract logProbRow(row: ArrayLike<number>): number;
  /**
   * Whether a parameter vector lies in the support.
   * @param row parameter vector
   * @returns true inside the support
   */
  abstract inSupport(row: ArrayLike<number>): boolean;
  /**
   * JSON description.
   * @returns the description
   */
  abstract describe(): PriorDescription;

  /**
   * Log-density of each row.
   * @param theta rows of parameters
   * @returns one log-density per row
   * @throws {TypeError} if the column count differs from `dim`
   */
  logProb(theta: MatrixLike): Float64Array {
    const m = Matrix.of(theta);
    if (m.rows > 0 && m.cols !== this.dim) {
      throw new TypeError(
        `prior has dim ${this.dim} but theta has ${m.cols} columns`,
      );
    }
    const out = new Float64Array(m.rows);
    for (let i = 0; i < m.rows; i++) out[i] = this.logProbRow(m.row(i));
    return out;
  }
}

class WrappedPrior extends PriorBase {
  readonly dim: number;
  readonly gradLogProb?: (theta: MatrixLike) => Float64Array;
  #p: UserPrior;
  constructor(p: UserPrior) {
    super();
    this.#p = p;
    if (typeof p.gradLogProb === "function") {
      const f = p.gradLogProb.bind(p);
      this.gradLogProb = (theta: MatrixLike) => {
        const m = Matrix.of(theta);
        const g = Float64Array.from(f(m) as ArrayLike<number>);
        if (g.length !== m.rows * this.dim) {
          throw new TypeError(
            `user prior gradLogProb returned ${g.length} values for ${m.rows} rows of dim ${this.dim}`,
          );
        }
        return g;
      };
    }
    if (typeof p.dim === "number") this.dim = p.dim;
    else {
      const s = p.sample(1, new Rng(0));
      if (s instanceof Promise) {
        throw new TypeError(
          "a user prior without `dim` must sample synchronously",
        );
      }
      this.dim = Matrix.of(s).cols;
    }
  }
  sample(n: number, rng?: RandomSource | number): Matrix {
    const s = this.#p.sample(n, toRng(rng));
    if (s instanceof Promise) {
      throw new TypeError("user prior sample() must be synchronous");
    }
    const m = Matrix.of(s);
    if (m.rows !== n || m.cols !== this.dim) {
      throw new TypeError(
        `user prior returned ${m.rows}x${m.cols} samples, expected ${n}x${this.dim}`,
      );
    }
    return m;
  }
  override logProb(theta: MatrixLike): Float64Array {
    const m = Matrix.of(theta);
    const lp = this.#p.logProb(m);
    const out = Float64Array.from(lp as ArrayLike<number>);
    if (out.length !== m.rows) {
      throw new TypeError(
        `user prior logProb returned ${out.length} values for ${m.rows} rows`,
      );
    }
    return out;
  }
  logProbRow(row: ArrayLike<number>): number {
    return this.logProb(new Matrix(1, this.dim, Float32Array.from(row)))[0];
  }
  inSupport(row: ArrayLike<number>): boolean {
    if (this.#p.inSupport) return this.#p.inSupport(row);
    const lp = this.logProbRow(row);
    return Number.isFinite(lp);
  }
  describe(): PriorDescription {
    return { type: "custom", dim: this.dim };
  }
}

/** Checks that `v` is an array of finite numbers and returns it as number[]. */
export function checkVector(name: string, v: ArrayLike<number>): number[] {
  if (v === null || typeof v !== "object" || typeof v.length !== "number") {
    throw new TypeError(
      `${name} must be an array of numbers, got ${String(v)}`,
    );
  }
  const out = Array.from(v, Number);
  for (const x of out) {
    if (!Number.isFinite(x)) {
      throw new RangeError(`${name} must be finite, got ${x}`);
    }
  }
  return out;
}
