/**
 * Validation shared by the methods' `appendSimulations`: matching rows and
 * dimensions, and the exclusion of rows with NaN or infinite values.
 * @module
 */
import { Matrix, type MatrixLike } from "../matrix.ts";

/** The finite rows of one `appendSimulations` call. */
export interface FiniteRows {
  /** Kept parameters, row-major. */
  readonly theta: Float32Array;
  /** Kept data, row-major. */
  readonly x: Float32Array;
  /** Rows kept. */
  readonly kept: number;
  /** Rows excluded for NaN/Inf values. */
  readonly excluded: number;
  /** Columns of x. */
  readonly xDim: number;
}

/**
 * Checks shapes and keeps the rows whose theta and x are all finite.
 * @param theta parameters, rows = simulations
 * @param x simulated data, rows = simulations
 * @param thetaDim the prior's dimension
 * @param xDim the expected columns of x (negative: not known yet)
 * @returns the kept rows and counts
 * @throws {TypeError} on mismatched rows or dimensions
 */
export function finiteRows(
  theta: MatrixLike,
  x: MatrixLike,
  thetaDim: number,
  xDim: number,
): FiniteRows {
  const t = Matrix.of(theta);
  const xm = Matrix.of(x);
  if (t.rows !== xm.rows) {
    throw new TypeError(`theta has ${t.rows} rows but x has ${xm.rows}`);
  }
  if (t.rows > 0 && t.cols !== thetaDim) {
    throw new TypeError(
      `theta has ${t.cols} columns but the prior has dim ${thetaDim}`,
    );
  }
  if (t.rows > 0 && xDim >= 0 && xm.cols !== xDim) {
    throw new TypeError(`x has ${xm.cols} columns, expected ${xDim}`);
  }
  const dT = t.cols, dX = xm.cols;
  const keep: number[] = [];
  for (let i = 0; i < t.rows; i++) {
    let ok = true;
    for (let j = 0; j < dT && ok; j++) ok = Number.isFinite(t.data[i * dT + j]);
    for (let j = 0; j < dX && ok; j++) {
      ok = Number.isFinite(xm.data[i * dX + j]);
    }
    if (ok) keep.push(i);
  }
  const vt = new Float32Array(keep.length * dT);
  const vx = new Float32Array(keep.length * dX);
  keep.forEach((i, a) => {
    vt.set(t.data.subarray(i * dT, (i + 1) * dT), a * dT);
    vx.set(xm.data.subarray(i * dX, (i + 1) * dX), a * dX);
  });
  return {
    theta: vt,
    x: vx,
    kept: keep.length,
    excluded: t.rows - keep.length,
    xDim: t.rows > 0 ? dX : xDim,
  };
}
