/**
 * What the samplers see of a posterior: the batched potential types
 * ({@linkcode Potential}, {@linkcode GradPotential}) and the logit transform
 * that lets samplers work in unconstrained space for bounded (box) priors.
 * @module
 */
import { Matrix } from "../matrix.ts";

/**
 * A batched potential: the unnormalised log-density of each row of `theta`
 * (`-Infinity` outside the support). Samplers only ever see this function.
 */
export type Potential = (theta: Matrix) => Float64Array;

/**
 * Packs `n` rows of doubles into a `Matrix` (float32) for a potential call.
 * @param data `n * d` values
 * @param n rows
 * @param d columns
 * @returns the matrix
 */
export function toMatrix(data: Float64Array, n: number, d: number): Matrix {
  return new Matrix(n, d, Float32Array.from(data.subarray(0, n * d)));
}

/** A bijection between unconstrained z and the support of a box prior. */
export interface BoxTransform {
  /** Lower bounds. */
  low: number[];
  /** Upper bounds. */
  high: number[];
}

/**
 * Maps z (unconstrained) to theta = low + (high - low) * sigmoid(z), in place.
 * @param z values, row-major with `low.length` columns
 * @param t bounds
 * @returns a new array of theta values
 */
export function fromUnconstrained(
  z: Float64Array,
  t: BoxTransform,
): Float64Array {
  const d = t.low.length;
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const j = i % d;
    out[i] = t.low[j] + (t.high[j] - t.low[j]) / (1 + Math.exp(-z[i]));
  }
  return out;
}

/**
 * Maps theta inside the box to z = logit((theta - low) / (high - low)).
 * @param theta values, row-major with `low.length` columns
 * @param t bounds
 * @returns z values (clamped to avoid infinities at the bounds)
 */
export function toUnconstrained(
  theta: Float64Array,
  t: BoxTransform,
): Float64Array {
  const d = t.low.length;
  const out = new Float64Array(theta.length);
  for (let i = 0; i < theta.length; i++) {
    const j = i % d;
    let u = (theta[i] - t.low[j]) / (t.high[j] - t.low[j]);
    u = Math.min(1 - 1e-12, Math.max(1e-12, u));
    out[i] = Math.log(u / (1 - u));
  }
  return out;
}

/**
 * Potential in unconstrained coordinates: U(z) = potential(theta(z)) +
 * log|d theta / d z|, with log|d theta_j / d z_j| = log(high_j - low_j) +
 * log sigmoid(z_j) + log sigmoid(-z_j) (change of variables).
 * @param potential potential in theta space
 * @param t box bounds
 * @returns the potential in z space
 */
export function unconstrainedPotential(
  potential: Potential,
  t: BoxTransform,
): Potential {
  const d = t.low.length;
  const logSpan = t.low.map((l, j) => Math.log(t.high[j] - l));
  const logSig = (v: number) =>
    v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v));
  return (z: Matrix) => {
    const zz = Float64Array.from(z.data);
    const th = fromUnconstrained(zz, t);
    const m = new Matrix(z.rows, d, Float32Array.from(th));
    clampToBox(m.data, t);
    const lp = potential(m);
    for (let r = 0; r < z.rows; r++) {
      let lj = 0;
      for (let j = 0; j < d; j++) {
        const v = zz[r * d + j];
        lj += logSpan[j] + logSig(v) + logSig(-v);
      }
      lp[r] += lj;
    }
    return lp;
  };
}

/**
 * Moves float32 values that rounded onto or beyond a bound strictly inside the box, in place.
 * @param data row-major values with `t.low.length` columns
 * @param t bounds
 */
export function clampToBox(data: Float32Array, t: BoxTransform): void {
  const d = t.low.length;
  for (let i = 0; i < data.length; i++) {
    const j = i % d;
    if (!(data[i] > t.low[j])) data[i] = nextUp(t.low[j]);
    else if (!(data[i] < t.high[j])) data[i] = nextDown(t.high[j]);
  }
}

function nextUp(v: number): number {
  const f = Math.fround(v);
  return f > v ? f : Math.fround(f + Math.max(Math.abs(f) * 1.2e-7, 1e-38));
}

function nextDown(v: number): number {
  const f = Math.fround(v);
  return f < v ? f : Math.fround(f - Math.max(Math.abs(f) * 1.2e-7, 1e-38));
}

/**
 * A batched potential with its gradient: for each row of `theta`, `logProb`
 * is the unnormalised log-density (`-Infinity` outside the support) and
 * `grad` holds d log p / d theta, row-major `rows x cols`. The gradient-based
 * samplers (HMC, NUTS) only ever see this function.
 */
export type GradPotential = (
  theta: Matrix,
) => { logProb: Float64Array; grad: Float64Array };

/**
 * The gradient potential in unconstrained coordinates (the gradient-aware
 * {@linkcode unconstrainedPotential}): with theta = low + (high - low) σ(z),
 * U(z) = log p(theta(z)) + Σ_j [log(high_j - low_j) + log σ(z_j) + log σ(-z_j)]
 * and dU/dz_j = (d log p / d theta_j) (high_j - low_j) σ(z_j) σ(-z_j) + 1 - 2 σ(z_j).
 * @param potential gradient potential in theta space
 * @param t box bounds
 * @returns the gradient potential in z space
 */
export function unconstrainedGradPotential(
  potential: GradPotential,
  t: BoxTransform,
): GradPotential {
  const d = t.low.length;
  const span = t.low.map((l, j) => t.high[j] - l);
  const logSig = (v: number) =>
    v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v));
  return (z: Matrix) => {
    if (z.cols !== d) {
      throw new TypeError(`z has ${z.cols} columns, expected ${d}`);
    }
    const zz = Float64Array.from(z.data);
    const m = new Matrix(
      z.rows,
      d,
      Float32Array.from(fromUnconstrained(zz, t)),
    );
    clampToBox(m.data, t);
    const r = potential(m);
    if (r.logProb.length !== z.rows || r.grad.length !== z.rows * d) {
      throw new TypeError(
        `gradient potential returned ${r.logProb.length} values and ${r.grad.length} gradient entries for ${z.rows} rows of dim ${d}`,
      );
    }
    const lp = Float64Array.from(r.logProb);
    const grad = new Float64Array(z.rows * d);
    for (let i = 0; i < z.rows; i++) {
      let lj = 0;
      for (let j = 0; j < d; j++) {
        const k = i * d + j;
        const v = zz[k];
        const ls = logSig(v), lsn = logSig(-v);
        lj += Math.log(span[j]) + ls + lsn;
        const s = Math.exp(ls);
        grad[k] = r.grad[k] * span[j] * s * Math.exp(lsn) + 1 - 2 * s;
      }
      lp[i] += lj;
    }
    return { logProb: lp, grad };
  };
}

/**
 * The value part of a gradient potential, as a plain {@linkcode Potential}.
 * @param potential gradient potential
 * @returns theta ↦ log p(theta)
 */
export function valueOfGradPotential(potential: GradPotential): Potential {
  return (theta: Matrix) => potential(theta).logProb;
}
