/**
 * Masked autoregressive flow (Papamakarios, Pavlakou & Murray 2017) with the
 * nflows `MaskedAffineAutoregressiveTransform` parametrisation used by sbi:
 * `z = u * scale + shift`, `scale = softplus(a) + 1e-3` (nflows 0.14), MADE conditioner
 * (Germain et al. 2015) with an initial masked layer, `numBlocks` masked tanh
 * layers and the context added after the first layer. Between transforms the
 * feature order is reversed (a fixed permutation matrix, because the tfjs wasm
 * backend has no `gather` gradient).
 *
 * Optional batch normalisation of the input of every masked hidden block
 * (nflows `MaskedFeedforwardBlock(use_batch_norm=True)`: PyTorch
 * `BatchNorm1d(eps=1e-3, momentum=0.1)`), which sbi's MAF used until mid-2021,
 * i.e. in the sbibm benchmark (Lueckmann et al. 2021). It normalises by the
 * batch statistics while training and by running averages otherwise; it acts
 * per hidden unit, so the autoregressive masks are unaffected.
 * @module
 */
import * as tf from "./_deps.ts";
import type { Rng } from "../../_internal/random.ts";
import { type ConditionalModel, normalNoise } from "./_flow.ts";
import {
  charge,
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
  /** Batch normalisation before every masked hidden block. Default false. */
  batchNorm?: boolean;
}

/** Batch normalisation of one block input (affine, with running statistics). */
interface BatchNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
  runMean: tf.Variable;
  runVar: tf.Variable;
  /** Indices of `runMean` / `runVar` in `params.vars`. */
  meanIndex: number;
  varIndex: number;
}

/** A running-statistics update waiting to be written after an optimiser step. */
export interface StatUpdate {
  /** Index in `params.vars`. */
  index: number;
  /** New values. */
  values: Float32Array;
}

const BN_EPS = 1e-3;
const BN_MOMENTUM = 0.1;

interface Made {
  /** Masked input weights stacked over unmasked context weights: `[D + C, H]`. */
  first: Linear;
  blocks: Linear[];
  /** Batch norms before the blocks (null: none). */
  norms: BatchNorm[] | null;
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
  /**
   * Training mode: batch norms use (and record) batch statistics. Set by the
   * estimator around each optimiser step.
   */
  training = false;
  #pending: {
    norm: BatchNorm;
    mean: Float32Array;
    variance: Float32Array;
    n: number;
  }[] = [];

  constructor(d: number, ctxDim: number, cfg: MafConfig, seed: number) {
    this.#d = d;
    const p = (this.params = new Params(seed));
    const h = cfg.hiddenFeatures;
    const inDeg = new Int32Array(charge(d)).map((_, i) => i + 1);
    const hDeg = hiddenDegrees(d, h);
    const mFirst = degreeMask(inDeg, hDeg, false);
    const mHidden = degreeMask(hDeg, hDeg, false);
    const mOut = degreeMask(hDeg, inDeg, true);
    for (let t = 0; t < cfg.numTransforms; t++) {
      // one matMul on concat([u, ctx]): masked rows for u, dense rows for the context
      const mCat = new Float32Array(charge((d + ctxDim) * h)).fill(1);
      mCat.set(mFirst);
      const first = p.linear(`maf${t}.first`, d + ctxDim, h, undefined, mCat);
      const blocks: Linear[] = [];
      const norms: BatchNorm[] | null = cfg.batchNorm ? [] : null;
      for (let b = 0; b < cfg.numBlocks; b++) {
        if (norms) norms.push(batchNorm(p, `maf${t}.bn${b}`, h));
        blocks.push(p.linear(`maf${t}.block${b}`, h, h, undefined, mHidden));
      }
      // near-identity start: small output weights (nflows initialises the last layer small)
      const scale = p.linear(`maf${t}.scale`, h, d, 1e-3, mOut);
      const shift = p.linear(`maf${t}.shift`, h, d, 1e-3, mOut);
      this.#layers.push({ first, blocks, norms, scale, shift });
    }
    const perm = new Float32Array(charge(d * d));
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
    l.blocks.forEach((b, k) => {
      if (l.norms) h = this.#norm(l.norms[k], h);
      h = fastTanh(dense(b, h));
    });
    const scale = tf.add(tf.softplus(dense(l.scale, h)), 1e-3) as tf.Tensor2D;
    return { scale, shift: dense(l.shift, h) };
  }

  #norm(n: BatchNorm, h: tf.Tensor2D): tf.Tensor2D {
    let mean: tf.Tensor, variance: tf.Tensor;
    if (this.training && h.shape[0] > 1) {
      ({ mean, variance } = tf.moments(h, 0));
      this.#pending.push({
        norm: n,
        mean: mean.dataSync() as Float32Array,
        variance: variance.dataSync() as Float32Array,
        n: h.shape[0],
      });
    } else {
      mean = n.runMean;
      variance = n.runVar;
    }
    const z = tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, BN_EPS)));
    return tf.add(tf.mul(z, n.gamma), n.beta) as tf.Tensor2D;
  }

  /**
   * The running statistics after the batches seen since the last call
   * (PyTorch: `r = (1 - 0.1) r + 0.1 batch`, unbiased batch variance).
   * @returns the new values of the running-statistics variables
   */
  takeStatUpdates(): StatUpdate[] {
    const out: StatUpdate[] = [];
    for (const { norm, mean, variance, n } of this.#pending) {
      const rm = (norm.runMean.dataSync() as Float32Array).slice();
      const rv = (norm.runVar.dataSync() as Float32Array).slice();
      for (let j = 0; j < rm.length; j++) {
        rm[j] = (1 - BN_MOMENTUM) * rm[j] + BN_MOMENTUM * mean[j];
        rv[j] = (1 - BN_MOMENTUM) * rv[j] +
          BN_MOMENTUM * variance[j] * n / (n - 1);
      }
      tf.tidy(() => {
        norm.runMean.assign(tf.tensor1d(rm));
        norm.runVar.assign(tf.tensor1d(rv));
      });
      out.push({ index: norm.meanIndex, values: rm });
      out.push({ index: norm.varIndex, values: rv });
    }
    this.#pending = [];
    return out;
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

/**
 * Creates a batch norm over `h` units: scale 1 and shift 0 (trainable), running
 * mean 0 and variance 1 (frozen for the optimiser by an all-zero mask; updated
 * from batch statistics instead).
 */
function batchNorm(p: Params, name: string, h: number): BatchNorm {
  const gamma = p.add(`${name}.gamma`, [h], new Float32Array(h).fill(1));
  const beta = p.add(`${name}.beta`, [h], new Float32Array(h));
  const runMean = p.add(`${name}.runMean`, [h], new Float32Array(h));
  const meanIndex = p.vars.length - 1;
  p.masks[meanIndex] = new Float32Array(h);
  const runVar = p.add(`${name}.runVar`, [h], new Float32Array(h).fill(1));
  const varIndex = p.vars.length - 1;
  p.masks[varIndex] = new Float32Array(h);
  return { gamma, beta, runMean, runVar, meanIndex, varIndex };
}
