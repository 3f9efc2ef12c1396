/**
 * Independence samplers driven by a proposal (usually the prior): rejection
 * sampling (von Neumann 1951; accept θ ~ g with probability
 * exp(U(θ) − log g(θ) − log M)) and sampling-importance-resampling (Rubin 1988;
 * sbi's `importance_sampling_method="sir"`: for every output, draw K proposals
 * and pick one with probability proportional to exp(U − log g)).
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix } from "../matrix.ts";
import type { Potential } from "../potentials/potential.ts";
import { CountedPotential, type SamplerResult } from "./_chains.ts";
import { sampleLogWeights } from "./resampling.ts";
import type { RandomSource } from "../priors/prior.ts";

/** Something that proposes parameters: `sample` rows and their `logProb`. */
export interface Proposal {
  /** Parameter dimension. */
  readonly dim: number;
  /**
   * Draws `n` rows.
   * @param n number of rows
   * @param rng random source
   * @returns an `n x dim` Matrix
   */
  sample(n: number, rng?: RandomSource | number): Matrix;
  /**
   * Log-density of each row.
   * @param theta rows
   * @returns one value per row
   */
  logProb(theta: Matrix): Float64Array;
}

/** Options of {@linkcode rejectionSample}. */
export interface RejectionOptions {
  /** Seed. Default 0. */
  seed?: number;
  /**
   * log M, an upper bound of U(θ) − log g(θ). Default: the largest value over
   * `numSamplesToFindM` proposal draws plus `logMMargin`; raised (and counted
   * in `mUpdates`) whenever a larger ratio is met during sampling.
   */
  logM?: number;
  /** Proposal draws used to estimate log M. Default 10,000. */
  numSamplesToFindM?: number;
  /** Added to the estimated log M. Default log(1.5). */
  logMMargin?: number;
  /** Proposals per potential call. Default 10,000. */
  batchSize?: number;
  /** Give up (RangeError) after this many proposals. Default `max(1e6, 1000 n)`. */
  maxDraws?: number;
}

/** Result of {@linkcode rejectionSample}. */
export interface RejectionResult extends SamplerResult {
  /** The bound log M used at the end. */
  logM: number;
  /** How often log M had to be raised during sampling. */
  mUpdates: number;
}

/**
 * Exact samples of exp(U) by rejection from a proposal g.
 * @param potential batched log-density (`-Infinity` outside the support)
 * @param proposal the proposal g (e.g. the prior)
 * @param n number of samples
 * @param options see {@linkcode RejectionOptions}
 * @returns samples, acceptance rate, log M
 * @throws {RangeError} for bad sizes or when `maxDraws` is exceeded
 * @example
 * ```ts
 * import { rejectionSample } from "./importance.ts";
 * import { BoxUniform } from "../priors/box_uniform.ts";
 * import type { Matrix } from "../matrix.ts";
 * const prior = new BoxUniform({ low: [-3], high: [3] });
 * const pot = (t: Matrix) =>
 *   Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.get(i, 0) ** 2);
 * const r = rejectionSample(pot, prior, 1000, { seed: 1 });
 * console.log(r.samples.rows); // 1000
 * ```
 */
export function rejectionSample(
  potential: Potential,
  proposal: Proposal,
  n: number,
  options: RejectionOptions = {},
): RejectionResult {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `number of samples must be a positive integer, got ${n}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const d = proposal.dim;
  const pot = new CountedPotential(potential);
  const ratio = (t: Matrix) => {
    const u = pot.eval(Float64Array.from(t.data), t.rows, d);
    const g = proposal.logProb(t);
    for (let i = 0; i < t.rows; i++) {
      u[i] = u[i] === -Infinity ? -Infinity : u[i] - g[i];
    }
    return u;
  };
  let logM = options.logM ?? NaN;
  if (Number.isNaN(logM)) {
    const m = options.numSamplesToFindM ?? 10_000;
    const r = ratio(proposal.sample(m, rng));
    logM = -Infinity;
    for (const v of r) if (v > logM) logM = v;
    if (!(logM > -Infinity)) {
      throw new RangeError(
        `rejection sampling: no finite potential among ${m} proposal draws`,
      );
    }
    logM += options.logMMargin ?? Math.log(1.5);
  }
  const bs = options.batchSize ?? 10_000;
  const maxDraws = options.maxDraws ?? Math.max(1e6, 1000 * n);
  const out = new Matrix(n, d);
  let filled = 0;
  let drawn = 0;
  let mUpdates = 0;
  while (filled < n) {
    if (drawn >= maxDraws) {
      throw new RangeError(
        `rejection sampling stopped after ${drawn} proposals with ${filled}/${n} accepted`,
      );
    }
    const t = proposal.sample(bs, rng);
    const r = ratio(t);
    for (let i = 0; i < bs && filled < n; i++) {
      drawn++;
      if (r[i] > logM) {
        logM = r[i];
        mUpdates++;
      }
      if (Math.log(rng.random()) < r[i] - logM) {
        out.data.set(t.data.subarray(i * d, i * d + d), filled * d);
        filled++;
      }
    }
  }
  return {
    samples: out,
    acceptanceRate: filled / drawn,
    potentialCalls: pot.calls,
    potentialEvaluations: pot.rows,
    logM,
    mUpdates,
  };
}

/** Options of {@linkcode sirSample}. */
export interface SIROptions {
  /** Seed. Default 0. */
  seed?: number;
  /** Proposals per returned sample (K). Default 32 (sbi). */
  oversamplingFactor?: number;
  /** Proposals per potential call. Default 10,000. */
  batchSize?: number;
}

/**
 * Approximate samples of exp(U) by sampling-importance-resampling.
 * @param potential batched log-density
 * @param proposal the proposal g
 * @param n number of samples
 * @param options see {@linkcode SIROptions}
 * @returns the samples (acceptanceRate = mean normalised effective sample size per group)
 * @throws {RangeError} for bad sizes or a group without finite weight
 * @example
 * ```ts
 * import { sirSample } from "./importance.ts";
 * import { BoxUniform } from "../priors/box_uniform.ts";
 * import type { Matrix } from "../matrix.ts";
 * const prior = new BoxUniform({ low: [-3], high: [3] });
 * const pot = (t: Matrix) =>
 *   Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.get(i, 0) ** 2);
 * console.log(sirSample(pot, prior, 500, { seed: 1 }).samples.rows); // 500
 * ```
 */
export function sirSample(
  potential: Potential,
  proposal: Proposal,
  n: number,
  options: SIROptions = {},
): SamplerResult {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `number of samples must be a positive integer, got ${n}`,
    );
  }
  const K = options.oversamplingFactor ?? 32;
  if (!Number.isInteger(K) || K < 1) {
    throw new RangeError(
      `oversamplingFactor must be a positive integer, got ${K}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const d = proposal.dim;
  const pot = new CountedPotential(potential);
  const per = Math.max(1, Math.floor((options.batchSize ?? 10_000) / K));
  const out = new Matrix(n, d);
  let filled = 0;
  let essSum = 0;
  while (filled < n) {
    const g = Math.min(per, n - filled);
    const t = proposal.sample(g * K, rng);
    const u = pot.eval(Float64Array.from(t.data), g * K, d);
    const lg = proposal.logProb(t);
    for (let i = 0; i < g * K; i++) {
      if (u[i] !== -Infinity) u[i] -= lg[i];
    }
    for (let a = 0; a < g; a++) {
      const w = u.subarray(a * K, (a + 1) * K);
      const k = sampleLogWeights(w, rng);
      if (k < 0) {
        throw new RangeError(
          `SIR: all ${K} proposals of a group have zero weight; raise oversamplingFactor`,
        );
      }
      let mx = -Infinity;
      for (const v of w) if (v > mx) mx = v;
      let s1 = 0, s2 = 0;
      for (const v of w) {
        const e = Math.exp(v - mx);
        s1 += e;
        s2 += e * e;
      }
      essSum += s1 * s1 / s2 / K;
      out.data.set(
        t.data.subarray((a * K + k) * d, (a * K + k + 1) * d),
        filled * d,
      );
      filled++;
    }
  }
  return {
    samples: out,
    acceptanceRate: essSum / n,
    potentialCalls: pot.calls,
    potentialEvaluations: pot.rows,
  };
}
