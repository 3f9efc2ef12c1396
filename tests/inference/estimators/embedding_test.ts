import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  conv1dCustom,
  EmbeddingNet,
  resolveEmbedding,
} from "../../../lib/inference/estimators/embedding.ts";
import { Params } from "../../../lib/inference/estimators/_nn.ts";
import {
  DensityEstimator,
  type EmbeddingNetSpec,
  zScoreStats,
} from "../../../lib/inference/estimators/density_estimator.ts";
import { ensureBackend } from "../../../lib/inference/estimators/_backend.ts";
import { NPE } from "../../../lib/inference/methods/npe.ts";
import { DirectPosterior } from "../../../lib/inference/posteriors/direct_posterior.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";

/** Noisy sine waves: theta = (amplitude in [0.5, 2], cycles per window in [1, 4]), random phase. */
const wavePrior = new BoxUniform({ low: [0.5, 1], high: [2, 4] });
function waves(theta: Matrix, len: number, rng: Rng): Matrix {
  const x = new Matrix(theta.rows, len);
  for (let i = 0; i < theta.rows; i++) {
    const [a, f] = theta.row(i);
    const ph = rng.uniform(0, 2 * Math.PI);
    for (let t = 0; t < len; t++) {
      x.data[i * len + t] = a * Math.sin(2 * Math.PI * f * t / len + ph) +
        0.2 * rng.normal();
    }
  }
  return x;
}

/**
 * Trains NPE (mdn) with the embedding on wave data and checks that the
 * posterior mean at theta* = (1.8, 3.2) is within half the distance between
 * theta* and the prior mean (1.25, 2.5): an embedding that loses x gives the
 * prior mean and fails. Then checks a save/load round trip.
 */
async function waveCase(
  spec: EmbeddingNetSpec,
  len: number,
  n: number,
  epochs: number,
  lr: number,
) {
  const rng = new Rng(1);
  const theta = wavePrior.sample(n, rng);
  const x = waves(theta, len, rng);
  const npe = new NPE({
    prior: wavePrior,
    densityEstimator: "mdn",
    seed: 2,
    embeddingNet: spec,
    estimatorOptions: { hiddenFeatures: 32, numComponents: 3 },
  });
  npe.appendSimulations(theta, x);
  const t0 = performance.now();
  const summary = await npe.train({
    showProgress: false,
    maxEpochs: epochs,
    trainingBatchSize: 100,
    learningRate: lr,
    stopAfterEpochs: 10,
  });
  const secs = (performance.now() - t0) / 1000;
  const post = npe.buildPosterior();
  const truth = [1.8, 3.2];
  const xo = waves(new Matrix(1, 2, new Float32Array(truth)), len, new Rng(7))
    .row(0);
  const s = await post.sample(1000, { x: xo, seed: 1 });
  const m = s.mean();
  const type = (spec as { type: string }).type;
  console.log(
    `${type}: epochs ${summary.epochs}, ${secs.toFixed(1)} s, posterior mean ${
      Array.from(m, (v) => v.toFixed(3))
    }`,
  );
  assert.ok(
    Math.abs(m[0] - truth[0]) < 0.275,
    `${type} amplitude mean ${m[0]}`,
  );
  assert.ok(Math.abs(m[1] - truth[1]) < 0.35, `${type} frequency mean ${m[1]}`);
  // save / load round trip: same configuration, identical samples
  post.setDefaultX(xo);
  const loaded = await DirectPosterior.fromBytes(post.toBytes());
  assert.equal(loaded.estimator.config.embedding.type, type);
  assert.deepEqual(
    loaded.estimator.config.embedding,
    post.estimator.config.embedding,
  );
  const a = await post.sample(200, { seed: 5 });
  const b = await loaded.sample(200, { seed: 5 });
  assert.deepEqual(Array.from(b.data), Array.from(a.data));
  loaded.dispose();
  post.dispose();
  npe.dispose();
}

Deno.test("embedding nets", async (t) => {
  await ensureBackend();

  await t.step(
    "conv1d's custom gradient (wasm has no Conv2DBackpropFilter) is exact",
    () => {
      // the loss is bilinear in x and w, so central differences are exact
      const x = tf.randomNormal([2, 11, 3], 0, 1, "float32", 1) as tf.Tensor3D;
      const w = tf.randomNormal([4, 3, 2], 0, 1, "float32", 2) as tf.Tensor3D;
      const dy = tf.randomNormal([2, 8, 2], 0, 1, "float32", 3);
      const loss = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv1dCustom(a as tf.Tensor3D, b as tf.Tensor3D), dy));
      const [gx, gw] = tf.grads(loss)([x, w]);
      // forward equals tfjs' conv1d
      const ref = tf.conv1d(x, w, 1, "valid").dataSync();
      const out = conv1dCustom(x, w).dataSync();
      for (let i = 0; i < ref.length; i++) {
        assert.ok(Math.abs(ref[i] - out[i]) < 1e-5);
      }
      for (
        const [t0, g, other, first] of [
          [x, gx, w, true],
          [w, gw, x, false],
        ] as const
      ) {
        const v = t0.dataSync().slice();
        const gd = g.dataSync();
        for (let i = 0; i < v.length; i++) {
          const h = 0.5;
          const p = v.slice(), q = v.slice();
          p[i] += h;
          q[i] -= h;
          const tp = tf.tensor(p, t0.shape), tq = tf.tensor(q, t0.shape);
          const fp = (first ? loss(tp, other) : loss(other, tp)).dataSync()[0];
          const fq = (first ? loss(tq, other) : loss(other, tq)).dataSync()[0];
          const fd = (fp - fq) / (2 * h);
          assert.ok(
            Math.abs(fd - gd[i]) < 1e-3 * (1 + Math.abs(fd)),
            `${first ? "dx" : "dw"}[${i}] ${gd[i]} vs ${fd}`,
          );
          tf.dispose([tp, tq]);
        }
      }
      tf.dispose([x, w, dy, gx, gw]);
    },
  );

  await t.step("GRU gradient matches finite differences", () => {
    const cfg = resolveEmbedding({
      type: "gru",
      inputSize: 2,
      hiddenSize: 4,
      outputDim: 3,
    }, 12);
    const params = new Params(3);
    const net = new EmbeddingNet(cfg, 12, params);
    const x = tf.randomNormal([3, 12], 0, 1, "float32", 4) as tf.Tensor2D;
    const f = () => tf.sum(tf.square(net.apply(x))) as tf.Scalar;
    const { grads } = tf.variableGrads(f, params.vars);
    let checked = 0;
    for (const v of params.vars) {
      const g = grads[v.name].dataSync();
      const w0 = v.dataSync().slice();
      for (const i of [0, w0.length - 1]) {
        const h = 1e-2;
        const p = w0.slice(), q = w0.slice();
        p[i] += h;
        q[i] -= h;
        v.assign(tf.tensor(p, v.shape));
        const fp = f().dataSync()[0];
        v.assign(tf.tensor(q, v.shape));
        const fq = f().dataSync()[0];
        v.assign(tf.tensor(w0, v.shape));
        const fd = (fp - fq) / (2 * h);
        assert.ok(
          Math.abs(fd - g[i]) < 2e-2 * (1 + Math.abs(fd)),
          `${v.name}[${i}] ${g[i]} vs ${fd}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 8);
    params.dispose();
    x.dispose();
  });

  await t.step(
    "cnn learns amplitude and frequency of noisy waves",
    async () => {
      await waveCase(
        { type: "cnn", outChannels: [8, 8], outputDim: 10 },
        32,
        600,
        30,
        5e-3,
      );
    },
  );

  await t.step(
    "yulenet (brian2modelfitting tutorial layout) learns them",
    async () => {
      await waveCase({ type: "yulenet" }, 64, 800, 30, 2e-3);
    },
  );

  await t.step("gru learns them", async () => {
    await waveCase(
      { type: "gru", hiddenSize: 16, outputDim: 8 },
      16,
      1000,
      30,
      5e-3,
    );
  });

  await t.step(
    "permutationInvariant: iid trials, posterior mean = trial mean, order-free",
    async () => {
      const nTrials = 10;
      const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });
      const sim = (theta: Matrix, rng: Rng) => {
        const x = new Matrix(theta.rows, nTrials * 2);
        for (let i = 0; i < theta.rows; i++) {
          for (let k = 0; k < nTrials; k++) {
            for (let j = 0; j < 2; j++) {
              x.data[i * nTrials * 2 + k * 2 + j] = theta.get(i, j) +
                rng.normal();
            }
          }
        }
        return x;
      };
      const rng = new Rng(3);
      const theta = prior.sample(1000, rng);
      const npe = new NPE({
        prior,
        densityEstimator: "mdn",
        seed: 4,
        embeddingNet: {
          type: "permutationInvariant",
          nTrials,
          trialNet: { type: "mlp", hiddenFeatures: 32, outputDim: 10 },
          numHiddens: 32,
          outputDim: 10,
        },
        estimatorOptions: { hiddenFeatures: 32, numComponents: 3 },
      });
      npe.appendSimulations(theta, sim(theta, rng));
      const t0 = performance.now();
      const summary = await npe.train({
        showProgress: false,
        maxEpochs: 30,
        trainingBatchSize: 100,
        learningRate: 3e-3,
        stopAfterEpochs: 10,
      });
      const post = npe.buildPosterior();
      const xo = sim(
        new Matrix(1, 2, new Float32Array([1.2, -0.8])),
        new Rng(9),
      )
        .row(0);
      // flat prior, unit noise: the posterior mean is (close to) the trial average
      const avg = [0, 1].map((j) => {
        let s = 0;
        for (let k = 0; k < nTrials; k++) s += xo[k * 2 + j];
        return s / nTrials;
      });
      const s = await post.sample(1000, { x: xo, seed: 2 });
      const m = s.mean();
      console.log(
        `permutationInvariant: epochs ${summary.epochs}, ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s, posterior mean ${Array.from(m, (v) => v.toFixed(3))}, trial mean ${
          avg.map((v) => v.toFixed(3))
        }`,
      );
      for (const j of [0, 1]) {
        assert.ok(
          Math.abs(m[j] - avg[j]) < 0.3,
          `mean[${j}] ${m[j]} vs ${avg[j]}`,
        );
      }
      // exact invariance to the order of the trials (z-scoring pooled over trials)
      const est = post.estimator;
      const zs = est.config.zscore;
      assert.equal(zs.xMean[0], zs.xMean[2 * (nTrials - 1)]);
      assert.equal(zs.xStd[1], zs.xStd[3]);
      const shuffled = new Float32Array(xo.length);
      const perm = new Rng(11).permutation(nTrials);
      perm.forEach((src, k) =>
        shuffled.set(xo.subarray(src * 2, src * 2 + 2), k * 2)
      );
      const th = new Float32Array([1, -1, 0.5, 0, -1, 1.5]);
      const l1 = est.logProb(th, xo, 3);
      const l2 = est.logProb(th, shuffled, 3);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(l1[i] - l2[i]) < 1e-4);
      // and not invariant to changing a trial's values
      const moved = xo.slice();
      moved[0] += 3;
      const l3 = est.logProb(th, moved, 3);
      assert.ok(Math.abs(l3[0] - l1[0]) > 1e-2);
      // save / load
      const loaded = await DirectPosterior.fromBytes(post.toBytes());
      assert.deepEqual(loaded.estimator.config.embedding, est.config.embedding);
      const a = await post.sample(100, { x: xo, seed: 6 });
      const b = await loaded.sample(100, { x: xo, seed: 6 });
      assert.deepEqual(Array.from(b.data), Array.from(a.data));
      loaded.dispose();
      post.dispose();
      npe.dispose();
    },
  );

  await t.step("bad specifications give clear errors", async () => {
    const z = (d: number) =>
      zScoreStats(
        new Float32Array([0, 1]),
        new Float32Array(2 * d).map((_, i) => i),
        2,
      );
    const bad = async (spec: unknown, d: number, re: RegExp) => {
      await assert.rejects(
        () =>
          DensityEstimator.create("mdn", z(d), {
            embeddingNet: spec as EmbeddingNetSpec,
          }),
        re,
      );
    };
    await bad({ type: "lstm" }, 10, /embeddingNet must be .*"lstm"/);
    await bad(
      { type: "cnn", inChannels: 3 },
      10,
      /x dimension 10 is not divisible by inChannels 3/,
    );
    await bad(
      { type: "cnn", kernelSize: 11 },
      8,
      /conv layer 1 gets length 8, too short for kernel 11/,
    );
    await bad(
      { type: "cnn", outChannels: [] },
      8,
      /outChannels must be a non-empty array/,
    );
    await bad(
      { type: "cnn", pool: "min" },
      8,
      /pool must be "max" or "avg", got "min"/,
    );
    await bad(
      { type: "yulenet" },
      40,
      /yulenet embedding needs x of length >= 64 .* got 40/,
    );
    await bad(
      { type: "gru", hiddenSize: 0 },
      8,
      /hiddenSize must be a positive integer, got 0/,
    );
    await bad({ type: "gru", inputSize: 3 }, 8, /not divisible by inputSize 3/);
    await bad(
      { type: "permutationInvariant" },
      8,
      /nTrials must be a positive integer/,
    );
    await bad(
      { type: "permutationInvariant", nTrials: 3 },
      8,
      /x dimension 8 is not divisible by nTrials 3/,
    );
    await bad(
      {
        type: "permutationInvariant",
        nTrials: 2,
        trialNet: { type: "permutationInvariant", nTrials: 2 },
      },
      8,
      /cannot itself be permutationInvariant/,
    );
    await bad(
      { type: "permutationInvariant", nTrials: 2, trialNet: { type: "rnn" } },
      8,
      /unknown embedding net type "rnn"/,
    );
    await bad(
      { type: "permutationInvariant", nTrials: 2, aggregation: "max" },
      8,
      /aggregation must be "mean" or "sum", got "max"/,
    );
  });
});
