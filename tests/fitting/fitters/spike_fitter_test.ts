import assert from "node:assert/strict";
import { SpikeFitter } from "../../../lib/fitting/fitters/spike_fitter.ts";
import { GammaFactor } from "../../../lib/fitting/metrics/gamma_factor.ts";
import { MSEMetric } from "../../../lib/fitting/metrics/mse.ts";
import { DifferentialEvolution } from "../../../lib/fitting/optimizers/differential_evolution.ts";
import { readRefCsv } from "../../_ref.ts";
import { ADEX, EXPIF } from "../../golden/_models.ts";
import { Rng } from "../../../lib/_internal/random.ts";
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

Deno.test("SpikeFitter: the default optimizer fits an AdEx (gL, a, b, tau_w) to 2 s of noisy-current spikes, median gamma error over seeds 0-9 <= 0.1 within 2,000 evaluations", async () => {
  // Our own case: the AdEx of Brette & Gerstner (2005) (tests/golden/_models.ts)
  // with gL 30 nS, a 4 nS, b 80.5 pA, tau_w 144 ms unknown, driven by two 2 s
  // Ornstein-Uhlenbeck currents (mean 0.6 and 0.9 nA, sd 0.3 nA, 5 ms, fixed
  // seeds; 17 and 55 target spikes, made by the simulator with the true
  // values). The bounds are not centred on the truth; a and b span > 2 decades
  // (searched on the log scale). Default optimizer (CMA-ES), 100 samples x 20
  // rounds = 2,000 evaluations; measured best gamma error without early stop,
  // seeds 0-9: 0 0 0.041 0.041 0.082 0.043 0.173 0.185 0.043 0.154 (median
  // 0.043, 7 of 10 <= 0.1; the misses are local optima with b and tau_w off by
  // 20-30%). With a success probability of 0.7 per seed, a fresh set of ten
  // seeds has a median <= 0.1 with probability >= 0.85 (6 successes suffice:
  // P(Binomial(10, 0.7) >= 6) = 0.85), so this is not a chosen seed; it is not
  // "every seed" either. The previous default,
  // DifferentialEvolution, same budget, seeds 0-4: 0.075 0.198 0.288 0.387
  // 0.227 (median 0.227, fails); random search (seeds 0-2): 0.55-0.68; CMA-ES
  // with 50 x 40 or 200 x 10: medians 0.28 and 0.25. Each fit stops as soon as
  // its error is <= 0.1 (about 5 s per seed on one core).
  const dt = 0.1 * ms;
  const steps = 20000;
  const ou = (seed: number, mu: number, sigma: number, tau = 5 * ms) => {
    const rng = new Rng(seed);
    const I = new Float64Array(steps);
    let x = mu;
    for (let k = 0; k < steps; k++) {
      I[k] = x;
      x += (dt / tau) * (mu - x) +
        sigma * Math.sqrt((2 * dt) / tau) * rng.normal();
    }
    return I;
  };
  const I = [ou(11, 0.6e-9, 0.3e-9), ou(12, 0.9e-9, 0.3e-9)];
  const common = {
    model: `${ADEX}
gL : siemens (constant)
a : siemens (constant)
b : amp (constant)
tau_w : second (constant)`,
    namespace: {
      C: "281 pF",
      EL: "-70.6 mV",
      VT: "-50.4 mV",
      DeltaT: "2 mV",
      Vcut: "-40.4 mV",
    },
    input: { I },
    dt,
    threshold: "v > Vcut",
    reset: "v = EL; w += b",
    method: "euler",
    paramInit: { v: "-70.6 mV", w: 0 },
  };
  const truth = { gL: 30e-9, a: 4e-9, b: 0.0805e-9, tau_w: 0.144 };
  const maker = new SpikeFitter({ ...common, output: [[1], [1]], nSamples: 1 });
  const target = (await maker.generateSpikes({ params: truth })).map((s) =>
    Array.from(s)
  );
  assert.deepEqual(target.map((s) => s.length), [17, 55]);
  const bounds = {
    gL: ["5 nS", "100 nS"],
    a: ["0.2 nS", "50 nS"],
    b: ["1 pA", "0.5 nA"],
    tau_w: ["20 ms", "1 second"],
  } as const;
  const errors: number[] = [];
  for (const seed of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) {
    const f = new SpikeFitter({
      ...common,
      output: target,
      nSamples: 100,
      seed,
    });
    const r = await f.fit({
      nRounds: 20,
      callback: (info) => info.bestError <= 0.1,
      params: bounds,
    });
    assert.ok(f.results().length <= 2000);
    errors.push(r.error);
  }
  const sorted = [...errors].sort((x, y) => x - y);
  const median = (sorted[4] + sorted[5]) / 2;
  assert.ok(median <= 0.1, `median gamma error ${median} (${errors})`);
});
