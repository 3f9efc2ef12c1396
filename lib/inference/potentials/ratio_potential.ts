/**
 * Ratio-based potential of NRE: U(θ) = Σ_k log r(x_o^k, θ) + log p(θ), where
 * the classifier logit estimates log r(x, θ) = log p(x | θ) / p(x), so that
 * U(θ) = log p(θ | x_o) up to a constant (Hermans et al. 2020; Durkan et al.
 * 2020; sbi `ratio_estimator_based_potential`). For iid observations the
 * likelihood ratios multiply (the log-ratios add). Rows outside the prior
 * support get `-Infinity` without a network call.
 * @module
 */
import type { MatrixLike } from "../matrix.ts";
import type { Prior } from "../priors/prior.ts";
import type { RatioClassifier } from "../estimators/ratio_classifier.ts";
import type { GradPotential, Potential } from "./potential.ts";
import { observationRows } from "./likelihood_potential.ts";
import { iidGradPotential, iidPotential } from "./_iid.ts";

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
  return iidPotential(
    prior,
    observationRows(xo, dx),
    (th, xs, m) => classifier.logits(th, xs, m),
  );
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
  return iidGradPotential(
    prior,
    observationRows(xo, dx),
    (th, xs, m) => classifier.logitsWithGrad(th, xs, m),
  );
}
