// Parity of the WebGPU backend (f32) with Brian 2 (tests/fixtures/brian2)
// and with the CPU backend in f32 and f64, on the golden models.
import assert from "node:assert/strict";
import "../../gpu/mod.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import {
  readPandasCsv,
  readRefCsv,
  readSpikeSteps,
  stepCurrents,
  TUTORIAL_DATA,
} from "../_ref.ts";
import {
  adex,
  expif,
  hhSynthetic,
  hhTutorial,
  lif,
} from "../golden/_models.ts";
import { hasAdapter, maxAbsDiff } from "./_gpu.ts";

const ignore = !hasAdapter;

Deno.test({
  name:
    "webgpuBackend: tutorial HH (exponential Euler) vs Brian 2 and the CPU backend",
  ignore,
  fn: async (t) => {
    const input = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
    const opts = {
      dt: 0.01e-3,
      steps: 1497,
      input: { I: input },
      params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
      init: { v: "-65 mV" },
      record: ["v", "m", "n", "h"],
    };
    const model = hhTutorial();
    const g = await simulate(model, { ...opts, device: "webgpu" });
    assert.equal(g.device, "webgpu");
    const c32 = await simulate(model, {
      ...opts,
      precision: "f32",
      threads: 1,
    });
    const ref = readRefCsv("brian2/hh_tutorial_v.csv.gz");
    await t.step(
      "v within 0.05 mV of the CPU backend in f32 at every sample (5 traces)",
      () => {
        for (let i = 0; i < 5; i++) {
          const d = maxAbsDiff(g.traces.v[i], c32.traces.v[i]);
          assert.ok(
            d < 0.05e-3,
            `trace ${i}: max |v_gpu - v_cpu_f32| = ${d * 1e3} mV`,
          );
        }
      },
    );
    await t.step("v within 0.5 mV of Brian 2 (f64) at every sample", () => {
      for (let i = 0; i < 5; i++) {
        const d = maxAbsDiff(g.traces.v[i], ref.cols[i + 1], 1e-3);
        assert.ok(
          d < 0.5e-3,
          `trace ${i}: max |v_gpu - v_brian| = ${d * 1e3} mV`,
        );
      }
    });
    await t.step("gates m, n, h within 1e-3 of Brian 2", () => {
      for (const x of ["m", "n", "h"]) {
        const r = readRefCsv(`brian2/hh_tutorial_${x}.csv.gz`);
        for (let i = 0; i < 5; i++) {
          const d = maxAbsDiff(g.traces[x][i], r.cols[i + 1]);
          assert.ok(d < 1e-3, `${x} trace ${i}: max diff ${d}`);
        }
      }
    });
  },
});

Deno.test({
  name: "webgpuBackend: LIF (exact, euler) with refractoriness vs Brian 2",
  ignore,
  fn: async (t) => {
    for (
      const [file, method] of [["lif_default", undefined], [
        "lif_euler",
        "euler",
      ]] as const
    ) {
      await t.step(
        `${file}: identical spike steps, v within 0.5 mV`,
        async () => {
          const I = stepCurrents([0.15e-9, 0.3e-9, 0.5e-9], 1000, 100, 900);
          const r = await simulate(lif(method), {
            dt: 0.1e-3,
            duration: 0.1,
            input: { I },
            init: { v: "-70 mV" },
            device: "webgpu",
          });
          const ref = readRefCsv(`brian2/${file}_v.csv.gz`);
          const spikes = readSpikeSteps(
            `brian2/${file}_spikes.csv`,
            3,
          );
          for (let i = 0; i < 3; i++) {
            assert.deepEqual(
              Array.from(r.spikeSteps[i]),
              spikes[i],
              `trace ${i} spikes`,
            );
            const d = maxAbsDiff(r.traces.v[i], ref.cols[i + 1], 1e-3);
            assert.ok(d < 0.5e-3, `trace ${i}: max |dv| = ${d * 1e3} mV`);
          }
        },
      );
    }
  },
});

Deno.test({
  name: "webgpuBackend: AdEx (euler, exponential_euler, rk4) vs Brian 2",
  ignore,
  fn: async (t) => {
    for (
      const [file, method] of [["adex_default", undefined], [
        "adex_exponential_euler",
        "exponential_euler",
      ], ["adex_rk4", "rk4"]] as const
    ) {
      await t.step(
        `${file}: identical spike steps, sub-threshold v within 0.5 mV`,
        async () => {
          const I = stepCurrents([0.5e-9, 1e-9], 5000, 200, 4200);
          const r = await simulate(adex(method), {
            dt: 0.1e-3,
            duration: 0.5,
            input: { I },
            init: { v: "-70.6 mV" },
            record: ["v", "w"],
            device: "webgpu",
          });
          const ref = readRefCsv(`brian2/${file}_v.csv.gz`);
          const spikes = readSpikeSteps(
            `brian2/${file}_spikes.csv`,
            2,
          );
          assert.equal(spikes[1].length, 14);
          for (let i = 0; i < 2; i++) {
            assert.deepEqual(
              Array.from(r.spikeSteps[i]),
              spikes[i],
              `trace ${i} spikes`,
            );
            const col = ref.cols[i + 1];
            const d = maxAbsDiff(r.traces.v[i], col, 1e-3, (k) => col[k] < -50);
            assert.ok(
              d < 0.5e-3,
              `trace ${i}: max sub-threshold |dv| = ${d * 1e3} mV`,
            );
          }
        },
      );
    }
  },
});

Deno.test({
  name: "webgpuBackend: exp-IF SpikeFitter case and synthetic HH vs Brian 2",
  ignore,
  fn: async (t) => {
    await t.step(
      "exp-IF (exponential Euler, dt 0.1 ms): identical spike steps",
      async () => {
        const I = [2.5e-9, 5e-9].map((a) => {
          const r = new Float64Array(600);
          r.fill(a, 50, 300);
          return r;
        });
        const r = await simulate(expif(), {
          dt: 0.1e-3,
          duration: 0.06,
          input: { I },
          init: { v: "-70 mV" },
          device: "webgpu",
        });
        assert.deepEqual(
          r.spikeSteps.map((s) => Array.from(s)),
          readSpikeSteps(
            "brian2/expif_spikefitter_example_spikes.csv",
            2,
          ),
        );
      },
    );
    await t.step(
      "synthetic HH (t-dependent input, boolean refractoriness): 33 spikes within ±2 steps, sub-threshold Vm within 0.5 mV",
      async () => {
        const r = await simulate(hhSynthetic(), {
          dt: 0.1e-3,
          duration: 1,
          init: {
            Vm: "-70 mV",
            m: "1/(1 + beta_m/alpha_m)",
            h: "1/(1 + beta_h/alpha_h)",
            n: "1/(1 + beta_n/alpha_n)",
          },
          record: ["Vm"],
          device: "webgpu",
        });
        const ref = readSpikeSteps("brian2/hh_synthetic_spikes.csv", 1)[0];
        const got = Array.from(r.spikeSteps[0]);
        assert.equal(got.length, ref.length);
        for (let j = 0; j < ref.length; j++) {
          assert.ok(
            Math.abs(got[j] - ref[j]) <= 2,
            `spike ${j}: step ${got[j]} vs ${ref[j]}`,
          );
        }
        const v = readRefCsv("brian2/hh_synthetic.csv.gz").cols[2];
        const d = maxAbsDiff(r.traces.Vm[0], v, 1e-3, (k) => v[k] < -50);
        assert.ok(d < 0.5e-3, `max sub-threshold |dVm| = ${d * 1e3} mV`);
      },
    );
  },
});
