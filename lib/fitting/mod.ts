/**
 * Fitting: `TraceFitter`, `SpikeFitter` and `OnlineTraceFitter` (the ask →
 * simulate → error → tell loop of brian2modelfitting), the ask/tell
 * optimizers, the metrics, least-squares refinement and the fit callbacks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DifferentialEvolution, MSEMetric, TraceFitter } from "./mod.ts";
 * const x = [new Float64Array(100)];
 * const v = [Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0.01 : 0.02))];
 * const fitter = new TraceFitter({
 *   model: "v = c + x : volt\nc : volt (constant)", input: { x }, inputUnits: { x: "volt" },
 *   output: { v }, dt: 1e-4, nSamples: 20,
 * });
 * const { params } = await fitter.fit({
 *   optimizer: new DifferentialEvolution({ seed: 1 }), metric: new MSEMetric({ tStart: 5e-3 }),
 *   nRounds: 10, callback: null, params: { c: ["0 mV", "30 mV"] },
 * });
 * const refined = await fitter.refine();
 * assert.ok(Math.abs(params.c - 0.02) < 1e-3 && Math.abs(refined.params.c - 0.02) < 1e-9);
 * ```
 * @module
 */
export {
  type BatchErrors,
  type BatchRun,
  type FitOptions,
  type FitResult,
  Fitter,
  type FitterOptions,
  type GenerateOptions,
  type ParamBounds,
  type ResultColumns,
  type ResultEntry,
  type ResultTable,
  type TraceRows,
  type ValueWithUnit,
} from "./fitters/fitter.ts";
export {
  type EvaluatedSets,
  type FitExecutor,
  type FitJob,
  type FitJobBase,
  fitJobOutputs,
  isFitExecutor,
  type MetricSpec,
  type SpikeFitJob,
  type TraceFitJob,
} from "./executor.ts";
export {
  TraceFitter,
  type TraceFitterOptions,
} from "./fitters/trace_fitter.ts";
export {
  SpikeFitter,
  type SpikeFitterOptions,
} from "./fitters/spike_fitter.ts";
export {
  OnlineTraceFitter,
  type OnlineTraceFitterOptions,
} from "./fitters/online_trace_fitter.ts";
export {
  defaultWindows,
  type OnlineFitOptions,
  OnlineTraceFitterBase,
  type WindowStage,
} from "./fitters/online_trace_base.ts";
export {
  type ChunkObserver,
  type RecordingFileSource,
  StreamedOnlineTraceFitter,
  type StreamedOnlineTraceFitterOptions,
  type Subscribable,
  type TraceSource,
} from "./fitters/streamed_online_fitter.ts";
export {
  type RefineOptions,
  type RefineResult,
} from "./refine/trace_refine.ts";
export type {
  RefineBlock,
  StreamedRefineOptions,
  StreamedRefineResult,
} from "./refine/streamed_refine.ts";
export {
  type FitCallback,
  type FitCallbackFunction,
  type FitCallbackInfo,
} from "./callbacks.ts";
export * from "./optimizers/mod.ts";
export * from "./metrics/mod.ts";
