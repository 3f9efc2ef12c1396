import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { ensureBackend } from "../../../lib/inference/estimators/_backend.ts";
import { Nsf } from "../../../lib/inference/estimators/nsf.ts";

Deno.test("Nsf spline op", async (t) => {
  await ensureBackend();
  await t.step(
    "CPU spline op matches the tfjs autodiff reference (value and every weight gradient)",
    () => {
      for (const d of [1, 3]) {
        const m = new Nsf(d, 2, {
          numTransforms: 3,
          hiddenFeatures: 20,
          numBlocks: 2,
          numBins: 6,
          tailBound: 3,
        }, 1);
        // non-trivial weights; inputs partly outside [-3, 3] (linear tails)
        m.params.vars.forEach((v, i) =>
          tf.tidy(() =>
            v.assign(
              tf.add(
                v,
                tf.mul(0.3, tf.randomNormal(v.shape, 0, 1, "float32", i)),
              ),
            )
          )
        );
        const u = tf.mul(
          tf.randomNormal([64, d], 0, 1, "float32", 7),
          1.8,
        ) as tf.Tensor2D;
        const c = tf.randomNormal([64, 2], 0, 1, "float32", 8) as tf.Tensor2D;
        const run = (ref: boolean) => {
          Nsf.referenceSpline = ref;
          const g = tf.variableGrads(
            () => tf.mean(m.logProb(u, c)) as tf.Scalar,
            m.params.vars,
          );
          const out = {
            v: g.value.dataSync()[0],
            g: m.params.vars.map((v) => g.grads[v.name].dataSync()),
          };
          tf.dispose([g.value, ...Object.values(g.grads)]);
          return out;
        };
        const a = run(true);
        const b = run(false);
        Nsf.referenceSpline = false;
        assert.ok(
          Math.abs(a.v - b.v) < 1e-4 * Math.abs(a.v),
          `value ${a.v} vs ${b.v}`,
        );
        let maxErr = 0;
        let maxAbs = 0;
        a.g.forEach((ga, i) =>
          ga.forEach((x, j) => {
            maxErr = Math.max(maxErr, Math.abs(x - b.g[i][j]));
            maxAbs = Math.max(maxAbs, Math.abs(x));
          })
        );
        assert.ok(
          maxErr < 2e-3 * maxAbs,
          `d=${d}: max gradient difference ${maxErr} (max |g| ${maxAbs})`,
        );
        tf.dispose([u, c]);
        m.params.dispose();
      }
    },
  );
});
