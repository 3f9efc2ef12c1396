/**
 * Simulation-based inference: priors, neural conditional density estimators
 * (MDN, MADE, MAF, NSF) trained with TensorFlow.js, NPE (NPE-C / APT) and the
 * direct posterior. Importing this entry point loads tfjs (wasm backend).
 *
 * @example
 * ```ts
 * import { BoxUniform, NPE } from "./mod.ts";
 * const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
 * const theta = prior.sample(500, 1);
 * const x = theta.toArray().map(([a, b]) => [a + b, a - b]);
 * const npe = new NPE({ prior, densityEstimator: "maf", seed: 1 });
 * npe.appendSimulations(theta, x);
 * await npe.train({ maxEpochs: 2, showProgress: false });
 * const posterior = npe.buildPosterior();
 * const s = await posterior.sample(100, { x: [0.3, 0.1] });
 * console.log(s.rows); // 100
 * posterior.dispose();
 * npe.dispose();
 * ```
 * @module
 */

export { Matrix, type MatrixLike, toVector } from "./matrix.ts";

export {
  asPrior,
  type Prior,
  PriorBase,
  type PriorDescription,
  type RandomSource,
  type UserPrior,
} from "./priors/prior.ts";
export { BoxUniform, type BoxUniformOptions } from "./priors/box_uniform.ts";
export { Normal, type NormalOptions } from "./priors/normal.ts";
export { LogNormal, type LogNormalOptions } from "./priors/log_normal.ts";
export { MultipleIndependent } from "./priors/multiple_independent.ts";
export { priorFromDescription } from "./priors/from_description.ts";

export {
  DensityEstimator,
  type DensityEstimatorKind,
  type DensityEstimatorOptions,
  type EmbeddingNetSpec,
  type EstimatorConfig,
  type EstimatorTrainOptions,
  type EstimatorTrainResult,
  type MlpEmbeddingOptions,
  type ZScoreStats,
  zScoreStats,
} from "./estimators/density_estimator.ts";
export { SimulationBuffer } from "./estimators/simulation_buffer.ts";

export {
  type AppendOptions,
  NPE,
  type NPEOptions,
  type NPETrainOptions,
  type SimulationChunk,
  type SimulationSource,
  type TrainingSummary,
} from "./methods/npe.ts";

export {
  DirectPosterior,
  type LoadOptions,
  type LogProbOptions,
  type MapOptions,
  type SampleOptions,
} from "./posteriors/direct_posterior.ts";
export {
  type LoadedPosterior,
  loadPosterior,
  PosteriorFileError,
  savePosterior,
} from "./posteriors/file.ts";

// ---- diagnostics (c2st) and further methods: exports added by other modules below ----
export {
  type Feature,
  Inferencer,
  type InferencerCreateOptions,
  type InferencerOptions,
  type InferencerRecording,
  type InferencerTraces,
  type InferOptions,
} from "./inferencer.ts";
export {
  type BoxTransform,
  fromUnconstrained,
  type Potential,
  toMatrix,
  toUnconstrained,
  unconstrainedPotential,
} from "./potentials/potential.ts";
export type { Proposal } from "./samplers/importance.ts";
export { sirInit } from "./samplers/resampling.ts";
export type { ChainOptions, SamplerResult } from "./samplers/chain_types.ts";
export { type SliceOptions, sliceSample } from "./samplers/slice.ts";
export { type MHOptions, mhSample } from "./samplers/mh.ts";
export {
  type RejectionOptions,
  type RejectionResult,
  rejectionSample,
  type SIROptions,
  sirSample,
} from "./samplers/importance.ts";
export {
  likelihoodPotential,
  observationRows,
} from "./potentials/likelihood_potential.ts";
export { NLE, type NLEOptions, type NLETrainOptions } from "./methods/nle.ts";
export {
  type MCMCMapOptions,
  type MCMCMethod,
  MCMCPosterior,
  type MCMCPosteriorOptions,
  type MCMCSampleOptions,
} from "./posteriors/mcmc_posterior.ts";
export { RejectionPosterior } from "./posteriors/rejection_posterior.ts";
export { ImportancePosterior } from "./posteriors/importance_posterior.ts";
export {
  c2st,
  type C2stOptions,
  type C2stResult,
  c2stScores,
} from "./diagnostics/c2st.ts";
export {
  type ClassifierScore,
  fitAndScoreClassifier,
  MlpClassifier,
  type MlpClassifierOptions,
  type MlpFitSummary,
  type RowMatrix,
} from "./estimators/mlp_classifier.ts";
export {
  BNRE,
  type BNRETrainOptions,
  NRE,
  NRE_A,
  NRE_B,
  type NRE_BTrainOptions,
  NRE_C,
  type NRE_CTrainOptions,
  type NREOptions,
  type NRETrainingSummary,
  type NRETrainOptions,
  RatioEstimation,
} from "./methods/nre.ts";
export {
  RatioPosterior,
  type RatioPosteriorLoadOptions,
} from "./posteriors/ratio_posterior.ts";
export {
  RatioClassifier,
  type RatioClassifierConfig,
  type RatioClassifierKind,
  type RatioClassifierOptions,
  type RatioLoss,
  type RatioTrainOptions,
} from "./estimators/ratio_classifier.ts";
export {
  ratioGradPotential,
  ratioPotential,
} from "./potentials/ratio_potential.ts";
export { type PotentialFactory } from "./posteriors/mcmc_posterior.ts";
export { loadRatioPosterior } from "./posteriors/file.ts";
export type {
  BuiltinEmbeddingConfig,
  BuiltinEmbeddingSpec,
  CnnEmbeddingConfig,
  CnnEmbeddingSpec,
  GruEmbeddingConfig,
  GruEmbeddingSpec,
  MlpEmbeddingConfig,
  MlpEmbeddingSpec,
  PermutationInvariantEmbeddingConfig,
  PermutationInvariantEmbeddingSpec,
  TrialNetConfig,
  TrialNetSpec,
  YuleNetEmbeddingConfig,
  YuleNetEmbeddingSpec,
} from "./estimators/embedding.ts";
export {
  type AnyPosterior,
  type InferenceMethod,
  type InferenceObject,
} from "./inferencer.ts";
export {
  type BatchedMcmcOptions,
  checkSbc,
  type CheckSbcOptions,
  type DiagnosticPosterior,
  kolmogorovPValue,
  type KsResult,
  ksTest,
  ksTwoSample,
  type ReduceFn,
  resolvePairs,
  runSbc,
  type RunSbcOptions,
  samplePosteriors,
  type SamplePosteriorsOptions,
  type SbcCheck,
  type SbcData,
  sbcRanks,
  type SbcResult,
} from "./diagnostics/sbc.ts";
export {
  coverageFromRanks,
  type CoverageResult,
  expectedCoverage,
  type ExpectedCoverageOptions,
} from "./diagnostics/coverage.ts";
export {
  runTarp,
  type RunTarpOptions,
  tarpFromSamples,
  type TarpOptions,
  type TarpResult,
} from "./diagnostics/tarp.ts";
export {
  posteriorPredictiveCheck,
  type PpcFeature,
  type PpcOptions,
  type PpcResult,
} from "./diagnostics/ppc.ts";
export { RestrictedPrior } from "./priors/restricted_prior.ts";
export {
  RestrictionEstimator,
  type RestrictionEstimatorOptions,
  type RestrictionTrainOptions,
  type RestrictionTrainSummary,
  type RestrictPriorOptions,
} from "./methods/restriction.ts";
export {
  MNLE,
  type MNLEOptions,
  type MNLETrainOptions,
} from "./methods/mnle.ts";
export {
  MixedDensityEstimator,
  type MixedEstimatorConfig,
  type MixedEstimatorOptions,
} from "./estimators/mixed.ts";
export {
  type HMCOptions,
  type HMCResult,
  hmcSample,
  nutsSample,
} from "./samplers/hmc.ts";
export {
  type GradPotential,
  unconstrainedGradPotential,
  valueOfGradPotential,
} from "./potentials/potential.ts";
export { likelihoodGradPotential } from "./potentials/likelihood_potential.ts";
export { JUPYTER_DISPLAY, type MediaBundle } from "../display.ts";
