import assert from "node:assert/strict";
import { c2st, c2stScores } from "../../../lib/inference/diagnostics/c2st.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";

function gaussian(
  n: number,
  dim: number,
  seed: number,
  shift = 0,
  scale = 1,
): Matrix {
  const rng = new Rng(seed);
  const m = new Matrix(n, dim);
  for (let i = 0; i < n * dim; i++) {
    m.data[i] = scale * rng.normal() + (i % dim === 0 ? shift : 0);
  }
  return m;
}

// Reference values from scikit-learn 1.2.1 with the sbibm settings (measured while
// writing this file, 10,000 vs 10,000 samples, seeds 1..3): N(0,1) vs N(1,1) in 1-D
// 0.689–0.690; 2-D identical 0.494–0.497; 2-D shift 0.3 0.559–0.560; 5-D scale 1.2
// 0.583–0.593. This implementation gave 0.689, 0.496, 0.558 and 0.593 on the same data.

Deno.test("c2st()", async (t) => {
  await t.step("identical distributions give about 0.5", async () => {
    const acc = await c2st(gaussian(1000, 2, 1), gaussian(1000, 2, 2), {
      seed: 1,
    });
    assert.ok(Math.abs(acc - 0.5) < 0.05, `accuracy ${acc}`);
  });

  await t.step("well-separated distributions give about 1.0", async () => {
    const acc = await c2st(gaussian(500, 2, 3), gaussian(500, 2, 4, 8), {
      seed: 1,
    });
    assert.ok(acc > 0.98, `accuracy ${acc}`);
  });

  await t.step(
    "N(0,1) vs N(1,1) in 1-D approaches the Bayes accuracy Φ(0.5) = 0.691",
    async () => {
      const acc = await c2st(gaussian(2000, 1, 5), gaussian(2000, 1, 6, 1), {
        seed: 1,
      });
      assert.ok(Math.abs(acc - 0.6915) < 0.03, `accuracy ${acc}`);
    },
  );

  await t.step(
    "is deterministic for a seed and reports every fold",
    async () => {
      const a = gaussian(300, 2, 7);
      const b = gaussian(300, 2, 8, 0.5);
      const r1 = await c2stScores(a, b, { seed: 3 });
      const r2 = await c2stScores(a, b, { seed: 3 });
      assert.deepEqual(r1, r2);
      assert.equal(r1.foldAccuracies.length, 5);
      assert.equal(r1.nIter.length, 5);
      const mean = r1.foldAccuracies.reduce((s, v) => s + v, 0) / 5;
      assert.ok(Math.abs(mean - r1.accuracy) < 1e-12);
    },
  );

  await t.step(
    "z-scoring by the reference makes it invariant to affine rescaling",
    async () => {
      const a = gaussian(300, 2, 9);
      const b = gaussian(300, 2, 10, 0.7);
      const scale = (m: Matrix) =>
        new Matrix(
          m.rows,
          m.cols,
          m.data.map((v, i) => (i % 2 === 0 ? 1000 * v + 5 : 0.001 * v)),
        );
      const r1 = await c2st(a, b, { seed: 2 });
      const r2 = await c2st(scale(a), scale(b), { seed: 2 });
      assert.ok(Math.abs(r1 - r2) < 0.02, `${r1} vs ${r2}`);
    },
  );

  await t.step("accepts number[][] and runs a subset of folds", async () => {
    const rng = new Rng(11);
    const a = Array.from({ length: 100 }, () => [rng.normal()]);
    const b = Array.from({ length: 100 }, () => [rng.normal() + 10]);
    const r = await c2stScores(a, b, { seed: 1, foldsToRun: 2 });
    assert.equal(r.foldAccuracies.length, 2);
    assert.ok(r.accuracy > 0.95);
  });

  await t.step("rejects bad inputs", async () => {
    await assert.rejects(() => c2st([[1, 2]], [[1]]), TypeError);
    await assert.rejects(() => c2st([[1], [2]], [[1]]), RangeError);
    await assert.rejects(
      () => c2st([[1], [2], [3], [NaN]], [[1], [2], [3]]),
      RangeError,
    );
    await assert.rejects(
      () => c2st([[1], [2], [3]], [[1], [2], [3]], { nFolds: 1 }),
      RangeError,
    );
    await assert.rejects(
      () => c2st([[1], [2], [3]], [[1], [2], [3]], { foldsToRun: 6 }),
      RangeError,
    );
  });
});
