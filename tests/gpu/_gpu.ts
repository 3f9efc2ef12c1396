// Shared helpers of the GPU tests: whether a WebGPU adapter exists (tests
// skip themselves with a message when not), and small comparisons.
import { hasWebGpu } from "../../gpu/mod.ts";

/** True when a WebGPU adapter and device are available. */
export const hasAdapter: boolean = await hasWebGpu();
if (!hasAdapter) {
  console.warn(
    "tests/gpu: no WebGPU adapter available (install mesa-vulkan-drivers for lavapipe); GPU tests are skipped",
  );
}

/** Largest |a_i - b_i * scale| over samples where `mask` (if given) holds. */
export function maxAbsDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale = 1,
  mask?: (i: number) => boolean,
): number {
  if (a.length !== b.length) {
    throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask && !mask(i)) continue;
    const d = Math.abs(a[i] - b[i] * scale);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}
