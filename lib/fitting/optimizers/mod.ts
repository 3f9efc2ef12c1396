/**
 * Ask/tell optimizers for the fitters: CMA-ES (the fitters' default),
 * differential evolution, particle swarm, random search (uniform / Sobol /
 * Latin hypercube) and Gaussian-process Bayesian optimization. Any object
 * with the four methods of {@linkcode Optimizer} plugs into the fitters as
 * well. Every built-in optimizer searches parameters whose bounds `0 < lo`
 * span more than two decades on the log scale (option `scale`, see
 * {@linkcode ParameterScale}).
 * @module
 */

export {
  AUTO_LOG_SPAN,
  type Bounds,
  BoxOptimizer,
  isOptimizer,
  type Optimizer,
  type ParamDict,
  type ParameterScale,
  resolveScales,
  type ScaleOption,
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
