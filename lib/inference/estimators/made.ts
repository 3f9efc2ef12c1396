/**
 * MADE (Germain et al. 2015) with a mixture-of-Gaussians output per dimension
 * (Papamakarios et al. 2017, "MADE MoG"; sbi's `made` estimator):
 * p(u) = prod_i sum_k w_ik(u_<i, ctx) N(u_i; m_ik, s_ik^2). The conditioner is
 * an initial masked layer plus context, then masked residual ReLU blocks.
 * Sampling runs D passes, drawing dimension i on the CPU at pass i.
 * @module
 */
import * as tf from "./_deps.ts";
import type { Rng } from "../../_internal/random.ts";
import type { ConditionalModel } from "./_flow.ts";
import {
  charge,
  degreeMask,
  dense,
  hiddenDegrees,
  type Linear,
  Params,
} from "./_nn.ts";

/** MADE-MoG hyper-parameters. */
export interface MadeConfig {
  /** Hidden units (sbi: 50). */
  hiddenFeatures: number;
  /** Mixture components per dimension (sbi: 10). */
  numComponents: number;
  /** Masked residual blocks. */
  numBlocks: number;
}

/** Conditional MADE with mixture-of-Gaussians outputs. */
export class MadeMog implements ConditionalModel {
  readonly params: Params;
  readonly #d: number;
  readonly #k: number;
  readonly #first: Linear;
  readonly #ctx: Linear;
  readonly #blocks: { a: Linear; b: Linear }[] = [];
  readonly #logits: Linear;
  readonly #means: Linear;
  readonly #logStd: Linear;
  readonly #ctxOut: Linear;

  constructor(d: number, ctxDim: number, cfg: MadeConfig, seed: number) {
    this.#d = d;
    const k = (this.#k = cfg.numComponents);
    const h = cfg.hiddenFeatures;
    const p = (this.params = new Params(seed));
    const inDeg = new Int32Array(charge(d)).map((_, i) => i + 1);
    const hDeg = hiddenDegrees(d, h);
    // output column d*K + k belongs to dimension d (degree d+1)
    const outDeg = new Int32Array(charge(d * k)).map((_, j) =>
      Math.floor(j / k) + 1
    );
    this.#first = p.linear(
      "made.first",
      d,
      h,
      undefined,
      degreeMask(inDeg, hDeg, false),
    );
    this.#ctx = p.linear("made.ctx", ctxDim, h);
    const mh = degreeMask(hDeg, hDeg, false);
    for (let b = 0; b < cfg.numBlocks; b++) {
      this.#blocks.push({
        a: p.linear(`made.block${b}.a`, h, h, undefined, mh),
        b: p.linear(`made.block${b}.b`, h, h, 1e-3, mh),
      });
    }
    const mo = degreeMask(hDeg, outDeg, true);
    this.#logits = p.linear("made.logits", h, d * k, undefined, mo);
    // spread the initial means so that components are distinguishable
    this.#means = p.linear("made.means", h, d * k, undefined, mo);
    this.#logStd = p.linear("made.logstd", h, d * k, 1e-2, mo);
    // Direct context -> output path: with the sequential degrees of nflows every hidden
    // unit has degree >= 1, so without it the first dimension could not depend on x.
    this.#ctxOut = p.linear("made.ctxout", ctxDim, 3 * d * k, 1e-2);
  }

  #params(u: tf.Tensor2D, ctx: tf.Tensor2D) {
    const n = u.shape[0];
    let h = tf.add(dense(this.#first, u), dense(this.#ctx, ctx)) as tf.Tensor2D;
    for (const b of this.#blocks) {
      h = tf.add(h, dense(b.b, tf.relu(dense(b.a, tf.relu(h))))) as tf.Tensor2D;
    }
    h = tf.relu(h);
    const dk = this.#d * this.#k;
    const shape = [n, this.#d, this.#k];
    const c = dense(this.#ctxOut, ctx);
    const part = (l: Linear, i: number) =>
      tf.add(dense(l, h), tf.slice(c, [0, i * dk], [n, dk]));
    return {
      logW: tf.logSoftmax(tf.reshape(part(this.#logits, 0), shape), -1),
      mean: tf.reshape(part(this.#means, 1), shape),
      logStd: tf.reshape(part(this.#logStd, 2), shape),
    };
  }

  logProb(u: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const n = u.shape[0];
      const { logW, mean, logStd } = this.#params(u, ctx);
      const z = tf.mul(
        tf.sub(tf.reshape(u, [n, this.#d, 1]), mean),
        tf.exp(tf.neg(logStd)),
      );
      const comp = tf.sub(
        tf.sub(tf.mul(-0.5, tf.square(z)), logStd),
        0.5 * Math.log(2 * Math.PI),
      );
      return tf.sum(tf.logSumExp(tf.add(logW, comp), 2), 1) as tf.Tensor1D;
    });
  }

  sample(ctx: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    const n = ctx.shape[0];
    const d = this.#d;
    const k = this.#k;
    const u = new Float32Array(n * d);
    for (let i = 0; i < d; i++) {
      const [lw, m, ls] = tf.tidy(() => {
        const p = this.#params(tf.tensor2d(u, [n, d]), ctx);
        return [p.logW, p.mean, p.logStd].map((t) =>
          tf.slice(t, [0, i, 0], [n, 1, k]).dataSync()
        );
      });
      for (let r = 0; r < n; r++) {
        let q = rng.random();
        let c = k - 1;
        for (let j = 0; j < k; j++) {
          q -= Math.exp(lw[r * k + j]);
          if (q < 0) {
            c = j;
            break;
          }
        }
        u[r * d + i] = m[r * k + c] + Math.exp(ls[r * k + c]) * rng.normal();
      }
    }
    return tf.tensor2d(u, [n, d]);
  }
}
