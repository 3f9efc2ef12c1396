/**
 * Growable row buffers of simulations (theta, x and an optional per-row prior
 * log-density used by the atomic loss), with optional reservoir sampling
 * (Vitter 1985, algorithm R) once a cap is reached.
 * @module
 */
import type { RandomSource } from "../priors/prior.ts";

/** A growable table of (theta, x, logPrior) rows. */
export class SimulationBuffer {
  /** theta rows (capacity-sized; the first `n` rows are valid). */
  theta: Float32Array;
  /** x rows. */
  x: Float32Array;
  /** log prior density per row (for the atomic loss). */
  logPrior: Float32Array;
  /** Number of valid rows. */
  n = 0;
  /** Rows offered so far (for reservoir sampling). */
  seen = 0;
  /** Parameter dimension. */
  readonly dTheta: number;
  /** Data dimension. */
  readonly dX: number;
  /** Maximum number of rows kept (reservoir sampling beyond it). */
  readonly cap: number;

  /**
   * Creates an empty buffer.
   * @param dTheta parameter dimension
   * @param dX data dimension
   * @param cap maximum rows (default unlimited)
   * @param initial initial capacity in rows
   */
  constructor(dTheta: number, dX: number, cap = Infinity, initial = 1024) {
    this.dTheta = dTheta;
    this.dX = dX;
    this.cap = cap;
    const c = Math.max(1, Math.min(initial, cap));
    this.theta = new Float32Array(c * dTheta);
    this.x = new Float32Array(c * dX);
    this.logPrior = new Float32Array(c);
  }

  #grow(need: number): void {
    const cur = this.logPrior.length;
    if (need <= cur) return;
    const c = Math.min(this.cap, Math.max(need, cur * 2));
    const t = new Float32Array(c * this.dTheta);
    t.set(this.theta.subarray(0, this.n * this.dTheta));
    const x = new Float32Array(c * this.dX);
    x.set(this.x.subarray(0, this.n * this.dX));
    const l = new Float32Array(c);
    l.set(this.logPrior.subarray(0, this.n));
    this.theta = t;
    this.x = x;
    this.logPrior = l;
  }

  /**
   * Adds one row (or replaces a random row when full, reservoir sampling).
   * @param theta parameter row
   * @param x data row
   * @param logPrior prior log-density of the row (for the atomic loss)
   * @param rng generator for reservoir sampling (null: keep the first rows)
   */
  push(
    theta: ArrayLike<number>,
    x: ArrayLike<number>,
    logPrior: number,
    rng: RandomSource | null,
  ): void {
    this.seen++;
    let at: number;
    if (this.n < this.cap) {
      this.#grow(this.n + 1);
      at = this.n++;
    } else {
      const j = rng ? Math.floor(rng.random() * this.seen) : this.seen - 1;
      if (j >= this.cap) return;
      at = j;
    }
    for (let i = 0; i < this.dTheta; i++) {
      this.theta[at * this.dTheta + i] = theta[i];
    }
    for (let i = 0; i < this.dX; i++) this.x[at * this.dX + i] = x[i];
    this.logPrior[at] = logPrior;
  }
}
