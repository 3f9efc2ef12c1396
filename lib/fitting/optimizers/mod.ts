/**
 * Ask/tell optimizers for the fitters: differential evolution (default),
 * CMA-ES, particle swarm, random search (uniform / Sobol / Latin hypercube)
 * and Gaussian-process Bayesian optimization. Any object with the four
 * methods of {@linkcode Optimizer} plugs into the fitters as well.
 * @module
 */

export {
  type Bounds,
  BoxOptimizer,
  isOptimizer,
  type Optimizer,
  type ParamDict,
  type ToldEntry,
  type ValidatedBounds,
} from "./optimizer.ts";
export {
  DifferentialEvolution,
  type DifferentialEvolutionOptions,
} from "./differential_evolution.ts";
export { CMAES, type CMAESOptions } from "./cmaes.ts";
export { ParticleSwarm, type ParticleSwarmOptions } from "./particle_swarm.ts";
export { RandomSearch, type RandomSearchOptions } from "./random_search.ts";
export {
  BayesianOptimization,
  type BayesianOptimizationOptions,
} from "./bayesian_optimization.ts";
export {
  latinHypercube,
  type RandomSource,
  SOBOL_MAX_DIMENSION,
  type SobolOptions,
  SobolSequence,
  uniformSample,
} from "./sampling.ts";
