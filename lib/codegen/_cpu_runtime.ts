// Runtime functions handed to generated CPU kernels.
import { counterNormal, counterUniform } from "../_internal/random.ts";

/** Counter-based random draws: neuron n, step k, draw r of nRandom per step. */
export function makeRuntime(seed: number, nRandom: number): {
  randn: (n: number, k: number, r: number) => number;
  rand: (n: number, k: number, r: number) => number;
} {
  const s = seed >>> 0;
  const R = Math.max(1, nRandom);
  return {
    randn: (n, k, r) => counterNormal(s, n, k * R + r),
    rand: (n, k, r) => counterUniform(s, n ^ 0x40000000, k * R + r),
  };
}
