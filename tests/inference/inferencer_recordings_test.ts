// Inferencer.create with ABF and NWB recordings (tests/fixtures/recordings):
// the observation is computed from the recorded sweeps (checked against the
// independent readers' values in reference.json), the recorded stimulus
// drives the simulations (checked through a model whose potential follows
// El + R*I one step later), and wrong files, channels, units or dt are
// reported.
import assert from "node:assert/strict";
import { Inferencer } from "../../lib/inference/inferencer.ts";
import { DimensionMismatchError } from "../../lib/units/dimension.ts";

const dir = new URL("../fixtures/recordings/", import.meta.url);
const ABF = new URL("abf/190619B_0003.abf", dir).pathname;
const NWB_CC = new URL("nwb/LantyerEtAl2018_180817_ME_9_CC.nwb", dir).pathname;
const NWB_VC = new URL("nwb/LantyerEtAl2018_170328_AB_277_ST50_C.nwb", dir)
  .pathname;
const abfRef = JSON.parse(
  Deno.readTextFileSync(new URL("abf/reference.json", dir)),
).files["190619B_0003.abf"];
const nwbRef = JSON.parse(
  Deno.readTextFileSync(new URL("nwb/reference.json", dir)),
).files["LantyerEtAl2018_180817_ME_9_CC.nwb"];

// tau = dt / 50: with exact integration v[k] = El + R*I[k-1] up to e^-50
const MODEL = "dv/dt = (El - v + R*I)/tau : volt\ntau : second (constant)";
const EL = -70e-3;
const R = 100e6;
const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

Deno.test("Inferencer.create from recordings", async (t) => {
  await t.step(
    "ABF1 episodic: sweeps 0 and 9, output IN 0, input the command; dt from the file",
    async () => {
      const inf = await Inferencer.create({
        model: MODEL,
        namespace: { El: "-70 mV", R: "100 Mohm" },
        method: "exact",
        input: { I: { path: ABF, sweeps: [0, 9] } },
        output: { v: { path: ABF, sweeps: [0, 9], channel: "IN 0" } },
        features: { v: [mean, (v) => v[15000]] },
        paramInit: { v: "-70 mV" },
      });
      assert.equal(inf.dt, 1 / abfRef.sampling_rate_hz);
      assert.equal(inf.nTraces, 2);
      assert.equal(inf.nSteps, abfRef.samples_per_sweep);
      // the observation: the mean of each sweep as neo read it (mV -> V),
      // float32 features (1e-6 relative)
      abfRef.sweeps.filter((s: { sweep: number }) => [0, 9].includes(s.sweep))
        .forEach((s: { channels: { mean: number }[] }, i: number) => {
          const want = s.channels[0].mean * 1e-3;
          assert.ok(
            rel(inf.xo[2 * i], want) < 1e-6,
            `${inf.xo[2 * i]} vs ${want}`,
          );
        });
      // the stimulus: the reference's command segment containing sample 15000
      const x = await inf.extractSummaryStatistics([[inf.dt / 50]]);
      const cmd = abfRef.command.dacs[0];
      [0, 9].forEach((sweep, i) => {
        const seg = cmd.sweeps.find((s: { sweep: number }) => s.sweep === sweep)
          .segments.find((g: number[]) => g[0] <= 14999 && 14999 < g[1]);
        const want = EL + R * seg[2] * cmd.to_si;
        assert.ok(
          Math.abs(x.data[2 * i + 1] - want) < 1e-7,
          `sweep ${sweep}: v[15000] ${x.data[2 * i + 1]} vs ${want}`,
        );
      });
      assert.ok(x.data[1] < EL - 0.01 && x.data[3] > EL + 0.03);
    },
  );

  await t.step(
    "NWB 2.2 current clamp by path: every CurrentClampSeries and its stimulus",
    async () => {
      const inf = await Inferencer.create({
        model: MODEL,
        namespace: { El: "-70 mV", R: "100 Mohm" },
        method: "exact",
        input: { I: NWB_CC },
        output: { v: NWB_CC },
        features: { v: [mean] },
        paramInit: { v: "-70 mV" },
      });
      const cc = nwbRef.series.filter((s: { neurodata_type: string }) =>
        s.neurodata_type === "CurrentClampSeries"
      );
      const stim = nwbRef.series.filter((s: { neurodata_type: string }) =>
        s.neurodata_type === "CurrentClampStimulusSeries"
      );
      assert.equal(inf.nTraces, cc.length);
      assert.equal(inf.nSteps, cc[0].shape[0]);
      assert.equal(inf.dt, 1 / cc[0].rate);
      cc.forEach((s: { mean: number }, i: number) => {
        assert.ok(rel(inf.xo[i], s.mean) < 1e-6, `${inf.xo[i]} vs ${s.mean}`);
      });
      // mean of v[k] = El + R*I[k-1] (v[0] = El): El + R*(n*mean(I) - I[n-1])/n;
      // the last current is ~1e-13 A, so R*I[n-1]/n < 1e-9 V
      const x = await inf.extractSummaryStatistics([[inf.dt / 50]]);
      stim.forEach((s: { mean: number; path: string }, i: number) => {
        const want = EL + R * s.mean;
        assert.ok(
          Math.abs(x.data[i] - want) < 1e-7,
          `${s.path}: ${x.data[i]} vs ${want}`,
        );
      });
    },
  );

  await t.step(
    "wrong dt, units, channels and sources are reported",
    async () => {
      const base = {
        model: MODEL,
        namespace: { El: "-70 mV", R: "100 Mohm" },
        features: { v: [mean] },
      };
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            dt: 1e-5,
            input: { I: { path: ABF, sweeps: [0] } },
            output: { v: { path: ABF, sweeps: [0] } },
          }),
        (e) =>
          e instanceof RangeError && /dt = 0.00001 s/.test(e.message) &&
          /every 0.0001 s/.test(e.message),
      );
      // a recorded potential as the current input
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: { path: ABF, sweeps: [0], channel: "IN 0" } },
            output: { v: { path: ABF, sweeps: [0] } },
          }),
        (e) =>
          e instanceof DimensionMismatchError && /input 'I'/.test(e.message) &&
          /in V/.test(e.message),
      );
      // voltage clamp: the responses are currents
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: NWB_CC },
            output: { v: NWB_VC },
          }),
        (e) =>
          e instanceof DimensionMismatchError && /output 'v'/.test(e.message) &&
          /in A/.test(e.message),
      );
      // files sampled at different rates (10 kHz ABF, 20 kHz NWB)
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: { path: ABF, sweeps: [0] } },
            output: { v: NWB_CC },
          }),
        (e) => e instanceof RangeError && /sampled every/.test(e.message),
      );
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: { path: ABF, sweeps: [0] } },
            output: { v: { path: ABF, sweeps: [0], channel: "IN 7" } },
          }),
        (e) =>
          e instanceof RangeError && /no channel "IN 7"/.test(e.message) &&
          /"IN 2"/.test(e.message),
      );
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: { path: ABF, sweeps: [0, 42] } },
            output: { v: { path: ABF, sweeps: [0] } },
          }),
        RangeError,
      );
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            threshold: "v > -50*mV",
            input: { I: { path: ABF, sweeps: [0] } },
            output: { v: { path: ABF, sweeps: [0] }, spikes: ABF },
          }),
        (e) => e instanceof TypeError && /spike times/.test(e.message),
      );
      await assert.rejects(
        () =>
          Inferencer.create({
            ...base,
            input: { I: [new Float64Array(10)] },
            output: { v: [new Float64Array(10)] },
          }),
        (e) => e instanceof TypeError && /give dt/.test(e.message),
      );
    },
  );
});
