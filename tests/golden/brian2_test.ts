// Golden tests: neurofit's float64 CPU simulator against Brian 2.5.1's numpy
// output (tests/fixtures/brian2, settings in its README).
import assert from "node:assert/strict";
import { simulate } from "../../lib/simulation/simulate.ts";
import {
  readPandasCsv,
  readRefCsv,
  readSpikeSteps,
  stepCurrents,
  TUTORIAL_DATA,
} from "../_ref.ts";
import { adex, expif, hhSynthetic, hhTutorial, lif } from "./_models.ts";

function maxAbsDiff(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale = 1,
): number {
  assert.equal(a.length, b.length, "length");
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i] * scale));
  }
  return m;
}

Deno.test("simulate() matches Brian 2: tutorial HH, exponential Euler", async (t) => {
  const input = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
  const model = hhTutorial();
  const r = await simulate(model, {
    dt: 0.01e-3,
    steps: 1497,
    input: { I: input },
    params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
    init: { v: "-65 mV" },
    record: ["v", "m", "n", "h"],
  });
  for (
    const [v, unit, tol] of [
      ["v", 1e-3, 1e-9],
      ["m", 1, 1e-9],
      ["n", 1, 1e-9],
      ["h", 1, 1e-9],
    ] as const
  ) {
    await t.step(`${v} within ${tol} at every sample of the 5 traces`, () => {
      const ref = readRefCsv(`brian2/hh_tutorial_${v}.csv.gz`);
      for (let i = 0; i < 5; i++) {
        const d = maxAbsDiff(r.traces[v][i], ref.cols[i + 1], unit);
        assert.ok(d < tol, `${v} trace ${i}: max |diff| = ${d}`);
      }
    });
  }
});

Deno.test("simulate() matches Brian 2: LIF exact and euler", async (t) => {
  for (
    const [file, method, expectMethod] of [
      ["lif_default", undefined, "exact"],
      ["lif_euler", "euler", "euler"],
    ] as const
  ) {
    await t.step(
      `${file}: same spike steps, v within 1e-9 V, method ${expectMethod}`,
      async () => {
        const model = lif(method);
        assert.equal(model.method, expectMethod);
        const I = stepCurrents([0.15e-9, 0.3e-9, 0.5e-9], 1000, 100, 900);
        const r = await simulate(model, {
          dt: 0.1e-3,
          duration: 0.1,
          input: { I },
          init: { v: "-70 mV" },
        });
        const ref = readRefCsv(`brian2/${file}_v.csv.gz`);
        const spikes = readSpikeSteps(`brian2/${file}_spikes.csv`, 3);
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(
            Array.from(r.spikeSteps[i]),
            spikes[i],
            `trace ${i} spikes`,
          );
          const d = maxAbsDiff(r.traces.v[i], ref.cols[i + 1], 1e-3);
          assert.ok(d < 1e-9, `trace ${i}: max |dv| = ${d} V`);
        }
      },
    );
  }
});

Deno.test("simulate() matches Brian 2: AdEx euler, exponential_euler, rk4", async (t) => {
  for (
    const [file, method] of [["adex_default", undefined], [
      "adex_exponential_euler",
      "exponential_euler",
    ], ["adex_rk4", "rk4"]] as const
  ) {
    await t.step(`${file}: same spike steps, v within 1e-6 V`, async () => {
      const model = adex(method);
      if (!method) {
        assert.equal(
          model.method,
          "euler",
          "Brian's default choice for the AdEx is euler",
        );
      }
      const I = stepCurrents([0.5e-9, 1e-9], 5000, 200, 4200);
      const r = await simulate(model, {
        dt: 0.1e-3,
        duration: 0.5,
        input: { I },
        init: { v: "-70.6 mV" },
        record: ["v", "w"],
      });
      const ref = readRefCsv(`brian2/${file}_v.csv.gz`);
      const spikes = readSpikeSteps(`brian2/${file}_spikes.csv`, 2);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(
          Array.from(r.spikeSteps[i]),
          spikes[i],
          `trace ${i} spikes`,
        );
        const d = maxAbsDiff(r.traces.v[i], ref.cols[i + 1], 1e-3);
        assert.ok(d < 1e-6, `trace ${i}: max |dv| = ${d} V`);
      }
    });
  }
});

Deno.test("simulate() matches Brian 2: exp-IF SpikeFitter cases", async (t) => {
  await t.step(
    "test fixture (dt 0.01 ms, 5 nA): same spike steps",
    async () => {
      const I = [new Float64Array(499 + 2495 + 2495)];
      I[0].fill(5e-9, 499, 499 + 2495);
      const r = await simulate(expif(), {
        dt: 0.01e-3,
        duration: 0.06,
        input: { I },
        init: { v: "-70 mV" },
      });
      assert.deepEqual(
        [Array.from(r.spikeSteps[0])],
        readSpikeSteps("brian2/expif_spikefitter_test_spikes.csv", 1),
      );
    },
  );
  await t.step(
    "example (dt 0.1 ms, 2.5 and 5 nA): same spike steps",
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
});

Deno.test("simulate() matches Brian 2: synthetic HH with boolean refractoriness", async (t) => {
  await t.step("the same 33 spike steps over 1000 ms", async () => {
    const model = hhSynthetic();
    const r = await simulate(model, {
      dt: 0.1e-3,
      duration: 1,
      init: {
        Vm: "-70 mV",
        m: "1/(1 + beta_m/alpha_m)",
        h: "1/(1 + beta_h/alpha_h)",
        n: "1/(1 + beta_n/alpha_n)",
      },
      record: ["Vm"],
    });
    const ref = readSpikeSteps("brian2/hh_synthetic_spikes.csv", 1);
    assert.equal(ref[0].length, 33);
    assert.deepEqual(Array.from(r.spikeSteps[0]), ref[0]);
    const v = readRefCsv("brian2/hh_synthetic.csv.gz");
    const d = maxAbsDiff(r.traces.Vm[0], v.cols[2], 1e-3);
    assert.ok(d < 1e-6, `max |dVm| = ${d} V`);
  });
});
