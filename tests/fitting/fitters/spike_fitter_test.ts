import assert from "node:assert/strict";
import { SpikeFitter } from "../../../lib/fitting/fitters/spike_fitter.ts";
import { GammaFactor } from "../../../lib/fitting/metrics/gamma_factor.ts";
import { MSEMetric } from "../../../lib/fitting/metrics/mse.ts";
import { DifferentialEvolution } from "../../../lib/fitting/optimizers/differential_evolution.ts";
import { readRefCsv } from "../../_ref.ts";
import { EXPIF } from "../../golden/_models.ts";
import { NeuronModel } from "../../../lib/simulation/neuron_model.ts";
import { simulate } from "../../../lib/simulation/simulate.ts";

const ms = 1e-3;
const MODEL = `${EXPIF}\ngL : siemens (constant)\nC : farad (constant)`;
const NAMESPACE = { EL: "-70 mV", VT: "-50 mV", DeltaT: "2 mV" };

/** examples/IF_spikefitter_doubleinp.py: 2.5 nA and 5 nA from 5 ms to 30 ms, 60 ms at dt 0.1 ms. */
function exampleData(): { I: Float64Array[]; spikes: number[][] } {
  const { cols } = readRefCsv(
    "brian2/expif_spikefitter_example_spikes.csv",
  );
  const spikes: number[][] = [[], []];
  for (let i = 0; i < cols[0].length; i++) {
    spikes[cols[0][i]].push(cols[2][i] * 0.1 * ms);
  }
  const I = [2.5e-9, 5e-9].map((a) =>
    Float64Array.from({ length: 600 }, (_, k) => (k >= 50 && k < 300 ? a : 0))
  );
  return { I, spikes };
}

function fitter(nSamples = 30): SpikeFitter {
  const { I, spikes } = exampleData();
  return new SpikeFitter({
    model: MODEL,
    namespace: NAMESPACE,
    input: { I },
    output: spikes,
    dt: 0.1 * ms,
    threshold: "v > -50*mV",
    reset: "v = -70*mV",
    paramInit: { v: "-70 mV" },
    nSamples,
  });
}

Deno.test("SpikeFitter", async (t) => {
  await t.step(
    "generateSpikes() with the true parameters reproduces Brian 2's spike times",
    async () => {
      const f = fitter();
      const { spikes } = exampleData();
      const got = await f.generateSpikes({
        params: { gL: "30 nS", C: "1 nF" },
      });
      assert.equal(got.length, 2);
      got.forEach((row, tr) =>
        assert.deepEqual(
          Array.from(row, (x) => Math.round(x / (0.1 * ms))),
          spikes[tr].map((x) => Math.round(x / (0.1 * ms))),
        )
      );
    },
  );
  await t.step(
    "defaults: exponential Euler, GammaFactor(delta 2 ms, time = duration)",
    async () => {
      const f = fitter(10);
      assert.equal(f.model.method, "exponential_euler");
      await f.fit({
        nRounds: 1,
        callback: null,
        params: { gL: ["10 nS", "90 nS"], C: ["0.33 nF", "3 nF"] },
      });
      const m = f.metric!.spikes as GammaFactor;
      assert.ok(m instanceof GammaFactor);
      assert.equal(m.delta, 2 * ms);
      assert.ok(Math.abs(m.time - 60 * ms) < 1e-15);
    },
  );
  await t.step(
    "recovers the exp-IF behind the example spikes (gL 30 nS, C 1 nF): both parameters",
    async () => {
      // The example's two strong currents (2.5, 5 nA) fix C but hardly gL
      // (DE seeds 0..3 fitted 26..44 nS, all at gamma error ~0). A third
      // trace near the rheobase (gL (VT - EL - DeltaT) = 0.54 nA) makes the
      // first-spike latency depend on gL: 0.75 nA from 5 ms, one spike at
      // 55.9 ms, simulated here at the truth (the simulator reproduces
      // Brian 2's spike times, first step above).
      const { I, spikes } = exampleData();
      const I3 = Float64Array.from(
        { length: 600 },
        (_, k) => (k >= 50 ? 0.75e-9 : 0),
      );
      const truth = new NeuronModel(MODEL, {
        namespace: NAMESPACE,
        threshold: "v > -50*mV",
        reset: "v = -70*mV",
        method: "exponential_euler",
      });
      const sim = await simulate(truth, {
        dt: 0.1 * ms,
        steps: 600,
        input: { I: [I3] },
        params: { gL: 30e-9, C: 1e-9 },
        init: { v: -0.07 },
        record: [],
      });
      const s3 = Array.from(sim.spikes[0]);
      assert.equal(s3.length, 1);
      assert.ok(Math.abs(s3[0] - 55.9 * ms) < 0.05 * ms, `${s3}`);
      const f = new SpikeFitter({
        model: MODEL,
        namespace: NAMESPACE,
        input: { I: [...I, I3] },
        output: [...spikes, s3],
        dt: 0.1 * ms,
        threshold: "v > -50*mV",
        reset: "v = -70*mV",
        paramInit: { v: "-70 mV" },
        nSamples: 30,
      });
      const { params, error } = await f.fit({
        optimizer: new DifferentialEvolution({ seed: 0 }),
        nRounds: 10,
        callback: null,
        params: { gL: ["10 nS", "90 nS"], C: ["0.33 nF", "3 nF"] }, // x3 either side of the truth
      });
      assert.ok(error <= 0.05, `gamma error ${error}`);
      // measured over DE seeds 0..9: gL 26.5..30.6 nS, C 0.96..1.11 nF (the
      // gamma factor's 2 ms window leaves that much freedom); the bars are
      // ~1.5x the worst seed, well inside the x3 search box
      assert.ok(Math.abs(params.gL / 30e-9 - 1) < 0.2, `gL = ${params.gL}`);
      assert.ok(Math.abs(params.C / 1e-9 - 1) < 0.15, `C = ${params.C}`);
      const got = await f.generateSpikes();
      const want = [...spikes, s3];
      got.forEach((row, tr) => {
        assert.equal(row.length, want[tr].length);
        row.forEach((s, k) => assert.ok(Math.abs(s - want[tr][k]) <= 2 * ms));
      });
    },
  );
  await t.step("generate: v traces and spikes together", async () => {
    const f = fitter();
    const out = await f.generate({
      params: { gL: 30e-9, C: 1e-9 },
      outputVar: ["v", "spikes"],
    });
    assert.equal(out.v.length, 2);
    assert.equal(out.v[0].length, 600);
    assert.equal(out.spikes[1].length, 5);
  });
  await t.step("bad input", async () => {
    const { I, spikes } = exampleData();
    const base = {
      model: MODEL,
      namespace: NAMESPACE,
      input: { I },
      output: spikes,
      dt: 0.1 * ms,
      threshold: "v > -50*mV",
    };
    assert.throws(() => new SpikeFitter({ ...base, threshold: "" }), TypeError);
    assert.throws(
      () => new SpikeFitter({ ...base, output: [spikes[0]] }),
      TypeError,
    );
    assert.throws(
      () => new SpikeFitter({ ...base, output: [[NaN], []] }),
      RangeError,
    );
    assert.throws(
      () => new SpikeFitter({ ...base, paramInit: { V: -0.07 } }),
      TypeError,
    ); // 'V' is not 'v'
    const f = new SpikeFitter(base);
    await assert.rejects(
      () =>
        f.fit({
          callback: null,
          metric: new MSEMetric() as never,
          params: { gL: [1e-8, 9e-8], C: [3e-10, 3e-9] },
        }),
      TypeError,
    );
  });
});
