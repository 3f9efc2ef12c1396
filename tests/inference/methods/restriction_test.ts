import assert from "node:assert/strict";
import { RestrictionEstimator } from "../../../lib/inference/methods/restriction.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";

// Simulations fail (NaN) inside the disk |θ − (0.3, 0.2)| < 0.5 and in the
// half-plane θ1 < −0.6 of the prior box [−1, 1]^2 (about 35 % of the prior).
function invalid(a: number, b: number): boolean {
  return (a - 0.3) ** 2 + (b - 0.2) ** 2 < 0.25 || a < -0.6;
}
function simulate(theta: Matrix): Matrix {
  const x = new Matrix(theta.rows, 2);
  for (let i = 0; i < theta.rows; i++) {
    const [a, b] = theta.row(i);
    x.set(i, 0, invalid(a, b) ? NaN : a + b);
    x.set(i, 1, a * b);
  }
  return x;
}

Deno.test("RestrictionEstimator", async (t) => {
  const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
  const est = new RestrictionEstimator({ prior, seed: 1 });
  const theta = prior.sample(3000, 1);
  est.appendSimulations(theta, simulate(theta));
  assert.equal(est.nSimulations, 3000);
  const frac = 1 - est.nValid / 3000;
  assert.ok(frac > 0.25 && frac < 0.45, `invalid fraction ${frac}`);

  await t.step("errors before training and on bad input", () => {
    assert.throws(() => est.restrictPrior(), /call train\(\) first/);
    assert.throws(
      () => est.appendSimulations([[0, 0]], [[1, 1], [2, 2]]),
      /1 rows but x has 2/,
    );
  });

  const summary = await est.train({ maxIter: 300 });
  console.log(
    `trained ${summary.epochs} epochs in ${
      summary.trainingTime.toFixed(1)
    } s, ` +
      `validation accuracy ${summary.validationAccuracy.toFixed(3)}`,
  );
  assert.ok(summary.validationAccuracy > 0.9);

  // Reference: prior draws split by the true validity.
  const ref = prior.sample(20_000, 99);
  const validRef: number[][] = [];
  for (let i = 0; i < ref.rows; i++) {
    const [a, b] = ref.row(i);
    if (!invalid(a, b)) validRef.push([a, b]);
  }

  for (const fn of [0, 0.05]) {
    await t.step(`restricted prior, allowedFalseNegatives ${fn}`, () => {
      const rp = est.restrictPrior({ allowedFalseNegatives: fn });
      const s = rp.sample(3000, 5);
      let ok = 0;
      for (let i = 0; i < s.rows; i++) {
        const [a, b] = s.row(i);
        assert.ok(prior.inSupport([a, b]));
        if (!invalid(a, b)) ok++;
      }
      // Fraction of truly valid parameter sets the restriction keeps.
      const kept = rp.accepts(validRef);
      const recall = kept.reduce((a, v) => a + v, 0) / validRef.length;
      console.log(
        `fn=${fn}: acceptance ${rp.acceptanceRate.toFixed(3)}, valid samples ${
          (ok / s.rows).toFixed(3)
        }, recall of valid region ${recall.toFixed(3)}`,
      );
      assert.ok(ok / s.rows > 0.95, `valid fraction ${ok / s.rows}`);
      assert.ok(recall > (fn === 0 ? 0.9 : 0.85), `recall ${recall}`);
      // The samples still cover the valid region: all four valid corners.
      for (
        const [cx, cy] of [[-0.5, -0.9], [-0.5, 0.9], [0.9, -0.9], [0.9, 0.9]]
      ) {
        let near = 0;
        for (let i = 0; i < s.rows; i++) {
          if (Math.hypot(s.get(i, 0) - cx, s.get(i, 1) - cy) < 0.15) near++;
        }
        assert.ok(near > 5, `no samples near (${cx}, ${cy})`);
      }
      // Acceptance ≈ the valid fraction of the prior.
      assert.ok(Math.abs(rp.acceptanceRate - (1 - frac)) < 0.1);
      // Normalised log-density: prior / acceptance inside, −∞ outside.
      const lp = rp.logProb([[0.3, 0.2], [0.9, 0.9]]);
      assert.equal(lp[0], -Infinity);
      assert.ok(
        Math.abs(lp[1] - (Math.log(0.25) - Math.log(rp.acceptanceRate))) < 1e-9,
      );
      assert.equal(rp.inSupport([-0.8, 0]), false);
      assert.equal(rp.inSupport([0.9, -0.9]), true);
    });
  }

  await t.step("a stricter threshold rejects more", () => {
    const a = est.restrictPrior({ allowedFalseNegatives: 0 });
    const b = est.restrictPrior({ allowedFalseNegatives: 0.2 });
    assert.ok(b.threshold >= a.threshold);
    assert.ok(b.acceptanceRate < a.acceptanceRate);
    assert.throws(
      () => est.restrictPrior({ allowedFalseNegatives: 1.5 }),
      /allowedFalseNegatives must be in \[0, 1\), got 1.5/,
    );
  });
  est.dispose();
});

Deno.test("RestrictionEstimator needs both classes", async () => {
  const prior = new BoxUniform({ low: [0], high: [1] });
  const est = new RestrictionEstimator({ prior });
  const th = prior.sample(50, 1);
  est.appendSimulations(th, th);
  await assert.rejects(() => est.train(), /50 valid and 0 invalid/);
});
