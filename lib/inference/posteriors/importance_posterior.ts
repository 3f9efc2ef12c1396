/**
 * {@linkcode ImportancePosterior}: an {@linkcode MCMCPosterior} whose sampler is
 * fixed to sampling-importance-resampling (SIR) with the prior as proposal.
 * @module
 */
import type { DensityEstimator } from "../estimators/density_estimator.ts";
import type { Prior, UserPrior } from "../priors/prior.ts";
import { MCMCPosterior, type PotentialFactory } from "./mcmc_posterior.ts";

/** {@linkcode MCMCPosterior} fixed to sampling-importance-resampling from the prior. */
export class ImportancePosterior extends MCMCPosterior {
  /**
   * Creates the posterior.
   * @param estimator the likelihood estimator or a potential factory (owned from now on)
   * @param prior the prior (the proposal)
   * @param options `{ seed, oversamplingFactor }`
   */
  constructor(
    estimator: DensityEstimator | PotentialFactory,
    prior: Prior | UserPrior,
    options: { seed?: number; oversamplingFactor?: number } = {},
  ) {
    super(estimator, prior, {
      seed: options.seed,
      mcmcMethod: "sir",
      oversamplingFactor: options.oversamplingFactor,
    });
  }
}
