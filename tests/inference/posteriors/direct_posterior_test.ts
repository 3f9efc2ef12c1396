import assert from "node:assert/strict";
import { NPE } from "../../../lib/inference/methods/npe.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { Normal } from "../../../lib/inference/priors/normal.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { DirectPosterior } from "../../../lib/inference/posteriors/direct_posterior.ts";
import {
  loadPosterior,
  savePosterior,
} from "../../../lib/inference/posteriors/file.ts";
import { Rng } from "../../../lib/_internal/random.ts";

/** theta ~ N(0, I2), x = theta + 0.5 eps; trained once for all steps. */
async function trainedPosterior(kind: "nsf" | "mdn" = "nsf") {
  const prior = new Normal({ mean: [0, 0], std: [1, 1] });
  const rng = new Rng(11);
  const theta = prior.sample(1500, rng);
  const x = new Matrix(1500, 2);
  for (let i = 0; i < 3000; i++) x.data[i] = theta.data[i] + 0.5 * rng.normal();
  const npe = new NPE({ prior, densityEstimator: kind, seed: 2 });
  npe.appendSimulations(theta, x);
  await npe.train({ maxEpochs: kind === "nsf" ? 8 : 40, showProgress: false });
  const post = npe.buildPosterior();
  npe.dispose();
  return post;
}

Deno.test("DirectPosterior", async (t) => {
  const post = await trainedPosterior("nsf");
  const xo = [1, -0.5];

  await t.step(
    "save / load gives bit-identical samples and log-densities",
    async () => {
      const path = await Deno.makeTempFile({ suffix: ".nfpost" });
      post.setDefaultX(xo);
      await savePosterior(post, path);
      const loaded = await loadPosterior(path);
      assert.ok(loaded instanceof DirectPosterior);
      const a = await post.sample(2000, { seed: 42 });
      const b = await loaded.sample(2000, { seed: 42 });
      assert.deepEqual(b.data, a.data);
      assert.deepEqual(
        await loaded.logProb(a, { normalize: false }),
        await post.logProb(a, { normalize: false }),
      );
      assert.deepEqual(
        Array.from(loaded.defaultX!),
        Array.from(new Float32Array(xo)),
      );
      loaded.dispose();
      await Deno.remove(path);
    },
  );

  await t.step(
    "corrupt, truncated, foreign and future-version files fail clearly",
    async () => {
      const bytes = post.toBytes();
      const flipped = bytes.slice();
      flipped[Math.floor(bytes.length / 2)] ^= 0xff;
      await assert.rejects(
        () => DirectPosterior.fromBytes(flipped),
        /checksum/,
      );
      await assert.rejects(
        () => DirectPosterior.fromBytes(bytes.slice(0, bytes.length - 10)),
        RangeError,
      );
      await assert.rejects(
        () =>
          DirectPosterior.fromBytes(
            new TextEncoder().encode("PK\x03\x04 not ours at all"),
          ),
        /not a neurofit/,
      );
      const future = bytes.slice();
      new DataView(future.buffer).setUint32(8, 99, true);
      await assert.rejects(
        () => DirectPosterior.fromBytes(future),
        /version 99/,
      );
    },
  );

  await t.step(
    "sample rejects draws outside the prior support and reports the acceptance rate",
    async () => {
      const narrow = new DirectPosterior(
        post.estimator.clone(),
        new BoxUniform({ low: [0.8, -2], high: [2, 2] }),
      );
      const s = await narrow.sample(1000, { x: xo, seed: 1 });
      for (let i = 0; i < s.rows; i++) assert.ok(s.get(i, 0) >= 0.8);
      assert.ok(
        narrow.lastAcceptanceRate > 0.2 && narrow.lastAcceptanceRate < 0.8,
        `${narrow.lastAcceptanceRate}`,
      );
      narrow.dispose();
    },
  );

  await t.step(
    "bounded retries: a prior without posterior mass gives a clear error",
    async () => {
      const far = new DirectPosterior(
        post.estimator.clone(),
        new BoxUniform({ low: [40, 40], high: [41, 41] }),
      );
      await assert.rejects(
        () => far.sample(10, { x: xo, seed: 1 }),
        /acceptance rate/,
      );
      far.dispose();
    },
  );

  await t.step(
    "normalised logProb integrates to 1 over a truncated support",
    async () => {
      const box = new BoxUniform({ low: [0.5, -3], high: [3, 3] });
      const p = new DirectPosterior(post.estimator.clone(), box);
      const m = 241, h0 = 2.5 / (m - 1), h1 = 6 / (m - 1);
      const grid: number[][] = [];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          grid.push([0.5 + i * h0, -3 + j * h1]);
        }
      }
      const lp = await p.logProb(grid, { x: xo });
      let s = 0;
      for (let k = 0; k < lp.length; k++) {
        const i = Math.floor(k / m), j = k % m;
        s += Math.exp(lp[k]) * (i === 0 || i === m - 1 ? 0.5 : 1) *
          (j === 0 || j === m - 1 ? 0.5 : 1);
      }
      s *= h0 * h1;
      assert.ok(Math.abs(s - 1) < 0.03, `integral ${s}`);
      assert.equal((await p.logProb([[0, 0]], { x: xo }))[0], -Infinity);
      p.dispose();
    },
  );

  await t.step(
    "sampleBatched gives one sample set per observation",
    async () => {
      const xs = [[1, -0.5], [-1, 1], [0, 0]];
      const sets = await post.sampleBatched(500, xs, { seed: 3 });
      assert.equal(sets.length, 3);
      sets.forEach((s, i) => {
        assert.equal(s.rows, 500);
        const m = s.mean();
        assert.ok(
          Math.abs(m[0] - xs[i][0] / 1.25) < 0.25,
          `obs ${i} mean ${m}`,
        );
      });
    },
  );

  await t.step(
    "map finds the mode, setDefaultX is used when x is omitted",
    async () => {
      post.setDefaultX(xo);
      const mode = await post.map({ numIter: 40, numToOptimize: 10, seed: 1 });
      assert.ok(
        Math.abs(mode[0] - 0.8) < 0.2 && Math.abs(mode[1] + 0.4) < 0.2,
        `map ${mode}`,
      );
      const s = await post.sample(10, { seed: 5 });
      assert.equal(s.rows, 10);
      assert.throws(() => post.setDefaultX([1, 2, 3]), TypeError);
    },
  );

  post.dispose();
});
