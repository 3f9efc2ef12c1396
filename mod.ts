/**
 * neurofit: fit models of neurons to recordings, in Deno.
 *
 * Models are Brian-2-style equation strings with physical units. neurofit
 * parses and dimension-checks them, compiles them to JavaScript (and, with
 * `@neurofit/neurofit/gpu`, to WGSL for WebGPU) and simulates batches of
 * neurons. Numbers are SI floats: `-65 * mV === -0.065`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mV, ms, NeuronModel, simulate } from "./mod.ts";
 *
 * const lif = new NeuronModel("dv/dt = (El - v + R*I)/tau : volt (unless refractory)", {
 *   namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
 *   threshold: "v > -50*mV",
 *   reset: "v = -65*mV",
 *   refractory: 5 * ms,
 * });
 * const I = [new Float64Array(1000).fill(0.5e-9)];
 * const result = await simulate(lif, { dt: 0.1 * ms, duration: 100 * ms, input: { I }, init: { v: -70 * mV } });
 * assert.ok(lif.method === "exact" && result.spikes[0].length === 11);
 * ```
 * @module
 */
export * from "./lib/units/constants.ts";
export {
  dim,
  Dimension,
  DimensionMismatchError,
} from "./lib/units/dimension.ts";
export {
  parseQuantity,
  parseQuantityAs,
  type Quantity,
} from "./lib/units/quantity.ts";
export {
  EquationSyntaxError,
  UndefinedNameError,
} from "./lib/equations/errors.ts";
export {
  describeModel,
  type DescribeOptions,
  type ModelDescription,
  type NamespaceValue,
  type ValueType,
  type VariableInfo,
  type VariableKind,
} from "./lib/equations/model.ts";
export { UnsupportedEquationsError } from "./lib/integrators/types.ts";
export {
  NeuronModel,
  type NeuronModelOptions,
} from "./lib/simulation/neuron_model.ts";
export {
  type Chunk,
  type Device,
  GpuUnavailableError,
  Runner,
  type RunnerOptions,
  type TraceMatrix,
} from "./lib/simulation/runner.ts";
export {
  simulate,
  type SimulateOptions,
  type SimulationResult,
} from "./lib/simulation/simulate.ts";
export * from "./lib/fitting/mod.ts";
export * from "./lib/io/mod.ts";
export { JUPYTER_DISPLAY, type MediaBundle } from "./lib/display.ts";
