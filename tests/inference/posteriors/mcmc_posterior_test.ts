import assert from "node:assert/strict";
import { NLE } from "../../../lib/inference/methods/nle.ts";
import type { MCMCPosterior } from "../../../lib/inference/posteriors/mcmc_posterior.ts";
import { RejectionPosterior } from "../../../lib/inference/posteriors/rejection_posterior.ts";
import { ImportancePosterior } from "../../../lib/inference/posteriors/importance_posterior.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { rejectionSample } from "../../../lib/inference/samplers/importance.ts";
import { c2st } from "../../../lib/inference/diagnostics/c2st.ts";
import { Rng } from "../../../lib/_internal/random.ts";

// Every sampler of MCMCPosterior must reproduce exact rejection samples of the
// same potential (whatever the quality of the trained likelihood).
Deno.test("MCMCPosterior()", async (t) => {
  const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
  const theta = prior.sample(1000, 1);
  const rng = new Rng(2);
  const x = theta.toArray().map(([a, b]) => [
    a + 0.3 * rng.normal(),
    a * b + 0.3 * rng.normal(),
  ]);
  const nle = new NLE({ prior, densityEstimator: "mdn", seed: 1 });
  nle.appendSimulations(theta, x);
  await nle.train({ maxEpochs: 10, showProgress: false });
  const xo = [0.7, 0.4];
  const base = nle.buildPosterior();
  const exact = rejectionSample(base.potential(xo), prior, 1000, { seed: 3 })
    .samples;
  const cases: [string, MCMCPosterior][] = [
    ["slice (logit transform)", nle.buildPosterior({ thin: 2 })],
    ["slice (no transform)", nle.buildPosterior({ transform: false, thin: 2 })],
    [
      "mh (logit transform)",
      nle.buildPosterior({ mcmcMethod: "mh", thin: 10 }),
    ],
    [
      "RejectionPosterior",
      new RejectionPosterior(nle.estimator!.clone(), prior),
    ],
    [
      "ImportancePosterior",
      new ImportancePosterior(nle.estimator!.clone(), prior, {
        oversamplingFactor: 64,
      }),
    ],
  ];
  for (const [name, post] of cases) {
    await t.step(`${name} matches exact samples of the potential`, async () => {
      const s = await post.sample(1000, { x: xo, seed: 4 });
      assert.equal(s.rows, 1000);
      for (let i = 0; i < s.rows; i++) assert.ok(prior.inSupport(s.row(i)));
      const acc = await c2st(exact, s, { seed: 1 });
      console.log(`${name}: c2st ${acc.toFixed(3)}`);
      assert.ok(acc <= 0.55, `${name} c2st ${acc}`);
      post.dispose();
    });
  }
  await t.step("logProb is -Infinity outside the prior support", async () => {
    const lp = await base.logProb([[0, 0], [1.5, 0]], { x: xo });
    assert.ok(Number.isFinite(lp[0]));
    assert.equal(lp[1], -Infinity);
    await assert.rejects(() => base.logProb([[0, 0, 0]], { x: xo }), TypeError);
    await assert.rejects(() => base.sample(10), TypeError); // no default x
  });
  base.dispose();
  nle.dispose();
});
