import assert from "node:assert/strict";
import { TraceFitter } from "../../../lib/fitting/fitters/trace_fitter.ts";
import { MSEMetric } from "../../../lib/fitting/metrics/mse.ts";
import { GammaFactor } from "../../../lib/fitting/metrics/gamma_factor.ts";
import { DifferentialEvolution } from "../../../lib/fitting/optimizers/differential_evolution.ts";
import { ParticleSwarm } from "../../../lib/fitting/optimizers/particle_swarm.ts";
import type { FitCallbackInfo } from "../../../lib/fitting/callbacks.ts";
import { hhTutorial } from "../../golden/_models.ts";
import { DimensionMismatchError } from "../../../lib/units/dimension.ts";
import {
  CONSTANT_MODEL,
  constantData,
  FixedSets,
  HH_NAMESPACE,
  HH_TUTORIAL,
  mV,
  nS,
  refJson,
  TOY_MODEL,
  toyInput,
  toyOutput,
  TUTORIAL_BOUNDS,
  tutorialData,
} from "./_fixtures.ts";

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

function tutorialFitter(nSamples = 4, seed = 0): TraceFitter {
  const { I, v } = tutorialData();
  return new TraceFitter({
    seed,
    model: HH_TUTORIAL,
    namespace: HH_NAMESPACE,
    input: { I },
    output: { v },
    dt: 0.01e-3,
    method: "exponential_euler",
    paramInit: { v: -65 * mV },
    nSamples,
  });
}

function toyFitter(nSamples = 10): TraceFitter {
  return new TraceFitter({
    model: TOY_MODEL,
    namespace: { E: "40 mV" },
    input: { v: toyInput() },
    output: { I: toyOutput() },
    dt: 0.01e-3,
    nSamples,
  });
}

function constantFitter(nSamples = 30): TraceFitter {
  const { x, v } = constantData();
  return new TraceFitter({
    model: CONSTANT_MODEL,
    input: { x },
    output: { v },
    dt: 0.1e-3,
    nSamples,
  });
}

Deno.test("TraceFitter errors equal brian2modelfitting's (fitter_numbers_fit.json)", async (t) => {
  const ref = refJson("fitter_numbers_fit.json") as Record<string, number[]> & {
    param_sets_SI: Record<string, number>[];
  };
  const sets = ref.param_sets_SI;
  const cases: [string, MSEMetric][] = [
    ["TraceFitter MSEMetric(): errors per set", new MSEMetric()],
    [
      "TraceFitter MSEMetric(t_start=5*ms): errors per set",
      new MSEMetric({ tStart: 5e-3 }),
    ],
    [
      "TraceFitter MSEMetric(normalization=10*mV): errors per set",
      new MSEMetric({ normalization: 10 * mV }),
    ],
  ];
  for (const [key, metric] of cases) {
    await t.step(`${key} within 1e-9 relative`, async () => {
      const f = tutorialFitter();
      const r = await f.fit({
        optimizer: new FixedSets(sets),
        metric,
        callback: null,
        params: TUTORIAL_BOUNDS,
      });
      const errs = f.results().map((e) => e.error);
      const want = ref[key];
      for (let i = 0; i < 4; i++) {
        assert.ok(
          rel(errs[i], want[i]) < 1e-9,
          `set ${i}: ${errs[i]} vs ${want[i]}`,
        );
      }
      assert.ok(rel(r.error, Math.min(...want)) < 1e-9);
      assert.deepEqual(Object.keys(r.params).sort(), ["g_kd", "g_na", "gl"]);
    });
  }
});

Deno.test("TraceFitter: the tutorial end to end (default optimizer 100 x 10, then refine)", async (t) => {
  // The default optimizer (CMA-ES, population 100, the three conductances on
  // the log scale since their bounds span 3-5 decades), 100 x 10 on the
  // tutorial data, measured over seeds 0..9: 1.29e-6 1.26e-6 1.04e-6 1.02e-6
  // 1.12e-6 1.19e-6 1.02e-6 1.04e-6 1.60e-6 1.02e-6 V^2 (median 1.08e-6, worst
  // 1.60e-6). The goal: a median <= 1.81e-6 (what brian2modelfitting's tutorial
  // with Nevergrad's DE printed) and no seed above 3e-6. The test runs seeds
  // 0..4 (about 3 s each) and asserts the median and the worst; the median of
  // five fails only if three seeds exceed 1.81e-6, which none of ten measured
  // did. The previous default (DifferentialEvolution, linear scales) fails it:
  // 2.41e-6 3.26e-6 1.56e-6 1.17e-6 3.55e-6 (median 2.41e-6). refine() reaches
  // 9.9497e-7 V^2 from any of them.
  const fitters: TraceFitter[] = [];
  const errors: number[] = [];
  let rounds = 0;
  for (const seed of [0, 1, 2, 3, 4]) {
    const g = tutorialFitter(100, seed);
    const r = await g.fit({
      nRounds: 10,
      callback: () => void rounds++,
      params: TUTORIAL_BOUNDS,
    });
    fitters.push(g);
    errors.push(r.error);
  }
  const f = fitters[0];
  await t.step(
    "100 samples x 10 rounds, seeds 0-4: median error <= 1.81e-6 V^2, worst <= 3e-6",
    () => {
      assert.equal(rounds, 50);
      for (const g of fitters) {
        assert.equal(g.nSamples, 100);
        assert.equal(g.results().length, 1000);
      }
      const sorted = [...errors].sort((a, b) => a - b);
      assert.ok(sorted[2] <= 1.81e-6, `median ${sorted[2]} (${errors})`);
      assert.ok(sorted[4] <= 3e-6, `worst ${sorted[4]} (${errors})`);
    },
  );
  for (const calcGradient of [false, true]) {
    await t.step(
      `refine(calcGradient: ${calcGradient}) <= 9.96e-7 V^2, parameters within 2%`,
      async () => {
        const rr = await f.refine({ calcGradient });
        assert.ok(rr.error <= 9.96e-7, `error ${rr.error}`);
        assert.ok(rel(rr.params.gl, 10 * nS) < 0.02, `gl ${rr.params.gl}`);
        assert.ok(rel(rr.params.g_na, 20e-6) < 0.02, `g_na ${rr.params.g_na}`);
        assert.ok(rel(rr.params.g_kd, 6e-6) < 0.02, `g_kd ${rr.params.g_kd}`);
        // the reported error is the fit objective at the refined point
        const check = tutorialFitter(1);
        await check.fit({
          optimizer: new FixedSets([rr.params]),
          callback: null,
          params: TUTORIAL_BOUNDS,
        });
        assert.ok(rel(check.bestError!, rr.error) < 1e-9);
      },
    );
  }
});

Deno.test("TraceFitter: t_start and t_weights fits converge to c = 20 mV (reference test ports)", async (t) => {
  await t.step("MSEMetric({ tStart: 50 dt })", async () => {
    const f = constantFitter(70);
    const { params } = await f.fit({
      optimizer: new DifferentialEvolution({ seed: 0 }),
      metric: new MSEMetric({ tStart: 50 * 0.1e-3 }),
      nRounds: 10,
      callback: null,
      params: { c: ["0 mV", "30 mV"] },
    });
    assert.ok(Math.abs(params.c - 20 * mV) < 1 * mV, `c = ${params.c}`);
  });
  await t.step(
    "MSEMetric({ tWeights }) with zero weights on the first 50 steps",
    async () => {
      const f = constantFitter(70);
      await assert.rejects(
        () =>
          f.fit({
            metric: new MSEMetric({ tWeights: new Float64Array(101).fill(1) }),
            callback: null,
            params: { c: [0, 0.03] },
          }),
        TypeError,
      );
      const w = Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0 : 1));
      const g = constantFitter(70);
      const { params } = await g.fit({
        optimizer: new DifferentialEvolution({ seed: 0 }),
        metric: new MSEMetric({ tWeights: w }),
        nRounds: 10,
        callback: null,
        params: { c: ["0 mV", "30 mV"] },
      });
      assert.ok(Math.abs(params.c - 20 * mV) < 1 * mV, `c = ${params.c}`);
    },
  );
});

Deno.test("TraceFitter: multi-objective fits", async (t) => {
  await t.step(
    "objective errors sum as in fitter_numbers_toy.json (v: 10/20 mV halves, v2 = 2c, tStart 5 ms)",
    async () => {
      const toy = refJson("fitter_numbers_toy.json") as Record<
        string,
        Record<string, unknown>
      >;
      const total =
        toy["constant multiobjective fit() errors for c grid"] as Record<
          string,
          number
        >;
      const parts = toy[
        "constant multiobjective fit() objective_errors for c grid"
      ] as Record<string, Record<string, number>>;
      const { x, v } = constantData();
      const f = new TraceFitter({
        model: "v = c + x : volt\nv2 = 2*c + x : volt\nc : volt (constant)",
        input: { x },
        output: { v, v2: [new Float64Array(100).fill(40 * mV)] },
        dt: 0.1e-3,
      });
      const cs = Object.keys(total).map(Number);
      await f.fit({
        optimizer: new FixedSets(cs.map((c) => ({ c }))),
        metric: { v: new MSEMetric(), v2: new MSEMetric({ tStart: 5e-3 }) },
        callback: null,
        params: { c: [0, 0.03] },
      });
      const res = f.results();
      cs.forEach((c, i) => {
        const key = Object.keys(total)[i];
        assert.ok(
          Math.abs(res[i].error - total[key]) < 1e-15,
          `c=${c}: ${res[i].error} vs ${total[key]}`,
        );
        assert.ok(Math.abs(res[i].objectiveErrors.v - parts[key].v) < 1e-15);
        assert.ok(Math.abs(res[i].objectiveErrors.v2 - parts[key].v2) < 1e-15);
      });
      // the fit objective's minimum is c = 19 mV (error 4.5e-5 V^2)
      assert.equal(f.bestParams!.c, 0.019);
      const table = f.results({ format: "table" });
      assert.deepEqual(table.columns, [
        "c",
        "error",
        "error_v",
        "error_v2",
        "normalized_error_v",
        "normalized_error_v2",
      ]);
    },
  );
  await t.step(
    "two relaxing variables recover target1 = 5 and target2 = -7 mV (+-0.1, +-0.1 mV)",
    async () => {
      const model = `
      dv/dt = (target2 + R*I - v)/tau : volt
      dy/dt = (target1 - y)/tau : 1
      target1 : 1 (constant)
      target2 : volt (constant)`;
      const I = [0, 0.1e-9, 0.2e-9].map((a) => new Float64Array(200).fill(a));
      const ns = { R: "100 Mohm", tau: "5 ms" };
      const gen = new TraceFitter({
        model,
        namespace: ns,
        input: { I },
        output: { v: I, y: I },
        dt: 0.1e-3,
        inputUnits: { I: "amp" },
      });
      const truth = await gen.generate({
        params: { target1: 5, target2: "-7 mV" },
        outputVar: ["v", "y"],
      });
      const f = new TraceFitter({
        model,
        namespace: ns,
        input: { I },
        output: { v: truth.v, y: truth.y },
        dt: 0.1e-3,
        nSamples: 30,
      });
      const { params, error } = await f.fit({
        optimizer: new DifferentialEvolution({ seed: 3 }),
        metric: {
          v: new MSEMetric({ normalization: 1 * mV }),
          y: new MSEMetric(),
        },
        nRounds: 20,
        callback: null,
        params: { target1: [0, 10], target2: ["-20 mV", "0 mV"] },
      });
      assert.ok(
        Math.abs(params.target1 - 5) < 0.1,
        `target1 ${params.target1}`,
      );
      assert.ok(
        Math.abs(params.target2 + 7 * mV) < 0.1 * mV,
        `target2 ${params.target2}`,
      );
      // per-objective errors: normalized (v in mV², dimensionless y) and raw (v in V²)
      const obj = f.bestObjectiveErrors!;
      const raw = f.bestObjectiveErrorsRaw!;
      assert.ok(Math.abs(obj.v + obj.y - error) < 1e-12 * Math.max(1, error));
      assert.ok(rel(raw.v, obj.v * 1e-6) < 1e-9);
      // independent check of the objective errors with the metrics on generated traces
      const best = await f.generateTraces();
      const ev = new MSEMetric({ normalization: 1 * mV }).calc(
        best.v,
        truth.v,
        0.1e-3,
      )[0];
      const ey = new MSEMetric().calc(best.y, truth.y, 0.1e-3)[0];
      assert.ok(
        Math.abs(ev - obj.v) <= 1e-12 + 1e-9 * ev &&
          Math.abs(ey - obj.y) <= 1e-15 + 1e-9 * ey,
      );
      const dict = f.results({ format: "dict" });
      assert.equal(dict.objectiveErrors.v.length, 600);
      assert.equal(dict.objectiveErrorsNormalized.y.length, 600);
    },
  );
});

Deno.test("TraceFitter penalties", async (t) => {
  const allConstant = `
    v = 10*mV + x : volt
    c : volt (constant)
    penalty_fixed = 10*mV**2 : volt**2
    penalty_wrong_unit = 10*mV : volt
    pen = c**2 : volt**2
    pen_trace = (c + x)**2 : volt**2`;
  const out = [
    new Float64Array(100).fill(10 * mV),
    new Float64Array(100).fill(10 * mV),
  ];
  await t.step("a fixed penalty adds exactly 10 mV^2 (2 traces)", async () => {
    const f = new TraceFitter({
      model: allConstant,
      input: { x: [new Float64Array(100), new Float64Array(100)] },
      output: { v: out },
      dt: 1e-4,
      nSamples: 5,
    });
    const { error } = await f.fit({
      optimizer: new DifferentialEvolution(),
      nRounds: 2,
      callback: null,
      penalty: "penalty_fixed",
      params: { c: ["19.9 mV", "20.1 mV"] },
    });
    assert.ok(Math.abs(error - 10 * mV ** 2) < 1e-18, `error ${error}`);
  });
  await t.step(
    "a penalty with the wrong unit raises DimensionMismatchError",
    async () => {
      const f = new TraceFitter({
        model: allConstant,
        input: { x: [new Float64Array(100)] },
        output: { v: [out[0]] },
        dt: 1e-4,
        nSamples: 5,
      });
      await assert.rejects(
        () =>
          f.fit({
            callback: null,
            penalty: "penalty_wrong_unit",
            params: { c: ["19.9 mV", "20.1 mV"] },
          }),
        DimensionMismatchError,
      );
      await assert.rejects(
        () => f.fit({ callback: null, penalty: "nope", params: { c: [0, 1] } }),
        TypeError,
      );
    },
  );
  await t.step(
    "per-neuron penalties work with several traces (averaged over traces)",
    async () => {
      // reference (fitter_quirks.json): 1 trace x 3 samples gives mse + c^2 = [2e-6, 8e-6, 1.8e-5];
      // with 2 traces it raises a broadcast ValueError. Here: the same numbers with 2 traces.
      const quirks = refJson("fitter_quirks.json");
      const want = quirks[
        "per-neuron penalty, 1 trace x 3 samples (errors = mse + c^2)"
      ] as number[];
      const sets = [1, 2, 3].map((c) => ({ c: c * mV }));
      const zeros = [new Float64Array(50), new Float64Array(50)];
      const f = new TraceFitter({
        model: "v = c + x : volt\nc : volt (constant)\npen = c**2 : volt**2",
        input: { x: zeros },
        output: { v: zeros },
        dt: 1e-4,
      });
      await f.fit({
        optimizer: new FixedSets(sets),
        callback: null,
        penalty: "pen",
        params: { c: [0, 0.01] },
      });
      f.results().forEach((r, i) =>
        assert.ok(rel(r.error, want[i]) < 1e-12, `${r.error} vs ${want[i]}`)
      );
      // a penalty that differs per trace: mean over traces of (c + x_end)^2
      const x = [new Float64Array(50), new Float64Array(50).fill(1 * mV)];
      const g = new TraceFitter({
        model: allConstant,
        input: { x },
        output: {
          v: [
            new Float64Array(50).fill(10 * mV),
            new Float64Array(50).fill(11 * mV),
          ],
        },
        dt: 1e-4,
      });
      await g.fit({
        optimizer: new FixedSets([{ c: 2 * mV }]),
        callback: null,
        penalty: "pen_trace",
        params: { c: [0, 0.01] },
      });
      const expected = ((2 * mV) ** 2 + (3 * mV) ** 2) / 2;
      assert.ok(rel(g.results()[0].error, expected) < 1e-12);
    },
  );
});

Deno.test("TraceFitter iteration counter (reference semantics)", async (t) => {
  await t.step(
    "1 after 2 rounds, 3 after continuing, 1 after restart; start 17 -> 18 -> 20; restart at 5 -> 6",
    async () => {
      const f = toyFitter(4);
      const opt = new DifferentialEvolution({ seed: 1 });
      const p = { g: ["1 nS", "30 nS"] as [string, string] };
      await f.fit({ optimizer: opt, nRounds: 2, callback: null, params: p });
      assert.equal(f.lastIteration, 1);
      await f.fit({ optimizer: opt, nRounds: 2, callback: null, params: p });
      assert.equal(f.lastIteration, 3);
      await f.fit({
        optimizer: opt,
        nRounds: 2,
        callback: null,
        params: p,
        restart: true,
      });
      assert.equal(f.lastIteration, 1);
      const g = toyFitter(4);
      const opt2 = new DifferentialEvolution({ seed: 1 });
      await g.fit({
        optimizer: opt2,
        nRounds: 2,
        callback: null,
        params: p,
        startIteration: 17,
      });
      assert.equal(g.lastIteration, 18);
      await g.fit({ optimizer: opt2, nRounds: 2, callback: null });
      assert.equal(g.lastIteration, 20);
      await g.fit({
        optimizer: opt2,
        nRounds: 2,
        callback: null,
        params: p,
        restart: true,
        startIteration: 5,
      });
      assert.equal(g.lastIteration, 6);
    },
  );
  await t.step(
    "the model sees the counter as the shared integer 'iteration'",
    async () => {
      const { x } = constantData();
      const f = new TraceFitter({
        model: "v = c + x + iteration*mV : volt\nc : volt (constant)",
        input: { x },
        output: { v: x },
        dt: 1e-4,
      });
      const seen: number[] = [];
      await f.fit({
        optimizer: new FixedSets([{ c: 0 }]),
        nRounds: 3,
        params: { c: [-1, 1] },
        callback: (info) => void seen.push(info.errors[0]),
      });
      assert.deepEqual(seen.map((e) => Math.round(Math.sqrt(e) / mV)), [
        0,
        1,
        2,
      ]);
      const gen = await f.generate({ params: { c: 0 } });
      assert.ok(Math.abs(gen.v[0][0] - 1e9 * mV) < 1e-3); // generate() uses iteration = 1e9, as the reference
    },
  );
});

Deno.test("TraceFitter callbacks", async (t) => {
  await t.step(
    "a function receives the round's information; returning true stops",
    async () => {
      const f = toyFitter(5);
      const calls: FitCallbackInfo[] = [];
      await f.fit({
        nRounds: 2,
        params: { g: ["1 nS", "30 nS"] },
        callback: (info) => void calls.push(info),
      });
      assert.equal(calls.length, 2);
      assert.deepEqual(calls.map((c) => c.index), [0, 1]);
      const c = calls[1];
      assert.equal(c.params.length, f.nSamples);
      assert.ok(
        c.errors instanceof Float64Array && c.errors.length === f.nSamples,
      );
      assert.equal(typeof c.bestParams.g, "number");
      assert.equal(c.bestError, f.bestError);
      assert.deepEqual(c.outputVars, ["I"]);
      assert.equal(c.errorUnit, "amp^2");
      const g = toyFitter(5);
      let n = 0;
      await g.fit({
        nRounds: 5,
        params: { g: ["1 nS", "30 nS"] },
        callback: () => ++n >= 1,
      });
      assert.equal(n, 1);
      assert.equal(g.results().length, g.nSamples);
    },
  );
  await t.step(
    '"text" prints the best parameters with units; "progressbar" and null run',
    async () => {
      const lines: string[] = [];
      const orig = console.log;
      console.log = (...a: unknown[]) => void lines.push(a.join(" "));
      try {
        await toyFitter(5).fit({
          nRounds: 1,
          params: { g: ["1 nS", "30 nS"] },
        });
      } finally {
        console.log = orig;
      }
      assert.match(
        lines.join("\n"),
        /^Round 0: Best parameters g=[\d.]+ nS\nBest error: \S+ amp\^2 \(I\)$/,
      );
      await toyFitter(5).fit({
        nRounds: 1,
        params: { g: ["1 nS", "30 nS"] },
        callback: "progressbar",
      });
      await toyFitter(5).fit({
        nRounds: 1,
        params: { g: ["1 nS", "30 nS"] },
        callback: null,
      });
      await assert.rejects(
        () =>
          toyFitter(5).fit({
            nRounds: 1,
            params: { g: ["1 nS", "30 nS"] },
            callback: "loud" as never,
          }),
        TypeError,
      );
    },
  );
});

Deno.test("TraceFitter results, restart rules, generate", async (t) => {
  await t.step(
    "results() list / dict / table shapes (nSamples x rounds)",
    async () => {
      const f = toyFitter(6);
      await f.fit({
        nRounds: 2,
        callback: null,
        params: { g: ["1 nS", "30 nS"] },
      });
      const n = f.nSamples * 2;
      const list = f.results();
      assert.equal(list.length, n);
      assert.deepEqual(Object.keys(list[0].params), ["g"]);
      assert.equal(typeof list[0].error, "number");
      const dict = f.results({ format: "dict" });
      assert.equal(dict.params.g.length, n);
      assert.equal(dict.error.length, n);
      const table = f.results({ format: "table" });
      assert.deepEqual(table.columns, ["g", "error"]);
      assert.equal(table.rows.length, n);
      // best = NaN-aware minimum of the history
      assert.equal(f.bestError, Math.min(...dict.error));
      assert.throws(
        () => f.results({ format: "dataframe" as "list" }),
        RangeError,
      );
    },
  );
  await t.step("changing optimizer or metric needs restart: true", async () => {
    const f = toyFitter(4);
    const opt = new DifferentialEvolution();
    const metric = new MSEMetric();
    const p = { g: ["1 nS", "30 nS"] as [string, string] };
    await f.fit({
      optimizer: opt,
      metric,
      nRounds: 1,
      callback: null,
      params: p,
    });
    await assert.rejects(
      () =>
        f.fit({
          optimizer: new ParticleSwarm(),
          metric,
          nRounds: 1,
          callback: null,
        }),
      /restart: true/,
    );
    await assert.rejects(
      () =>
        f.fit({
          optimizer: opt,
          metric: new MSEMetric(),
          nRounds: 1,
          callback: null,
        }),
      /restart: true/,
    );
    await f.fit({ optimizer: opt, metric, nRounds: 1, callback: null }); // same objects: continues
    assert.equal(f.results().length, 2 * f.nSamples);
    const r = await f.fit({
      optimizer: new ParticleSwarm({ seed: 1 }),
      metric,
      nRounds: 1,
      callback: null,
      params: p,
      restart: true,
    });
    assert.equal(typeof r.params.g, "number");
    assert.equal(f.results().length, f.nSamples); // a restart starts a new history
  });
  await t.step(
    "generate honours paramInit and returns every requested variable",
    async () => {
      const { I, v } = tutorialData();
      const f = new TraceFitter({
        model: HH_TUTORIAL,
        namespace: HH_NAMESPACE,
        input: { I },
        output: { v },
        dt: 1e-5,
        paramInit: { v: -65 * mV },
        method: "exponential_euler",
      });
      const p = { gl: 1e-8, g_na: 2e-5, g_kd: 6e-6 };
      const a = await f.generate({
        params: p,
        paramInit: { v: -40 * mV },
        outputVar: ["v", "m", "gl"],
      });
      assert.deepEqual(Object.keys(a).sort(), ["gl", "m", "v"]);
      assert.equal(a.v[0][0], -40 * mV); // the reference ignores the argument and starts at -65 mV
      assert.equal(a.v.length, 5);
      assert.equal(a.m[3].length, 1497);
      assert.equal(a.gl[0][10], 1e-8);
      const b = await f.generateTraces({ params: p });
      assert.equal(b.v[0][0], -65 * mV);
      const toy = toyFitter(3);
      await assert.rejects(() => toy.generate(), TypeError); // no fit, no params
      await toy.fit({
        nRounds: 1,
        callback: null,
        params: { g: ["1 nS", "30 nS"] },
      });
      const tr = await toy.generate({ outputVar: ["I", "g"] });
      assert.equal(tr.I.length, 10);
      assert.equal(tr.g[0].length, 5);
    },
  );
});

Deno.test("TraceFitter inputs, outputs and parameters", async (t) => {
  await t.step("fixed parameters and several input variables", async () => {
    const v = Array.from(
      { length: 4 },
      (_, r) => Float64Array.from({ length: 20 }, (_, k) => (k * (r + 1)) * mV),
    );
    const w = Array.from(
      { length: 4 },
      (_, r) =>
        Float64Array.from({ length: 20 }, (_, k) => Math.sin(k + r) * 10 * mV),
    );
    const I = v.map((row, r) =>
      row.map((x, k) => 10 * nS * x + 5 * nS * w[r][k])
    );
    const f = new TraceFitter({
      model:
        "I = g*(v - E) + k*w : amp\ng : siemens (constant)\nk : siemens (constant)\nE : volt (constant)",
      input: { v, w },
      output: { I },
      dt: 1e-4,
      nSamples: 20,
    });
    const { params } = await f.fit({
      optimizer: new DifferentialEvolution({ seed: 2 }),
      nRounds: 40,
      callback: null,
      params: { g: ["1 nS", "30 nS"], k: ["1 nS", "30 nS"], E: "0 mV" },
    });
    assert.equal(params.E, 0);
    assert.deepEqual([...f.fittedParams], ["g", "k"]);
    assert.ok(
      rel(params.g, 10 * nS) < 0.01 && rel(params.k, 5 * nS) < 0.01,
      JSON.stringify(params),
    );
    const r = await f.refine();
    assert.ok(
      rel(r.params.g, 10 * nS) < 1e-6 && rel(r.params.k, 5 * nS) < 1e-6,
      JSON.stringify(r.params),
    );
  });
  await t.step(
    "a NeuronModel as model, {data, shape} traces, <var>_target in the equations",
    async () => {
      const { I, v } = tutorialData();
      const f = new TraceFitter({
        model: hhTutorial(),
        input: {
          I: {
            data: Float64Array.from(I.flatMap((r) => Array.from(r))),
            shape: [5, 1497],
          },
        },
        output: { v },
        dt: 1e-5,
        paramInit: { v: -65 * mV },
      });
      assert.equal(f.model.method, "exponential_euler");
      assert.equal(f.nTraces, 5);
      const p = { gl: 1e-8, g_na: 2e-5, g_kd: 6e-6 };
      await f.fit({
        optimizer: new FixedSets([p]),
        callback: null,
        params: TUTORIAL_BOUNDS,
      });
      assert.ok(rel(f.bestError!, 9.950798962859172e-7) < 1e-9);
      const g = new TraceFitter({
        model:
          "v = c + x : volt\nc : volt (constant)\nresidual = v - v_target : volt",
        input: { x: [new Float64Array(10)] },
        output: { v: [Float64Array.from({ length: 10 }, (_, k) => k * mV)] },
        dt: 1e-4,
      });
      const r = await g.generate({
        params: { c: 2 * mV },
        outputVar: "residual",
      });
      r.residual[0].forEach((x, k) =>
        assert.ok(Math.abs(x - (2 - k) * mV) < 1e-15)
      );
    },
  );
  await t.step("bad input gives clear typed errors", async () => {
    const x = toyInput();
    const I = toyOutput();
    const mk = (o: Record<string, unknown>) =>
      new TraceFitter({
        model: TOY_MODEL,
        namespace: { E: "40 mV" },
        input: { v: x },
        output: { I },
        dt: 1e-5,
        ...o,
      });
    assert.throws(() => mk({ input: { nope: x } }), TypeError); // unknown input name
    assert.throws(() => mk({ output: { nope: I } }), TypeError); // unknown output name
    assert.throws(() => mk({ output: { I: I.slice(0, 3) } }), TypeError); // output shape != input shape
    assert.throws(() => mk({ output: { I: [1] } }), TypeError);
    const bad = I.map((r) => Float64Array.from(r));
    bad[2][1] = NaN;
    assert.throws(() => mk({ output: { I: bad } }), RangeError); // NaN in the data
    assert.throws(() => mk({ dt: -1 }), RangeError);
    const f = mk({});
    await assert.rejects(() => f.fit({ callback: null }), TypeError); // no bounds at all
    await assert.rejects(
      () => f.fit({ callback: null, params: {} }),
      TypeError,
    ); // bounds missing for g
    await assert.rejects(
      () => f.fit({ callback: null, params: { g: [30 * nS, 1 * nS] } }),
      RangeError,
    ); // inverted
    await assert.rejects(
      () =>
        f.fit({ callback: null, params: { g: [1 * nS, 30 * nS], h: [0, 1] } }),
      RangeError,
    ); // unknown
    await assert.rejects(
      () => f.fit({ callback: null, params: { g: ["1 mV", "30 mV"] } }),
      DimensionMismatchError,
    );
    await assert.rejects(
      () =>
        f.fit({
          callback: null,
          params: { g: [1 * nS, 30 * nS] },
          optimizer: {} as never,
        }),
      TypeError,
    );
    await assert.rejects(
      () =>
        f.fit({
          callback: null,
          params: { g: [1 * nS, 30 * nS] },
          metric: new GammaFactor({ delta: 3e-3, time: 6e-2 }) as never,
        }),
      TypeError,
    );
  });
  await t.step(
    "diverging parameter sets are reported in results() and never become the best",
    async () => {
      // sqrt of a negative number gives NaN traces for c < 2 mV
      const { x, v } = constantData();
      const f = new TraceFitter({
        model: "v = c + x + 0*mV*sqrt(c/mV - 2) : volt\nc : volt (constant)",
        input: { x },
        output: { v },
        dt: 1e-4,
      });
      const opt = new FixedSets([{ c: 1 * mV }, { c: 5 * mV }, { c: 15 * mV }]);
      const r = await f.fit({
        optimizer: opt,
        callback: null,
        params: { c: [0, 0.03] },
      });
      const errs = f.results().map((e) => e.error);
      assert.ok(Number.isNaN(errs[0]));
      assert.equal(r.params.c, 15 * mV);
      assert.equal(r.error, errs[2]);
      assert.equal(f.bestParams!.c, 15 * mV);
    },
  );
});

// WebGPU (f32): runs when an adapter exists (lavapipe in CI), else skips.
// Only "no adapter" may skip: an error importing gpu/mod.ts fails this module.
const gpuMod = await import("../../../gpu/mod.ts");
const gpu = (await gpuMod.hasWebGpu()) ? "" : "no WebGPU adapter is available";
if (gpu) console.log(`WebGPU fitter tests skipped: ${gpu}`);

Deno.test({
  name: "TraceFitter on WebGPU",
  ignore: gpu !== "",
  fn: async (t) => {
    const ref = refJson("fitter_numbers_fit.json") as
      & Record<string, number[]>
      & { param_sets_SI: Record<string, number>[] };
    const { I, v } = tutorialData();
    const f = new TraceFitter({
      model: HH_TUTORIAL,
      namespace: HH_NAMESPACE,
      input: { I },
      output: { v },
      dt: 1e-5,
      method: "exponential_euler",
      paramInit: { v: -65 * mV },
      device: "webgpu",
    });
    await t.step(
      "the four reference errors within 1e-3 relative (f32)",
      async () => {
        await f.fit({
          optimizer: new FixedSets(ref.param_sets_SI),
          callback: null,
          params: TUTORIAL_BOUNDS,
        });
        const want = ref["TraceFitter MSEMetric(): errors per set"];
        f.results().forEach((r, i) =>
          assert.ok(rel(r.error, want[i]) < 1e-3, `${r.error} vs ${want[i]}`)
        );
      },
    );
    await t.step(
      "refine with sensitivity equations reaches <= 9.96e-7 V^2",
      async () => {
        const r = await f.refine({
          params: ref.param_sets_SI[1],
          calcGradient: true,
        });
        assert.ok(r.error <= 9.96e-7, `error ${r.error}`);
      },
    );
  },
});
