/**
 * Masked autoregressive flow (Papamakarios, Pavlakou & Murray 2017) with the
 * nflows `MaskedAffineAutoregressiveTransform` parametrisation used by sbi:
 * `z = u * scale + shift`, `scale = softplus(a) + 1e-3` (nflows 0.14), MADE conditioner
 * (Germain et al. 2015) with an initial masked layer, `numBlocks` masked tanh
 * layers and the context added after the first layer. Between transforms the
 * feature order is reversed (a fixed permutation matrix, because the tfjs wasm
 * backend has no `gather` gradient).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Rng } from "../../_internal/random.ts";
import { type ConditionalModel, normalNoise } from "./_flow.ts";
import {
  degreeMask,
  dense,
  fastTanh,
  hiddenDegrees,
  type Linear,
  mm,
  Params,
  stdNormalLogProb,
} from "./_nn.ts";

/** MAF hyper-parameters. */
export interface MafConfig {
  /** Number of autoregressive transforms (sbi: 5). */
  numTransforms: number;
  /** Hidden units (sbi: 50). */
  hiddenFeatures: number;
  /** Masked hidden layers after the first (sbi/nflows: 2). */
  numBlocks: number;
}

interface Made {
  /** Masked input weights stacked over unmasked context weights: `[D + C, H]`. */
  first: Linear;
  blocks: Linear[];
  scale: Linear;
  shift: Linear;
}

/** Conditional MAF. */
export class Maf implements ConditionalModel {
  readonly params: Params;
  readonly #d: number;
  readonly #layers: Made[] = [];
  readonly #perm: tf.Tensor2D;
  readonly #permT: tf.Tensor2D;

  constructor(d: number, ctxDim: number, cfg: MafConfig, seed: number) {
    this.#d = d;
    const p = (this.params = new Params(seed));
    const h = cfg.hiddenFeatures;
    const inDeg = new Int32Array(d).map((_, i) => i + 1);
    const hDeg = hiddenDegrees(d, h);
    const mFirst = degreeMask(inDeg, hDeg, false);
    const mHidden = degreeMask(hDeg, hDeg, false);
    const mOut = degreeMask(hDeg, inDeg, true);
    for (let t = 0; t < cfg.numTransforms; t++) {
      // one matMul on concat([u, ctx]): masked rows for u, dense rows for the context
      const mCat = new Float32Array((d + ctxDim) * h).fill(1);
      mCat.set(mFirst);
      const first = p.linear(`maf${t}.first`, d + ctxDim, h, undefined, mCat);
      const blocks: Linear[] = [];
      for (let b = 0; b < cfg.numBlocks; b++) {
        blocks.push(p.linear(`maf${t}.block${b}`, h, h, undefined, mHidden));
      }
      // near-identity start: small output weights (nflows initialises the last layer small)
      const scale = p.linear(`maf${t}.scale`, h, d, 1e-3, mOut);
      const shift = p.linear(`maf${t}.shift`, h, d, 1e-3, mOut);
      this.#layers.push({ first, blocks, scale, shift });
    }
    const perm = new Float32Array(d * d);
    for (let i = 0; i < d; i++) perm[i * d + (d - 1 - i)] = 1; // reversal (symmetric)
    this.#perm = p.constant(perm, [d, d]) as tf.Tensor2D;
    this.#permT = this.#perm;
  }

  #made(
    l: Made,
    u: tf.Tensor2D,
    ctx: tf.Tensor2D,
  ): { scale: tf.Tensor2D; shift: tf.Tensor2D } {
    let h = dense(l.first, tf.concat([u, ctx], 1) as tf.Tensor2D);
    for (const b of l.blocks) h = fastTanh(dense(b, h));
    const scale = tf.add(tf.softplus(dense(l.scale, h)), 1e-3) as tf.Tensor2D;
    return { scale, shift: dense(l.shift, h) };
  }

  forward(
    u: tf.Tensor2D,
    ctx: tf.Tensor2D,
  ): { z: tf.Tensor2D; logDet: tf.Tensor1D } {
    let x = u;
    const scales: tf.Tensor2D[] = [];
    this.#layers.forEach((l, i) => {
      const { scale, shift } = this.#made(l, x, ctx);
      x = tf.add(tf.mul(x, scale), shift) as tf.Tensor2D;
      scales.push(scale);
      if (this.#d > 1 && i < this.#layers.length - 1) x = mm(x, this.#perm);
    });
    // log|det| = sum over layers and dimensions of log(scale), reduced once
    const logDet = tf.sum(tf.log(tf.concat(scales, 1)), 1) as tf.Tensor1D;
    return { z: x, logDet };
  }

  logProb(u: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const { z, logDet } = this.forward(u, ctx);
      return tf.add(stdNormalLogProb(z), logDet) as tf.Tensor1D;
    });
  }

  inverse(z: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let y = z;
      for (let i = this.#layers.length - 1; i >= 0; i--) {
        if (this.#d > 1 && i < this.#layers.length - 1) y = mm(y, this.#permT);
        // invert z = u*scale(u_<i) + shift(u_<i) dimension by dimension (D passes)
        let u = tf.zerosLike(y) as tf.Tensor2D;
        for (let k = 0; k < this.#d; k++) {
          const { scale, shift } = this.#made(this.#layers[i], u, ctx);
          u = tf.div(tf.sub(y, shift), scale) as tf.Tensor2D;
        }
        y = u;
      }
      return y;
    });
  }

  sample(ctx: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    const n = ctx.shape[0];
    return tf.tidy(() =>
      this.inverse(tf.tensor2d(normalNoise(n, this.#d, rng), [n, this.#d]), ctx)
    );
  }
}
