/**
 * Compiled compute pipelines, cached per device, program and kernel options
 * (recorded variables, accumulation), so that repeated simulations of the
 * same model (fitting rounds, inference batches) compile the WGSL once.
 * @module
 */
import type { Program } from "../lib/codegen/program.ts";
import {
  BINDING,
  KERNEL_LANES,
  renderCompactKernel,
  renderWgslKernel,
  type WgslKernelOptions,
} from "./wgsl_renderer.ts";

/** The pipelines of one kernel configuration. */
export interface KernelPipelines {
  /** The batch kernel. */
  readonly main: GPUComputePipeline;
  /** Its bind group layout (bindings 0–6 and 8). */
  readonly mainLayout: GPUBindGroupLayout;
  /** The spike compaction kernel (shared by all programs of a device). */
  readonly compact: GPUComputePipeline;
  /** Its bind group layout (bindings 0, 4, 5, 7). */
  readonly compactLayout: GPUBindGroupLayout;
  /** The WGSL source of the batch kernel. */
  readonly source: string;
  /** Neurons per invocation of the batch kernel. */
  readonly lanes: number;
}

const cache = new WeakMap<
  GPUDevice,
  WeakMap<Program, Map<string, Promise<KernelPipelines>>>
>();
const compactCache = new WeakMap<
  GPUDevice,
  Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>
>();
let compiled = 0;

/**
 * How many batch pipelines have been compiled in this process (cache misses).
 * @returns the count
 */
export function pipelineCompileCount(): number {
  return compiled;
}

function entry(
  binding: number,
  type: GPUBufferBindingType,
): GPUBindGroupLayoutEntry {
  return { binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } };
}

async function build(
  device: GPUDevice,
  code: string,
  layout: GPUBindGroupLayout,
  label: string,
): Promise<GPUComputePipeline> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code, label });
  const pipeline = device.createComputePipeline({
    label,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: "main" },
  });
  const err = await device.popErrorScope();
  if (err) {
    let detail = "";
    try {
      const info = await module.getCompilationInfo();
      detail = info.messages.map((m) =>
        `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`
      ).join("\n");
    } catch { /* not supported */ }
    throw new Error(
      `WGSL kernel '${label}' failed to compile: ${err.message}${
        detail ? `\n${detail}` : ""
      }`,
    );
  }
  return pipeline;
}

function compactPipeline(
  device: GPUDevice,
): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }> {
  let p = compactCache.get(device);
  if (!p) {
    const layout = device.createBindGroupLayout({
      label: "neurofit compact",
      entries: [
        entry(BINDING.uniforms, "uniform"),
        entry(BINDING.ring, "storage"),
        entry(BINDING.counts, "storage"),
        entry(BINDING.compact, "storage"),
      ],
    });
    p = build(device, renderCompactKernel(), layout, "neurofit compact").then((
      pipeline,
    ) => ({ pipeline, layout }));
    compactCache.set(device, p);
  }
  return p;
}

/**
 * The pipelines of a program with given kernel options (compiled on first use).
 * @param device the device
 * @param program the IR
 * @param options recorded variables and accumulation
 * @returns the pipelines
 * @throws {Error} when the generated WGSL does not compile (with the compiler's messages)
 */
export function getPipelines(
  device: GPUDevice,
  program: Program,
  options: WgslKernelOptions,
): Promise<KernelPipelines> {
  let perDevice = cache.get(device);
  if (!perDevice) {
    perDevice = new WeakMap();
    cache.set(device, perDevice);
  }
  let perProgram = perDevice.get(program);
  if (!perProgram) {
    perProgram = new Map();
    perDevice.set(program, perProgram);
  }
  const acc = options.accumulate
    ? {
      variable: options.accumulate.variable,
      weighted: options.accumulate.weighted,
    }
    : null;
  const lanes = options.lanes ?? KERNEL_LANES;
  const nativeExp = options.nativeExp ?? false;
  const key = JSON.stringify([options.record, acc, lanes, nativeExp]);
  let p = perProgram.get(key);
  if (!p) {
    const source = renderWgslKernel(program, {
      record: options.record,
      accumulate: acc,
      lanes,
      nativeExp,
    });
    const mainLayout = device.createBindGroupLayout({
      label: "neurofit batch",
      entries: [
        entry(BINDING.uniforms, "uniform"),
        entry(BINDING.state, "storage"),
        entry(BINDING.data, "read-only-storage"),
        entry(BINDING.rec, "storage"),
        entry(BINDING.ring, "storage"),
        entry(BINDING.counts, "storage"),
        entry(BINDING.accum, "storage"),
        entry(BINDING.time, "read-only-storage"),
      ],
    });
    compiled++;
    p = Promise.all([
      build(device, source, mainLayout, `neurofit ${program.method} kernel`),
      compactPipeline(device),
    ])
      .then(([main, c]) => ({
        main,
        mainLayout,
        compact: c.pipeline,
        compactLayout: c.layout,
        source,
        lanes,
      }));
    p.catch(() => perProgram!.delete(key));
    perProgram.set(key, p);
  }
  return p;
}
