import assert from "node:assert/strict";
import { OnlineTraceFitter } from "../../../lib/fitting/fitters/online_trace_fitter.ts";
import { TraceFitter } from "../../../lib/fitting/fitters/trace_fitter.ts";
import { MSEMetric } from "../../../lib/fitting/metrics/mse.ts";
import { GammaFactor } from "../../../lib/fitting/metrics/gamma_factor.ts";
import { DifferentialEvolution } from "../../../lib/fitting/optimizers/differential_evolution.ts";
import {
  CONSTANT_MODEL,
  constantData,
  FixedSets,
  HH_NAMESPACE,
  HH_TUTORIAL,
  mV,
  refJson,
  TOY_MODEL,
  toyInput,
  toyOutput,
  TUTORIAL_BOUNDS,
  tutorialData,
} from "./_fixtures.ts";

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function onlineTutorial(tStart = 0): OnlineTraceFitter {
  const { I, v } = tutorialData();
  return new OnlineTraceFitter({
    model: HH_TUTORIAL,
    namespace: HH_NAMESPACE,
    input: { I },
    output: { v },
    dt: 0.01e-3,
    method: "exponential_euler",
    paramInit: { v: -65 * mV },
    tStart,
  });
}

Deno.test("OnlineTraceFitter gives TraceFitter's MSE for the same parameters", async (t) => {
  const ref = refJson("fitter_numbers_fit.json") as Record<string, number[]> & {
    param_sets_SI: Record<string, number>[];
  };
  const sets = ref.param_sets_SI;
  for (
    const [tStart, key] of [[0, "TraceFitter MSEMetric(): errors per set"], [
      5e-3,
      "TraceFitter MSEMetric(t_start=5*ms): errors per set",
    ]] as const
  ) {
    await t.step(
      `tStart = ${tStart} s: the four tutorial sets within 1e-9 of brian2modelfitting's TraceFitter`,
      async () => {
        const f = onlineTutorial(tStart);
        await f.fit({
          optimizer: new FixedSets(sets),
          callback: null,
          params: TUTORIAL_BOUNDS,
        });
        const errs = f.results().map((e) => e.error);
        ref[key].forEach((want, i) =>
          assert.ok(
            rel(errs[i], want) < 1e-9,
            `set ${i}: ${errs[i]} vs ${want}`,
          )
        );
      },
    );
  }
  await t.step(
    "the reference's OnlineTraceFitter numbers differ by its one-step lag (documented, not copied)",
    async () => {
      // brian2modelfitting adds (v - v_target)^2 in the 'end' slot: v(t_{k+1}) against target k, and divides
      // by (duration - t_start)/defaultclock.dt. Reproduce its sum from recorded traces: the lagged sum over
      // k < n-1 divided by n equals the reference's own check value; its OnlineTraceFitter (1.6045e-6 with
      // defaultclock.dt = dt) also includes v(t_n) vs target n-1, which is never recorded.
      const { I, v } = tutorialData();
      const tf = new TraceFitter({
        model: HH_TUTORIAL,
        namespace: HH_NAMESPACE,
        input: { I },
        output: { v },
        dt: 1e-5,
        method: "exponential_euler",
        paramInit: { v: -65 * mV },
      });
      const sim = (await tf.generateTraces({ params: sets[0] })).v;
      let lagged = 0;
      for (let tr = 0; tr < 5; tr++) {
        let s = 0;
        for (let k = 0; k < 1496; k++) s += (sim[tr][k + 1] - v[tr][k]) ** 2;
        lagged += s / 1497 / 5;
      }
      const check = ref[
        "check: sum_k (sim[k+1]-data[k])^2 / n_steps, k<n_steps-1 (V^2, missing last term)"
      ] as unknown as number;
      assert.ok(rel(lagged, check) < 1e-9, `${lagged} vs ${check}`);
      const online =
        ref["OnlineTraceFitter (defaultclock.dt=10. us): errors per set"][0];
      assert.ok(online > lagged && rel(online, lagged) < 1e-3); // the last lagged term is missing from our recording
      assert.ok(rel(online, 9.950798962859172e-7) > 0.5); // i.e. not the MSE
    },
  );
});

Deno.test("OnlineTraceFitter reference test ports", async (t) => {
  await t.step("fit and generate on the toy model", async () => {
    const f = new OnlineTraceFitter({
      model: TOY_MODEL,
      namespace: { E: "40 mV" },
      input: { v: toyInput() },
      output: { I: toyOutput() },
      dt: 1e-5,
      nSamples: 10,
    });
    assert.equal(f.tStart, 0);
    assert.equal(f.bestParams, null);
    const { params, error } = await f.fit({
      nRounds: 2,
      callback: null,
      params: { g: ["1 nS", "30 nS"] },
    });
    assert.equal(typeof params.g, "number");
    assert.equal(error, f.bestError);
    assert.equal(f.lastIteration, 1);
    const tr = await f.generateTraces();
    assert.equal(tr.I.length, 10);
    assert.equal(tr.I[0].length, 5);
  });
  await t.step("tStart fit converges to c = 20 mV", async () => {
    const { x, v } = constantData();
    const f = new OnlineTraceFitter({
      model: CONSTANT_MODEL,
      input: { x },
      output: { v },
      dt: 1e-4,
      nSamples: 100,
      tStart: 50 * 1e-4,
    });
    const { params } = await f.fit({
      optimizer: new DifferentialEvolution({ seed: 0 }),
      nRounds: 10,
      callback: null,
      params: { c: ["0 mV", "30 mV"] },
    });
    assert.ok(Math.abs(params.c - 20 * mV) < 1 * mV, `c = ${params.c}`);
  });
  await t.step(
    "tWeights and normalization through an MSEMetric equal TraceFitter's",
    async () => {
      const { x, v } = constantData();
      const w = Float64Array.from(
        { length: 100 },
        (_, k) => (k < 30 ? 0 : 1 + (k % 3)),
      );
      const metric = new MSEMetric({ tWeights: w, normalization: 2 * mV });
      const sets = [{ c: 3 * mV }, { c: 17 * mV }, { c: 25 * mV }];
      const on = new OnlineTraceFitter({
        model: CONSTANT_MODEL,
        input: { x },
        output: { v },
        dt: 1e-4,
      });
      await on.fit({
        optimizer: new FixedSets(sets),
        metric,
        callback: null,
        params: { c: [0, 0.03] },
      });
      const off = new TraceFitter({
        model: CONSTANT_MODEL,
        input: { x },
        output: { v },
        dt: 1e-4,
      });
      await off.fit({
        optimizer: new FixedSets(sets),
        metric,
        callback: null,
        params: { c: [0, 0.03] },
      });
      const a = on.results();
      const b = off.results();
      for (let i = 0; i < 3; i++) {
        assert.ok(
          rel(a[i].error, b[i].error) < 1e-12,
          `${a[i].error} vs ${b[i].error}`,
        );
      }
    },
  );
  await t.step("errors: several outputs, a spike metric", async () => {
    const { x, v } = constantData();
    assert.throws(
      () =>
        new OnlineTraceFitter({
          model: "v = c + x : volt\nw = c : volt\nc : volt (constant)",
          input: { x },
          output: { v, w: v },
          dt: 1e-4,
        }),
      TypeError,
    );
    const f = new OnlineTraceFitter({
      model: CONSTANT_MODEL,
      input: { x },
      output: { v },
      dt: 1e-4,
    });
    await assert.rejects(
      () =>
        f.fit({
          callback: null,
          params: { c: [0, 1] },
          metric: new GammaFactor({ delta: 1e-3, time: 1e-2 }) as never,
        }),
      TypeError,
    );
    assert.throws(
      () =>
        new OnlineTraceFitter({
          model: CONSTANT_MODEL,
          input: { x },
          output: { v },
          dt: 1e-4,
          tStart: -1,
        }),
      RangeError,
    );
  });
});
