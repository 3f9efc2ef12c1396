/**
 * Validation shared by the methods' `appendSimulations`: matching rows and
 * dimensions, and the exclusion of rows with NaN or infinite values.
 * @module
 */
import { Matrix, type MatrixLike } from "../matrix.ts";
import { SimulationBuffer } from "../estimators/simulation_buffer.ts";

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

/**
 * The simulations appended to a method (NLE, NRE, MNLE): finite rows in
 * chunks, concatenated once when training starts.
 */
export class SimulationStore {
  /** Parameter dimension (the prior's). */
  readonly thetaDim: number;
  /** Columns of x (-1 until the first non-empty append). */
  xDim = -1;
  /** Valid simulations stored. */
  n = 0;
  /** Simulations excluded for NaN/Inf values. */
  nExcluded = 0;
  #theta: Float32Array[] = [];
  #x: Float32Array[] = [];

  /** @param thetaDim the prior's dimension */
  constructor(thetaDim: number) {
    this.thetaDim = thetaDim;
  }

  /**
   * Validates and stores the finite rows (see {@linkcode finiteRows}).
   * @param theta parameters, rows = simulations
   * @param x simulated data, rows = simulations
   * @throws {TypeError} on mismatched rows or dimensions
   */
  append(theta: MatrixLike, x: MatrixLike): void {
    const r = finiteRows(theta, x, this.thetaDim, this.xDim);
    this.xDim = r.xDim;
    this.add(r.theta, r.x, r.kept, r.excluded);
  }

  /**
   * Stores rows validated by the caller.
   * @param theta kept parameters, row-major
   * @param x kept data, row-major (`xDim` columns)
   * @param kept rows in `theta` and `x`
   * @param excluded rows the caller dropped
   */
  add(theta: Float32Array, x: Float32Array, kept: number, excluded: number) {
    this.nExcluded += excluded;
    if (kept > 0) {
      this.#theta.push(theta);
      this.#x.push(x);
      this.n += kept;
    }
  }

  /**
   * All stored rows, concatenated.
   * @returns parameters and data, row-major
   */
  all(): { theta: Float32Array; x: Float32Array } {
    const dT = this.thetaDim, dX = this.xDim;
    const theta = new Float32Array(this.n * dT);
    const x = new Float32Array(this.n * Math.max(0, dX));
    let off = 0;
    this.#theta.forEach((a, k) => {
      theta.set(a, off * dT);
      x.set(this.#x[k], off * dX);
      off += a.length / dT;
    });
    return { theta, x };
  }
}

/**
 * The train/validation split of NLE, NRE and MNLE: row `perm[k]` of `all`
 * goes to the validation buffer for `k < nVal` and to the training buffer
 * otherwise.
 * @param all the stored rows (see {@linkcode SimulationStore.all})
 * @param dT parameter columns
 * @param dX data columns
 * @param perm a permutation of the rows
 * @param nVal rows for validation
 * @param modelX true for likelihood methods (NLE, MNLE): the buffers' "theta"
 *   is then the modelled x and their "x" the context θ
 * @returns the training and validation buffers
 */
export function splitRows(
  all: { theta: Float32Array; x: Float32Array },
  dT: number,
  dX: number,
  perm: Uint32Array,
  nVal: number,
  modelX: boolean,
): { tr: SimulationBuffer; va: SimulationBuffer } {
  const total = perm.length;
  const [a, da, b, db] = modelX
    ? [all.x, dX, all.theta, dT]
    : [all.theta, dT, all.x, dX];
  const tr = new SimulationBuffer(da, db, Infinity, total - nVal);
  const va = new SimulationBuffer(da, db, Infinity, nVal);
  for (let k = 0; k < total; k++) {
    const i = perm[k];
    (k < nVal ? va : tr).push(
      a.subarray(i * da, (i + 1) * da),
      b.subarray(i * db, (i + 1) * db),
      0,
      null,
    );
  }
  return { tr, va };
}
