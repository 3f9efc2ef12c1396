/**
 * Mixture density network (Bishop 1994) with full-covariance Gaussian
 * components parametrised by upper-triangular precision factors
 * (`precision = U^T U`, `diag(U) = exp(.) + eps`), as pyknos'/sbi's
 * `MultivariateGaussianMDN`: log N(u; mu, (U^T U)^-1) = -D/2 log 2pi +
 * sum log U_ii - |U (u - mu)|^2 / 2. Sampling solves `U y = eps` on the CPU.
 * @module
 */
import * as tf from "./_deps.ts";
import type { Rng } from "../../_internal/random.ts";
import type { ConditionalModel } from "./_flow.ts";
import { charge, dense, type Linear, mlp, mm, Params } from "./_nn.ts";

/** MDN hyper-parameters. */
export interface MdnConfig {
  /** Hidden units (sbi: 50). */
  hiddenFeatures: number;
  /** Mixture components (sbi: 10). */
  numComponents: number;
}

const EPS = 1e-2;

/** Conditional MDN. */
export class Mdn implements ConditionalModel {
  readonly params: Params;
  readonly #d: number;
  readonly #k: number;
  readonly #hidden: Linear[];
  readonly #logits: Linear;
  readonly #means: Linear;
  readonly #diag: Linear;
  readonly #upper: Linear | null;
  readonly #eUpper: tf.Tensor2D | null;

  constructor(d: number, ctxDim: number, cfg: MdnConfig, seed: number) {
    this.#d = d;
    const k = (this.#k = cfg.numComponents);
    const h = cfg.hiddenFeatures;
    const p = (this.params = new Params(seed));
    // sbi build_mdn hidden net: Linear-ReLU-Linear-ReLU-Linear-ReLU
    this.#hidden = [
      p.linear("mdn.h0", ctxDim, h),
      p.linear("mdn.h1", h, h),
      p.linear("mdn.h2", h, h),
    ];
    this.#logits = p.linear("mdn.logits", h, k);
    this.#means = p.linear("mdn.means", h, k * d);
    this.#diag = p.linear("mdn.diag", h, k * d, 1e-2);
    const nOff = (d * (d - 1)) / 2;
    this.#upper = nOff ? p.linear("mdn.upper", h, k * nOff, 1e-2) : null;
    if (nOff) {
      const e = new Float32Array(charge(nOff * d * d));
      let c = 0;
      for (let i = 0; i < d; i++) {
        for (let j = i + 1; j < d; j++) e[c++ * d * d + i * d + j] = 1;
      }
      this.#eUpper = p.constant(e, [nOff, d * d]) as tf.Tensor2D;
    } else this.#eUpper = null;
  }

  /** Mixture parameters: log weights [N,K], means [N,K,D], diag of U [N,K,D], U [N,K,D,D]. */
  #mixture(ctx: tf.Tensor2D) {
    const n = ctx.shape[0];
    const d = this.#d;
    const k = this.#k;
    const h = mlp(this.#hidden, ctx, true);
    const logW = tf.logSoftmax(dense(this.#logits, h), -1);
    const mu = tf.reshape(dense(this.#means, h), [n, k, d]);
    const diag = tf.add(
      tf.exp(tf.reshape(dense(this.#diag, h), [n * k, d])),
      EPS,
    ) as tf.Tensor2D;
    // U = diag(diag) + strictly-upper part, built by 0/1 matrix products (no scatter)
    let u = tf.mul(
      tf.reshape(diag, [n * k, d, 1]),
      tf.reshape(tf.eye(d), [1, d, d]),
    );
    if (this.#upper) {
      const off = tf.reshape(dense(this.#upper, h), [
        n * k,
        (d * (d - 1)) / 2,
      ]) as tf.Tensor2D;
      u = tf.add(u, tf.reshape(mm(off, this.#eUpper!), [n * k, d, d]));
    }
    return {
      logW,
      mu,
      diag: tf.reshape(diag, [n, k, d]),
      u: tf.reshape(u, [n, k, d, d]),
    };
  }

  logProb(x: tf.Tensor2D, ctx: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const n = x.shape[0];
      const d = this.#d;
      const { logW, mu, diag, u } = this.#mixture(ctx);
      const diff = tf.sub(tf.reshape(x, [n, 1, d]), mu); // [N,K,D]
      const ud = tf.sum(tf.mul(u, tf.reshape(diff, [n, this.#k, 1, d])), 3); // [N,K,D]
      const comp = tf.sub(
        tf.sub(tf.sum(tf.log(diag), 2), tf.mul(0.5, tf.sum(tf.square(ud), 2))),
        0.5 * d * Math.log(2 * Math.PI),
      );
      return tf.logSumExp(tf.add(logW, comp), 1) as tf.Tensor1D;
    });
  }

  sample(ctx: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    const n = ctx.shape[0];
    const d = this.#d;
    const k = this.#k;
    const [lw, mu, u] = tf.tidy(() => {
      const m = this.#mixture(ctx);
      return [m.logW, m.mu, m.u];
    });
    const lwA = lw.dataSync();
    const muA = mu.dataSync();
    const uA = u.dataSync();
    tf.dispose([lw, mu, u]);
    const out = new Float32Array(n * d);
    const eps = new Float64Array(d);
    const y = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      // component by inverse-CDF on the mixture weights
      let r = rng.random();
      let c = k - 1;
      for (let j = 0; j < k; j++) {
        r -= Math.exp(lwA[i * k + j]);
        if (r < 0) {
          c = j;
          break;
        }
      }
      for (let j = 0; j < d; j++) eps[j] = rng.normal();
      const base = (i * k + c) * d * d;
      for (let a = d - 1; a >= 0; a--) { // back substitution U y = eps
        let s = eps[a];
        for (let b = a + 1; b < d; b++) s -= uA[base + a * d + b] * y[b];
        y[a] = s / uA[base + a * d + a];
      }
      for (let j = 0; j < d; j++) {
        out[i * d + j] = muA[(i * k + c) * d + j] + y[j];
      }
    }
    return tf.tensor2d(out, [n, d]);
  }
}
