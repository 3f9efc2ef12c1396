// Four narrow, well separated modes (the shape of sbibm's slcp posterior,
// whose sign symmetries give four modes): chains must start in all of them,
// since slice-sampling chains do not cross between modes.
import assert from "node:assert/strict";
import { sirInit } from "../../../lib/inference/samplers/resampling.ts";
import { MCMCPosterior } from "../../../lib/inference/posteriors/mcmc_posterior.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import type { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";

const box = new BoxUniform({ low: [-3, -3], high: [3, 3] });
const SD = 0.01;
const CENTRES = [[-1.5, -1.5], [1.5, -1.5], [-1.5, 1.5], [1.5, 1.5]];

/** Equal mixture of four isotropic Gaussians (log-density up to a constant). */
function fourModes(t: Matrix): Float64Array {
  const out = new Float64Array(t.rows);
  const lp = box.logProb(t);
  for (let i = 0; i < t.rows; i++) {
    let s = 0;
    for (const [a, b] of CENTRES) {
      const da = t.data[2 * i] - a, db = t.data[2 * i + 1] - b;
      s += Math.exp(-0.5 * (da * da + db * db) / (SD * SD));
    }
    out[i] = Math.log(s) + lp[i];
  }
  return out;
}

/** Index of the quadrant (= mode) of each row. */
function modeCounts(data: ArrayLike<number>, n: number): number[] {
  const c = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    c[(data[2 * i] > 0 ? 1 : 0) + (data[2 * i + 1] > 0 ? 2 : 0)]++;
  }
  return c;
}

Deno.test("sirInit starts chains in every mode of a four-mode potential", () => {
  const init = sirInit(fourModes, box, 40, new Rng(7));
  const c = modeCounts(init, 40);
  // each chain picks a mode with probability 1/4: P(some mode < 2 of 40) =
  // 4 P(Binomial(40, 1/4) <= 1) = 5.8e-4 (< 3 of 40 would be 4.1e-3)
  for (const [k, n] of c.entries()) {
    assert.ok(n >= 2, `mode ${k} got ${n} of 40 chains (${c})`);
  }
  // every start lies near a centre (the resampling follows the potential)
  for (let i = 0; i < 40; i++) {
    const near = CENTRES.some(([a, b]) =>
      Math.hypot(init[2 * i] - a, init[2 * i + 1] - b) < 0.15
    );
    assert.ok(near, `chain ${i} starts at ${init[2 * i]}, ${init[2 * i + 1]}`);
  }
});

Deno.test("MCMCPosterior finds the four modes with their weights", async () => {
  const post = new MCMCPosterior(
    { xDim: 1, potential: () => fourModes },
    box,
    { numChains: 100, warmupSteps: 100, thin: 2 },
  );
  const s = await post.sample(8000, { x: [0], seed: 3 });
  const c = modeCounts(s.data, s.rows);
  for (const [k, n] of c.entries()) {
    // 100 chains split Binomial(100, 1/4) = 25 ± 4.3 per mode (chains do not
    // cross between these modes): 9..41 chains hold with probability
    // 1 - 4 * 1.6e-4 = 99.94% (the former 13..37 failed 1.5% of the time)
    assert.ok(n / s.rows > 0.085 && n / s.rows < 0.415, `mode ${k}: ${c}`);
  }
  post.dispose();
});
