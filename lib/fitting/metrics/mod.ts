/**
 * Metrics comparing simulated and recorded data: mean squared error on
 * traces (with an incremental reducer for online fits), the gamma factor on
 * spike trains, and electrophysiology features (eFEL names and definitions).
 * Custom metrics subclass {@linkcode TraceMetric} or {@linkcode SpikeMetric}.
 * @module
 */

export {
  Metric,
  type MetricOptions,
  SpikeMetric,
  TraceMetric,
  type TraceMetricOptions,
} from "./metric.ts";
export { MSEAccumulator, MSEMetric, type MSEMetricOptions } from "./mse.ts";
export {
  firingRate,
  GammaFactor,
  gammaFactor,
  type GammaFactorMetricOptions,
  type GammaFactorOptions,
} from "./gamma_factor.ts";
export {
  FeatureMetric,
  type FeatureMetricOptions,
  type FeatureValues,
  type MissingFeature,
} from "./feature_metric.ts";
export {
  computeFeatures,
  computeFeaturesMs,
  type EfelSettings,
  type EfelTrace,
  type EfelTraceMs,
  FEATURE_NAMES,
} from "./efel_features.ts";
