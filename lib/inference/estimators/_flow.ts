/**
 * Internal interface shared by the conditional density models. All methods
 * work in z-scored parameter space (`u`) on an embedded context (`ctx`).
 * @module
 */
import type * as tf from "./_deps.ts";
import type { Rng } from "../../_internal/random.ts";
import type { Params } from "./_nn.ts";

/** A conditional density model q(u | ctx) on tfjs tensors. */
export interface ConditionalModel {
  /** Trainable variables and constants. */
  readonly params: Params;
  /** log q(u | ctx) per row, `[N]`. */
  logProb(u: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D;
  /** One draw per context row, `[N, D]` (may read values back to the CPU). */
  sample(ctx: tf.Tensor2D, rng: Rng): tf.Tensor2D;
  /** Flows only: data -> noise with log|det J|. */
  forward?(
    u: tf.Tensor2D,
    ctx: tf.Tensor2D,
  ): { z: tf.Tensor2D; logDet: tf.Tensor1D };
  /** Flows only: noise -> data. */
  inverse?(z: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor2D;
  /** Models with batch norm: training mode (batch statistics) while set. */
  training?: boolean;
  /**
   * Models with batch norm: applies the running-statistics updates of the
   * batches since the last call to the model's variables and returns them
   * (indices into `params.vars`), so the optimiser's copy can follow.
   */
  takeStatUpdates?(): { index: number; values: Float32Array }[];
}

/** Standard normal noise `[n, d]` drawn with a seeded generator. */
export function normalNoise(n: number, d: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}
