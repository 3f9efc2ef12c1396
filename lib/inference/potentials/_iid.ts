/**
 * The shared mechanism of the likelihood- and ratio-based potentials:
 * U(θ) = Σ_k t(θ, x_o^k) + log p(θ) over iid observations x_o^1..x_o^K,
 * where t is a per-pair term (log q(x|θ) for NLE/MNLE, log r(x, θ) for NRE).
 * Rows outside the prior support get `-Infinity` (and a zero gradient)
 * without a network call; all other (θ, x_o^k) pairs go to the term in one
 * batch; a non-finite sum becomes `-Infinity`.
 * @module
 */
import type { Matrix } from "../matrix.ts";
import type { Prior } from "../priors/prior.ts";
import type { GradPotential, Potential } from "./potential.ts";

/** A batched per-pair term: one value per (θ row, x row) pair. */
export type PairTerm = (
  theta: Float32Array,
  x: Float32Array,
  m: number,
) => ArrayLike<number>;

/** A batched per-pair term with its gradient w.r.t. θ (`m × thetaDim`). */
export type PairTermGrad = (
  theta: Float32Array,
  x: Float32Array,
  m: number,
) => { value: ArrayLike<number>; grad: ArrayLike<number> };

/** The (θ, x_o^k) pairs of the rows inside the prior support. */
function pairs(
  theta: Matrix,
  inside: number[],
  X: Matrix,
): { th: Float32Array; xs: Float32Array; m: number } {
  const dt = theta.cols, dx = X.cols, K = X.rows;
  const m = inside.length * K;
  const th = new Float32Array(m * dt);
  const xs = K === 1 && inside.length === 1 ? X.data : new Float32Array(m * dx);
  for (let a = 0; a < inside.length; a++) {
    const row = theta.data.subarray(inside[a] * dt, inside[a] * dt + dt);
    for (let k = 0; k < K; k++) th.set(row, (a * K + k) * dt);
    if (xs !== X.data) xs.set(X.data, a * K * dx);
  }
  return { th, xs, m };
}

function checkCols(theta: Matrix, dt: number): void {
  if (theta.cols !== dt) {
    throw new TypeError(`theta has ${theta.cols} columns, expected ${dt}`);
  }
}

/**
 * Builds U(θ) = Σ_k term(θ, x_o^k) + log p(θ).
 * @param prior the prior (its dimension is θ's)
 * @param X the observations as rows
 * @param term the per-pair term
 * @returns the potential
 */
export function iidPotential(
  prior: Prior,
  X: Matrix,
  term: PairTerm,
): Potential {
  const K = X.rows;
  return (theta: Matrix): Float64Array => {
    checkCols(theta, prior.dim);
    const lp = prior.logProb(theta);
    const inside: number[] = [];
    for (let i = 0; i < theta.rows; i++) if (lp[i] > -Infinity) inside.push(i);
    if (inside.length === 0) return lp;
    const { th, xs, m } = pairs(theta, inside, X);
    const v = term(th, xs, m);
    for (let a = 0; a < inside.length; a++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += v[a * K + k];
      lp[inside[a]] += s;
    }
    for (let i = 0; i < lp.length; i++) {
      if (!(lp[i] < Infinity)) lp[i] = -Infinity;
    }
    return lp;
  };
}

/**
 * The gradient version of {@linkcode iidPotential}: U(θ) and ∇θ U (the
 * term's gradient summed over the observations plus the prior's
 * `gradLogProb`).
 * @param prior the prior; must have `gradLogProb`
 * @param X the observations as rows
 * @param term the per-pair term with its gradient
 * @returns the gradient potential
 * @throws {TypeError} for a prior without `gradLogProb`
 */
export function iidGradPotential(
  prior: Prior,
  X: Matrix,
  term: PairTermGrad,
): GradPotential {
  const gradPrior = prior.gradLogProb?.bind(prior);
  if (!gradPrior) {
    throw new TypeError(
      `the prior (${prior.describe().type}) has no gradLogProb; gradient-based samplers need one`,
    );
  }
  const K = X.rows, dt = prior.dim;
  return (theta: Matrix) => {
    checkCols(theta, dt);
    const lp = prior.logProb(theta);
    const grad = Float64Array.from(gradPrior(theta));
    const inside: number[] = [];
    for (let i = 0; i < theta.rows; i++) {
      if (lp[i] > -Infinity) inside.push(i);
      else grad.fill(0, i * dt, i * dt + dt);
    }
    if (inside.length === 0) return { logProb: lp, grad };
    const { th, xs, m } = pairs(theta, inside, X);
    const r = term(th, xs, m);
    for (let a = 0; a < inside.length; a++) {
      const i = inside[a];
      let s = 0;
      for (let k = 0; k < K; k++) {
        s += r.value[a * K + k];
        for (let j = 0; j < dt; j++) {
          grad[i * dt + j] += r.grad[(a * K + k) * dt + j];
        }
      }
      lp[i] += s;
      if (!Number.isFinite(lp[i])) {
        lp[i] = -Infinity;
        grad.fill(0, i * dt, i * dt + dt);
      }
    }
    return { logProb: lp, grad };
  };
}
