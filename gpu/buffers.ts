/**
 * GPU buffer bookkeeping: every buffer the WebGPU backend creates goes
 * through {@linkcode createTrackedBuffer} and {@linkcode destroyTrackedBuffer},
 * so tests can check that disposing kernels frees everything
 * ({@linkcode liveBufferCount}).
 * @module
 */

const live = new Set<GPUBuffer>();

/**
 * Number of buffers created by the WebGPU backend and not yet destroyed.
 * @returns the count
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveBufferCount } from "./buffers.ts";
 * assert.ok(liveBufferCount() >= 0);
 * ```
 */
export function liveBufferCount(): number {
  return live.size;
}

/**
 * Create a buffer and count it as live.
 * @param device the device
 * @param size size in bytes (rounded up to a multiple of 4, at least 16)
 * @param usage `GPUBufferUsage` flags
 * @param label debug label
 * @returns the buffer
 */
export function createTrackedBuffer(
  device: GPUDevice,
  size: number,
  usage: number,
  label: string,
): GPUBuffer {
  const bytes = Math.max(16, Math.ceil(size / 4) * 4);
  const b = device.createBuffer({ size: bytes, usage, label });
  live.add(b);
  return b;
}

/**
 * Destroy a tracked buffer (idempotent).
 * @param buffer the buffer
 */
export function destroyTrackedBuffer(buffer: GPUBuffer): void {
  if (!live.delete(buffer)) return;
  buffer.destroy();
}
