import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  fitAndScoreClassifier,
  MlpClassifier,
} from "../../../lib/inference/estimators/mlp_classifier.ts";
import { Rng } from "../../../lib/_internal/random.ts";

function xorData(n: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Float32Array(2 * n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.uniform(-1, 1);
    const b = rng.uniform(-1, 1);
    data[2 * i] = a;
    data[2 * i + 1] = b;
    labels[i] = a * b > 0 ? 1 : 0;
  }
  return { x: { data, rows: n, cols: 2 }, y: labels };
}

Deno.test("MlpClassifier", async (t) => {
  await t.step("learns a non-linear (XOR) boundary", async () => {
    const train = xorData(2000, 1);
    const test = xorData(1000, 2);
    const clf = await MlpClassifier.fit(train.x, train.y, {
      hiddenLayerSizes: [20, 20],
      seed: 1,
      maxIter: 500,
    });
    try {
      const acc = clf.score(test.x, test.y);
      assert.ok(acc > 0.95, `accuracy ${acc}`);
      const p = clf.predictProba(test.x);
      assert.equal(p.length, 1000);
      assert.ok(p.every((v) => v >= 0 && v <= 1));
      assert.equal(clf.summary.nIter, clf.summary.lossCurve.length);
      assert.ok(clf.summary.loss < clf.summary.lossCurve[0]);
    } finally {
      clf.dispose();
    }
  });

  await t.step(
    "stops with scikit-learn's rule: > nIterNoChange epochs without tol improvement",
    async () => {
      const train = xorData(400, 3);
      const clf = await MlpClassifier.fit(train.x, train.y, {
        hiddenLayerSizes: [8],
        seed: 2,
        maxIter: 5000,
        tol: 1e-2,
        nIterNoChange: 3,
      });
      try {
        const c = clf.summary.lossCurve;
        assert.equal(clf.summary.hitMaxIter, false);
        // Replay the rule on the recorded curve: it must fire at the last epoch only.
        let best = Infinity;
        let count = 0;
        let stopAt = -1;
        for (let i = 0; i < c.length; i++) {
          if (c[i] > best - 1e-2) count++;
          else count = 0;
          if (c[i] < best) best = c[i];
          if (count > 3) {
            stopAt = i;
            break;
          }
        }
        assert.equal(stopAt, c.length - 1);
      } finally {
        clf.dispose();
      }
    },
  );

  await t.step("same seed gives the same model; no tensors leak", async () => {
    const train = xorData(300, 4);
    const before = tf.memory().numTensors;
    const r1 = await fitAndScoreClassifier(train.x, train.y, train.x, train.y, {
      hiddenLayerSizes: [10, 10],
      seed: 5,
      maxIter: 30,
    });
    const r2 = await fitAndScoreClassifier(train.x, train.y, train.x, train.y, {
      hiddenLayerSizes: [10, 10],
      seed: 5,
      maxIter: 30,
    });
    assert.deepEqual(r1, r2);
    assert.equal(tf.memory().numTensors, before);
  });

  await t.step("validates its inputs", async () => {
    const x = { data: new Float32Array([0, 1, 2]), rows: 3, cols: 1 };
    await assert.rejects(() => MlpClassifier.fit(x, [0, 1]), TypeError);
    await assert.rejects(() => MlpClassifier.fit(x, [0, 1, 2]), RangeError);
    await assert.rejects(
      () => MlpClassifier.fit({ data: x.data, rows: 2, cols: 1 }, [0, 1]),
      TypeError,
    );
    await assert.rejects(
      () => MlpClassifier.fit(x, [0, 1, 0], { learningRate: -1 }),
      RangeError,
    );
    await assert.rejects(
      () => MlpClassifier.fit(x, [0, 1, 0], { hiddenLayerSizes: [0] }),
      RangeError,
    );
    const clf = await MlpClassifier.fit(x, [0, 1, 0], { maxIter: 2 });
    assert.throws(
      () => clf.predict({ data: new Float32Array(4), rows: 2, cols: 2 }),
      TypeError,
    );
    clf.dispose();
    assert.throws(() => clf.predict(x), Error);
  });
});
