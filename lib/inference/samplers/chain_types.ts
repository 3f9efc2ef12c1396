/**
 * Options and result shared by the MCMC samplers.
 * @module
 */
import type { Matrix } from "../matrix.ts";

/** Options shared by the MCMC samplers. */
export interface ChainOptions {
  /** Warm-up (burn-in, tuning) steps of every chain. Default 200 (sbi). */
  warmupSteps?: number;
  /** Keep every `thin`-th step after warm-up. Default 1. */
  thin?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/** What a sampler returns. */
export interface SamplerResult {
  /** The samples, `n x dim`. */
  samples: Matrix;
  /** Fraction of accepted proposals (MH, rejection) or 1 (slice, SIR). */
  acceptanceRate: number;
  /** Number of calls of the potential. */
  potentialCalls: number;
  /** Number of rows evaluated by the potential. */
  potentialEvaluations: number;
  /** Divergent transitions after warm-up (gradient-based samplers: HMC, NUTS). */
  divergences?: number;
}
