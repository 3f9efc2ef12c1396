/**
 * Call counting shared by the samplers (the options and result types are in
 * `chain_types.ts`, re-exported here).
 * @module
 */
import { Matrix } from "../matrix.ts";
import type { Potential } from "../potentials/potential.ts";

import type { ChainOptions } from "./chain_types.ts";

export type { ChainOptions, SamplerResult } from "./chain_types.ts";

/** Wraps a potential to count its calls and rows. */
export class CountedPotential {
  /** Calls so far. */
  calls = 0;
  /** Rows so far. */
  rows = 0;
  #p: Potential;
  /** @param p the potential */
  constructor(p: Potential) {
    this.#p = p;
  }
  /**
   * Evaluates `n` rows of doubles.
   * @param data `n * d` values
   * @param n rows
   * @param d columns
   * @returns log-densities (NaN mapped to -Infinity)
   */
  eval(data: Float64Array, n: number, d: number): Float64Array {
    this.calls++;
    this.rows += n;
    const lp = this.#p(
      new Matrix(n, d, Float32Array.from(data.subarray(0, n * d))),
    );
    if (lp.length !== n) {
      throw new TypeError(
        `potential returned ${lp.length} values for ${n} rows`,
      );
    }
    for (let i = 0; i < n; i++) if (lp[i] !== lp[i]) lp[i] = -Infinity;
    return lp;
  }
}

/**
 * Validates and returns (n, numChains, d) for an MCMC run.
 * @param n samples wanted
 * @param init initial states
 * @param d dimension
 * @param o options
 * @returns resolved warm-up, thin and chain count
 * @throws {RangeError} for bad sizes
 * @throws {TypeError} if `init` is not a multiple of `d`
 */
export function resolveChains(
  n: number,
  init: Float64Array,
  d: number,
  o: ChainOptions,
): { warmup: number; thin: number; chains: number } {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `number of samples must be a positive integer, got ${n}`,
    );
  }
  if (
    !Number.isInteger(d) || d < 1 || init.length % d !== 0 || init.length === 0
  ) {
    throw new TypeError(
      `initial states have ${init.length} values, not a positive multiple of dim ${d}`,
    );
  }
  const warmup = o.warmupSteps ?? 200;
  const thin = o.thin ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(
      `warmupSteps must be a non-negative integer, got ${warmup}`,
    );
  }
  if (!Number.isInteger(thin) || thin < 1) {
    throw new RangeError(`thin must be a positive integer, got ${thin}`);
  }
  return { warmup, thin, chains: init.length / d };
}
