import assert from "node:assert/strict";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { Normal } from "../../../lib/inference/priors/normal.ts";
import { LogNormal } from "../../../lib/inference/priors/log_normal.ts";
import { MultipleIndependent } from "../../../lib/inference/priors/multiple_independent.ts";
import {
  asPrior,
  type UserPrior,
} from "../../../lib/inference/priors/prior.ts";
import { priorFromDescription } from "../../../lib/inference/priors/from_description.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";

function colStats(m: Matrix, j: number) {
  const c = m.col(j);
  const mean = c.reduce((a, b) => a + b, 0) / c.length;
  const v = c.reduce((a, b) => a + (b - mean) ** 2, 0) / (c.length - 1);
  return { mean, v };
}

Deno.test("BoxUniform", async (t) => {
  const p = new BoxUniform({ low: [-1, 0], high: [1, 4] });
  await t.step(
    "samples lie in the box with the right moments and are seeded",
    () => {
      const s = p.sample(20000, 3);
      assert.equal(s.rows, 20000);
      for (let i = 0; i < s.rows; i++) assert.ok(p.inSupport(s.row(i)));
      const { mean, v } = colStats(s, 1);
      assert.ok(
        Math.abs(mean - 2) < 0.05 && Math.abs(v - 16 / 12) < 0.05,
        `${mean} ${v}`,
      );
      assert.deepEqual(p.sample(5, 7).data, p.sample(5, 7).data);
    },
  );
  await t.step("logProb is -log(volume) inside, -Infinity outside", () => {
    const lp = p.logProb([[0, 1], [2, 1]]);
    assert.ok(Math.abs(lp[0] + Math.log(8)) < 1e-12);
    assert.equal(lp[1], -Infinity);
  });
  await t.step("rejects bad bounds", () => {
    assert.throws(() => new BoxUniform({ low: [1], high: [0] }), RangeError);
    assert.throws(() => new BoxUniform({ low: [0, 0], high: [1] }), TypeError);
  });
});

Deno.test("Normal", async (t) => {
  await t.step("full covariance: log-density matches the closed form", () => {
    const cov = [[2, 0.6], [0.6, 1]];
    const p = new Normal({ mean: [1, -1], covariance: cov });
    const det = 2 - 0.36;
    const x = [0.3, 0.2];
    const d = [x[0] - 1, x[1] + 1];
    const inv = [[1 / det, -0.6 / det], [-0.6 / det, 2 / det]];
    const q = d[0] * (inv[0][0] * d[0] + inv[0][1] * d[1]) +
      d[1] * (inv[1][0] * d[0] + inv[1][1] * d[1]);
    const expected = -Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * q;
    assert.ok(Math.abs(p.logProb([x])[0] - expected) < 1e-6);
  });
  await t.step("samples have the requested covariance", () => {
    const p = new Normal({ mean: [0, 0], covariance: [[1, 0.8], [0.8, 1]] });
    const s = p.sample(40000, 1);
    let c = 0;
    for (let i = 0; i < s.rows; i++) c += s.get(i, 0) * s.get(i, 1);
    assert.ok(Math.abs(c / s.rows - 0.8) < 0.03);
  });
  await t.step("diagonal std form and errors", () => {
    const p = new Normal({ mean: [0], std: [2] });
    assert.ok(
      Math.abs(
        p.logProb([[0]])[0] - (-0.5 * Math.log(2 * Math.PI) - Math.log(2)),
      ) < 1e-9,
    );
    assert.throws(
      () => new Normal({ mean: [0, 0], covariance: [[1, 2], [2, 1]] }),
      RangeError,
    );
    assert.throws(() => new Normal({ mean: [0] }), TypeError);
  });
});

Deno.test("LogNormal", async (t) => {
  await t.step("positive samples, log-moments, support", () => {
    const p = new LogNormal({ mean: [1], std: [0.5] });
    const s = p.sample(20000, 2);
    const logs = Matrix.from(Array.from(s.col(0), (v) => [Math.log(v)]));
    const { mean, v } = colStats(logs, 0);
    assert.ok(Math.abs(mean - 1) < 0.02 && Math.abs(v - 0.25) < 0.02);
    assert.equal(p.logProb([[-1]])[0], -Infinity);
    assert.equal(p.inSupport([0]), false);
  });
});

Deno.test("MultipleIndependent", async (t) => {
  await t.step("concatenates dims and sums log-densities", () => {
    const a = new BoxUniform({ low: [0], high: [2] });
    const b = new Normal({ mean: [0, 0], std: [1, 1] });
    const p = new MultipleIndependent([a, b]);
    assert.equal(p.dim, 3);
    const lp = p.logProb([[1, 0, 0]])[0];
    assert.ok(Math.abs(lp - (-Math.log(2) - Math.log(2 * Math.PI))) < 1e-9);
    assert.equal(p.inSupport([3, 0, 0]), false);
    assert.equal(p.sample(4, 1).cols, 3);
  });
});

Deno.test("asPrior()", async (t) => {
  await t.step("wraps a user object; support from finite logProb", () => {
    const user: UserPrior = {
      sample: (n, rng) => Array.from({ length: n }, () => [rng.random() * 2]),
      logProb: (th) =>
        Array.from(
          { length: th.rows },
          (_, i) => (th.get(i, 0) >= 0 && th.get(i, 0) <= 2
            ? -Math.log(2)
            : -Infinity),
        ),
    };
    const p = asPrior(user);
    assert.equal(p.dim, 1);
    assert.equal(p.sample(3, 1).rows, 3);
    assert.equal(p.inSupport([3]), false);
    assert.equal(p.describe().type, "custom");
  });
  await t.step("rejects non-priors", () => {
    assert.throws(() => asPrior({} as never), TypeError);
  });
});

Deno.test("priorFromDescription()", async (t) => {
  await t.step("round-trips every built-in prior", () => {
    const ps = [
      new BoxUniform({ low: [0, 1], high: [1, 3] }),
      new Normal({ mean: [0, 1], covariance: [[1, 0.1], [0.1, 2]] }),
      new LogNormal({ mean: [0], std: [1] }),
      new MultipleIndependent([
        new BoxUniform({ low: [0], high: [1] }),
        new LogNormal({ mean: [0], std: [1] }),
      ]),
    ];
    for (const p of ps) {
      const q = priorFromDescription(JSON.parse(JSON.stringify(p.describe())));
      const s = p.sample(10, 4);
      assert.deepEqual(q.logProb(s), p.logProb(s));
    }
    assert.throws(
      () => priorFromDescription({ type: "custom", dim: 1 }),
      TypeError,
    );
  });
});
