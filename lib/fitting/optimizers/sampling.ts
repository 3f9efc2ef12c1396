/**
 * Space-filling designs on the unit cube: a Sobol sequence with Joe–Kuo
 * direction numbers, Latin hypercube samples and plain uniform samples.
 *
 * Sobol: the gray-code construction of Antonov & Saleev (1979) with the
 * direction numbers of S. Joe and F. Y. Kuo, "Constructing Sobol sequences
 * with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008)
 * 2635–2654 (file `new-joe-kuo-6.21201`, dimensions 2–32 below; dimension 1
 * is the van der Corput sequence). Scrambling, when asked for, is a random
 * digital shift (XOR of every coordinate with a seeded 32-bit word), which
 * keeps the (t, s)-net property.
 *
 * Latin hypercube: McKay, Beckman & Conover (1979): each dimension is cut into
 * `n` equal strata, each stratum holds exactly one point, the strata are
 * paired by independent random permutations and the point is uniform inside
 * its cell.
 * @module
 */

import { Rng } from "../../_internal/random.ts";

/** A source of uniform numbers in [0, 1) (e.g. a seeded generator). */
export interface RandomSource {
  /** Next uniform number in [0, 1). */
  random(): number;
}

/** Joe–Kuo rows `s a m_1 … m_s` for dimensions 2…32 (new-joe-kuo-6.21201). */
const JOE_KUO: readonly (readonly number[])[] = [
  [1, 0, 1],
  [2, 1, 1, 3],
  [3, 1, 1, 3, 1],
  [3, 2, 1, 1, 1],
  [4, 1, 1, 1, 3, 3],
  [4, 4, 1, 3, 5, 13],
  [5, 2, 1, 1, 5, 5, 17],
  [5, 4, 1, 1, 5, 5, 5],
  [5, 7, 1, 1, 7, 11, 19],
  [5, 11, 1, 1, 5, 1, 1],
  [5, 13, 1, 1, 1, 3, 11],
  [5, 14, 1, 3, 5, 5, 31],
  [6, 1, 1, 3, 3, 9, 7, 49],
  [6, 13, 1, 1, 1, 15, 21, 21],
  [6, 16, 1, 3, 1, 13, 27, 49],
  [6, 19, 1, 1, 1, 15, 7, 5],
  [6, 22, 1, 3, 1, 15, 13, 25],
  [6, 25, 1, 1, 5, 5, 19, 61],
  [7, 1, 1, 3, 7, 11, 23, 15, 103],
  [7, 4, 1, 3, 7, 13, 13, 15, 69],
  [7, 7, 1, 1, 3, 13, 7, 35, 63],
  [7, 8, 1, 3, 5, 9, 1, 25, 53],
  [7, 14, 1, 3, 1, 13, 9, 35, 107],
  [7, 19, 1, 3, 1, 5, 27, 61, 31],
  [7, 21, 1, 1, 5, 11, 19, 41, 61],
  [7, 28, 1, 3, 5, 3, 3, 13, 69],
  [7, 31, 1, 1, 7, 13, 1, 19, 1],
  [7, 32, 1, 3, 7, 5, 13, 19, 59],
  [7, 37, 1, 1, 3, 9, 25, 29, 41],
  [7, 41, 1, 3, 5, 13, 23, 1, 55],
  [7, 42, 1, 3, 7, 3, 13, 59, 17],
];

/** Largest dimension supported by {@linkcode SobolSequence}. */
export const SOBOL_MAX_DIMENSION: number = JOE_KUO.length + 1;

const BITS = 32;
const SCALE = 2 ** -32;

/** Options of {@linkcode SobolSequence}. */
export interface SobolOptions {
  /** Apply a random digital shift. Default false. */
  scramble?: boolean;
  /** Seed of the digital shift. Default 0. */
  seed?: number;
  /** Skip the first point (the origin when not scrambled). Default false. */
  skipFirst?: boolean;
}

/**
 * A Sobol low-discrepancy sequence in `[0, 1)^d`, d <= 32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SobolSequence } from "./sampling.ts";
 * const s = new SobolSequence(2);
 * const pts = s.next(4); // (0,0), (0.5,0.5), (0.75,0.25), (0.25,0.75)
 * assert.ok(pts[2][0] === 0.75 && pts[2][1] === 0.25);
 * ```
 */
export class SobolSequence {
  /** Number of dimensions. */
  readonly dimension: number;
  #v: Uint32Array[];
  #x: Uint32Array;
  #shift: Uint32Array;
  #index = 0;

  /**
   * Create the sequence.
   * @param dimension number of coordinates, 1…32
   * @param options scrambling and seed
   * @throws {RangeError} dimension outside 1…32
   */
  constructor(dimension: number, options: SobolOptions = {}) {
    if (
      !Number.isInteger(dimension) || dimension < 1 ||
      dimension > SOBOL_MAX_DIMENSION
    ) {
      throw new RangeError(
        `SobolSequence: dimension must be an integer in 1…${SOBOL_MAX_DIMENSION}, got ${dimension}`,
      );
    }
    this.dimension = dimension;
    this.#v = [];
    for (let j = 0; j < dimension; j++) {
      const v = new Uint32Array(BITS + 1); // 1-based: v[k], k = 1…32
      if (j === 0) {
        for (let k = 1; k <= BITS; k++) v[k] = (1 << (BITS - k)) >>> 0;
      } else {
        const row = JOE_KUO[j - 1];
        const s = row[0];
        const a = row[1];
        for (let k = 1; k <= Math.min(s, BITS); k++) {
          v[k] = (row[1 + k] << (BITS - k)) >>> 0;
        }
        for (let k = s + 1; k <= BITS; k++) {
          let val = (v[k - s] ^ (v[k - s] >>> s)) >>> 0;
          for (let l = 1; l <= s - 1; l++) {
            if ((a >>> (s - 1 - l)) & 1) val = (val ^ v[k - l]) >>> 0;
          }
          v[k] = val;
        }
      }
      this.#v.push(v);
    }
    this.#x = new Uint32Array(dimension);
    this.#shift = new Uint32Array(dimension);
    if (options.scramble) {
      const rng = new Rng(options.seed ?? 0);
      for (let j = 0; j < dimension; j++) this.#shift[j] = rng.nextU32();
    }
    if (options.skipFirst) this.next(1);
  }

  /**
   * The next `n` points.
   * @param n number of points
   * @returns `n` arrays of `dimension` coordinates in [0, 1)
   */
  next(n: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const p = new Float64Array(this.dimension);
      for (let j = 0; j < this.dimension; j++) {
        p[j] = ((this.#x[j] ^ this.#shift[j]) >>> 0) * SCALE;
      }
      out.push(p);
      // gray code: flip the direction number of the lowest zero bit of index
      let c = 1;
      let idx = this.#index;
      while (idx & 1) {
        idx >>>= 1;
        c++;
      }
      if (c > BITS) {
        throw new RangeError("SobolSequence: more than 2^32 points requested");
      }
      for (let j = 0; j < this.dimension; j++) {
        this.#x[j] = (this.#x[j] ^ this.#v[j][c]) >>> 0;
      }
      this.#index++;
    }
    return out;
  }
}

/**
 * A Latin hypercube sample of `n` points in `[0, 1)^d`.
 *
 * @param n number of points
 * @param d number of dimensions
 * @param rng random source
 * @returns `n` points; in every dimension each interval `[k/n, (k+1)/n)` holds one point
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latinHypercube } from "./sampling.ts";
 * const pts = latinHypercube(4, 2, { random: Math.random });
 * assert.ok(pts.length === 4);
 * ```
 */
export function latinHypercube(
  n: number,
  d: number,
  rng: RandomSource,
): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) out.push(new Float64Array(d));
  const perm = new Uint32Array(n);
  for (let j = 0; j < d; j++) {
    // Fisher–Yates shuffle of the strata
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const k = Math.floor(rng.random() * (i + 1));
      const t = perm[i];
      perm[i] = perm[k];
      perm[k] = t;
    }
    for (let i = 0; i < n; i++) out[i][j] = (perm[i] + rng.random()) / n;
  }
  return out;
}

/**
 * `n` independent uniform points in `[0, 1)^d`.
 *
 * @param n number of points
 * @param d number of dimensions
 * @param rng random source
 * @returns the points
 */
export function uniformSample(
  n: number,
  d: number,
  rng: RandomSource,
): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const p = new Float64Array(d);
    for (let j = 0; j < d; j++) p[j] = rng.random();
    out.push(p);
  }
  return out;
}
