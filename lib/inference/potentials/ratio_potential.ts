/**
 * Ratio-based potential of NRE: U(θ) = Σ_k log r(x_o^k, θ) + log p(θ), where
 * the classifier logit estimates log r(x, θ) = log p(x | θ) / p(x), so that
 * U(θ) = log p(θ | x_o) up to a constant (Hermans et al. 2020; Durkan et al.
 * 2020; sbi `ratio_estimator_based_potential`). For iid observations the
 * likelihood ratios multiply (the log-ratios add). Rows outside the prior
 * support get `-Infinity` without a network call.
 * @module
 */
import type { Matrix, MatrixLike } from "../matrix.ts";
import type { Prior } from "../priors/prior.ts";
import type { RatioClassifier } from "../estimators/ratio_classifier.ts";
import type { GradPotential, Potential } from "../samplers/potential.ts";
import { observationRows } from "./likelihood_potential.ts";

/**
 * Builds the batched potential Σ_k log r(x_o^k, θ) + log p(θ).
 * @param classifier the trained ratio classifier
 * @param prior the prior
 * @param xo one observation, or iid observations as rows
 * @returns the potential
 * @throws {TypeError} on dimension mismatches
 */
export function ratioPotential(
  classifier: RatioClassifier,
  prior: Prior,
  xo: ArrayLike<number> | MatrixLike,
): Potential {
  const dt = classifier.config.thetaDim;
  const dx = classifier.config.xDim;
  if (prior.dim !== dt) {
    throw new TypeError(
      `prior dim ${prior.dim} != ratio classifier theta dim ${dt}`,
    );
  }
  const X = observationRows(xo, dx);
  const K = X.rows;
  return (theta: Matrix): Float64Array => {
    if (theta.cols !== dt) {
      throw new TypeError(`theta has ${theta.cols} columns, expected ${dt}`);
    }
    const lp = prior.logProb(theta);
    const idx: number[] = [];
    for (let i = 0; i < theta.rows; i++) if (lp[i] > -Infinity) idx.push(i);
    if (idx.length === 0) return lp;
    const m = idx.length * K;
    const th = new Float32Array(m * dt);
    const xs = K === 1 ? X.data : new Float32Array(m * dx);
    for (let a = 0; a < idx.length; a++) {
      const row = theta.data.subarray(idx[a] * dt, idx[a] * dt + dt);
      for (let k = 0; k < K; k++) {
        th.set(row, (a * K + k) * dt);
        if (K > 1) {
          xs.set(X.data.subarray(k * dx, k * dx + dx), (a * K + k) * dx);
        }
      }
    }
    const lr = classifier.logits(th, xs, m);
    for (let a = 0; a < idx.length; a++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += lr[a * K + k];
      lp[idx[a]] += s;
    }
    for (let i = 0; i < lp.length; i++) if (lp[i] !== lp[i]) lp[i] = -Infinity;
    return lp;
  };
}

/**
 * The gradient version of {@linkcode ratioPotential} for HMC / NUTS:
 * Σ_k log r(x_o^k, θ) + log p(θ) and its gradient with respect to θ (the
 * classifier's logit gradient plus the prior's `gradLogProb`). Rows outside
 * the prior support get `-Infinity` and a zero gradient without a network call.
 * @param classifier the trained ratio classifier
 * @param prior the prior; must have `gradLogProb`
 * @param xo one observation, or iid observations as rows
 * @returns the gradient potential
 * @throws {TypeError} on dimension mismatches or a prior without `gradLogProb`
 */
export function ratioGradPotential(
  classifier: RatioClassifier,
  prior: Prior,
  xo: ArrayLike<number> | MatrixLike,
): GradPotential {
  const dt = classifier.config.thetaDim;
  const dx = classifier.config.xDim;
  if (prior.dim !== dt) {
    throw new TypeError(
      `prior dim ${prior.dim} != ratio classifier theta dim ${dt}`,
    );
  }
  const gradPrior = prior.gradLogProb?.bind(prior);
  if (!gradPrior) {
    throw new TypeError(
      `the prior (${prior.describe().type}) has no gradLogProb; gradient-based samplers need one`,
    );
  }
  const X = observationRows(xo, dx);
  const K = X.rows;
  return (theta: Matrix) => {
    if (theta.cols !== dt) {
      throw new TypeError(`theta has ${theta.cols} columns, expected ${dt}`);
    }
    const lp = prior.logProb(theta);
    const grad = Float64Array.from(gradPrior(theta));
    const idx: number[] = [];
    for (let i = 0; i < theta.rows; i++) {
      if (lp[i] > -Infinity) idx.push(i);
      else grad.fill(0, i * dt, i * dt + dt);
    }
    if (idx.length === 0) return { logProb: lp, grad };
    const m = idx.length * K;
    const th = new Float32Array(m * dt);
    const xs = K === 1 ? X.data : new Float32Array(m * dx);
    for (let a = 0; a < idx.length; a++) {
      const row = theta.data.subarray(idx[a] * dt, idx[a] * dt + dt);
      for (let k = 0; k < K; k++) {
        th.set(row, (a * K + k) * dt);
        if (K > 1) {
          xs.set(X.data.subarray(k * dx, k * dx + dx), (a * K + k) * dx);
        }
      }
    }
    const r = classifier.logitsWithGrad(th, xs, m);
    for (let a = 0; a < idx.length; a++) {
      const i = idx[a];
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
