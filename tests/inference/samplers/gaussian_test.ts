import assert from "node:assert/strict";
import { sliceSample } from "../../../lib/inference/samplers/slice.ts";
import { mhSample } from "../../../lib/inference/samplers/mh.ts";
import {
  rejectionSample,
  sirSample,
} from "../../../lib/inference/samplers/importance.ts";
import { sirInit } from "../../../lib/inference/samplers/potential.ts";
import type { Matrix } from "../../../lib/inference/matrix.ts";
import { Normal } from "../../../lib/inference/priors/normal.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import { c2st } from "../../../lib/inference/diagnostics/c2st.ts";
import {
  D,
  gaussExact,
  gaussPotential,
  gCov,
  gMean,
  momentErrors,
} from "./_targets.ts";

const N = 600;
const exact = gaussExact(N, 99);
const exactBig = gaussExact(20000, 98);
// proposal (for init, rejection and SIR): the target widened by sqrt(2)
const proposal = new Normal({
  mean: gMean,
  covariance: gCov.map((r) => r.map((v) => 2 * v)),
});

async function check(name: string, s: Matrix): Promise<void> {
  assert.equal(s.rows, N);
  const { meanErr, covErr } = momentErrors(s, exactBig);
  // two of the five folds (each trained on 4/5 of the data) keep this file fast
  const acc = await c2st(exact, s, { seed: 1, foldsToRun: 2 });
  console.log(
    `gauss10 ${name}: meanErr ${meanErr.toFixed(3)} covErr ${
      covErr.toFixed(3)
    } c2st ${acc.toFixed(3)}`,
  );
  assert.ok(meanErr < 0.25, `${name} mean error ${meanErr}`);
  assert.ok(covErr < 0.3, `${name} covariance error ${covErr}`);
  assert.ok(acc <= 0.55, `${name} c2st ${acc}`);
}

Deno.test("samplers on a correlated 10-D Gaussian", async (t) => {
  const init = sirInit(gaussPotential, proposal, 20, new Rng(3));
  await t.step("sliceSample matches exact samples", async () => {
    const r = sliceSample(gaussPotential, init, D, N, { seed: 1, thin: 2 });
    await check("slice", r.samples);
  });
  await t.step("mhSample matches exact samples", async () => {
    const r = mhSample(gaussPotential, init, D, N, {
      seed: 3,
      thin: 20,
      warmupSteps: 1000,
    });
    assert.ok(r.acceptanceRate > 0.1 && r.acceptanceRate < 0.6);
    await check("mh", r.samples);
  });
  await t.step("rejectionSample matches exact samples", async () => {
    const r = rejectionSample(gaussPotential, proposal, N, { seed: 4 });
    await check("rejection", r.samples);
  });
  await t.step("sirSample matches exact samples", async () => {
    const r = sirSample(gaussPotential, proposal, N, { seed: 5 });
    await check("sir", r.samples);
  });
});
