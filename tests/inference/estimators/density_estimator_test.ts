import assert from "node:assert/strict";
import {
  DensityEstimator,
  type DensityEstimatorKind,
  zScoreStats,
} from "../../../lib/inference/estimators/density_estimator.ts";
import { SimulationBuffer } from "../../../lib/inference/estimators/simulation_buffer.ts";
import { numTensors } from "../../../lib/inference/estimators/_backend.ts";
import { Rng } from "../../../lib/_internal/random.ts";

const KINDS: DensityEstimatorKind[] = ["maf", "nsf", "mdn", "made"];

/** Toy problem: theta ~ U(-1,1)^d, x = theta + 0.3 * theta^2 + 0.2 * noise. */
function toy(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const theta = new Float32Array(n * d);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    theta[i] = rng.uniform(-1, 1);
    x[i] = theta[i] + 0.3 * theta[i] ** 2 + 0.2 * rng.normal();
  }
  return { theta, x };
}

/** The toy rows split 90% / 10% into training and validation buffers. */
function splitToy(theta: Float32Array, x: Float32Array, n: number, d: number) {
  const tr = new SimulationBuffer(d, d);
  const va = new SimulationBuffer(d, d);
  for (let i = 0; i < n; i++) {
    (i < 0.9 * n ? tr : va).push(
      theta.subarray(i * d, (i + 1) * d),
      x.subarray(i * d, (i + 1) * d),
      0,
      null,
    );
  }
  return { tr, va };
}

async function trained(kind: DensityEstimatorKind, d: number, epochs = 3) {
  const n = 600;
  const { theta, x } = toy(n, d, 1);
  const est = await DensityEstimator.create(kind, zScoreStats(theta, x, n), {
    seed: 2,
  });
  const { tr, va } = splitToy(theta, x, n, d);
  const res = await est.train(tr, va, {
    maxEpochs: epochs,
    showProgress: false,
  });
  return { est, res };
}

Deno.test("DensityEstimator.logProb()", async (t) => {
  for (const kind of KINDS) {
    await t.step(`${kind}: 1-D density integrates to 1`, async () => {
      const { est } = await trained(kind, 1);
      const m = 6001;
      const lo = -15, hi = 15, h = (hi - lo) / (m - 1);
      const grid = Float32Array.from({ length: m }, (_, i) => lo + i * h);
      const lp = est.logProb(grid, new Float32Array([0.4]), m);
      let s = 0;
      for (let i = 0; i < m; i++) {
        s += Math.exp(lp[i]) * (i === 0 || i === m - 1 ? 0.5 : 1);
      }
      s *= h;
      est.dispose();
      assert.ok(Math.abs(s - 1) < 5e-3, `${kind} 1-D integral ${s}`);
    });
    await t.step(`${kind}: 2-D density integrates to 1`, async () => {
      const { est } = await trained(kind, 2);
      const m = 601;
      const lo = -30, hi = 30, h = (hi - lo) / (m - 1);
      const grid = new Float32Array(m * m * 2);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) {
          grid[(i * m + j) * 2] = lo + i * h;
          grid[(i * m + j) * 2 + 1] = lo + j * h;
        }
      }
      const lp = est.logProb(grid, new Float32Array([0.4, -0.3]), m * m);
      let s = 0;
      for (let k = 0; k < m * m; k++) s += Math.exp(lp[k]);
      s *= h * h;
      est.dispose();
      assert.ok(Math.abs(s - 1) < 1e-2, `${kind} 2-D integral ${s}`);
    });
  }
});

Deno.test("DensityEstimator.toNoise()", async (t) => {
  for (const kind of ["maf", "nsf"] as const) {
    await t.step(`${kind}: x -> z -> x inverts within 1e-5`, async () => {
      const { est } = await trained(kind, 3, 2);
      const rng = new Rng(5);
      const n = 500;
      const theta = Float32Array.from(
        { length: n * 3 },
        () => rng.uniform(-1.5, 1.5),
      );
      // include points outside the spline interval (linear tails)
      theta[0] = 8;
      theta[1] = -7;
      const x = Float32Array.from({ length: n * 3 }, () => rng.uniform(-1, 1));
      const z = est.toNoise(theta, x, n);
      const back = est.fromNoise(z, x, n);
      let maxErr = 0;
      for (let i = 0; i < theta.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(back[i] - theta[i]));
      }
      est.dispose();
      assert.ok(maxErr < 1e-5, `${kind} max inversion error ${maxErr}`);
    });
  }
  await t.step("mixtures are not flows", async () => {
    const { est } = await trained("mdn", 1, 1);
    assert.throws(
      () => est.toNoise(new Float32Array([0]), new Float32Array([0]), 1),
      TypeError,
    );
    est.dispose();
  });
});

Deno.test("DensityEstimator.train()", async (t) => {
  await t.step(
    "no tensor leak after create + train + sample + dispose",
    async () => {
      for (const kind of KINDS) {
        // warm up the backend and any lazily created kernel constants
        const w = await trained(kind, 2, 1);
        w.est.sample(10, new Float32Array([0, 0]), new Rng(1));
        w.est.dispose();
        const before = numTensors();
        const { est } = await trained(kind, 2, 2);
        est.sample(200, new Float32Array([0, 0]), new Rng(1));
        est.logProb(new Float32Array([0, 0]), new Float32Array([0, 0]), 1);
        est.logProbWithGrad(
          new Float32Array([0, 0]),
          new Float32Array([0, 0]),
          1,
        );
        est.dispose();
        assert.equal(
          numTensors(),
          before,
          `${kind} leaked ${numTensors() - before} tensors`,
        );
      }
    },
  );
  await t.step("early stopping restores the best validation loss", async () => {
    const { est, res } = await trained("mdn", 1, 30);
    assert.equal(res.validationLosses.length, res.epochs);
    assert.equal(res.bestValidationLoss, Math.min(...res.validationLosses));
    assert.ok(res.samplesPerSecond > 0);
    est.dispose();
  });
  await t.step(
    "parameter counts match sbi (MAF 28,020; NSF 60,925; MDN 8,310)",
    async () => {
      const z = zScoreStats(
        new Float32Array([0, 1, 2, 3]),
        new Float32Array([0, 1, 3, 2]),
        2,
      );
      for (
        const [k, n] of [["maf", 28020 - 250], ["nsf", 60925], [
          "mdn",
          8310,
        ]] as const
      ) {
        const e = await DensityEstimator.create(k, z);
        assert.equal(e.numParameters, n, k);
        e.dispose();
      }
    },
  );
  await t.step("sampling is reproducible with a seed", async () => {
    const { est } = await trained("nsf", 2, 1);
    const a = est.sample(50, new Float32Array([0.1, 0.2]), new Rng(9));
    const b = est.sample(50, new Float32Array([0.1, 0.2]), new Rng(9));
    assert.deepEqual(a, b);
    est.dispose();
  });
});

Deno.test("DensityEstimator embedding nets", async (t) => {
  await t.step(
    "MLP embedding for high-dimensional x is trained and saved in the weights",
    async () => {
      const n = 400, dx = 60;
      const rng = new Rng(3);
      const theta = Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
      const x = new Float32Array(n * dx);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < dx; j++) {
          x[i * dx + j] = theta[i] * Math.sin(j) + 0.1 * rng.normal();
        }
      }
      const est = await DensityEstimator.create(
        "mdn",
        zScoreStats(theta, x, n),
      ); // default: MLP for dx > 50
      assert.equal(est.config.embedding.type, "mlp");
      const w0 = est.getWeights()[0].slice();
      const tr = new SimulationBuffer(1, dx), va = new SimulationBuffer(1, dx);
      for (let i = 0; i < n; i++) {
        (i < 360 ? tr : va).push(
          [theta[i]],
          x.subarray(i * dx, (i + 1) * dx),
          0,
          null,
        );
      }
      await est.train(tr, va, { maxEpochs: 2, showProgress: false });
      assert.notDeepEqual(est.getWeights()[0], w0);
      const copy = est.clone();
      assert.deepEqual(
        copy.logProb(theta.subarray(0, 5), x.subarray(0, 5 * dx), 5),
        est.logProb(theta.subarray(0, 5), x.subarray(0, 5 * dx), 5),
      );
      copy.dispose();
      est.dispose();
    },
  );
  await t.step(
    "a user tfjs layers model can be the embedding net",
    async () => {
      const tfl = await import("@tensorflow/tfjs-layers");
      const { theta, x } = toy(300, 2, 4);
      const z = zScoreStats(theta, x, 300);
      await DensityEstimator.create("mdn", z).then((e) => e.dispose()); // backend ready before building layers
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [2], units: 8, activation: "relu" }),
        ],
      });
      const est = await DensityEstimator.create("maf", z, {
        embeddingNet: model,
      });
      assert.equal(est.config.embedding.type, "user");
      const before = (model.getWeights()[0].dataSync() as Float32Array).slice();
      const tr = new SimulationBuffer(2, 2), va = new SimulationBuffer(2, 2);
      for (let i = 0; i < 300; i++) {
        (i < 270 ? tr : va).push(
          theta.subarray(2 * i, 2 * i + 2),
          x.subarray(2 * i, 2 * i + 2),
          0,
          null,
        );
      }
      await est.train(tr, va, { maxEpochs: 2, showProgress: false });
      assert.notDeepEqual(model.getWeights()[0].dataSync(), before);
      est.dispose();
      model.dispose();
    },
  );
});

Deno.test("MAF with batch norm (sbi's MAF of the sbibm benchmark)", async (t) => {
  const d = 2, n = 600;
  const { theta, x } = toy(n, d, 1);
  const make = (batchNorm: boolean) =>
    DensityEstimator.create("maf", zScoreStats(theta, x, n), {
      seed: 2,
      batchNorm,
    });
  const buffers = () => splitToy(theta, x, n, d);
  await t.step("only the scale/shift of each norm are parameters", async () => {
    const a = await make(false), b = await make(true);
    // 5 transforms x 2 blocks x (gamma + beta) of 50 units
    assert.equal(b.numParameters - a.numParameters, 5 * 2 * 2 * 50);
    // + running mean and variance (stored with the weights)
    assert.equal(
      b.config.weightShapes.length - a.config.weightShapes.length,
      5 * 2 * 4,
    );
    a.dispose();
    b.dispose();
    await assert.rejects(
      DensityEstimator.create("nsf", zScoreStats(theta, x, n), {
        batchNorm: true,
      }),
      /batchNorm is an option of "maf"/,
    );
  });
  await t.step(
    "running statistics follow training; evaluation does not depend on the batch",
    async () => {
      const before = numTensors();
      const est = await make(true);
      const { tr, va } = buffers();
      const w0 = est.getWeights();
      const res = await est.train(tr, va, {
        maxEpochs: 4,
        showProgress: false,
      });
      assert.ok(Number.isFinite(res.bestValidationLoss));
      const w1 = est.getWeights();
      const names = est.config.weightShapes.map((_, i) => i);
      // running means start at 0 and variances at 1; training moves them
      let moved = 0;
      for (const i of names) {
        if (w0[i].every((v) => v === 0) || w0[i].every((v) => v === 1)) {
          if (w1[i].some((v, j) => v !== w0[i][j])) moved++;
        }
      }
      assert.ok(moved >= 5 * 2 * 2, `${moved} running-statistics arrays moved`);
      // one row alone and the same row inside a batch: same log-density
      const all = est.logProb(theta.subarray(0, 40), x.subarray(0, 40), 20);
      const one = est.logProb(theta.subarray(6, 8), x.subarray(6, 8), 1);
      assert.ok(Math.abs(all[3] - one[0]) < 1e-5, `${all[3]} vs ${one[0]}`);
      // the weights (with the running statistics) rebuild the same estimator
      const copy = await DensityEstimator.fromConfig(est.config, w1);
      const again = copy.logProb(theta.subarray(0, 40), x.subarray(0, 40), 20);
      assert.deepEqual(again, all);
      copy.dispose();
      est.dispose();
      assert.equal(numTensors(), before, "tensor leak");
    },
  );
  await t.step(
    "batch norm learns the toy problem as well as without",
    async () => {
      const loss: number[] = [];
      for (const bn of [false, true]) {
        const est = await make(bn);
        const { tr, va } = buffers();
        // to convergence: batch norm starts slower (0.34 vs -0.03 after 40
        // epochs) and ends level (-0.356 vs -0.344)
        const r = await est.train(tr, va, {
          stopAfterEpochs: 10,
          showProgress: false,
        });
        loss.push(r.bestValidationLoss);
        est.dispose();
      }
      assert.ok(
        loss[1] < loss[0] + 0.05,
        `with ${loss[1]}, without ${loss[0]}`,
      );
      assert.ok(loss[1] < -0.2, `validation loss with batch norm ${loss[1]}`);
    },
  );
});

Deno.test("training counts steps skipped for non-finite gradients", async (t) => {
  const n = 400;
  const d = 1;
  const { theta, x } = toy(n, d, 3);
  const { tr, va } = splitToy(theta, x, n, d);
  // 360 training rows in batches of 50: 8 steps per epoch (last batch of 10)
  const steps = 3 * Math.ceil(360 / 50);
  const warnings: string[] = [];
  const warn = console.warn;
  const capture = async <T>(f: () => Promise<T>): Promise<T> => {
    console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
    try {
      return await f();
    } finally {
      console.warn = warn;
    }
  };
  await t.step("healthy training: no step skipped, no warning", async () => {
    const est = await DensityEstimator.create("mdn", zScoreStats(theta, x, n), {
      seed: 2,
    });
    const res = await capture(() =>
      est.train(tr, va, {
        maxEpochs: 3,
        trainingBatchSize: 50,
        showProgress: false,
      })
    );
    est.dispose();
    assert.equal(res.steps, steps);
    assert.equal(res.skippedSteps, 0);
    assert.deepEqual(warnings.filter((w) => /skipped/.test(w)), []);
  });
  await t.step(
    "a diverging run (learning rate 1e6) counts the skipped steps and warns",
    async () => {
      const est = await DensityEstimator.create(
        "mdn",
        zScoreStats(theta, x, n),
        { seed: 2 },
      );
      const res = await capture(() =>
        est.train(tr, va, {
          maxEpochs: 3,
          trainingBatchSize: 50,
          learningRate: 1e6,
          showProgress: false,
        })
      );
      est.dispose();
      assert.equal(res.steps, steps);
      // the first step is finite; its huge update makes the rest non-finite
      assert.ok(
        res.skippedSteps > 0.01 * steps,
        `skipped ${res.skippedSteps} of ${steps}`,
      );
      const w = warnings.filter((m) =>
        /were skipped because the gradient/.test(m)
      );
      assert.equal(w.length, 1, warnings.join("\n"));
      assert.match(
        w[0],
        new RegExp(`${res.skippedSteps} of ${steps} training steps`),
      );
    },
  );
});
