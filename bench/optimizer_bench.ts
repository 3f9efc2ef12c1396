/**
 * Optimizer benchmark: every built-in optimizer on the 5-D Rosenbrock function
 * ([-2, 2]^5) and on a 3-D "tutorial-like" problem (the HH tutorial's bounds,
 * gl in [2 pS, 200 nS], g_na in [200 nS, 0.4 mS], g_kd in [200 nS, 200 uS],
 * error = sum of squared relative deviations from gl 10 nS, g_na 20 uS,
 * g_kd 6 uS — an MSE-like landscape on the optimizer's linear scale) with the
 * tutorial's budget (100 samples x 10 rounds), over 5 seeds. Reports the
 * median best error, evaluations and wall time; checks that the medians stay
 * below the thresholds stated in the table; writes out/optimizer_bench.json.
 *
 * Run: deno run -A bench/optimizer_bench.ts
 * @module
 */

import {
  BayesianOptimization,
  CMAES,
  DifferentialEvolution,
  type Optimizer,
  type ParamDict,
  ParticleSwarm,
  RandomSearch,
} from "../lib/fitting/optimizers/mod.ts";

const ROSEN: Record<string, [number, number]> = {};
for (let i = 0; i < 5; i++) ROSEN[`x${i}`] = [-2, 2];
const rosenbrock = (p: ParamDict): number => {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    s += 100 * (p[`x${i + 1}`] - p[`x${i}`] ** 2) ** 2 + (1 - p[`x${i}`]) ** 2;
  }
  return s;
};
const TRUTH: ParamDict = { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 };
const TUT: Record<string, [number, number]> = {
  gl: [2e-12, 200e-9],
  g_na: [200e-9, 0.4e-3],
  g_kd: [200e-9, 200e-6],
};
const tutorial = (p: ParamDict): number =>
  Object.keys(TRUTH).reduce(
    (s, k) => s + ((p[k] - TRUTH[k]) / TRUTH[k]) ** 2,
    0,
  );

interface Row {
  optimizer: string;
  problem: string;
  popsize: number;
  rounds: number;
  evaluations: number;
  medianBest: number;
  bests: number[];
  medianMs: number;
  threshold: number;
  ok: boolean;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function run(
  name: string,
  make: (seed: number) => Optimizer,
  problem: string,
  f: (p: ParamDict) => number,
  bounds: Record<string, [number, number]>,
  popsize: number,
  rounds: number,
  threshold: number,
): Row {
  const bests: number[] = [];
  const times: number[] = [];
  let evaluations = 0;
  for (const seed of [1, 2, 3, 4, 5]) {
    const o = make(seed);
    const t0 = performance.now();
    const n = o.initialize(Object.keys(bounds), popsize, rounds, bounds);
    evaluations = 0;
    for (let r = 0; r < rounds; r++) {
      const ps = o.ask(n);
      o.tell(ps, ps.map(f));
      evaluations += ps.length;
    }
    bests.push(f(o.recommend()));
    times.push(performance.now() - t0);
  }
  const medianBest = median(bests);
  return {
    optimizer: name,
    problem,
    popsize,
    rounds,
    evaluations,
    medianBest,
    bests,
    medianMs: median(times),
    threshold,
    ok: medianBest <= threshold,
  };
}

const rows: Row[] = [
  run(
    "DifferentialEvolution",
    (s) => new DifferentialEvolution({ seed: s }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    30,
    400,
    1e-2,
  ),
  run(
    "CMAES",
    (s) => new CMAES({ seed: s }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    10,
    400,
    1e-10,
  ),
  run(
    "CMAES(IPOP 3)",
    (s) => new CMAES({ seed: s, restarts: 3 }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    10,
    400,
    1e-10,
  ),
  run(
    "ParticleSwarm",
    (s) => new ParticleSwarm({ seed: s }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    30,
    400,
    0.5,
  ),
  run(
    "RandomSearch(sobol)",
    (s) => new RandomSearch({ seed: s, sampler: "sobol" }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    100,
    40,
    60,
  ),
  run(
    "BayesianOptimization",
    (s) => new BayesianOptimization({ seed: s }),
    "rosenbrock5",
    rosenbrock,
    ROSEN,
    5,
    20,
    30,
  ),
  run(
    "DifferentialEvolution",
    (s) => new DifferentialEvolution({ seed: s }),
    "tutorial3",
    tutorial,
    TUT,
    100,
    10,
    0.1,
  ),
  run(
    "CMAES",
    (s) => new CMAES({ seed: s }),
    "tutorial3",
    tutorial,
    TUT,
    100,
    10,
    0.01,
  ),
  run(
    "ParticleSwarm",
    (s) => new ParticleSwarm({ seed: s }),
    "tutorial3",
    tutorial,
    TUT,
    100,
    10,
    0.1,
  ),
  run(
    "RandomSearch(sobol)",
    (s) => new RandomSearch({ seed: s, sampler: "sobol" }),
    "tutorial3",
    tutorial,
    TUT,
    100,
    10,
    3,
  ),
  run(
    "BayesianOptimization",
    (s) => new BayesianOptimization({ seed: s }),
    "tutorial3",
    tutorial,
    TUT,
    10,
    10,
    0.5,
  ),
];

console.table(rows.map(({ bests: _b, ...r }) => r));
await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("../out/optimizer_bench.json", import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 2),
);
const failed = rows.filter((r) => !r.ok);
if (failed.length > 0) {
  console.error(
    `FAILED: ${
      failed.map((r) =>
        `${r.optimizer}/${r.problem} ${r.medianBest} > ${r.threshold}`
      ).join("; ")
    }`,
  );
  Deno.exit(1);
}
console.log(
  "all medians below their thresholds; wrote out/optimizer_bench.json",
);
