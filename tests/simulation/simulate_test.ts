import assert from "node:assert/strict";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { Runner } from "../../lib/simulation/runner.ts";
import { readPandasCsv, TUTORIAL_DATA } from "../_ref.ts";
import { hhTutorial } from "../golden/_models.ts";

Deno.test("simulate()", async (t) => {
  await t.step(
    "two worker threads give bit-identical results to one thread",
    async () => {
      const input = readPandasCsv(
        new URL("input_traces_hh.csv", TUTORIAL_DATA),
      );
      const n = 50;
      const gl = Float64Array.from({ length: n }, (_, i) => 5e-9 + i * 2e-10);
      const opts = {
        dt: 1e-5,
        steps: 1497,
        nNeurons: n,
        input: { I: input.slice(0, 5) },
        params: { gl, g_na: 20e-6, g_kd: 6e-6 },
        init: { v: "-65 mV" },
        record: ["v"],
      };
      const one = await simulate(hhTutorial(), {
        ...opts,
        threads: 1,
        engine: "js",
      });
      const two = await simulate(hhTutorial(), { ...opts, threads: 2 });
      for (let i = 0; i < n; i++) {
        assert.deepEqual(two.traces.v[i], one.traces.v[i]);
        assert.deepEqual(two.spikeSteps[i], one.spikeSteps[i]);
      }
    },
  );
  await t.step(
    "f32 precision stays within 0.5 mV of f64 on the tutorial HH sub-threshold trace",
    async () => {
      const input = readPandasCsv(
        new URL("input_traces_hh.csv", TUTORIAL_DATA),
      );
      const opts = {
        dt: 1e-5,
        steps: 1497,
        input: { I: [input[4]] },
        params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
        init: { v: "-65 mV" },
      };
      const a = await simulate(hhTutorial(), opts);
      const b = await simulate(hhTutorial(), { ...opts, precision: "f32" });
      let m = 0;
      for (let k = 0; k < 1497; k++) {
        m = Math.max(m, Math.abs(a.traces.v[0][k] - b.traces.v[0][k]));
      }
      assert.ok(m < 5e-4, `max |dv| = ${m}`);
    },
  );
  await t.step("recordEvery and subexpressions", async () => {
    const m = new NeuronModel("dv/dt = (El - v)/tau : volt\nu = 2*v : volt", {
      namespace: { El: "-70 mV", tau: "10 ms" },
    });
    const r = await simulate(m, {
      dt: 1e-4,
      steps: 100,
      recordEvery: 10,
      record: ["v", "u"],
      init: { v: 0 },
      chunkSteps: 7,
    });
    assert.equal(r.traces.v[0].length, 10);
    for (let j = 0; j < 10; j++) {
      const exact = -0.07 + 0.07 * Math.exp(-(j * 10 * 1e-4) / 0.01);
      assert.ok(Math.abs(r.traces.v[0][j] - exact) < 1e-12, `sample ${j}`);
      assert.equal(r.traces.u[0][j], 2 * r.traces.v[0][j]);
      assert.ok(Math.abs(r.t[j] - j * 1e-3) < 1e-15);
    }
  });
  await t.step(
    "rk2 and rk4 converge to the analytic solution with the expected order",
    async () => {
      const eqs = "dv/dt = -v/tau + sin(2*pi_*t/T)*mV/ms : volt";
      const ns = { tau: "10 ms", T: "5 ms", pi_: Math.PI };
      const errAt = async (method: string, dt: number) => {
        const m = new NeuronModel(eqs, { namespace: ns, method: method });
        const r = await simulate(m, { dt, duration: 0.02, init: { v: 0 } });
        const ref = await simulate(
          new NeuronModel(eqs, { namespace: ns, method: "rk4" }),
          { dt: dt / 64, duration: 0.02, init: { v: 0 }, recordEvery: 64 },
        );
        let e = 0;
        for (let k = 0; k < r.traces.v[0].length; k++) {
          e = Math.max(e, Math.abs(r.traces.v[0][k] - ref.traces.v[0][k]));
        }
        return e;
      };
      const r2 = (await errAt("rk2", 2e-4)) / (await errAt("rk2", 1e-4));
      const r4 = (await errAt("rk4", 2e-4)) / (await errAt("rk4", 1e-4));
      assert.ok(r2 > 3.5 && r2 < 4.5, `rk2 error ratio ${r2}`);
      assert.ok(r4 > 12 && r4 < 20, `rk4 error ratio ${r4}`);
    },
  );
  await t.step(
    "noise: seeded, reproducible, and an OU process has the right stationary variance",
    async () => {
      const m = new NeuronModel(
        "dv/dt = -v/tau + sigma*sqrt(2/tau)*xi : volt",
        { namespace: { tau: "10 ms", sigma: "2 mV" } },
      );
      assert.equal(m.method, "euler");
      const opts = {
        dt: 1e-4,
        steps: 2000,
        nNeurons: 2000,
        init: { v: 0 },
        seed: 3,
        recordEvery: 100,
      };
      const a = await simulate(m, opts);
      const b = await simulate(m, opts);
      assert.deepEqual(a.traces.v[7], b.traces.v[7]);
      const r = await Runner.create(m, opts);
      await r.step(2000);
      const v = (await r.state()).v;
      r.dispose();
      let s2 = 0;
      for (const x of v) s2 += x * x;
      const sd = Math.sqrt(s2 / v.length);
      assert.ok(Math.abs(sd - 2e-3) < 0.15e-3, `stationary sd ${sd}`);
      const c = await simulate(m, { ...opts, seed: 4 });
      assert.notDeepEqual(c.traces.v[7], a.traces.v[7]);
    },
  );
  await t.step(
    "heun and milstein integrate multiplicative noise (geometric Brownian motion mean)",
    async () => {
      for (const method of ["heun", "milstein"]) {
        const m = new NeuronModel("dv/dt = mu*v + s*v*xi*sqrt(ms)/ms : volt", {
          namespace: { mu: "10 Hz", s: 0.5 },
          method,
        });
        const r = await Runner.create(m, {
          dt: 1e-4,
          nNeurons: 4000,
          init: { v: "1 mV" },
          seed: 1,
          record: [],
        });
        await r.step(1000);
        const v = (await r.state()).v;
        r.dispose();
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        assert.ok(Number.isFinite(mean) && mean > 0, `${method} mean ${mean}`);
      }
    },
  );
  await t.step(
    "params and init accept strings with units, per-neuron arrays and expressions",
    async () => {
      const m = new NeuronModel("dv/dt = (El - v)/tau : volt\ntau : second", {
        namespace: { El: "-70 mV" },
      });
      const r = await simulate(m, {
        dt: 1e-4,
        steps: 1,
        nNeurons: 3,
        params: { tau: "10 ms" },
        init: { v: "El + i*mV" },
      });
      assert.deepEqual(r.traces.v.map((x) => x[0]), [-0.07, -0.069, -0.068]);
      await assert.rejects(
        () => simulate(m, { dt: 1e-4, steps: 1, params: { tau: "10 mV" } }),
        /tau.*has dimension volt, expected second/,
      );
      await assert.rejects(
        () => simulate(m, { dt: 1e-4, steps: 1 }),
        /parameter 'tau' has no value/,
      );
      await assert.rejects(
        () =>
          simulate(m, { dt: 1e-4, steps: 1, params: { tau: 0.01, taux: 1 } }),
        /'taux' is not a parameter.*did you mean 'tau'/,
      );
      await assert.rejects(
        () => simulate(m, { dt: -1, steps: 1, params: { tau: 0.01 } }),
        /dt must be a positive number/,
      );
    },
  );
});

Deno.test("simulate() engines", async (t) => {
  const input = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
  const opts = {
    dt: 1e-5,
    steps: 1497,
    nNeurons: 7,
    input: { I: [input[0]] },
    params: {
      gl: 10e-9,
      g_na: Float64Array.from({ length: 7 }, (_, i) => (16 + i) * 1e-6),
      g_kd: 6e-6,
    },
    init: { v: "-65 mV" },
    record: ["v", "m"],
  };
  await t.step(
    "the SIMD wasm kernel (f64x2) equals the JS kernel within 1e-9 V, same spikes, odd batch size",
    async () => {
      const js = await simulate(
        hhTutorial({ threshold: "v > -20*mV", refractory: "v > -20*mV" }),
        { ...opts, engine: "js" },
      );
      const wa = await simulate(
        hhTutorial({ threshold: "v > -20*mV", refractory: "v > -20*mV" }),
        { ...opts, engine: "wasm" },
      );
      for (let i = 0; i < 7; i++) {
        let m = 0;
        for (let k = 0; k < 1497; k++) {
          m = Math.max(m, Math.abs(js.traces.v[i][k] - wa.traces.v[i][k]));
        }
        assert.ok(m < 1e-9, `neuron ${i}: ${m}`);
        assert.deepEqual(wa.spikeSteps[i], js.spikeSteps[i]);
        assert.ok(js.spikeSteps[i].length > 0);
      }
    },
  );
  await t.step(
    "the f32x4 wasm kernel stays within 0.5 mV of f64 on the sub-threshold trace",
    async () => {
      const sub = {
        ...opts,
        nNeurons: 1,
        input: { I: [input[4]] },
        params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
      };
      const a = await simulate(hhTutorial(), { ...sub, engine: "js" });
      const b = await simulate(hhTutorial(), {
        ...sub,
        engine: "wasm",
        precision: "f32",
      });
      let m = 0;
      for (let k = 0; k < 1497; k++) {
        m = Math.max(m, Math.abs(a.traces.v[0][k] - b.traces.v[0][k]));
      }
      assert.ok(m < 5e-4, `max |dv| = ${m}`);
    },
  );
  await t.step(
    "models the wasm kernel does not support fall back to JS (auto) or fail clearly (wasm)",
    async () => {
      const m = new NeuronModel("dv/dt = -log(1 + v/mV)*mV/tau : volt", {
        namespace: { tau: "10 ms" },
      });
      const r = await simulate(m, { dt: 1e-4, steps: 3, init: { v: "1 mV" } });
      assert.ok(Number.isFinite(r.traces.v[0][2]));
      await assert.rejects(
        () =>
          simulate(m, {
            dt: 1e-4,
            steps: 3,
            init: { v: "1 mV" },
            engine: "wasm",
          }),
        /function log/,
      );
    },
  );
});

Deno.test("Runner", async (t) => {
  await t.step(
    "several inputs, <var>_target and online error accumulation equal a direct computation",
    async () => {
      const m = new NeuronModel(
        "dv/dt = (El - v + R*(I + I_syn))/tau + 0*(v_target - v)/tau : volt",
        {
          namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
          targets: ["v"],
        },
      );
      assert.deepEqual(m.inputs, ["I", "I_syn"]);
      const n = 200;
      const I = [
        new Float64Array(n).fill(0.2e-9),
        new Float64Array(n).fill(0.1e-9),
      ];
      const Isyn = [
        Float64Array.from({ length: n }, (_, k) => (k > 50 ? 0.1e-9 : 0)),
      ];
      const target = [
        Float64Array.from(
          { length: n },
          (_, k) => -0.07 + 0.01 * Math.sin(k / 20),
        ),
      ];
      for (const engine of ["js", "wasm"] as const) {
        const r = await Runner.create(m, {
          dt: 1e-4,
          nNeurons: 4,
          input: { I, I_syn: Isyn },
          targets: { v: target },
          init: { v: "-70 mV" },
          accumulate: { variable: "v", startStep: 20 },
          engine,
        });
        const c1 = await r.step(73);
        const c2 = await r.step(n - 73);
        const acc = await r.accumulator();
        r.dispose();
        for (let i = 0; i < 4; i++) {
          let s = 0;
          let cnt = 0;
          for (let k = 20; k < n; k++) {
            const v = k < 73
              ? c1.vars.v[i * 73 + k]
              : c2.vars.v[i * (n - 73) + (k - 73)];
            s += (v - target[0][k]) ** 2;
            cnt++;
          }
          assert.equal(acc.count[i], cnt);
          assert.ok(
            Math.abs(acc.sum[i] - s) <= 1e-12 * s,
            `${engine} neuron ${i}: ${acc.sum[i]} vs ${s}`,
          );
        }
        assert.notEqual(
          c1.vars.v[0 * 73 + 72],
          c1.vars.v[1 * 73 + 72],
          "neurons 0 and 1 read different I rows",
        );
      }
    },
  );
  await t.step(
    "constant over dt subexpressions with rand() are drawn once per step",
    async () => {
      const m = new NeuronModel(
        "dv/dt = (u*mV - v)/tau : volt\nu = rand() : 1 (constant over dt)",
        { namespace: { tau: "1 ms" } },
      );
      const r = await simulate(m, {
        dt: 1e-4,
        steps: 2000,
        nNeurons: 100,
        record: ["u"],
        seed: 5,
      });
      let s = 0;
      for (const row of r.traces.u) for (const x of row) s += x;
      const mean = s / (100 * 2000);
      assert.ok(Math.abs(mean - 0.5) < 0.01, `mean of rand() ${mean}`);
      const x = r.traces.u[0];
      assert.ok(x.every((y) => y > 0 && y < 1));
    },
  );
});
