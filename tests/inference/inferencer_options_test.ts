// Degenerate and unknown options of the Inferencer are clear errors raised
// before any simulation or training: an unknown method name (including the
// names of Object.prototype's members), nRounds 0, nSamples 0, theta without
// x, and training options that cannot train.
import assert from "node:assert/strict";
import { Inferencer } from "../../lib/inference/inferencer.ts";
import { NPE } from "../../lib/inference/methods/npe.ts";
import { Matrix } from "../../lib/inference/matrix.ts";

/** A leaky membrane with one parameter; the feature is the final voltage. */
function small(): Inferencer {
  const n = 200;
  return new Inferencer({
    dt: 1e-4,
    model: "dv/dt = (El - v + I/g)/tau : volt\ng : siemens (constant)",
    namespace: { El: "-70 mV", tau: "10 ms" },
    input: { I: [new Float64Array(n).fill(1e-10)] },
    output: { v: [new Float64Array(n).fill(-0.06)] },
    features: { v: [(v: Float64Array) => v[v.length - 1]] },
    paramInit: { v: "El" },
  });
}

Deno.test("inferenceMethod: a name not in the table is a RangeError", async (t) => {
  const inf = small();
  inf.initPrior({ g: ["5 nS", "20 nS"] });
  for (
    const name of [
      "constructor",
      "toString",
      "__proto__",
      "hasOwnProperty",
      "valueOf",
      "npe",
      "SMC",
      "",
    ]
  ) {
    await t.step(JSON.stringify(name), () => {
      assert.throws(
        () => inf.initInference({ inferenceMethod: name as "NPE" }),
        (e: Error) =>
          e instanceof RangeError &&
          e.message.startsWith(
            `unknown inference method ${
              JSON.stringify(name)
            }; available: "NPE"`,
          ),
      );
    });
  }
  await t.step("the table's names and aliases still work", () => {
    const o = inf.initInference({
      inferenceMethod: "SNPE",
      densityEstimator: "mdn",
    });
    assert.ok(o instanceof NPE);
    o.dispose();
  });
  await t.step("infer() rejects it before simulating", async () => {
    await assert.rejects(
      () =>
        inf.infer({
          nSamples: 10,
          inferenceMethod: "constructor" as "NPE",
          restart: true,
        }),
      RangeError,
    );
  });
});

Deno.test("degenerate infer() options fail before any work", async (t) => {
  const inf = small();
  const params = { g: ["5 nS", "20 nS"] as const };
  const cases: [string, Record<string, unknown>, RegExp, typeof Error][] = [
    [
      "nRounds: 0",
      { nRounds: 0, nSamples: 10 },
      /nRounds must be a positive integer, got 0/,
      RangeError,
    ],
    [
      "nRounds: -1",
      { nRounds: -1, nSamples: 10 },
      /nRounds .* got -1/,
      RangeError,
    ],
    [
      "nRounds: 1.5",
      { nRounds: 1.5, nSamples: 10 },
      /nRounds .* got 1\.5/,
      RangeError,
    ],
    [
      "nRounds: NaN",
      { nRounds: NaN, nSamples: 10 },
      /nRounds .* got NaN/,
      RangeError,
    ],
    [
      "nSamples: 0",
      { nSamples: 0 },
      /nSamples must be a positive integer, got 0/,
      RangeError,
    ],
    ["nSamples: 2.5", { nSamples: 2.5 }, /nSamples .* got 2\.5/, RangeError],
    ["nSamples: -3", { nSamples: -3 }, /nSamples .* got -3/, RangeError],
    ["neither nSamples nor theta/x", {}, /needs nSamples/, TypeError],
    [
      "theta without x",
      { theta: new Matrix(2, 1, Float32Array.of(1e-8, 2e-8)) },
      /need both theta and x, got only theta/,
      TypeError,
    ],
    [
      "nRounds 2 with theta/x but no nSamples",
      {
        nRounds: 2,
        theta: new Matrix(2, 1, Float32Array.of(1e-8, 2e-8)),
        x: new Matrix(2, 1, Float32Array.of(-0.06, -0.065)),
      },
      /nRounds 2 needs nSamples/,
      TypeError,
    ],
  ];
  for (const [name, o, re, cls] of cases) {
    await t.step(name, async () => {
      const t0 = performance.now();
      await assert.rejects(
        () => inf.infer({ params, restart: true, ...o }),
        (e: Error) => e instanceof cls && re.test(e.message),
      );
      // nothing was simulated or trained
      assert.equal(inf.summaries.length, 0);
      assert.ok(performance.now() - t0 < 2000);
    });
  }
});

Deno.test("degenerate training options are RangeErrors", async (t) => {
  const inf = small();
  inf.initPrior({ g: ["5 nS", "20 nS"] });
  const theta = new Matrix(
    40,
    1,
    Float32Array.from({ length: 40 }, (_, i) => 5e-9 + i * 3e-10),
  );
  const x = new Matrix(
    40,
    1,
    Float32Array.from({ length: 40 }, (_, i) => -0.07 + 0.01 * (i / 40)),
  );
  const bad: [string, Record<string, number>, RegExp][] = [
    [
      "maxEpochs: 0",
      { maxEpochs: 0 },
      /maxEpochs must be a positive integer, got 0/,
    ],
    ["maxEpochs: 2.5", { maxEpochs: 2.5 }, /maxEpochs .* got 2\.5/],
    ["stopAfterEpochs: 0", { stopAfterEpochs: 0 }, /stopAfterEpochs .* got 0/],
    [
      "learningRate: Infinity",
      { learningRate: Infinity },
      /learningRate .* got Infinity/,
    ],
    ["learningRate: 0", { learningRate: 0 }, /learningRate .* got 0/],
    ["clipMaxNorm: 0", { clipMaxNorm: 0 }, /clipMaxNorm must be > 0, got 0/],
    [
      "trainingBatchSize: 0",
      { trainingBatchSize: 0 },
      /trainingBatchSize .* got 0/,
    ],
  ];
  for (const [name, trainOptions, re] of bad) {
    await t.step(name, async () => {
      const npe = inf.initInference({ densityEstimator: "mdn" }) as NPE;
      npe.appendSimulations(theta, x);
      await assert.rejects(
        () => npe.train({ ...trainOptions, showProgress: false }),
        (e: Error) => e instanceof RangeError && re.test(e.message),
      );
      npe.dispose();
    });
  }
});
