import assert from "node:assert/strict";
import { sliceSample } from "../../../lib/inference/samplers/slice.ts";
import { mhSample } from "../../../lib/inference/samplers/mh.ts";
import {
  rejectionSample,
  sirSample,
} from "../../../lib/inference/samplers/importance.ts";
import { sirInit } from "../../../lib/inference/samplers/resampling.ts";
import type { Matrix } from "../../../lib/inference/matrix.ts";
import { Normal } from "../../../lib/inference/priors/normal.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import {
  checkSamples,
  D,
  gaussExact,
  gaussPotential,
  gCov,
  gMean,
} from "./_targets.ts";

const N = 600;
const exact = gaussExact(N, 99);
const exactBig = gaussExact(20000, 98);
// proposal (for init, rejection and SIR): the target widened by sqrt(2)
const proposal = new Normal({
  mean: gMean,
  covariance: gCov.map((r) => r.map((v) => 2 * v)),
});

// two of the five C2ST folds (each trained on 4/5 of the data) keep this file fast
const check = (name: string, s: Matrix) =>
  checkSamples(`gauss10 ${name}`, s, exact, exactBig, {
    meanTol: 0.25,
    foldsToRun: 2,
  });

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
