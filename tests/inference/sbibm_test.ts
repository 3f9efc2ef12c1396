/**
 * sbibm tasks (bench/sbibm/) and a reduced version of the issue-6 acceptance
 * sweep. The full sweep (5 tasks × 10 observations) is `bench/sbibm_bench.ts`.
 *
 * The slow NPE test can be skipped with `NEUROFIT_SKIP_SLOW=1`.
 */
import assert from "node:assert/strict";
import { getTask, TASK_NAMES, type TaskName } from "../../bench/sbibm/tasks.ts";
import { solveTsit5, TSIT5_TABLEAU } from "../../bench/sbibm/ode.ts";
import {
  loadObservation,
  loadReferenceSamples,
  loadTrueParameters,
} from "../../bench/sbibm/data.ts";
import { Matrix } from "../../lib/inference/matrix.ts";
import { NPE } from "../../lib/inference/methods/npe.ts";
import { c2stScores } from "../../lib/inference/diagnostics/c2st.ts";

function repeatRow(row: ArrayLike<number>, n: number): Matrix {
  const m = new Matrix(n, row.length);
  for (let i = 0; i < n; i++) m.data.set(Array.from(row), i * row.length);
  return m;
}

function columnStats(m: Matrix, j: number): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < m.rows; i++) s += m.get(i, j);
  const mean = s / m.rows;
  let ss = 0;
  for (let i = 0; i < m.rows; i++) ss += (m.get(i, j) - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (m.rows - 1)) };
}

Deno.test("solveTsit5()", async (t) => {
  await t.step(
    "tableau is consistent (row sums = c, Σb = 1, Σbtilde = 0)",
    () => {
      const { a, b, c, btilde } = TSIT5_TABLEAU;
      for (let i = 1; i < a.length; i++) {
        assert.ok(
          Math.abs(a[i].reduce((s, v) => s + v, 0) - c[i]) < 1e-14,
          `row ${i}`,
        );
      }
      assert.ok(Math.abs(b.reduce((s, v) => s + v, 0) - 1) < 1e-14);
      assert.ok(Math.abs(btilde.reduce((s, v) => s + v, 0)) < 1e-14);
    },
  );

  await t.step("matches exp(-t) to the requested tolerance", () => {
    const ts = [0, 0.5, 1, 2, 5, 10];
    const sol = solveTsit5(
      (_t, u, du) => {
        du[0] = -u[0];
      },
      [1],
      ts,
    );
    assert.ok(sol !== null);
    for (let i = 0; i < ts.length; i++) {
      assert.ok(
        Math.abs(sol[i] - Math.exp(-ts[i])) < 1e-8,
        `t=${ts[i]}: ${sol[i]}`,
      );
    }
  });

  await t.step("conserves the Lotka–Volterra invariant to ~1e-8", () => {
    const [al, be, ga, de] = [0.7, 0.1, 0.9, 0.12];
    const inv = (x: number, y: number) =>
      de * x - ga * Math.log(x) + be * y - al * Math.log(y);
    const ts = Array.from({ length: 21 }, (_, i) => i);
    const sol = solveTsit5(
      (_t, u, du) => {
        du[0] = al * u[0] - be * u[0] * u[1];
        du[1] = -ga * u[1] + de * u[0] * u[1];
      },
      [30, 1],
      ts,
    );
    assert.ok(sol !== null);
    const v0 = inv(30, 1);
    for (let i = 0; i < ts.length; i++) {
      const v = inv(sol[2 * i], sol[2 * i + 1]);
      assert.ok(
        Math.abs(v - v0) / Math.abs(v0) < 1e-7,
        `t=${ts[i]}: ${v} vs ${v0}`,
      );
    }
  });

  await t.step(
    "returns null on blow-up (du/dt = u², singular at t = 1)",
    () => {
      const sol = solveTsit5(
        (_t, u, du) => {
          du[0] = u[0] * u[0];
        },
        [1],
        [0, 0.5, 2],
      );
      assert.equal(sol, null);
    },
  );
});

Deno.test("sbibm tasks", async (t) => {
  await t.step("data files load with the documented shapes", async () => {
    for (const name of TASK_NAMES) {
      const task = getTask(name);
      const xo = await loadObservation(name, 1);
      const th = await loadTrueParameters(name, 10);
      const ref = await loadReferenceSamples(name, 1);
      assert.equal(xo.length, task.dimX, name);
      assert.equal(th.length, task.dimTheta, name);
      assert.equal(ref.rows, 10000, name);
      assert.equal(ref.cols, task.dimTheta, name);
      assert.ok(ref.data.every(Number.isFinite), name);
      // Every reference sample lies in the prior support.
      const lp = task.prior.logProb(ref);
      assert.ok(
        lp.every(Number.isFinite),
        `${name}: reference sample outside the prior`,
      );
    }
  });

  await t.step(
    "gaussian_linear: reference mean ≈ x_o/2, variance ≈ 0.05",
    async () => {
      const xo = await loadObservation("gaussian_linear", 1);
      const ref = await loadReferenceSamples("gaussian_linear", 1);
      for (let j = 0; j < 10; j++) {
        const { mean, std } = columnStats(ref, j);
        assert.ok(
          Math.abs(mean - xo[j] / 2) < 0.01,
          `dim ${j}: ${mean} vs ${xo[j] / 2}`,
        );
        assert.ok(
          Math.abs(std * std - 0.05) < 0.004,
          `dim ${j}: var ${std * std}`,
        );
      }
    },
  );

  await t.step(
    "simulators: x_o is a typical draw at the true parameters",
    async () => {
      // For every task and the 10 observations, simulate 2,000 data sets at the
      // true parameters and z-score x_o against them. A wrong convention (layout,
      // rotation sign, std vs variance) shows up as |z| of 5 to 100.
      for (const name of TASK_NAMES) {
        const task = getTask(name);
        const zs: number[] = [];
        for (let obs = 1; obs <= 10; obs++) {
          const xo = await loadObservation(name, obs);
          const th = await loadTrueParameters(name, obs);
          const sims = task.simulate(repeatRow(th, 2000), 100 + obs);
          for (let j = 0; j < task.dimX; j++) {
            const { mean, std } = columnStats(sims, j);
            // SIR counts with n·p ≪ 1 are Poisson-like: a single count is a huge
            // "z". Keep the informative entries only (as TASKS.md's check did).
            if (name === "sir" && std < 1) continue;
            if (std > 0) zs.push((xo[j] - mean) / std);
            else assert.equal(xo[j], mean, `${name} obs ${obs} dim ${j}`);
          }
        }
        const maxAbs = Math.max(...zs.map(Math.abs));
        const rms = Math.sqrt(zs.reduce((s, z) => s + z * z, 0) / zs.length);
        console.log(
          `${name}: ${zs.length} entries, rms z ${rms.toFixed(2)}, max |z| ${
            maxAbs.toFixed(2)
          }`,
        );
        assert.ok(maxAbs < 4.5, `${name}: max |z| ${maxAbs}`);
        assert.ok(rms > 0.6 && rms < 1.4, `${name}: rms z ${rms}`);
      }
    },
  );

  await t.step(
    "lotka_volterra: log residuals at the true parameters have sd ≈ 0.1",
    async () => {
      const task = getTask("lotka_volterra");
      const res: number[] = [];
      for (let obs = 1; obs <= 10; obs++) {
        const xo = await loadObservation("lotka_volterra", obs);
        const th = await loadTrueParameters("lotka_volterra", obs);
        // Median of many noisy draws = the noiseless ODE solution.
        const sims = task.simulate(repeatRow(th, 401), obs);
        for (let j = 0; j < 20; j++) {
          const col = Array.from(sims.col(j)).sort((a, b) => a - b);
          res.push(Math.log(xo[j]) - Math.log(col[200]));
        }
      }
      const mean = res.reduce((s, v) => s + v, 0) / res.length;
      const sd = Math.sqrt(
        res.reduce((s, v) => s + (v - mean) ** 2, 0) / (res.length - 1),
      );
      assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
      assert.ok(sd > 0.085 && sd < 0.12, `sd ${sd}`);
    },
  );

  await t.step(
    "two_moons and slcp: reference samples explain x_o under the likelihood",
    async () => {
      for (const name of ["two_moons", "slcp"] as TaskName[]) {
        const task = getTask(name);
        const ll = task.logLikelihood!;
        for (const obs of [1, 5]) {
          const xo = await loadObservation(name, obs);
          const th = await loadTrueParameters(name, obs);
          const ref = await loadReferenceSamples(name, obs);
          // log L(x_o | θ_true) is within the spread of log L(x | θ_true), x
          // simulated: for a correct simulator and likelihood its rank among
          // 10,000 simulations is uniform on 0..10,000, and it lies at an end
          // with probability 2/10,001; over the 4 checks 8e-4 (the former
          // 0.5%..99.5% on 4,000 failed the exact answer 4% of the time).
          const sims = task.simulate(repeatRow(th, 10000), obs);
          const lls = Array.from(
            { length: sims.rows },
            (_, i) => ll(th, sims.row(i)),
          );
          const rank = lls.filter((v) => v < ll(th, xo)).length / lls.length;
          assert.ok(rank > 0 && rank < 1, `${name} obs ${obs}: rank ${rank}`);
          // Every reference sample has finite likelihood, and on average it is far
          // above that of prior draws (posterior mass sits where the likelihood is).
          let refMean = 0;
          for (let i = 0; i < ref.rows; i++) {
            const v = ll(ref.row(i), xo);
            assert.ok(
              Number.isFinite(v),
              `${name} obs ${obs}: ref sample ${i}`,
            );
            refMean += v / ref.rows;
          }
          const llTrue = ll(th, xo);
          assert.ok(
            Math.abs(refMean - llTrue) < 15,
            `${name}: ${refMean} vs ${llTrue}`,
          );
        }
      }
    },
  );
});

function skipSlow(): boolean {
  try {
    return Deno.env.get("NEUROFIT_SKIP_SLOW") === "1";
  } catch {
    return false;
  }
}

/*
 * Reduced acceptance sweep of issue 6: NPE-NSF, 10,000 simulations, observation 1
 * only, 10,000 posterior samples against the 10,000 reference samples. To stay
 * within the CI budget the C2ST runs only the first of its 5 folds
 * (`foldsToRun: 1`): that fold's classifier is trained on 16,000 of the 20,000
 * points exactly as in the full protocol, so the metric keeps its power; only
 * its standard error grows (test fold of 4,000 points: about ±0.008). The
 * thresholds are the per-task means (two_moons ≤ 0.62,
 * gaussian_linear ≤ 0.56), applied here to one observation.
 */
Deno.test({
  name: "NPE (sbibm C2ST, reduced sweep)",
  ignore: skipSlow(),
  fn: async (t) => {
    const cases: [TaskName, number][] = [["two_moons", 0.62], [
      "gaussian_linear",
      0.56,
    ]];
    for (const [name, threshold] of cases) {
      await t.step(`${name} observation 1: C2ST ≤ ${threshold}`, async () => {
        const task = getTask(name);
        const xo = await loadObservation(name, 1);
        const reference = await loadReferenceSamples(name, 1);
        const theta = task.prior.sample(10000, 11);
        const x = task.simulate(theta, 12);
        const npe = new NPE({
          prior: task.prior,
          densityEstimator: "nsf",
          seed: 13,
        });
        npe.appendSimulations(theta, x);
        await npe.train();
        const posterior = npe.buildPosterior();
        try {
          const samples = await posterior.sample(10000, { x: xo, seed: 14 });
          const r = await c2stScores(reference, samples, {
            seed: 1,
            foldsToRun: 1,
          });
          console.log(`${name} obs 1: C2ST (1 fold) ${r.accuracy.toFixed(3)}`);
          assert.ok(
            r.accuracy <= threshold,
            `${name}: C2ST ${r.accuracy} > ${threshold}`,
          );
        } finally {
          posterior.dispose();
          npe.dispose();
        }
      });
    }
  },
});
