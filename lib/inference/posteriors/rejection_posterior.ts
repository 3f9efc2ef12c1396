/**
 * {@linkcode RejectionPosterior}: an {@linkcode MCMCPosterior} whose sampler is
 * fixed to rejection sampling with the prior as proposal.
 * @module
 */
import type { DensityEstimator } from "../estimators/density_estimator.ts";
import type { Prior, UserPrior } from "../priors/prior.ts";
import { MCMCPosterior, type PotentialFactory } from "./mcmc_posterior.ts";

/** {@linkcode MCMCPosterior} fixed to rejection sampling from the prior. */
export class RejectionPosterior extends MCMCPosterior {
  /**
   * Creates the posterior.
   * @param estimator the likelihood estimator or a potential factory (owned from now on)
   * @param prior the prior (also the proposal)
   * @param options `{ seed }`
   */
  constructor(
    estimator: DensityEstimator | PotentialFactory,
    prior: Prior | UserPrior,
    options: { seed?: number } = {},
  ) {
    super(estimator, prior, { seed: options.seed, mcmcMethod: "rejection" });
  }
}
