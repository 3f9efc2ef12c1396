import assert from "node:assert/strict";
import {
  BayesianOptimization,
  CMAES,
  DifferentialEvolution,
  isOptimizer,
  latinHypercube,
  type Optimizer,
  type ParamDict,
  ParticleSwarm,
  RandomSearch,
  SobolSequence,
} from "../../../lib/fitting/optimizers/mod.ts";
import { validateBounds } from "../../../lib/fitting/optimizers/optimizer.ts";
import { Rng } from "../../../lib/_internal/random.ts";

// ---------------------------------------------------------------------------
// Test problems
// 5-D Rosenbrock on [-2, 2]^5, minimum 0 at (1, …, 1).
const ROSEN_BOUNDS: Record<string, [number, number]> = {};
for (let i = 0; i < 5; i++) ROSEN_BOUNDS[`x${i}`] = [-2, 2];
function rosenbrock(p: ParamDict): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    const a = p[`x${i}`];
    const b = p[`x${i + 1}`];
    s += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
  }
  return s;
}
// "Tutorial-like" 4-D problem: conductances and a capacitance whose bounds
// span 2–5 decades (like the HH tutorial's gl in [2 pS, 200 nS]); the error is
// the squared distance in decades, minimum 0 at the truth. The optimizers work
// on the linear scale of the bounds, as brian2modelfitting's do.
const TRUTH: ParamDict = { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6, C: 200e-12 };
const TUT_BOUNDS: Record<string, [number, number]> = {
  gl: [2e-12, 200e-9],
  g_na: [200e-9, 0.4e-3],
  g_kd: [200e-9, 200e-6],
  C: [10e-12, 1e-9],
};
function tutorialLike(p: ParamDict): number {
  let s = 0;
  for (const k of Object.keys(TRUTH)) s += Math.log10(p[k] / TRUTH[k]) ** 2;
  return s;
}

function minimize(
  opt: Optimizer,
  f: (p: ParamDict) => number,
  bounds: Record<string, [number, number]>,
  popsize: number,
  rounds: number,
): { best: number; n: number; evaluations: number; asked: ParamDict[][] } {
  const n = opt.initialize(Object.keys(bounds), popsize, rounds, bounds);
  const asked: ParamDict[][] = [];
  let evaluations = 0;
  for (let r = 0; r < rounds; r++) {
    const ps = opt.ask(n);
    asked.push(ps.map((p) => ({ ...p })));
    for (const p of ps) {
      for (const [k, [lo, hi]] of Object.entries(bounds)) {
        assert.ok(
          p[k] >= lo && p[k] <= hi,
          `${k} = ${p[k]} outside [${lo}, ${hi}]`,
        );
      }
    }
    opt.tell(ps, ps.map(f));
    evaluations += ps.length;
  }
  return { best: f(opt.recommend()), n, evaluations, asked };
}

interface Case {
  name: string;
  make: (seed: number) => Optimizer;
  rosen: { popsize: number; rounds: number; tol: number };
  tut: { popsize: number; rounds: number; tol: number };
}

// Budgets and tolerances (seed 1). Measured values when the tolerances were
// set are given in the comments; tolerances leave a margin of >= 2x.
const CASES: Case[] = [
  {
    name: "DifferentialEvolution",
    make: (seed) => new DifferentialEvolution({ seed }),
    rosen: { popsize: 30, rounds: 200, tol: 0.1 }, // 6000 evals -> 0.044
    tut: { popsize: 30, rounds: 60, tol: 1e-5 }, // 1800 evals -> 9.7e-8
  },
  {
    name: "CMAES",
    make: (seed) => new CMAES({ seed }),
    rosen: { popsize: 10, rounds: 300, tol: 1e-8 }, // 3000 evals -> 4e-15
    tut: { popsize: 10, rounds: 100, tol: 1e-8 }, // 1000 evals -> 3.9e-12
  },
  {
    name: "ParticleSwarm",
    make: (seed) => new ParticleSwarm({ seed }),
    rosen: { popsize: 30, rounds: 300, tol: 0.5 }, // 9000 evals -> 0.23
    tut: { popsize: 30, rounds: 60, tol: 1e-4 }, // 1800 evals -> 1.3e-6
  },
  {
    name: "RandomSearch(sobol)",
    make: (seed) => new RandomSearch({ seed, sampler: "sobol" }),
    rosen: { popsize: 100, rounds: 20, tol: 60 }, // 2000 evals -> 24.6
    tut: { popsize: 100, rounds: 20, tol: 1 }, // 2000 evals -> 0.44
  },
  {
    name: "RandomSearch(lhs)",
    make: (seed) => new RandomSearch({ seed, sampler: "lhs" }),
    rosen: { popsize: 100, rounds: 20, tol: 60 }, // 2000 evals -> 23.8
    tut: { popsize: 100, rounds: 20, tol: 1 }, // 2000 evals -> 0.22
  },
  {
    name: "RandomSearch(uniform)",
    make: (seed) => new RandomSearch({ seed, sampler: "uniform" }),
    rosen: { popsize: 100, rounds: 20, tol: 80 }, // 2000 evals -> 39.6
    tut: { popsize: 100, rounds: 20, tol: 1 }, // 2000 evals -> 0.18
  },
  {
    name: "BayesianOptimization",
    make: (seed) => new BayesianOptimization({ seed }),
    rosen: { popsize: 5, rounds: 16, tol: 40 }, // 80 evals -> 16.6 (Sobol search: 103 at 80)
    tut: { popsize: 5, rounds: 12, tol: 2 }, // 60 evals -> 0.99 (random-search level: log-scale truth near the lower bounds is hard for a GP on the linear scale)
  },
];

Deno.test("optimizers minimise 5-D Rosenbrock and a 4-D tutorial-like problem", async (t) => {
  for (const c of CASES) {
    await t.step(`${c.name}: Rosenbrock 5-D within budget`, () => {
      const r = minimize(
        c.make(1),
        rosenbrock,
        ROSEN_BOUNDS,
        c.rosen.popsize,
        c.rosen.rounds,
      );
      console.log(
        `  ${c.name} rosenbrock: ${r.evaluations} evals -> ${r.best}`,
      );
      assert.ok(r.best <= c.rosen.tol, `${c.name}: ${r.best} > ${c.rosen.tol}`);
    });
    await t.step(`${c.name}: tutorial-like 4-D within budget`, () => {
      const r = minimize(
        c.make(1),
        tutorialLike,
        TUT_BOUNDS,
        c.tut.popsize,
        c.tut.rounds,
      );
      console.log(
        `  ${c.name} tutorial-like: ${r.evaluations} evals -> ${r.best}`,
      );
      assert.ok(r.best <= c.tut.tol, `${c.name}: ${r.best} > ${c.tut.tol}`);
    });
  }
  await t.step(
    "Bayesian optimization (EI and LCB) on an MSE-like 3-D problem with the tutorial's bounds",
    () => {
      // sum of squared relative deviations (quadratic on the optimizer's linear scale)
      const truth: ParamDict = { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 };
      const bounds = {
        gl: TUT_BOUNDS.gl,
        g_na: TUT_BOUNDS.g_na,
        g_kd: TUT_BOUNDS.g_kd,
      };
      const f = (p: ParamDict) =>
        Object.keys(truth).reduce(
          (s, k) => s + ((p[k] - truth[k]) / truth[k]) ** 2,
          0,
        );
      const ei = minimize(
        new BayesianOptimization({ seed: 1 }),
        f,
        bounds,
        5,
        12,
      );
      const lcb = minimize(
        new BayesianOptimization({ seed: 1, acquisition: "LCB" }),
        f,
        bounds,
        5,
        12,
      );
      const rs = minimize(
        new RandomSearch({ seed: 1, sampler: "sobol" }),
        f,
        bounds,
        5,
        12,
      );
      console.log(
        `  60 evals: EI ${ei.best}, LCB ${lcb.best}, Sobol ${rs.best}`,
      ); // 1.12, 3.6e-4, 42.5
      assert.ok(ei.best < 5 && ei.best < rs.best / 5);
      assert.ok(lcb.best < 0.01);
    },
  );
  await t.step(
    "Bayesian optimization beats random search at equal (small) budget",
    () => {
      const bo = minimize(
        new BayesianOptimization({ seed: 1 }),
        rosenbrock,
        ROSEN_BOUNDS,
        5,
        16,
      );
      const rs = minimize(
        new RandomSearch({ seed: 1, sampler: "sobol" }),
        rosenbrock,
        ROSEN_BOUNDS,
        5,
        16,
      );
      assert.ok(bo.best < rs.best, `BO ${bo.best} >= RS ${rs.best}`);
    },
  );
});

Deno.test("optimizers are seeded and deterministic", async (t) => {
  for (const c of CASES) {
    await t.step(`${c.name}: same seed -> identical asks and result`, () => {
      const a = minimize(c.make(7), rosenbrock, ROSEN_BOUNDS, 6, 4);
      const b = minimize(c.make(7), rosenbrock, ROSEN_BOUNDS, 6, 4);
      assert.deepEqual(a.asked, b.asked);
      assert.equal(a.best, b.best);
      const other = minimize(c.make(8), rosenbrock, ROSEN_BOUNDS, 6, 4);
      assert.notDeepEqual(a.asked, other.asked);
    });
  }
});

Deno.test("optimizers handle NaN and infinite errors", async (t) => {
  for (const c of CASES) {
    await t.step(
      `${c.name}: NaN / ±Infinity never become best, algorithm keeps working`,
      () => {
        const opt = c.make(3);
        const n = opt.initialize(
          Object.keys(ROSEN_BOUNDS),
          8,
          10,
          ROSEN_BOUNDS,
        );
        let bestFinite = Infinity;
        for (let r = 0; r < 10; r++) {
          const ps = opt.ask(n);
          const errs = ps.map((p, i) => {
            if (i % 4 === 0) return NaN;
            if (i % 4 === 1 && r < 3) return -Infinity;
            if (i % 7 === 2) return Infinity;
            return rosenbrock(p);
          });
          for (const e of errs) {
            if (Number.isFinite(e)) bestFinite = Math.min(bestFinite, e);
          }
          opt.tell(ps, errs);
          const rec = opt.recommend();
          assert.equal(rosenbrock(rec), bestFinite);
        }
      },
    );
    await t.step(
      `${c.name}: all errors NaN -> recommend() throws, later finite errors work`,
      () => {
        const opt = c.make(3);
        const n = opt.initialize(["a", "b"], 4, 3, { a: [0, 1], b: [-1, 1] });
        const ps = opt.ask(n);
        opt.tell(ps, ps.map(() => NaN));
        assert.throws(
          () => opt.recommend(),
          /no parameter set with a finite error/,
        );
        const qs = opt.ask(n);
        opt.tell(qs, qs.map((q) => q.a + q.b));
        const best = Math.min(...qs.map((q) => q.a + q.b));
        const rec = opt.recommend();
        assert.equal(rec.a + rec.b, best);
      },
    );
  }
});

Deno.test("Optimizer.initialize() validation", async (t) => {
  const opts = CASES.map((c) => c.make(0));
  await t.step("missing bounds -> TypeError naming the parameter", () => {
    for (const o of opts) {
      assert.throws(
        () => o.initialize(["a", "b"], 5, 1, { a: [0, 1] }),
        (e: Error) => {
          return e instanceof TypeError && /'b'/.test(e.message);
        },
      );
    }
  });
  await t.step("unknown parameter -> RangeError naming it", () => {
    for (const o of opts) {
      assert.throws(
        () => o.initialize(["a"], 5, 1, { a: [0, 1], zz: [0, 1] }),
        (e: Error) => e instanceof RangeError && /'zz'/.test(e.message),
      );
    }
  });
  await t.step(
    "inverted / equal / non-finite bounds -> RangeError with the values",
    () => {
      for (const o of opts) {
        assert.throws(
          () => o.initialize(["a"], 5, 1, { a: [2, 1] }),
          (e: Error) =>
            e instanceof RangeError && /'a'/.test(e.message) &&
            /\[2, 1\]/.test(e.message),
        );
        assert.throws(
          () => o.initialize(["a"], 5, 1, { a: [1, 1] }),
          RangeError,
        );
        assert.throws(
          () => o.initialize(["a"], 5, 1, { a: [0, Infinity] }),
          RangeError,
        );
        assert.throws(
          () => o.initialize(["a"], 5, 1, { a: [NaN, 1] }),
          RangeError,
        );
      }
    },
  );
  await t.step("malformed bounds ([1], [[1,2]]) -> TypeError", () => {
    for (const o of opts) {
      assert.throws(
        () =>
          o.initialize(["a"], 5, 1, { a: [1] as unknown as [number, number] }),
        TypeError,
      );
      assert.throws(
        () =>
          o.initialize(["a"], 5, 1, {
            a: [[1, 2]] as unknown as [number, number],
          }),
        TypeError,
      );
    }
  });
  await t.step("bad popsize / rounds -> RangeError", () => {
    for (const o of opts) {
      assert.throws(() => o.initialize(["a"], 0, 1, { a: [0, 1] }), RangeError);
      assert.throws(
        () => o.initialize(["a"], 5, 0.5, { a: [0, 1] }),
        RangeError,
      );
    }
  });
  await t.step("ask/tell/recommend before initialize -> Error", () => {
    const o = new DifferentialEvolution();
    assert.throws(() => o.ask(3), /before initialize/);
    assert.throws(() => o.recommend(), /before initialize/);
  });
  await t.step("validateBounds returns arrays in name order", () => {
    const v = validateBounds(["b", "a"], { a: [0, 1], b: [2, 3] });
    assert.deepEqual(Array.from(v.lower), [2, 0]);
    assert.deepEqual(Array.from(v.upper), [3, 1]);
  });
});

Deno.test("Optimizer.ask()/tell() contract", async (t) => {
  await t.step(
    "ask(n) returns n dicts with exactly the parameter names",
    () => {
      for (const c of CASES) {
        const o = c.make(2);
        o.initialize(["a", "b", "c"], 5, 2, {
          a: [0, 1],
          b: [-5, -4],
          c: [1e-12, 1e-9],
        });
        const ps = o.ask(7);
        assert.equal(ps.length, 7);
        for (const p of ps) {
          assert.deepEqual(Object.keys(p).sort(), [
            "a",
            "b",
            "c",
          ]);
        }
      }
    },
  );
  await t.step("tell accepts copies with extra keys (fixed parameters)", () => {
    const o = new DifferentialEvolution({ seed: 1 });
    const n = o.initialize(["a"], 4, 2, { a: [0, 1] });
    const ps = o.ask(n).map((p): ParamDict => ({ ...p, fixed: 3 }));
    o.tell(ps, ps.map((p) => p.a));
    assert.equal(o.recommend().a, Math.min(...ps.map((p) => p.a)));
  });
  await t.step(
    "tell with length mismatch -> TypeError; out-of-bounds point -> RangeError",
    () => {
      const o = new CMAES({ seed: 1 });
      const n = o.initialize(["a"], 4, 2, { a: [0, 1] });
      const ps = o.ask(n);
      assert.throws(() => o.tell(ps, [1]), TypeError);
      assert.throws(
        () => o.tell([{ a: 2 }], [1]),
        (e: Error) => e instanceof RangeError && /a = 2/.test(e.message),
      );
      assert.throws(() => o.tell([{ b: 2 }], [1]), TypeError);
    },
  );
  await t.step("DifferentialEvolution popsize rules", () => {
    const b = { a: [0, 1] as [number, number], b: [0, 1] as [number, number] };
    assert.equal(
      new DifferentialEvolution().initialize(["a", "b"], 10, 1, b),
      30,
    );
    assert.equal(
      new DifferentialEvolution().initialize(["a", "b"], 100, 1, b),
      100,
    );
    assert.equal(
      new DifferentialEvolution({ popsize: 12 }).initialize(
        ["a", "b"],
        100,
        1,
        b,
      ),
      12,
    );
    assert.equal(
      new DifferentialEvolution({ popsize: "dimension" }).initialize(
        ["a", "b"],
        2,
        1,
        b,
      ),
      4,
    );
    assert.throws(() => new DifferentialEvolution({ CR: 2 }), RangeError);
  });
  await t.step(
    "CMAES popsize default and IPOP restarts double the population",
    () => {
      const b: Record<string, [number, number]> = { x: [-5, 5], y: [-5, 5] };
      const o = new CMAES({ seed: 4, restarts: 2 });
      const lambda0 = o.initialize(["x", "y"], 1, 1, b);
      assert.equal(lambda0, 4 + Math.floor(3 * Math.log(2)));
      // Rastrigin: converges to some local minimum, stagnates, restarts
      const rastrigin = (p: ParamDict) =>
        20 + p.x ** 2 - 10 * Math.cos(2 * Math.PI * p.x) + p.y ** 2 -
        10 * Math.cos(2 * Math.PI * p.y);
      for (let r = 0; r < 600; r++) {
        const ps = o.ask(o.lambda);
        o.tell(ps, ps.map(rastrigin));
      }
      assert.equal(o.restartsDone, 2);
      assert.equal(o.lambda, 4 * lambda0);
    },
  );
});

Deno.test("custom optimizer plugs in (structural interface)", async (t) => {
  await t.step("an object with the four methods is an Optimizer", () => {
    let best: ParamDict = {};
    let bestErr = Infinity;
    const grid: Optimizer = {
      initialize: (_names, popsize) => popsize,
      ask: (n) =>
        Array.from({ length: n }, (_, i) => ({ a: i / Math.max(1, n - 1) })),
      tell: (ps, errs) => {
        ps.forEach((p, i) => {
          if (errs[i] < bestErr) {
            bestErr = errs[i];
            best = p;
          }
        });
      },
      recommend: () => ({ ...best }),
    };
    assert.ok(isOptimizer(grid));
    const r = minimize(grid, (p) => (p.a - 0.5) ** 2, { a: [0, 1] }, 11, 1);
    assert.equal(r.best, 0);
    assert.ok(!isOptimizer({ ask() {}, tell() {} }));
    assert.ok(!isOptimizer(null));
  });
});

Deno.test("SobolSequence", async (t) => {
  await t.step("first points in 2-D equal the classic Sobol points", () => {
    const pts = new SobolSequence(2).next(8).map((p) => Array.from(p));
    assert.deepEqual(pts, [
      [0, 0],
      [0.5, 0.5],
      [0.75, 0.25],
      [0.25, 0.75],
      [0.375, 0.375],
      [0.875, 0.875],
      [0.625, 0.125],
      [0.125, 0.625],
    ]);
  });
  await t.step(
    "32 dimensions: each coordinate of the first 2^10 points is stratified",
    () => {
      const pts = new SobolSequence(32, { scramble: true, seed: 5 }).next(1024);
      for (let j = 0; j < 32; j++) {
        const seen = new Uint8Array(1024);
        for (const p of pts) seen[Math.floor(p[j] * 1024)]++;
        assert.ok(seen.every((v) => v === 1), `dimension ${j} not stratified`);
      }
    },
  );
  await t.step(
    "third coordinate follows the Joe–Kuo numbers (s=2, a=1, m=1,3)",
    () => {
      // V1 = 1/2, V2 = 3/4, V3 = V1 ^ V1/4 ^ V2 = 3/8; gray-code order gives
      // 0, 1/2, 1/4, 3/4, 5/8, 1/8, 7/8, 3/8 (scipy's Sobol(3, scramble=False))
      const pts = new SobolSequence(3).next(8).map((p) => p[2]);
      assert.deepEqual(pts, [0, 0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375]);
    },
  );
  await t.step("bad dimension -> RangeError", () => {
    assert.throws(() => new SobolSequence(33), RangeError);
    assert.throws(() => new SobolSequence(0), RangeError);
  });
});

Deno.test("latinHypercube()", async (t) => {
  await t.step("one point per stratum in every dimension", () => {
    const pts = latinHypercube(50, 3, new Rng(1));
    for (let j = 0; j < 3; j++) {
      const s = new Set(pts.map((p) => Math.floor(p[j] * 50)));
      assert.equal(s.size, 50);
    }
  });
});
