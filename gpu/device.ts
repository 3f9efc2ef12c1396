/**
 * The shared WebGPU adapter and device (requested once per process), with the
 * reason when none is available.
 * @module
 */

/** A device with the limits the backend relies on. */
export interface GpuContext {
  /** The device. */
  readonly device: GPUDevice;
  /** Adapter description (e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`). */
  readonly description: string;
  /** Whether the adapter runs on the CPU (lavapipe/llvmpipe, SwiftShader, WARP, fallback adapters). */
  readonly isCpu: boolean;
  /** Largest storage binding in bytes. */
  readonly maxBinding: number;
  /** Largest buffer in bytes. */
  readonly maxBuffer: number;
  /** Largest number of workgroups per dimension. */
  readonly maxGroups: number;
}

let pending: Promise<GpuContext | string> | null = null;

async function open(): Promise<GpuContext | string> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    return "navigator.gpu is not defined in this runtime (Deno needs WebGPU; older versions need --unstable-webgpu)";
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${(e as Error).message}`;
  }
  if (!adapter) {
    return "navigator.gpu.requestAdapter() returned no adapter (no GPU driver; on Linux without a GPU install " +
      "mesa-vulkan-drivers for the lavapipe CPU adapter)";
  }
  const lim = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(
          lim.maxStorageBuffersPerShaderStage,
          10,
        ),
      },
    });
  } catch (e) {
    return `GPUAdapter.requestDevice() failed: ${(e as Error).message}`;
  }
  device.lost.then((info) => {
    if (pending) {
      pending = Promise.resolve(
        `the WebGPU device was lost: ${info.message || info.reason}`,
      );
    }
  });
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const description = info?.description || info?.vendor || "unknown adapter";
  const fallback =
    (info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined)
      ?.isFallbackAdapter;
  return {
    device,
    description,
    isCpu: !!fallback ||
      /llvmpipe|lavapipe|swiftshader|warp|software/i.test(description),
    maxBinding: device.limits.maxStorageBufferBindingSize,
    maxBuffer: device.limits.maxBufferSize,
    maxGroups: device.limits.maxComputeWorkgroupsPerDimension,
  };
}

/**
 * The shared device, or the reason why there is none.
 * @returns the context or a sentence saying why WebGPU is unavailable
 */
export function gpuContext(): Promise<GpuContext | string> {
  if (!pending) pending = open();
  return pending;
}

/**
 * Whether a WebGPU adapter and device are available.
 * @returns true when the backend can run
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasWebGpu } from "./device.ts";
 * assert.ok(typeof (await hasWebGpu()) === "boolean");
 * ```
 */
export async function hasWebGpu(): Promise<boolean> {
  return typeof (await gpuContext()) !== "string";
}
