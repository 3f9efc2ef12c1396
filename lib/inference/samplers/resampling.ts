/**
 * Sampling-importance-resampling pieces shared by the samplers: drawing an
 * index from log-weights, and the "sir" chain initialisation (sbi's default:
 * resample prior draws by their potential).
 * @module
 */
import type { Matrix } from "../matrix.ts";
import type { RandomSource } from "../priors/prior.ts";
import type { Potential } from "../potentials/potential.ts";

/**
 * Samples an index from unnormalised log-weights (`-Infinity` allowed).
 * @param logW log-weights
 * @param rng random source
 * @returns the index, or -1 if every weight is zero
 */
export function sampleLogWeights(
  logW: ArrayLike<number>,
  rng: RandomSource,
): number {
  let mx = -Infinity;
  for (let i = 0; i < logW.length; i++) if (logW[i] > mx) mx = logW[i];
  if (mx === -Infinity || Number.isNaN(mx)) return -1;
  let total = 0;
  for (let i = 0; i < logW.length; i++) {
    const w = logW[i];
    if (w === w) total += Math.exp(w - mx);
  }
  let u = rng.random() * total;
  let last = -1;
  for (let i = 0; i < logW.length; i++) {
    const w = logW[i];
    if (!(w === w) || w === -Infinity) continue;
    last = i;
    u -= Math.exp(w - mx);
    if (u <= 0) return i;
  }
  return last;
}

/**
 * Initial chain states by sampling-importance-resampling from prior draws
 * (sbi's `init_strategy="sir"` / `"resample"`): every chain draws its own
 * `numCandidates` prior samples and picks one of them with probability
 * proportional to `exp(potential)`.
 *
 * One candidate set per chain matters: with one shared set, a sharp posterior
 * puts nearly all weight on the single best draw and every chain starts in
 * the same mode; separate sets start the chains in different modes (e.g. the
 * four symmetric modes of sbibm's slcp, which a shared set collapsed to one).
 * The candidates of several chains are evaluated in one batched call of at
 * most ~100,000 rows.
 * @param potential batched potential
 * @param prior proposal of the initial draws (the prior)
 * @param numChains number of chains
 * @param rng random source
 * @param numCandidates prior draws per chain (default 10,000)
 * @returns `numChains * dim` initial states
 * @throws {RangeError} if none of a chain's candidates has a finite potential
 */
export function sirInit(
  potential: Potential,
  prior: {
    dim: number;
    sample(n: number, rng?: RandomSource | number): Matrix;
  },
  numChains: number,
  rng: RandomSource,
  numCandidates = 10_000,
): Float64Array {
  const d = prior.dim;
  const out = new Float64Array(numChains * d);
  const perCall = Math.max(1, Math.floor(100_000 / numCandidates));
  for (let c0 = 0; c0 < numChains; c0 += perCall) {
    const nc = Math.min(perCall, numChains - c0);
    const cand = prior.sample(nc * numCandidates, rng);
    const lp = potential(cand);
    for (let k = 0; k < nc; k++) {
      const w = lp.subarray(k * numCandidates, (k + 1) * numCandidates);
      const i = sampleLogWeights(w, rng);
      if (i < 0 || !(w[i] > -Infinity)) {
        throw new RangeError(
          `sir initialisation: none of ${numCandidates} prior draws of chain ${
            c0 + k
          } has a finite potential`,
        );
      }
      const row = (k * numCandidates + i) * d;
      for (let j = 0; j < d; j++) out[(c0 + k) * d + j] = cand.data[row + j];
    }
  }
  return out;
}
