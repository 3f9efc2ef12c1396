/**
 * Neural spline flow (Durkan, Bekasov, Murray & Papamakarios 2019, "Neural
 * Spline Flows"): rational-quadratic spline coupling transforms with linear
 * tails outside [-B, B], a residual-network conditioner (nflows `ResidualNet`:
 * pre-activation ReLU blocks with a context gate, GLU) and an `LULinear` mixing
 * layer between couplings, as in sbi's `build_nsf`. Bin selection uses one-hot
 * masks from comparisons instead of `gather`/`searchsorted` (the tfjs wasm
 * backend has no `gather` gradient).
 * @module
 */
import * as tf from "./_deps.ts";
import type { Rng } from "../../_internal/random.ts";
import { type ConditionalModel, normalNoise } from "./_flow.ts";
import {
  charge,
  dense,
  type Linear,
  mm,
  Params,
  selectionMatrix,
  stdNormalLogProb,
} from "./_nn.ts";
import { makeSplineOp } from "./_rqs_cpu.ts";

/** NSF hyper-parameters. */
export interface NsfConfig {
  /** Number of coupling transforms (sbi: 5). */
  numTransforms: number;
  /** Hidden units of the conditioner (sbi: 50). */
  hiddenFeatures: number;
  /** Residual blocks in the conditioner (sbi: 2). */
  numBlocks: number;
  /** Spline bins (sbi: 10). */
  numBins: number;
  /** Spline interval [-tailBound, tailBound] (sbi: 3). */
  tailBound: number;
}

const MIN_W = 1e-3;
const MIN_H = 1e-3;
const MIN_D = 1e-3;
/** softplus^-1(1 - MIN_D): boundary derivative 1 for linear tails (nflows). */
const TAIL_CONST = Math.log(Math.exp(1 - MIN_D) - 1);

interface ResBlock {
  l0: Linear;
  l1: Linear;
  ctx: Linear;
}

interface Coupling {
  idIdx: number[];
  trIdx: number[];
  selId: tf.Tensor2D | null;
  selTr: tf.Tensor2D;
  selIdT: tf.Tensor2D | null;
  selTrT: tf.Tensor2D;
  first: Linear;
  blocks: ResBlock[];
  out: Linear;
}

interface LU {
  lower: tf.Variable | null;
  upper: tf.Variable | null;
  diag: tf.Variable;
  bias: tf.Variable;
  eLower: tf.Tensor2D | null;
  eUpper: tf.Tensor2D | null;
  eDiag: tf.Tensor2D;
}

/** Conditional NSF. */
export class Nsf implements ConditionalModel {
  /** Test hook: evaluate the forward spline with the (slow) tfjs autodiff graph instead of the CPU op. */
  static referenceSpline = false;
  readonly params: Params;
  readonly #splineOp: (x: tf.Tensor2D, p: tf.Tensor3D) => tf.Tensor2D;
  readonly #d: number;
  readonly #cfg: NsfConfig;
  readonly #couplings: Coupling[] = [];
  readonly #lus: LU[] = [];

  constructor(d: number, ctxDim: number, cfg: NsfConfig, seed: number) {
    this.#d = d;
    this.#cfg = cfg;
    this.#splineOp = makeSplineOp(
      cfg.numBins,
      cfg.tailBound,
      1 / Math.sqrt(cfg.hiddenFeatures),
    );
    const p = (this.params = new Params(seed));
    const h = cfg.hiddenFeatures;
    const k = cfg.numBins;
    const mult = 3 * k - 1;
    for (let t = 0; t < cfg.numTransforms; t++) {
      // nflows create_alternating_binary_mask(d, even = t % 2 == 0): 1 = transformed
      const start = t % 2 === 0 ? 0 : 1;
      const trIdx: number[] = [];
      const idIdx: number[] = [];
      for (let i = 0; i < d; i++) {
        ((i - start) % 2 === 0 && i >= start ? trIdx : idIdx).push(i);
      }
      if (d === 1) { // 1-D: the spline is conditioned on the context only (sbi's ContextSplineMap case)
        trIdx.length = 0;
        trIdx.push(0);
        idIdx.length = 0;
      }
      const selTr = p.constant(selectionMatrix(d, trIdx), [
        d,
        trIdx.length,
      ]) as tf.Tensor2D;
      const selTrT = p.constant(
        transpose(selectionMatrix(d, trIdx), d, trIdx.length),
        [trIdx.length, d],
      ) as tf.Tensor2D;
      const selId = idIdx.length
        ? p.constant(selectionMatrix(d, idIdx), [
          d,
          idIdx.length,
        ]) as tf.Tensor2D
        : null;
      const selIdT = idIdx.length
        ? p.constant(transpose(selectionMatrix(d, idIdx), d, idIdx.length), [
          idIdx.length,
          d,
        ]) as tf.Tensor2D
        : null;
      const first = p.linear(`nsf${t}.first`, idIdx.length + ctxDim, h);
      const blocks: ResBlock[] = [];
      for (let b = 0; b < cfg.numBlocks; b++) {
        blocks.push({
          l0: p.linear(`nsf${t}.block${b}.l0`, h, h),
          l1: p.linear(`nsf${t}.block${b}.l1`, h, h, 1e-3), // nflows zero_initialization
          ctx: p.linear(`nsf${t}.block${b}.ctx`, ctxDim, h),
        });
      }
      const out = p.linear(`nsf${t}.out`, h, trIdx.length * mult);
      this.#couplings.push({
        idIdx,
        trIdx,
        selId,
        selTr,
        selIdT,
        selTrT,
        first,
        blocks,
        out,
      });
      if (d > 1) this.#lus.push(this.#makeLu(p, t, d));
    }
  }

  #makeLu(p: Params, t: number, d: number): LU {
    // nflows LULinear with identity_init: W = L U, L unit lower, U upper with softplus diagonal.
    const nOff = (d * (d - 1)) / 2;
    const eL = new Float32Array(charge(nOff * d * d));
    const eU = new Float32Array(charge(nOff * d * d));
    const eD = new Float32Array(charge(d * d * d));
    let c = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) eL[c++ * d * d + i * d + j] = 1;
    }
    c = 0;
    for (let i = 0; i < d; i++) {
      for (let j = i + 1; j < d; j++) eU[c++ * d * d + i * d + j] = 1;
    }
    for (let i = 0; i < d; i++) eD[i * d * d + i * d + i] = 1;
    const diagInit = new Float32Array(d).fill(Math.log(Math.exp(1 - 1e-3) - 1));
    return {
      lower: nOff
        ? p.add(`lu${t}.lower`, [1, nOff], new Float32Array(nOff))
        : null,
      upper: nOff
        ? p.add(`lu${t}.upper`, [1, nOff], new Float32Array(nOff))
        : null,
      diag: p.add(`lu${t}.diag`, [1, d], diagInit),
      bias: p.add(`lu${t}.bias`, [d], new Float32Array(d)),
      eLower: nOff ? p.constant(eL, [nOff, d * d]) as tf.Tensor2D : null,
      eUpper: nOff ? p.constant(eU, [nOff, d * d]) as tf.Tensor2D : null,
      eDiag: p.constant(eD, [d, d * d]) as tf.Tensor2D,
    };
  }

  /** Returns W = L U (`[d, d]`) and log|det W| (scalar). */
  #luWeight(lu: LU): { w: tf.Tensor2D; logDet: tf.Scalar } {
    const d = this.#d;
    const diag = tf.add(tf.softplus(lu.diag), 1e-3) as tf.Tensor2D;
    let upper = mm(diag, lu.eDiag);
    if (lu.upper) upper = tf.add(upper, mm(lu.upper, lu.eUpper!));
    let lower = tf.reshape(tf.eye(d), [1, d * d]) as tf.Tensor2D;
    if (lu.lower) lower = tf.add(lower, mm(lu.lower, lu.eLower!));
    const w = mm(
      tf.reshape(lower, [d, d]),
      tf.reshape(upper, [d, d]),
    ) as tf.Tensor2D;
    return { w, logDet: tf.sum(tf.log(diag)) };
  }

  #conditioner(
    c: Coupling,
    xId: tf.Tensor2D | null,
    ctx: tf.Tensor2D,
  ): tf.Tensor3D {
    const inp = xId ? tf.concat([xId, ctx], 1) as tf.Tensor2D : ctx;
    let h = dense(c.first, inp);
    for (const b of c.blocks) {
      // nflows ResidualBlock: act -> linear -> act -> linear -> GLU with context
      let t = dense(b.l0, tf.relu(h));
      t = dense(b.l1, tf.relu(t));
      t = tf.mul(t, tf.sigmoid(dense(b.ctx, ctx))) as tf.Tensor2D;
      h = tf.add(h, t) as tf.Tensor2D;
    }
    const out = dense(c.out, h);
    return tf.reshape(out, [
      out.shape[0],
      c.trIdx.length,
      3 * this.#cfg.numBins - 1,
    ]) as tf.Tensor3D;
  }

  /**
   * Rational-quadratic spline with linear tails (Durkan et al. 2019, eqs. 4-8;
   * inverse by the quadratic root of appendix A), elementwise on `x` `[N, T]`.
   */
  #spline(
    x: tf.Tensor2D,
    p: tf.Tensor3D,
    inverse: boolean,
  ): { y: tf.Tensor2D; logDet: tf.Tensor1D } {
    const { numBins: k, tailBound: bound, hiddenFeatures } = this.#cfg;
    const [n, t] = x.shape;
    const sq = Math.sqrt(hiddenFeatures);
    const uw = tf.div(tf.slice(p, [0, 0, 0], [n, t, k]), sq);
    const uh = tf.div(tf.slice(p, [0, 0, k], [n, t, k]), sq);
    const ud = tf.slice(p, [0, 0, 2 * k], [n, t, k - 1]);
    const knots = (u: tf.Tensor, minBin: number) => {
      const w = tf.add(minBin, tf.mul(1 - minBin * k, tf.softmax(u, -1)));
      const cum = tf.cumsum(w, 2);
      const inner = tf.add(
        -bound,
        tf.mul(2 * bound, tf.slice(cum, [0, 0, 0], [n, t, k - 1])),
      );
      const loc = tf.concat([
        tf.fill([n, t, 1], -bound),
        inner,
        tf.fill([n, t, 1], bound),
      ], 2);
      const width = tf.sub(
        tf.slice(loc, [0, 0, 1], [n, t, k]),
        tf.slice(loc, [0, 0, 0], [n, t, k]),
      );
      return { loc, width };
    };
    const cw = knots(uw, MIN_W);
    const ch = knots(uh, MIN_H);
    const pad = tf.fill([n, t, 1], TAIL_CONST);
    const deriv = tf.add(MIN_D, tf.softplus(tf.concat([pad, ud, pad], 2)));
    const xc = tf.clipByValue(x, -bound, bound);
    // Bin search and the inside-interval indicator are computed on the CPU from the
    // values: they carry no gradient, and tfjs would otherwise back-propagate zeros
    // through the comparison ops (measured 5x slower) -- there is no stopGradient.
    const search = inverse ? ch.loc : cw.loc;
    const xv = x.dataSync();
    const lv = search.dataSync();
    const oh = new Float32Array(n * t * k);
    const ins = new Float32Array(n * t);
    for (let r = 0; r < n * t; r++) {
      const v = Math.min(bound, Math.max(-bound, xv[r]));
      ins[r] = xv[r] >= -bound && xv[r] <= bound ? 1 : 0;
      // nflows searchsorted: number of knots <= v minus one, last knot + 1e-6
      let b = 0;
      for (let j = 1; j < k; j++) if (v >= lv[r * (k + 1) + j]) b = j;
      oh[r * k + b] = 1;
    }
    const onehot = tf.tensor3d(oh, [n, t, k]);
    const inside = tf.tensor2d(ins, [n, t]);
    const pick = (v: tf.Tensor) => tf.sum(tf.mul(onehot, v), 2) as tf.Tensor2D;
    const xk = pick(tf.slice(cw.loc, [0, 0, 0], [n, t, k]));
    const wk = pick(cw.width);
    const yk = pick(tf.slice(ch.loc, [0, 0, 0], [n, t, k]));
    const hk = pick(ch.width);
    const sk = tf.div(hk, wk);
    const dk = pick(tf.slice(deriv, [0, 0, 0], [n, t, k]));
    const dk1 = pick(tf.slice(deriv, [0, 0, 1], [n, t, k]));
    const dsum = tf.sub(tf.add(dk, dk1), tf.mul(2, sk));
    let y: tf.Tensor2D;
    let lad: tf.Tensor2D;
    if (!inverse) {
      const th = tf.clipByValue(tf.div(tf.sub(xc, xk), wk), 0, 1);
      const th1 = tf.mul(th, tf.sub(1, th));
      const num = tf.mul(
        hk,
        tf.add(tf.mul(sk, tf.square(th)), tf.mul(dk, th1)),
      );
      const den = tf.add(sk, tf.mul(dsum, th1));
      y = tf.add(yk, tf.div(num, den)) as tf.Tensor2D;
      const dnum = tf.mul(
        tf.square(sk),
        tf.add(
          tf.add(tf.mul(dk1, tf.square(th)), tf.mul(tf.mul(2, sk), th1)),
          tf.mul(dk, tf.square(tf.sub(1, th))),
        ),
      );
      lad = tf.sub(tf.log(dnum), tf.mul(2, tf.log(den))) as tf.Tensor2D;
    } else {
      const dy = tf.sub(xc, yk);
      const a = tf.add(tf.mul(dy, dsum), tf.mul(hk, tf.sub(sk, dk)));
      const b = tf.sub(tf.mul(hk, dk), tf.mul(dy, dsum));
      const c = tf.mul(tf.neg(sk), dy);
      const disc = tf.relu(tf.sub(tf.square(b), tf.mul(4, tf.mul(a, c))));
      const root = tf.clipByValue(
        tf.div(tf.mul(2, c), tf.sub(tf.neg(b), tf.sqrt(disc))),
        0,
        1,
      );
      y = tf.add(tf.mul(root, wk), xk) as tf.Tensor2D;
      const th1 = tf.mul(root, tf.sub(1, root));
      const den = tf.add(sk, tf.mul(dsum, th1));
      const dnum = tf.mul(
        tf.square(sk),
        tf.add(
          tf.add(tf.mul(dk1, tf.square(root)), tf.mul(tf.mul(2, sk), th1)),
          tf.mul(dk, tf.square(tf.sub(1, root))),
        ),
      );
      lad = tf.neg(tf.sub(tf.log(dnum), tf.mul(2, tf.log(den)))) as tf.Tensor2D;
    }
    const yOut = tf.add(
      tf.mul(inside, y),
      tf.mul(tf.sub(1, inside), x),
    ) as tf.Tensor2D;
    const ldOut = tf.sum(tf.mul(inside, lad), 1) as tf.Tensor1D;
    return { y: yOut, logDet: ldOut };
  }

  /** Splits columns into (identity, transformed); slices when both are contiguous ranges. */
  #split(c: Coupling, x: tf.Tensor2D): [tf.Tensor2D | null, tf.Tensor2D] {
    if (!c.selId) return [null, x];
    const id0 = c.idIdx[0], tr0 = c.trIdx[0];
    if (contiguous(c.idIdx) && contiguous(c.trIdx)) {
      return [
        tf.slice(x, [0, id0], [-1, c.idIdx.length]),
        tf.slice(x, [0, tr0], [-1, c.trIdx.length]),
      ];
    }
    return [mm(x, c.selId), mm(x, c.selTr)];
  }

  /** Inverse of {@linkcode Nsf.#split}. */
  #merge(c: Coupling, xId: tf.Tensor2D | null, y: tf.Tensor2D): tf.Tensor2D {
    if (!xId) return y;
    if (contiguous(c.idIdx) && contiguous(c.trIdx)) {
      return (c.idIdx[0] < c.trIdx[0]
        ? tf.concat([xId, y], 1)
        : tf.concat([y, xId], 1)) as tf.Tensor2D;
    }
    return tf.add(mm(y, c.selTrT), mm(xId, c.selIdT!)) as tf.Tensor2D;
  }

  forward(
    u: tf.Tensor2D,
    ctx: tf.Tensor2D,
  ): { z: tf.Tensor2D; logDet: tf.Tensor1D } {
    let x = u;
    let logDet: tf.Tensor1D = tf.zeros([u.shape[0]]);
    this.#couplings.forEach((c, i) => {
      const [xId, xTr] = this.#split(c, x);
      const params = this.#conditioner(c, xId, ctx);
      let y: tf.Tensor2D;
      let ld: tf.Tensor1D;
      if (Nsf.referenceSpline) {
        ({ y, logDet: ld } = this.#spline(xTr, params, false));
      } else {
        const nt = c.trIdx.length;
        const out = this.#splineOp(xTr, params);
        y = tf.slice(out, [0, 0], [-1, nt]);
        ld = tf.sum(tf.slice(out, [0, nt], [-1, nt]), 1);
      }
      x = this.#merge(c, xId, y);
      logDet = tf.add(logDet, ld);
      if (this.#d > 1) {
        const lu = this.#lus[i];
        const { w, logDet: lw } = this.#luWeight(lu);
        x = tf.add(mm(x, tf.transpose(w)), lu.bias) as tf.Tensor2D; // x W^T + b
        logDet = tf.add(logDet, lw);
      }
    });
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
      let x = z;
      for (let i = this.#couplings.length - 1; i >= 0; i--) {
        const c = this.#couplings[i];
        if (this.#d > 1) {
          const lu = this.#lus[i];
          // invert y = x W^T + b on the CPU in float64 (small d x d matrix)
          const w = this.#luWeight(lu).w;
          const winv = invert(Float64Array.from(w.dataSync()), this.#d);
          const wInvT = tf.tensor2d(transpose64(winv, this.#d), [
            this.#d,
            this.#d,
          ]);
          x = mm(tf.sub(x, lu.bias), wInvT) as tf.Tensor2D;
        }
        const [xId, xTr] = this.#split(c, x);
        const { y } = this.#spline(xTr, this.#conditioner(c, xId, ctx), true);
        x = this.#merge(c, xId, y);
      }
      return x;
    });
  }

  sample(ctx: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    const n = ctx.shape[0];
    return tf.tidy(() =>
      this.inverse(tf.tensor2d(normalNoise(n, this.#d, rng), [n, this.#d]), ctx)
    );
  }
}

function contiguous(idx: number[]): boolean {
  return idx.every((v, i) => v === idx[0] + i);
}

function transpose(m: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) out[j * r + i] = m[i * c + j];
  }
  return out;
}

function transpose64(m: Float64Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[j * n + i] = m[i * n + j];
  }
  return out;
}

/** Gauss-Jordan inverse with partial pivoting (row-major n x n, float64). */
export function invert(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) {
      if (Math.abs(m[r * n + col]) > Math.abs(m[piv * n + col])) piv = r;
    }
    if (m[piv * n + col] === 0) {
      throw new RangeError("singular matrix in LU layer inverse");
    }
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        [m[col * n + j], m[piv * n + j]] = [m[piv * n + j], m[col * n + j]];
        [inv[col * n + j], inv[piv * n + j]] = [
          inv[piv * n + j],
          inv[col * n + j],
        ];
      }
    }
    const p = m[col * n + col];
    for (let j = 0; j < n; j++) {
      m[col * n + j] /= p;
      inv[col * n + j] /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[col * n + j];
        inv[r * n + j] -= f * inv[col * n + j];
      }
    }
  }
  return inv;
}
