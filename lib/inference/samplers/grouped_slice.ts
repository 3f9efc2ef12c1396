/**
 * Slice sampling of many posteriors at once (one per observation), used by the
 * calibration diagnostics to draw posterior samples of likelihood-based
 * posteriors (NLE) for hundreds of observations: every observation ("group")
 * gets its own chains, and each stepping-out / shrinkage round evaluates the
 * pending points of *all* groups in one batched potential call, so the number
 * of network calls does not grow with the number of observations (the role of
 * sbi's `sample_batched` for `slice_np_vectorized`, PR #1153).
 *
 * The per-chain update is univariate slice sampling with stepping out and
 * shrinkage (Neal 2003, "Slice sampling", Ann. Statist. 31(3), Figs. 3 and 5),
 * coordinate by coordinate in a random order per sweep; the bracket width of
 * each (group, coordinate) adapts during warm-up to the running mean of half
 * the stepped-out bracket (as in `./slice.ts`).
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix } from "../matrix.ts";

/**
 * Log-density of `m` points (rows of `theta`, `d` values each) where point `r`
 * belongs to group `groups[r]`; `-Infinity` outside the support.
 */
export type GroupPotential = (
  theta: Float64Array,
  groups: Int32Array,
  m: number,
) => Float64Array;

/** Options of {@linkcode groupedSliceSample}. */
export interface GroupedSliceOptions {
  /** Chains per group. Default 4. */
  chainsPerGroup?: number;
  /** Warm-up sweeps. Default 50. */
  warmupSteps?: number;
  /** Keep every `thin`-th sweep. Default 1. */
  thin?: number;
  /** Initial bracket width. Default 0.1 (adapted during warm-up). */
  initialWidth?: number;
  /** Most stepping-out steps per update. Default 50. */
  maxSteps?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * Draws `n` samples for each of `G` groups.
 * @param potential batched per-group log-density
 * @param init initial states, `G * chainsPerGroup * d` values (chains of group
 *   g are rows `g*C … g*C + C − 1`), all with finite potential
 * @param G number of groups
 * @param d parameter dimension
 * @param n samples per group
 * @param options chains, warm-up, thinning, widths, seed
 * @returns one `n x d` Matrix per group
 * @throws {RangeError} on bad sizes or an initial state with zero density
 */
export function groupedSliceSample(
  potential: GroupPotential,
  init: Float64Array,
  G: number,
  d: number,
  n: number,
  options: GroupedSliceOptions = {},
): Matrix[] {
  const C = options.chainsPerGroup ?? 4;
  const warmup = options.warmupSteps ?? 50;
  const thin = options.thin ?? 1;
  const w0 = options.initialWidth ?? 0.1;
  const maxSteps = options.maxSteps ?? 50;
  if (!Number.isInteger(C) || C < 1) {
    throw new RangeError(`chainsPerGroup must be a positive integer, got ${C}`);
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(
      `warmupSteps must be a non-negative integer, got ${warmup}`,
    );
  }
  if (!Number.isInteger(thin) || thin < 1) {
    throw new RangeError(`thin must be a positive integer, got ${thin}`);
  }
  if (!(w0 > 0)) throw new RangeError(`initialWidth must be > 0, got ${w0}`);
  const K = G * C; // total chains
  if (init.length !== K * d) {
    throw new RangeError(
      `init has ${init.length} values, expected ${G} groups x ${C} chains x ${d}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const x = Float64Array.from(init);
  const groupOf = new Int32Array(K);
  for (let k = 0; k < K; k++) groupOf[k] = Math.floor(k / C);
  let lp = potential(x, groupOf, K);
  for (let k = 0; k < K; k++) {
    if (!(lp[k] > -Infinity)) {
      throw new RangeError(
        `initial state of chain ${k % C} of group ${groupOf[k]} has potential ${
          lp[k]
        }`,
      );
    }
  }
  const width = new Float64Array(G * d).fill(w0);
  const outs = Array.from({ length: G }, () => new Matrix(n, d));
  let filled = 0; // samples per group so far
  const L = new Float64Array(K);
  const R = new Float64Array(K);
  const logy = new Float64Array(K);
  const leftSteps = new Int32Array(K);
  const rightSteps = new Int32Array(K);
  const buf = new Float64Array(2 * K * d);
  const owner = new Int32Array(2 * K);
  const grp = new Int32Array(2 * K);
  const prop = new Float64Array(K);
  const order = Array.from({ length: d }, (_, j) => j);
  let step = 0;
  let tuneCount = 0;
  while (filled < n) {
    const warming = step < warmup;
    for (let k = d - 1; k > 0; k--) {
      const r = rng.int(k + 1);
      [order[k], order[r]] = [order[r], order[k]];
    }
    for (const j of order) {
      for (let k = 0; k < K; k++) {
        const w = width[groupOf[k] * d + j];
        logy[k] = lp[k] + Math.log(rng.random());
        L[k] = x[k * d + j] - w * rng.random();
        R[k] = L[k] + w;
        const J = Math.floor(maxSteps * rng.random());
        leftSteps[k] = J;
        rightSteps[k] = maxSteps - 1 - J;
      }
      // Stepping out: both ends of every still-expanding chain in one call.
      for (;;) {
        let m = 0;
        for (let k = 0; k < K; k++) {
          if (leftSteps[k] > 0) {
            buf.set(x.subarray(k * d, k * d + d), m * d);
            buf[m * d + j] = L[k];
            grp[m] = groupOf[k];
            owner[m++] = k;
          }
          if (rightSteps[k] > 0) {
            buf.set(x.subarray(k * d, k * d + d), m * d);
            buf[m * d + j] = R[k];
            grp[m] = groupOf[k];
            owner[m++] = -k - 1;
          }
        }
        if (m === 0) break;
        const v = potential(buf.subarray(0, m * d), grp.subarray(0, m), m);
        for (let r = 0; r < m; r++) {
          const o = owner[r];
          if (o >= 0) {
            const w = width[groupOf[o] * d + j];
            if (v[r] > logy[o]) {
              L[o] -= w;
              leftSteps[o]--;
            } else leftSteps[o] = 0;
          } else {
            const k = -o - 1;
            const w = width[groupOf[k] * d + j];
            if (v[r] > logy[k]) {
              R[k] += w;
              rightSteps[k]--;
            } else rightSteps[k] = 0;
          }
        }
      }
      if (warming) {
        for (let g = 0; g < G; g++) {
          let s = 0;
          for (let c = 0; c < C; c++) s += R[g * C + c] - L[g * C + c];
          const target = 0.5 * s / C;
          width[g * d + j] += (target - width[g * d + j]) / (tuneCount + 1);
        }
      }
      // Shrinkage: propose uniformly in the bracket until inside the slice.
      let pending: number[] = Array.from({ length: K }, (_, k) => k);
      let guard = 0;
      while (pending.length && ++guard <= 200) {
        for (let a = 0; a < pending.length; a++) {
          const k = pending[a];
          prop[k] = L[k] + (R[k] - L[k]) * rng.random();
          buf.set(x.subarray(k * d, k * d + d), a * d);
          buf[a * d + j] = prop[k];
          grp[a] = groupOf[k];
        }
        const m = pending.length;
        const v = potential(buf.subarray(0, m * d), grp.subarray(0, m), m);
        const still: number[] = [];
        for (let a = 0; a < m; a++) {
          const k = pending[a];
          if (v[a] > logy[k]) {
            x[k * d + j] = prop[k];
            lp[k] = v[a];
          } else {
            if (prop[k] < x[k * d + j]) L[k] = prop[k];
            else R[k] = prop[k];
            still.push(k);
          }
        }
        pending = still; // a degenerate slice after 200 rounds keeps its value
      }
    }
    if (warming) tuneCount++;
    step++;
    if (!warming && (step - warmup) % thin === 0) {
      for (let c = 0; c < C && filled < n; c++, filled++) {
        for (let g = 0; g < G; g++) {
          const k = g * C + c;
          outs[g].data.set(x.subarray(k * d, k * d + d), filled * d);
        }
      }
    }
    // Refresh the cached potentials (float32 rounding in the estimator).
    if (step % 50 === 0) lp = potential(x, groupOf, K);
  }
  return outs;
}
