/**
 * Vectorised slice sampling: many chains advanced together, one batched
 * potential call per stepping-out / shrinkage round for all chains.
 *
 * Univariate slice sampling with stepping-out and shrinkage (Neal 2003,
 * "Slice sampling", Ann. Statist. 31(3), Figs. 3 and 5) applied coordinate by
 * coordinate in a random order per sweep (as sbi's `slice_np_vectorized`).
 * The bracket width of each coordinate adapts during warm-up: a running mean
 * of half the stepped-out bracket width, whose fixed point is the expected
 * slice width (bracket ≈ slice + w).
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix } from "../matrix.ts";
import type { Potential } from "../potentials/potential.ts";
import {
  type ChainOptions,
  CountedPotential,
  resolveChains,
  type SamplerResult,
} from "./_chains.ts";

/** Options of {@linkcode sliceSample}. */
export interface SliceOptions extends ChainOptions {
  /** Initial bracket width of every coordinate. Default 0.01 (sbi). */
  initialWidth?: number;
  /** Most stepping-out steps per coordinate update (Neal's m). Default 100. */
  maxSteps?: number;
  /** Adapt the widths during warm-up. Default true. */
  tune?: boolean;
}

/**
 * Draws `n` samples with vectorised slice sampling from `numChains` chains
 * started at `init` (rows). Samples of all chains are interleaved step by step.
 * @param potential batched log-density (`-Infinity` outside the support)
 * @param init initial states, `numChains * dim` values (finite potential)
 * @param dim parameter dimension
 * @param n number of samples to return
 * @param options see {@linkcode SliceOptions}
 * @returns the samples and counters
 * @throws {RangeError} for bad options or an initial state with zero density
 * @example
 * ```ts
 * import { sliceSample } from "./slice.ts";
 * import type { Matrix } from "../matrix.ts";
 * const pot = (t: Matrix) =>
 *   Float64Array.from({ length: t.rows }, (_, i) => -0.5 * t.get(i, 0) ** 2);
 * const r = sliceSample(pot, new Float64Array(20), 1, 2000, { seed: 1 });
 * const m = r.samples.mean()[0];
 * if (Math.abs(m) > 0.2) throw new Error(`mean ${m}`);
 * ```
 */
export function sliceSample(
  potential: Potential,
  init: Float64Array,
  dim: number,
  n: number,
  options: SliceOptions = {},
): SamplerResult {
  const { warmup, thin, chains: C } = resolveChains(n, init, dim, options);
  const d = dim;
  const rng = new Rng(options.seed ?? 0);
  const w0 = options.initialWidth ?? 0.01;
  if (!(w0 > 0)) throw new RangeError(`initialWidth must be > 0, got ${w0}`);
  const maxSteps = options.maxSteps ?? 100;
  const tune = options.tune !== false;
  const pot = new CountedPotential(potential);
  const x = Float64Array.from(init);
  let lp = pot.eval(x, C, d);
  for (let c = 0; c < C; c++) {
    if (!(lp[c] > -Infinity)) {
      throw new RangeError(
        `initial state of chain ${c} has potential ${lp[c]}`,
      );
    }
  }
  const width = new Float64Array(d).fill(w0);
  const out = new Matrix(n, d);
  let filled = 0;
  const L = new Float64Array(C);
  const R = new Float64Array(C);
  const logy = new Float64Array(C);
  const leftSteps = new Int32Array(C);
  const rightSteps = new Int32Array(C);
  const buf = new Float64Array(2 * C * d);
  const owner = new Int32Array(2 * C);
  let step = 0;
  let tuneCount = 0;
  const order = Array.from({ length: d }, (_, j) => j);
  while (filled < n) {
    const warming = step < warmup;
    for (let k = d - 1; k > 0; k--) {
      const r = rng.int(k + 1);
      [order[k], order[r]] = [order[r], order[k]];
    }
    for (const j of order) {
      const w = width[j];
      for (let c = 0; c < C; c++) {
        logy[c] = lp[c] + Math.log(rng.random());
        L[c] = x[c * d + j] - w * rng.random();
        R[c] = L[c] + w;
        // Neal (2003) Fig. 3: split the step budget at random between sides
        const J = Math.floor(maxSteps * rng.random());
        leftSteps[c] = J;
        rightSteps[c] = maxSteps - 1 - J;
      }
      // stepping out: both ends of every still-expanding chain in one call
      for (;;) {
        let m = 0;
        for (let c = 0; c < C; c++) {
          if (leftSteps[c] > 0) {
            buf.set(x.subarray(c * d, c * d + d), m * d);
            buf[m * d + j] = L[c];
            owner[m++] = c;
          }
          if (rightSteps[c] > 0) {
            buf.set(x.subarray(c * d, c * d + d), m * d);
            buf[m * d + j] = R[c];
            owner[m++] = -c - 1;
          }
        }
        if (m === 0) break;
        const v = pot.eval(buf, m, d);
        for (let r = 0; r < m; r++) {
          const o = owner[r];
          if (o >= 0) {
            if (v[r] > logy[o]) {
              L[o] -= w;
              leftSteps[o]--;
            } else leftSteps[o] = 0;
          } else {
            const c = -o - 1;
            if (v[r] > logy[c]) {
              R[c] += w;
              rightSteps[c]--;
            } else rightSteps[c] = 0;
          }
        }
      }
      if (warming && tune) {
        let s = 0;
        for (let c = 0; c < C; c++) s += R[c] - L[c];
        const target = 0.5 * s / C;
        width[j] += (target - width[j]) / (tuneCount + 1);
      }
      // shrinkage (Neal 2003, Fig. 5)
      const pending: number[] = Array.from({ length: C }, (_, c) => c);
      const prop = new Float64Array(C);
      let guard = 0;
      while (pending.length) {
        if (++guard > 200) {
          // numerically degenerate slice: keep the current value
          break;
        }
        for (let a = 0; a < pending.length; a++) {
          const c = pending[a];
          prop[c] = L[c] + (R[c] - L[c]) * rng.random();
          buf.set(x.subarray(c * d, c * d + d), a * d);
          buf[a * d + j] = prop[c];
        }
        const v = pot.eval(buf, pending.length, d);
        const still: number[] = [];
        for (let a = 0; a < pending.length; a++) {
          const c = pending[a];
          if (v[a] > logy[c]) {
            x[c * d + j] = prop[c];
            lp[c] = v[a];
          } else {
            if (prop[c] < x[c * d + j]) L[c] = prop[c];
            else R[c] = prop[c];
            still.push(c);
          }
        }
        pending.length = 0;
        pending.push(...still);
      }
    }
    if (warming) tuneCount++;
    step++;
    if (!warming && (step - warmup) % thin === 0) {
      for (let c = 0; c < C && filled < n; c++) {
        for (let j = 0; j < d; j++) out.data[filled * d + j] = x[c * d + j];
        filled++;
      }
    }
    // refresh the cached potential of accepted states from float32 rounding
    if (step % 50 === 0) lp = pot.eval(x, C, d);
  }
  return {
    samples: out,
    acceptanceRate: 1,
    potentialCalls: pot.calls,
    potentialEvaluations: pot.rows,
  };
}
