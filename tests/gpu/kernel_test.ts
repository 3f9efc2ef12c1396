// The WebGPU batch kernel against the CPU kernel: every integration method,
// the counter-based noise, the function table, recording, chunking and
// dispatch splitting, spike ring buffers with overflow, and the online
// squared-error accumulator.
import assert from "node:assert/strict";
import { dispatchLimits, webgpuBackend } from "../../gpu/mod.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { Runner } from "../../lib/simulation/runner.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { readPandasCsv, TUTORIAL_DATA } from "../_ref.ts";
import { hhTutorial, lif } from "../golden/_models.ts";
import { hasAdapter, maxAbsDiff } from "./_gpu.ts";

const ignore = !hasAdapter;

Deno.test({
  name:
    "webgpuBackend: every explicit method matches the CPU kernel in f32 (same noise stream)",
  ignore,
  fn: async (t) => {
    const cases: [string, string, Record<string, string>, number][] = [
      ["euler", "dv/dt = (1 - v)/tau + sin(v)/tau : 1", { tau: "10 ms" }, 1e-5],
      ["rk2", "dv/dt = (1 - v)/tau + sin(v)/tau : 1", { tau: "10 ms" }, 1e-5],
      ["rk4", "dv/dt = (1 - v)/tau + sin(v)/tau : 1", { tau: "10 ms" }, 1e-5],
      ["heun", "dv/dt = (1 - v)/tau + sin(v)/tau : 1", { tau: "10 ms" }, 1e-5],
      ["exponential_euler", "dv/dt = (1 - v)/tau + sin(v)/tau : 1", {
        tau: "10 ms",
      }, 1e-5],
      ["exact", "dv/dt = (1 - v)/tau : 1", { tau: "10 ms" }, 1e-5],
      ["euler", "dv/dt = -v/tau + sigma*xi*tau**-0.5 : 1", {
        tau: "10 ms",
        sigma: "0.2",
      }, 1e-5],
      ["heun", "dv/dt = (1 - v)/tau + sigma*v*xi*tau**-0.5 : 1", {
        tau: "10 ms",
        sigma: "0.5",
      }, 2e-5],
      ["milstein", "dv/dt = (1 - v)/tau + sigma*v*xi*tau**-0.5 : 1", {
        tau: "10 ms",
        sigma: "0.5",
      }, 2e-5],
      [
        "euler",
        "dv/dt = (I - v)/tau : 1\nI = rand() + 0.1*randn() : 1 (constant over dt)",
        { tau: "10 ms" },
        1e-5,
      ],
    ];
    for (const [method, eq, ns, tol] of cases) {
      await t.step(
        `${method}: ${
          eq.split("\n").join("; ")
        } — max |v_gpu - v_cpu_f32| < ${tol}`,
        async () => {
          const m = new NeuronModel(eq, { method, namespace: ns });
          assert.equal(m.method, method);
          const o = {
            dt: 0.1e-3,
            steps: 2000,
            nNeurons: 5,
            init: { v: [0.1, 0.3, 0.5, 0.7, 0.9] },
            seed: 7,
          };
          const g = await simulate(m, { ...o, device: "webgpu" });
          const c = await simulate(m, { ...o, precision: "f32", threads: 1 });
          for (let i = 0; i < 5; i++) {
            const d = maxAbsDiff(g.traces.v[i], c.traces.v[i]);
            assert.ok(d < tol, `neuron ${i}: ${d}`);
          }
          if (eq.includes("xi") || eq.includes("rand")) {
            // the noise is really there and differs between neurons and seeds
            const g2 = await simulate(m, { ...o, seed: 8, device: "webgpu" });
            assert.ok(
              maxAbsDiff(g.traces.v[0], g2.traces.v[0]) > 1e-3,
              "another seed gives another path",
            );
          }
        },
      );
    }
  },
});

Deno.test({
  name: "WgslRenderer: the function table evaluates like the CPU kernel",
  ignore,
  fn: async () => {
    const F: Record<string, string> = {
      f_exp: "exp(v)",
      f_expm1: "expm1(v/1000)",
      f_log: "log(abs(v))",
      f_log10: "log10(abs(v))",
      f_log1p: "log1p(v/1000)",
      f_sqrt: "sqrt(abs(v))",
      f_abs: "abs(v)",
      f_sin: "sin(v)",
      f_cos: "cos(v)",
      f_tan: "tan(v/3)",
      f_sinh: "sinh(v)",
      f_cosh: "cosh(v)",
      f_tanh: "tanh(v)",
      f_asin: "arcsin(v/4)",
      f_acos: "arccos(v/4)",
      f_atan: "arctan(v)",
      f_floor: "floor(v)",
      f_ceil: "ceil(v)",
      f_sign: "sign(v)",
      f_clip: "clip(v, -1, 1)",
      f_int: "int(v)",
      f_mod: "v % 0.7",
      f_fdiv: "v // 0.3",
      f_pow2: "v**2",
      f_pow3: "v**3",
      f_powm1: "v**-1",
      f_powh: "abs(v)**0.5",
      f_powf: "abs(v)**1.7",
      f_pown: "v**5",
      f_bool: "int(v > 0.5 and v < 2 or not v > -1)",
      f_i: "i*1.0",
      f_N: "N*1.0",
    };
    // lavapipe's asin/acos/atan are only good to ~1e-4 relative; everything else to ~1e-6
    const loose = new Set(["f_asin", "f_acos", "f_atan"]);
    const eq = "dv/dt = 0/second : 1\n" +
      Object.entries(F).map(([k, e]) => `${k} = ${e} : 1`).join("\n");
    const m = new NeuronModel(eq, { method: "euler" });
    const v = Array.from({ length: 13 }, (_, i) => -3 + i * 0.5 + 0.01);
    const o = { dt: 0.1e-3, steps: 1, init: { v }, record: Object.keys(F) };
    const g = await simulate(m, { ...o, device: "webgpu" });
    const c = await simulate(m, o);
    for (const k of Object.keys(F)) {
      for (let i = 0; i < v.length; i++) {
        const a = g.traces[k][i][0];
        const b = c.traces[k][i][0];
        const rel = Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);
        assert.ok(
          rel < (loose.has(k) ? 1e-3 : 1e-5),
          `${k}(${v[i]}): gpu ${a}, cpu ${b}`,
        );
      }
    }
  },
});

Deno.test({
  name:
    "webgpuBackend: chunks, dispatch splitting and recordEvery give the same result",
  ignore,
  fn: async (t) => {
    const input = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
    const opts = {
      dt: 0.01e-3,
      input: { I: input },
      params: {
        gl: [10e-9, 11e-9, 9e-9, 10e-9, 12e-9],
        g_na: 20e-6,
        g_kd: 6e-6,
      },
      init: { v: "-65 mV" },
      record: ["v", "m"],
      device: "webgpu" as const,
    };
    const model = hhTutorial();
    const one = await simulate(model, { ...opts, steps: 1497 });
    await t.step(
      "chunks of 100 steps and dispatches of 64 steps equal one chunk",
      async () => {
        const saved = { ...dispatchLimits };
        dispatchLimits.maxSteps = 64;
        dispatchLimits.stageBytes = 4096; // several host waits per chunk
        try {
          const many = await simulate(model, {
            ...opts,
            steps: 1497,
            chunkSteps: 100,
          });
          for (let i = 0; i < 5; i++) {
            assert.deepEqual(many.traces.v[i], one.traces.v[i]);
            assert.deepEqual(many.traces.m[i], one.traces.m[i]);
          }
        } finally {
          Object.assign(dispatchLimits, saved);
        }
      },
    );
    await t.step(
      "recordEvery 7 keeps samples 0, 7, 14, ... (absolute steps)",
      async () => {
        const sub = await simulate(model, {
          ...opts,
          steps: 1497,
          recordEvery: 7,
          chunkSteps: 300,
        });
        assert.equal(sub.traces.v[0].length, Math.floor(1496 / 7) + 1);
        for (let i = 0; i < 5; i++) {
          for (let j = 0; j < sub.traces.v[i].length; j++) {
            assert.equal(sub.traces.v[i][j], one.traces.v[i][7 * j]);
          }
        }
        assert.equal(sub.t[1], 7 * 0.01e-3);
      },
    );
    await t.step(
      "readState returns the state after the last step",
      async () => {
        const r = await Runner.create(model, { ...opts, record: ["v"] });
        await r.step(1000);
        const c = await r.step(1);
        const s = await r.state();
        r.dispose();
        assert.equal(Math.fround(s.v[3]), one.traces.v[3][1001]);
        assert.equal(c.vars.v[3], one.traces.v[3][1000]);
        assert.deepEqual(Array.from(s.lastspike), [
          -1e4,
          -1e4,
          -1e4,
          -1e4,
          -1e4,
        ]);
      },
    );
  },
});

Deno.test({
  name:
    "webgpuBackend: spike ring buffers report overflow instead of dropping spikes silently",
  ignore,
  fn: async (t) => {
    const model = lif();
    const I = [
      new Float64Array(1000).fill(0.5e-9),
      new Float64Array(1000).fill(0.3e-9),
      new Float64Array(1000),
    ];
    const spec = {
      program: model.program,
      nNeurons: 3,
      dt: 0.1e-3,
      seed: 0,
      precision: "f32" as const,
      params: {},
      inputs: {
        I: {
          data: Float64Array.from(I.flatMap((r) => Array.from(r))),
          rows: 3,
          length: 1000,
        },
      },
      init: { v: new Float64Array(3).fill(-0.07) },
      record: [],
      recordEvery: 1,
    };
    const ref = await simulate(model, {
      dt: 0.1e-3,
      steps: 1000,
      input: { I },
      init: { v: "-70 mV" },
      device: "webgpu",
    });
    assert.equal(ref.spikeSteps[0].length, 11); // 0.5 nA: every 9 ms
    assert.equal(ref.spikeSteps[1].length, 7);
    await t.step(
      "capacity 8: neuron 0 (11 spikes) overflows and keeps its last 8; neuron 1 is complete",
      async () => {
        const k = await webgpuBackend.compile({ ...spec, spikeCapacity: 8 });
        const c = await k.run(1000);
        k.dispose();
        assert.deepEqual(Array.from(c.spikeOverflow), [0]);
        const of = (n: number) =>
          Array.from(c.spikeStep.filter((_, j) => c.spikeNeuron[j] === n));
        assert.deepEqual(of(0), Array.from(ref.spikeSteps[0].slice(-8)));
        assert.deepEqual(of(1), Array.from(ref.spikeSteps[1]));
        assert.deepEqual(of(2), []);
        for (let j = 1; j < c.spikeStep.length; j++) {
          assert.ok(c.spikeStep[j] >= c.spikeStep[j - 1], "ordered by step");
        }
      },
    );
    await t.step(
      "the capacity holds per run(): 4 runs of 250 steps lose nothing with capacity 8",
      async () => {
        const k = await webgpuBackend.compile({ ...spec, spikeCapacity: 8 });
        const got: number[] = [];
        for (let r = 0; r < 4; r++) {
          const c = await k.run(250);
          assert.equal(c.spikeOverflow.length, 0);
          c.spikeStep.forEach((s, j) => c.spikeNeuron[j] === 0 && got.push(s));
        }
        k.dispose();
        assert.deepEqual(got, Array.from(ref.spikeSteps[0]));
      },
    );
    await t.step(
      "many spikes: the pair buffer grows (every neuron fires every step)",
      async () => {
        const m = new NeuronModel("dv/dt = 1/ms : 1", {
          threshold: "v > 0",
          reset: "v = 0",
        });
        const n = 3000;
        const r = await simulate(m, {
          dt: 0.1e-3,
          steps: 40,
          nNeurons: n,
          init: { v: 1 },
          device: "webgpu",
        });
        for (const s of [0, 1234, n - 1]) {
          assert.deepEqual(
            Array.from(r.spikeSteps[s]),
            Array.from({ length: 40 }, (_, k) => k),
          );
        }
      },
    );
    await t.step(
      "the automatic capacity grows with the run length (max(64, steps / 10))",
      async () => {
        const m = new NeuronModel("dv/dt = 1/(2*ms) : 1", {
          threshold: "v > 1",
          reset: "v = 0",
        });
        const o = {
          dt: 0.1e-3,
          steps: 4000,
          chunkSteps: 4000,
          nNeurons: 3,
          init: { v: 0 },
        };
        const g = await simulate(m, { ...o, device: "webgpu" });
        const c = await simulate(m, o);
        assert.ok(
          g.spikeSteps[0].length > 150,
          `${g.spikeSteps[0].length} spikes`,
        );
        assert.deepEqual(g.spikeSteps, c.spikeSteps);
      },
    );
    await t.step("simulate() throws a RangeError on overflow", async () => {
      const m = new NeuronModel("dv/dt = 1/ms : 1", {
        threshold: "v > 0",
        reset: "v = 0",
      });
      await assert.rejects(
        simulate(m, {
          dt: 0.1e-3,
          steps: 100,
          init: { v: 1 },
          device: "webgpu",
        }),
        (e: Error) => e instanceof RangeError && /overflow/.test(e.message),
      );
    });
  },
});

Deno.test({
  name: "webgpuBackend: online squared-error accumulation",
  ignore,
  fn: async (t) => {
    const input = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
    const out = readPandasCsv(new URL("output_traces_hh.csv", TUTORIAL_DATA))
      .map((r) => r.map((x) => x * 1e-3));
    const weights = Float64Array.from(
      { length: 1497 },
      (_, k) => 0.5 + ((k * 7919) % 13) / 13,
    );
    for (const w of [undefined, weights]) {
      const label = w ? "weighted" : "unweighted";
      const o = {
        dt: 0.01e-3,
        input: { I: input },
        targets: { v: out },
        params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
        init: { v: "-65 mV" },
        record: ["v"],
        accumulate: { variable: "v", startStep: 500, weights: w },
      };
      const saved = { ...dispatchLimits };
      dispatchLimits.maxAccumulateSteps = 300; // several partial sums per chunk
      const g = await Runner.create(hhTutorial(), { ...o, device: "webgpu" });
      const c = await Runner.create(hhTutorial(), {
        ...o,
        precision: "f32",
        threads: 1,
      });
      const v: number[][] = Array.from({ length: 5 }, () => []);
      for (const s of [400, 600, 497]) {
        const ch = await g.step(s);
        await c.step(s);
        for (let i = 0; i < 5; i++) {
          v[i].push(
            ...ch.vars.v.subarray(i * ch.samples, (i + 1) * ch.samples),
          );
        }
      }
      const ga = await g.accumulator();
      const ca = await c.accumulator();
      g.dispose();
      c.dispose();
      Object.assign(dispatchLimits, saved);
      await t.step(
        `${label}: sums equal the f64 sum over the recorded GPU trace within 1e-5 relative`,
        () => {
          for (let i = 0; i < 5; i++) {
            let ref = 0;
            for (let k = 500; k < 1497; k++) {
              const d = v[i][k] - Math.fround(out[i][k]);
              ref += (w ? Math.fround(w[k]) : 1) * d * d;
            }
            const rel = Math.abs(ga.sum[i] - ref) / ref;
            assert.ok(rel < 1e-5, `trace ${i}: relative difference ${rel}`);
            assert.equal(ga.count[i], 997);
          }
        },
      );
      await t.step(
        `${label}: sums within 2e-3 relative of the CPU kernel in f32 (trajectories differ by rounding)`,
        () => {
          for (let i = 0; i < 5; i++) {
            const rel = Math.abs(ga.sum[i] - ca.sum[i]) / ca.sum[i];
            assert.ok(rel < 2e-3, `trace ${i}: relative difference ${rel}`);
            assert.equal(ga.count[i], ca.count[i]);
          }
        },
      );
    }
  },
});

Deno.test({
  name:
    "WebGPU: HH rate functions stay finite and accurate at their removable singularities (float32)",
  ignore,
  fn: async () => {
    // alpha_m, beta_m and alpha_n of the tutorial HH are x/(exp(x/c) - 1),
    // singular at v = -50, -23 and -48 mV; in float32 exp(x) - 1 is exactly
    // 0 there (0/0 = NaN without the rewrite) and loses digits near them.
    const centers = [-50e-3, -23e-3, -48e-3];
    const v: number[] = [];
    for (const c of centers) {
      let x = Math.fround(c);
      for (let j = 0; j < 200; j++) x = nextDown(x);
      for (let j = 0; j < 400; j++) {
        v.push(x);
        x = nextUp(x);
      }
    }
    const model = hhTutorial();
    const o = {
      dt: 0.01e-3,
      input: { I: [new Float64Array(2)] },
      params: { g_na: 20e-6, g_kd: 6e-6, gl: 10e-9 },
      init: { v, m: 0.05, n: 0.3, h: 0.6 },
      record: ["m", "n"],
    };
    // recorded before each update: sample 1 is the state after one step
    const g = await simulate(model, { ...o, device: "webgpu", steps: 2 });
    for (const k of ["m", "n"]) {
      for (let i = 0; i < v.length; i++) {
        const a = g.traces[k][i][1];
        assert.ok(Number.isFinite(a), `${k} at v = ${v[i]} V: ${a}`);
      }
    }
    // accuracy against the float64 CPU kernel after one step
    const c2 = await simulate(model, { ...o, steps: 2 });
    let worst = 0;
    for (const k of ["m", "n"]) {
      for (let i = 0; i < v.length; i++) {
        worst = Math.max(
          worst,
          Math.abs(g.traces[k][i][1] - c2.traces[k][i][1]),
        );
      }
    }
    assert.ok(worst < 1e-6, `max |Δ| of m, n after one step: ${worst}`);
  },
});

function nextUp(x: number): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  u[0] += x >= 0 ? 1 : -1;
  return f[0];
}

function nextDown(x: number): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  u[0] += x >= 0 ? -1 : 1;
  return f[0];
}
