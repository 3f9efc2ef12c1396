import assert from "node:assert/strict";
import { posteriorPredictiveCheck } from "../../../lib/inference/diagnostics/ppc.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import { getTask } from "../../../bench/sbibm/tasks.ts";

// gaussian_linear: posterior N(x/2, 0.05 I); posterior predictive N(x/2, 0.15 I).
const task = getTask("gaussian_linear");
const D = task.dimTheta;

function posteriorSamples(
  x: ArrayLike<number>,
  n: number,
  seed: number,
): Matrix {
  const r = new Rng(seed);
  const m = new Matrix(n, D);
  for (let i = 0; i < n * D; i++) {
    m.data[i] = x[i % D] / 2 + Math.sqrt(0.05) * r.normal();
  }
  return m;
}

Deno.test("posterior predictive check (analytic gaussian_linear)", async () => {
  const theta = task.prior.sample(1, 3);
  const xo = task.simulate(theta, 4).row(0).slice();
  const samples = posteriorSamples(xo, 4000, 5);
  const names = Array.from({ length: D }, (_, j) => `f${j}`);
  const ok = await posteriorPredictiveCheck({
    samples,
    simulate: (t, s) => task.simulate(t, s),
    observation: xo,
    featureNames: names,
    seed: 6,
  });
  assert.equal(ok.features.length, D);
  assert.equal(ok.features[3].name, "f3");
  assert.ok(ok.fractionInside >= 0.8, `${ok.fractionInside}`);
  for (const [j, f] of ok.features.entries()) {
    // Analytic predictive: mean x_o/2, std sqrt(0.15).
    assert.ok(Math.abs(f.mean - xo[j] / 2) < 0.03, `mean ${f.mean}`);
    assert.ok(Math.abs(f.std - Math.sqrt(0.15)) < 0.03, `std ${f.std}`);
    const z = (xo[j] - xo[j] / 2) / Math.sqrt(0.15);
    assert.ok(Math.abs(f.zScore - z) < 0.15, `z ${f.zScore} vs ${z}`);
    assert.ok(f.lower < f.median && f.median < f.upper);
    assert.ok(Math.abs(f.upper - f.lower - 2 * 1.96 * Math.sqrt(0.15)) < 0.1);
  }

  // An observation the posterior cannot explain in features 0 and 1.
  const bad = Float32Array.from(xo);
  bad[0] += 3;
  bad[1] -= 3;
  const off = await posteriorPredictiveCheck({
    samples,
    simulate: (t, s) => task.simulate(t, s),
    observation: bad,
    seed: 6,
  });
  assert.equal(off.features[0].inside, false);
  assert.equal(off.features[1].inside, false);
  assert.ok(
    off.features[0].quantile > 0.999 && off.features[1].quantile < 0.001,
  );
  assert.ok(off.features[0].zScore > 4 && off.features[1].zScore < -4);
  assert.ok(off.fractionInside <= 0.8);
  assert.equal(off.features[0].name, "x1");
});

Deno.test("posterior predictive check: invalid simulations and errors", async () => {
  const samples = posteriorSamples(new Array(D).fill(0), 100, 1);
  const simulate = (t: Matrix, s: number) => {
    const x = task.simulate(t, s);
    for (let i = 0; i < x.rows; i += 4) x.set(i, 2, NaN);
    return x;
  };
  const r = await posteriorPredictiveCheck({
    samples,
    simulate,
    observation: new Array(D).fill(0),
  });
  assert.equal(r.nInvalid, 25);
  assert.equal(r.simulations.rows, 75);
  await assert.rejects(
    () => posteriorPredictiveCheck({ samples, simulate, observation: [0, 0] }),
    /10 features but the observation has 2/,
  );
  await assert.rejects(
    () =>
      posteriorPredictiveCheck({
        samples,
        simulate: (t) =>
          new Matrix(t.rows, D, new Float32Array(t.rows * D).fill(NaN)),
        observation: new Array(D).fill(0),
      }),
    /all 100 posterior predictive simulations/,
  );
});
