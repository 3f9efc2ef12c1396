import assert from "node:assert/strict";
import { NPE } from "../../../lib/inference/methods/npe.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { DirectPosterior } from "../../../lib/inference/posteriors/direct_posterior.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";

const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });

/**
 * x = (theta1, theta2, theta1 + theta2) + 0.1 noise; the third feature is NaN
 * (the "simulation" of that feature failed) whenever theta1 > 0.5.
 */
function simulate(theta: Matrix, rng: Rng): { x: Matrix; nNaN: number } {
  const x = new Matrix(theta.rows, 3);
  let nNaN = 0;
  for (let i = 0; i < theta.rows; i++) {
    const [a, b] = theta.row(i);
    x.data[i * 3] = a + 0.1 * rng.normal();
    x.data[i * 3 + 1] = b + 0.1 * rng.normal();
    const c = a + b + 0.1 * rng.normal();
    if (a > 0.5) nNaN++;
    x.data[i * 3 + 2] = a > 0.5 ? NaN : c;
  }
  return { x, nNaN };
}

const TRUTH = [1.2, -0.7];
const XO = [1.21, -0.68, NaN]; // an observation whose third feature is missing

async function trainNpe(options: {
  handleInvalidX?: "exclude" | "impute";
  missingIndicator?: boolean;
}) {
  const rng = new Rng(1);
  const theta = prior.sample(1000, rng);
  const { x, nNaN } = simulate(theta, rng);
  // one row with an invalid theta is always dropped
  const badTheta = new Matrix(1, 2, new Float32Array([NaN, 0]));
  const npe = new NPE({
    prior,
    densityEstimator: "mdn",
    seed: 3,
    estimatorOptions: { hiddenFeatures: 32, numComponents: 3 },
    ...options,
  });
  npe.appendSimulations(theta, x);
  npe.appendSimulations(badTheta, [[0, 0, 0]]);
  const summary = await npe.train({
    showProgress: false,
    maxEpochs: 40,
    trainingBatchSize: 100,
    learningRate: 3e-3,
    stopAfterEpochs: 10,
  });
  return { npe, summary, nNaN };
}

Deno.test("NPE with NaN features", async (t) => {
  await t.step(
    'handleInvalidX: "impute" keeps NaN rows, counts them and imputes x_o',
    async () => {
      const t0 = performance.now();
      const { npe, summary, nNaN } = await trainNpe({
        handleInvalidX: "impute",
      });
      assert.ok(nNaN > 250 && nNaN < 500, `NaN rows ${nNaN}`);
      assert.equal(summary.nImputed, nNaN);
      assert.equal(npe.nImputed, nNaN);
      assert.equal(summary.nExcluded, 1);
      assert.equal(summary.nSimulations, 1000);
      assert.ok(Number.isFinite(summary.bestValidationLoss));
      const post = npe.buildPosterior();
      const cfg = post.estimator.config;
      assert.deepEqual(cfg.imputation, { indicator: false });
      // z-scoring from the finite values only
      assert.ok(cfg.zscore.xMean.every(Number.isFinite));
      assert.ok(cfg.zscore.xStd.every(Number.isFinite));
      // the learned imputation values are the last weight array
      const w = post.estimator.getWeights();
      const imp = w[w.length - 1];
      assert.equal(imp.length, 3);
      assert.ok(imp.every(Number.isFinite));
      // features 1 and 2 are never missing (no gradient); feature 3 is learned
      assert.equal(imp[0], 0);
      assert.equal(imp[1], 0);
      assert.notEqual(imp[2], 0);
      const s = await post.sample(1000, { x: XO, seed: 2 });
      const m = s.mean();
      let sd = 0;
      for (let i = 0; i < s.rows; i++) sd += (s.get(i, 0) - m[0]) ** 2;
      sd = Math.sqrt(sd / (s.rows - 1));
      console.log(
        `impute: epochs ${summary.epochs}, ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s, nImputed ${summary.nImputed}, posterior mean ${
          Array.from(m, (v) => v.toFixed(3))
        }, sd0 ${sd.toFixed(3)}, imputation ${
          Array.from(imp, (v) => v.toFixed(2))
        }`,
      );
      // posterior concentrates near the truth (prior sd is 1.15)
      assert.ok(Math.abs(m[0] - TRUTH[0]) < 0.15, `mean0 ${m[0]}`);
      assert.ok(Math.abs(m[1] - TRUTH[1]) < 0.15, `mean1 ${m[1]}`);
      assert.ok(sd < 0.3, `posterior sd ${sd}`);
      // infinite features count as missing too
      const s2 = await post.sample(200, {
        x: [1.21, -0.68, Infinity],
        seed: 2,
      });
      const s3 = await post.sample(200, { x: XO, seed: 2 });
      assert.deepEqual(Array.from(s2.data), Array.from(s3.data));
      // save / load with a NaN default x
      post.setDefaultX(XO);
      const loaded = await DirectPosterior.fromBytes(post.toBytes());
      assert.ok(Number.isNaN(loaded.defaultX![2]));
      assert.deepEqual(loaded.estimator.config.imputation, {
        indicator: false,
      });
      const a = await post.sample(200, { seed: 4 });
      const b = await loaded.sample(200, { seed: 4 });
      assert.deepEqual(Array.from(b.data), Array.from(a.data));
      loaded.dispose();
      post.dispose();
      npe.dispose();
    },
  );

  await t.step(
    "missingIndicator adds 0/1 indicators to the context",
    async () => {
      const { npe, summary, nNaN } = await trainNpe({
        handleInvalidX: "impute",
        missingIndicator: true,
      });
      assert.equal(summary.nImputed, nNaN);
      const post = npe.buildPosterior();
      assert.deepEqual(post.estimator.config.imputation, { indicator: true });
      const m = (await post.sample(1000, { x: XO, seed: 2 })).mean();
      console.log(
        `impute + indicator: posterior mean ${
          Array.from(m, (v) => v.toFixed(3))
        }`,
      );
      assert.ok(Math.abs(m[0] - TRUTH[0]) < 0.15, `mean0 ${m[0]}`);
      assert.ok(Math.abs(m[1] - TRUTH[1]) < 0.15, `mean1 ${m[1]}`);
      const loaded = await DirectPosterior.fromBytes(post.toBytes());
      const a = await post.sample(100, { x: XO, seed: 4 });
      const b = await loaded.sample(100, { x: XO, seed: 4 });
      assert.deepEqual(Array.from(b.data), Array.from(a.data));
      loaded.dispose();
      post.dispose();
      npe.dispose();
    },
  );

  await t.step(
    'default "exclude" drops NaN rows and rejects a NaN x_o',
    async () => {
      const rng = new Rng(1);
      const theta = prior.sample(300, rng);
      const { x, nNaN } = simulate(theta, rng);
      const npe = new NPE({ prior, densityEstimator: "mdn", seed: 3 });
      npe.appendSimulations(theta, x);
      assert.equal(npe.nExcluded, nNaN);
      assert.equal(npe.nImputed, 0);
      const summary = await npe.train({ showProgress: false, maxEpochs: 1 });
      assert.equal(summary.nImputed, 0);
      assert.equal(summary.nSimulations, 300 - nNaN);
      const post = npe.buildPosterior();
      assert.equal(post.estimator.config.imputation, undefined);
      await assert.rejects(
        () => post.sample(10, { x: XO }),
        /x must be finite, got NaN/,
      );
      post.dispose();
      npe.dispose();
    },
  );

  await t.step("bad handleInvalidX is rejected", () => {
    assert.throws(
      () => new NPE({ prior, handleInvalidX: "drop" as "exclude" }),
      /handleInvalidX must be "exclude" or "impute", got "drop"/,
    );
  });
});
