// The CPU backend picks its engine by batch size: the SIMD wasm kernel on one
// thread below 4,096 neurons, worker threads above (wasm on each when it can
// split the batch, else JavaScript). The choice must not change results: the
// same neurons in one batch of 4,096 and in two of 2,048 give the same traces
// (within 1e-12 relative), and so does the JavaScript engine (it evaluates
// exp and constant powers as wasm does, so in f64 they agree bit for bit).
import assert from "node:assert/strict";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { Runner } from "../../lib/simulation/runner.ts";
import { defaultThreads } from "../../lib/codegen/cpu_backend.ts";
import { ADEX, HH_NAMESPACE, HH_TUTORIAL } from "../golden/_models.ts";

const DT = 1e-5;
const STEPS = 2500;
/** A 25 ms current with steps and a sine, 0 for the first 2 ms. */
const I = Float64Array.from(
  { length: STEPS },
  (_, k) => (k < 200 ? 0 : 1) * 1.2e-9 * (1 + 0.4 * Math.sin(k / 150)),
);

interface Case {
  model: NeuronModel;
  init: Record<string, number>;
  /** Per-neuron parameter value for neuron n of the big batch. */
  params: (n: number) => Record<string, number>;
}

const CASES: Record<string, () => Case> = {
  "HH (exponential_euler, exp in the rates)": () => ({
    model: new NeuronModel(HH_TUTORIAL, {
      namespace: HH_NAMESPACE,
      method: "exponential_euler",
      threshold: "v > -20*mV",
      refractory: "v > -20*mV",
    }),
    init: { v: -0.065, m: 0.05, h: 0.6, n: 0.32 },
    params: (n) => ({
      gl: 1e-8 * (1 + (n % 7) / 10),
      g_na: 2e-5 * (1 + (n % 5) / 20),
      g_kd: 6e-6 * (1 + (n % 3) / 10),
    }),
  }),
  "AdEx (exp, reset, plain-number b)": () => ({
    model: new NeuronModel(ADEX, {
      namespace: {
        C: "281 pF",
        gL: "30 nS",
        EL: "-70.6 mV",
        VT: "-50.4 mV",
        DeltaT: "2 mV",
        tau_w: "144 ms",
        a: "4 nS",
        b: 0.0805e-9,
        Vcut: "-40.4 mV",
      },
      threshold: "v > Vcut",
      reset: "v = EL; w += b",
      method: "euler",
    }),
    init: { v: -0.0706, w: 0 },
    params: () => ({}),
  }),
  "powers, sqrt, clip, sign, floor division": () => ({
    model: new NeuronModel(
      `dv/dt = (El - v)/tau + g*(v - El)**2/(tau*mV) - k*(v - El)**3/(tau*mV**2)
        + 4*(I/nA)**2*sqrt(abs(v)/mV)*mV/tau + clip(v, -80*mV, -40*mV)/(10*tau)
        + sign(v - El)*(u**-2)*mV/tau + ((v/mV)//3)*mV/(100*tau)
        + (u/4)**4*mV/tau : volt
du/dt = (1 + (v/mV)**-1 * 0.1 + u**0.5 - u)/tau : 1
g : 1
k : 1`,
      {
        namespace: { El: "-65 mV", tau: "10 ms" },
        threshold: "v > -45*mV",
        reset: "v = El; u = 0.5*u**2",
      },
    ),
    init: { v: -0.065, u: 1 },
    params: (n) => ({ g: 0.01 * (n % 4), k: 0.002 * (1 + (n % 3)) }),
  }),
};

function relDiff(a: Float64Array, b: Float64Array): number {
  let scale = 0;
  for (const x of a) scale = Math.max(scale, Math.abs(x));
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= d)) d = e; // NaN propagates
  }
  return scale > 0 ? d / scale : d;
}

const N = 4096;
const HALF = N / 2;
/** 64 input rows (neuron n reads row n % 64), scaled 0.6x to 1.4x. */
const ROWS = Array.from(
  { length: 64 },
  (_, r) => I.map((x) => x * (0.6 + (0.8 * r) / 63)),
);

for (const [name, make] of Object.entries(CASES)) {
  Deno.test(`engine choice does not change results: ${name}`, async () => {
    const { model, init, params } = make();
    // every 5th step is recorded: 4,096 neurons x 4 variables stay ~ 65 MB
    const base = {
      dt: DT,
      steps: STEPS,
      input: { I: ROWS },
      init,
      recordEvery: 5,
    };
    const per = (n0: number, n1: number) => {
      const out: Record<string, Float64Array> = {};
      for (const p of model.parameters) {
        out[p] = Float64Array.from(
          { length: n1 - n0 },
          (_, j) => params(n0 + j)[p],
        );
      }
      return out;
    };
    // auto engine: 4,096 neurons run on JavaScript worker threads; on a
    // one-core machine auto would stay on wasm, so ask for JavaScript there
    const large = await simulate(model, {
      ...base,
      nNeurons: N,
      params: per(0, N),
      ...(defaultThreads(N) > 1 ? {} : { engine: "js" as const }),
    });
    // 2,048 neurons run on wasm (one thread)
    const halves = [
      await simulate(model, { ...base, nNeurons: HALF, params: per(0, HALF) }),
      await simulate(model, { ...base, nNeurons: HALF, params: per(HALF, N) }),
    ];
    let worst = 0;
    let spikes = 0;
    for (let n = 0; n < N; n++) {
      const h = halves[n < HALF ? 0 : 1];
      const j = n % HALF;
      for (const v of Object.keys(large.traces)) {
        const d = relDiff(h.traces[v][j], large.traces[v][n]);
        if (!(d <= worst)) worst = d;
      }
      assert.deepEqual(
        large.spikeSteps[n],
        h.spikeSteps[j],
        `spike steps of neuron ${n}`,
      );
      spikes += large.spikeSteps[n].length;
    }
    assert.ok(worst <= 1e-12, `largest relative difference ${worst}`);
    // the JavaScript engine (programs or batches wasm cannot take, and
    // engine: "js") computes the same: 512 neurons on one thread
    const js = await simulate(model, {
      ...base,
      nNeurons: 512,
      params: per(0, 512),
      engine: "js",
      threads: 1,
    });
    let worstJs = 0;
    for (let n = 0; n < 512; n++) {
      for (const v of Object.keys(js.traces)) {
        const d = relDiff(halves[0].traces[v][n], js.traces[v][n]);
        if (!(d <= worstJs)) worstJs = d;
      }
      assert.deepEqual(js.spikeSteps[n], halves[0].spikeSteps[n]);
    }
    assert.ok(worstJs <= 1e-12, `JavaScript vs wasm: ${worstJs}`);
    // the case must exercise the threshold and reset paths
    assert.ok(spikes >= N, `only ${spikes} spikes in ${N} neurons`);
  });
}

Deno.test("threaded engine: state, error accumulator and uneven input rows", async () => {
  const { model, init, params } = CASES["AdEx (exp, reset, plain-number b)"]();
  void params;
  // 65 x 64 neurons: two threads get 2,112 and 2,048 (ranges start at
  // multiples of the 64 input rows)
  const n = 4160;
  const target = Float64Array.from(
    { length: STEPS },
    (_, k) => -0.07 + 1e-6 * k,
  );
  const opts = {
    dt: DT,
    nNeurons: n,
    input: { I: ROWS },
    targets: { v: [target] },
    init,
    record: ["v"],
    accumulate: { variable: "v", startStep: 100 },
  };
  const model2 = new NeuronModel(model.equations, {
    ...model.options,
    targets: ["v"],
  });
  const run = async (o: Record<string, unknown>) => {
    const r = await Runner.create(model2, { ...opts, ...o });
    try {
      const c = await r.step(STEPS);
      return { c, state: await r.state(), acc: await r.accumulator() };
    } finally {
      r.dispose();
    }
  };
  const threaded = await run({ threads: 2 });
  const one = await run({ threads: 1, engine: "wasm" });
  assert.deepEqual(threaded.c.vars.v, one.c.vars.v);
  assert.deepEqual(threaded.c.spikes, one.c.spikes);
  assert.deepEqual(threaded.state, one.state);
  assert.deepEqual(threaded.acc.count, one.acc.count);
  // the wasm kernel adds its error sums per sub-chunk of steps, whose length
  // depends on the batch size (spike-buffer capacity / neurons): the same
  // terms, grouped differently, agree to rounding
  assert.ok(
    relDiff(one.acc.sum, threaded.acc.sum) <= 1e-12,
    `accumulated errors differ by ${relDiff(one.acc.sum, threaded.acc.sum)}`,
  );
  assert.ok(one.acc.count[0] === STEPS - 100);
});
