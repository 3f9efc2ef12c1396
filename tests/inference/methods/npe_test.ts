import assert from "node:assert/strict";
import { NPE } from "../../../lib/inference/methods/npe.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { Normal } from "../../../lib/inference/priors/normal.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { numTensors } from "../../../lib/inference/estimators/_backend.ts";
import { Rng } from "../../../lib/_internal/random.ts";

/** Gaussian toy: theta ~ N(0, I2), x = theta + 0.5 eps. Posterior N(x/1.25, 0.2 I). */
function gaussian(n: number, seed: number) {
  const prior = new Normal({ mean: [0, 0], std: [1, 1] });
  const rng = new Rng(seed);
  const theta = prior.sample(n, rng);
  const x = new Matrix(n, 2);
  for (let i = 0; i < 2 * n; i++) {
    x.data[i] = theta.data[i] + 0.5 * rng.normal();
  }
  return { prior, theta, x };
}

function moments(s: Matrix) {
  const m = s.mean();
  const v = [0, 1].map((j) =>
    s.col(j).reduce((a, b) => a + (b - m[j]) ** 2, 0) / (s.rows - 1)
  );
  return { m, v };
}

Deno.test("NPE", async (t) => {
  await t.step(
    "recovers the analytic posterior of a Gaussian toy problem",
    async () => {
      const { prior, theta, x } = gaussian(2000, 1);
      const npe = new NPE({ prior, densityEstimator: "maf", seed: 1 });
      npe.appendSimulations(theta, x);
      const summary = await npe.train({ showProgress: false, maxEpochs: 60 });
      assert.equal(summary.loss, "ml");
      assert.equal(summary.round, 0);
      const post = npe.buildPosterior();
      const xo = [1, -0.5];
      const s = await post.sample(4000, { x: xo, seed: 2 });
      const { m, v } = moments(s);
      assert.ok(
        Math.abs(m[0] - 0.8) < 0.1 && Math.abs(m[1] + 0.4) < 0.1,
        `mean ${m}`,
      );
      assert.ok(v.every((a) => a > 0.14 && a < 0.27), `var ${v}`);
      const lp = await post.logProb([[0.8, -0.4]], { x: xo });
      assert.ok(
        Math.abs(lp[0] - -Math.log(2 * Math.PI * 0.2)) < 0.25,
        `log density at the mode ${lp[0]}`,
      );
      post.dispose();
      npe.dispose();
    },
  );

  await t.step("NaN/Inf simulations are excluded and counted", async () => {
    const { prior, theta, x } = gaussian(300, 2);
    x.set(3, 0, NaN);
    x.set(7, 1, Infinity);
    theta.set(9, 0, -Infinity);
    const npe = new NPE({ prior, densityEstimator: "mdn" });
    npe.appendSimulations(theta, x);
    assert.equal(npe.nSimulations, 297);
    const s = await npe.train({ maxEpochs: 1, showProgress: false });
    assert.equal(s.nExcluded, 3);
    assert.equal(s.nSimulations, 297);
    assert.equal(s.nTrain + s.nValidation, 297);
    assert.equal(s.nValidation, 29);
    // one epoch of 268 rows in batches of 200 (default): 2 steps, none skipped
    assert.equal(s.steps, 2);
    assert.equal(s.skippedSteps, 0);
    npe.dispose();
  });

  await t.step(
    "trains incrementally from an async-iterable source",
    async () => {
      const { prior, theta, x } = gaussian(1500, 3);
      async function* chunks() {
        for (let i = 0; i < 1500; i += 300) {
          await new Promise((r) => setTimeout(r, 20));
          yield {
            theta: theta.sliceRows(i, i + 300),
            x: x.sliceRows(i, i + 300),
          };
        }
      }
      const npe = new NPE({ prior, densityEstimator: "mdn", seed: 3 });
      const s = await npe.train({
        source: chunks(),
        showProgress: false,
        maxEpochs: 150,
      });
      assert.equal(s.nSimulations, 1500);
      assert.equal(s.nTrain + s.nValidation, 1500);
      const post = npe.buildPosterior();
      const { m } = moments(await post.sample(3000, { x: [1, -0.5], seed: 1 }));
      assert.ok(
        Math.abs(m[0] - 0.8) < 0.15 && Math.abs(m[1] + 0.4) < 0.15,
        `mean ${m}`,
      );
      post.dispose();
      npe.dispose();
    },
  );

  await t.step(
    "a streamed buffer is capped by reservoir sampling",
    async () => {
      const { prior, theta, x } = gaussian(1000, 4);
      const chunks = [0, 250, 500, 750].map((i) => ({
        theta: theta.sliceRows(i, i + 250),
        x: x.sliceRows(i, i + 250),
      }));
      const observable = {
        subscribe(
          o: { next: (c: (typeof chunks)[0]) => void; complete: () => void },
        ) {
          setTimeout(() => {
            chunks.forEach((c) => o.next(c));
            o.complete();
          }, 5);
        },
      };
      const npe = new NPE({ prior, densityEstimator: "mdn" });
      const s = await npe.train({
        source: observable,
        maxBufferSize: 400,
        maxEpochs: 3,
        showProgress: false,
      });
      assert.equal(s.nSimulations, 1000);
      assert.ok(
        s.nTrain + s.nValidation <= 400,
        `${s.nTrain} + ${s.nValidation}`,
      );
      npe.dispose();
    },
  );

  await t.step(
    "second round uses the atomic loss with the posterior as proposal",
    async () => {
      const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });
      const rng = new Rng(5);
      const sim = (th: Matrix) => {
        const x = new Matrix(th.rows, 2);
        for (let i = 0; i < th.data.length; i++) {
          x.data[i] = th.data[i] + 0.3 * rng.normal();
        }
        return x;
      };
      const npe = new NPE({ prior, densityEstimator: "mdn", seed: 5 });
      const t1 = prior.sample(1000, rng);
      npe.appendSimulations(t1, sim(t1));
      await npe.train({ maxEpochs: 20, showProgress: false });
      const xo = [0.5, 0.5];
      const p1 = npe.buildPosterior().setDefaultX(xo);
      const t2 = await p1.sample(1000, { seed: 6 });
      npe.appendSimulations(t2, sim(t2), { proposal: p1 });
      const s2 = await npe.train({
        maxEpochs: 20,
        showProgress: false,
        numAtoms: 10,
      });
      assert.equal(s2.loss, "atomic");
      assert.equal(s2.round, 1);
      const p2 = npe.buildPosterior();
      const { m, v } = moments(await p2.sample(3000, { x: xo, seed: 7 }));
      assert.ok(
        Math.abs(m[0] - 0.5) < 0.12 && Math.abs(m[1] - 0.5) < 0.12,
        `mean ${m}`,
      );
      assert.ok(v.every((a) => a > 0.04 && a < 0.15), `var ${v}`);
      const s3 = await npe.train({
        maxEpochs: 2,
        showProgress: false,
        discardPriorSamples: true,
      });
      assert.equal(s3.nSimulations, 1000);
      p1.dispose();
      p2.dispose();
      npe.dispose();
    },
  );

  await t.step("no tensor leak after train + sample + dispose", async () => {
    const { prior, theta, x } = gaussian(400, 6);
    const warm = new NPE({ prior, densityEstimator: "nsf" });
    warm.appendSimulations(theta, x);
    await warm.train({ maxEpochs: 1, showProgress: false });
    warm.dispose();
    const before = numTensors();
    for (const kind of ["maf", "nsf", "mdn", "made"] as const) {
      const npe = new NPE({ prior, densityEstimator: kind });
      npe.appendSimulations(theta, x);
      await npe.train({ maxEpochs: 2, showProgress: false });
      const post = npe.buildPosterior();
      await post.sample(500, { x: [0, 0] });
      await post.logProb([[0, 0]], { x: [0, 0] });
      post.dispose();
      npe.dispose();
      assert.equal(
        numTensors(),
        before,
        `${kind}: ${numTensors() - before} tensors leaked`,
      );
    }
  });

  await t.step("errors", async () => {
    const prior = new BoxUniform({ low: [0], high: [1] });
    const npe = new NPE({ prior });
    await assert.rejects(() => npe.train({ showProgress: false }), RangeError);
    assert.throws(() => npe.buildPosterior(), TypeError);
    assert.throws(() => npe.appendSimulations([[0.5, 0.5]], [[1]]), TypeError);
    assert.throws(() => npe.appendSimulations([[0.5]], [[1], [2]]), TypeError);
    assert.throws(
      () => new NPE({ prior, densityEstimator: "gan" as never }),
      RangeError,
    );
  });
});
