/**
 * The WebGPU backend of neurofit. Importing this module registers the backend
 * so that every API that simulates accepts `device: "webgpu"` (and
 * `device: "auto"` picks WebGPU when an adapter exists). Kernels are rendered
 * from the same IR as the CPU kernels, run in f32, and cached per model.
 * Without a GPU, Mesa's lavapipe (`mesa-vulkan-drivers`) provides an adapter
 * that runs on the CPU.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasWebGpu } from "./mod.ts";
 * import { NeuronModel } from "../lib/simulation/neuron_model.ts";
 * import { simulate } from "../lib/simulation/simulate.ts";
 * const m = new NeuronModel("dv/dt = -v/tau : volt", { namespace: { tau: "10 ms" } });
 * const r = await simulate(m, { dt: 1e-4, steps: 100, init: { v: 0.01 }, device: "auto" });
 * assert.ok(r.device === ((await hasWebGpu()) ? "webgpu" : "cpu"));
 * ```
 * @module
 */
import { registerBackend } from "../lib/codegen/backend.ts";
import { webgpuBackend } from "./webgpu_backend.ts";

export {
  type AccumulateSpec,
  type Backend,
  type ChunkData,
  GpuUnavailableError,
  type Kernel,
  type KernelBlock,
  type KernelSpec,
  type TimedInput,
} from "../lib/codegen/backend.ts";
export type { Stmt } from "../lib/integrators/types.ts";
export type { Program } from "../lib/codegen/program.ts";
export { RendererBase } from "../lib/codegen/renderer.ts";
export type { BinaryOp, Expr } from "../lib/equations/ast.ts";
export {
  DEFAULT_SPIKE_CAPACITY,
  dispatchLimits,
  kernelOptions,
  webgpuBackend,
} from "./webgpu_backend.ts";
export { type GpuContext, gpuContext, hasWebGpu } from "./device.ts";
export { liveBufferCount } from "./buffers.ts";
export { pipelineCompileCount } from "./pipeline_cache.ts";
export {
  renderWgslKernel,
  type WgslKernelOptions,
  WgslRenderer,
} from "./wgsl_renderer.ts";

registerBackend(webgpuBackend);
