/**
 * The sbibm benchmark tasks (Lueckmann et al., "Benchmarking simulation-based
 * inference", AISTATS 2021) re-implemented from the specification in
 * `shared/data/sbibm/TASKS.md` (itself read from `sbibm/tasks/<task>/task.py`):
 * priors, simulators and, where tractable, log-likelihoods.
 *
 * These are benchmark fixtures, not library code (the issue requires tasks to
 * live outside `lib/`). Simulators take a `Matrix` of parameters (rows =
 * simulations) and return a `Matrix` of data; a failed ODE solve gives an
 * all-NaN row, as in sbibm.
 * @module
 */

import { Matrix } from "../../lib/inference/matrix.ts";
import { BoxUniform } from "../../lib/inference/priors/box_uniform.ts";
import { Normal } from "../../lib/inference/priors/normal.ts";
import { LogNormal } from "../../lib/inference/priors/log_normal.ts";
import type { Prior } from "../../lib/inference/priors/prior.ts";
import { Rng } from "../../lib/_internal/random.ts";
import { solveTsit5 } from "./ode.ts";

/** Names of the implemented tasks. */
export const TASK_NAMES = [
  "two_moons",
  "gaussian_linear",
  "gaussian_linear_uniform",
  "slcp",
  "sir",
  "lotka_volterra",
] as const;

/** One of {@linkcode TASK_NAMES}. */
export type TaskName = typeof TASK_NAMES[number];

/** A benchmark task. */
export interface Task {
  /** sbibm name. */
  readonly name: TaskName;
  /** Number of parameters. */
  readonly dimTheta: number;
  /** Number of data dimensions. */
  readonly dimX: number;
  /** Prior over the parameters. */
  readonly prior: Prior;
  /**
   * Simulate one data vector per parameter row.
   * @param theta parameters, rows = simulations
   * @param seed seed of the simulator noise
   * @returns data, rows = simulations (all-NaN rows where the solver failed)
   */
  simulate(theta: Matrix, seed: number): Matrix;
  /** Log-likelihood `log p(x | theta)` for tasks where it is tractable. */
  logLikelihood?: (theta: ArrayLike<number>, x: ArrayLike<number>) => number;
}

/**
 * Mean C2ST of single-round NPE (NSF) at 10^4 simulations in the sbibm paper
 * (`TASKS.md`, from `sbi-benchmark/results`, `main_paper.csv`).
 */
export const PUBLISHED_NPE_C2ST_1E4: Record<TaskName, number> = {
  two_moons: 0.606,
  gaussian_linear: 0.552,
  gaussian_linear_uniform: 0.553,
  slcp: 0.901,
  sir: 0.680,
  lotka_volterra: 0.997,
};

/** Acceptance thresholds of issue 6 (NPE-NSF, 10^4 simulations, mean over 10 observations). */
export const ISSUE_THRESHOLDS: Partial<Record<TaskName, number>> = {
  two_moons: 0.62,
  gaussian_linear: 0.56,
  gaussian_linear_uniform: 0.57,
  slcp: 0.90,
  sir: 0.70,
};

function checkTheta(theta: Matrix, dim: number, task: string): void {
  if (!(theta instanceof Matrix)) {
    throw new TypeError(`${task}: theta must be a Matrix`);
  }
  if (theta.cols !== dim) {
    throw new TypeError(
      `${task}: theta has ${theta.cols} columns, expected ${dim}`,
    );
  }
}

const LOG_2PI = Math.log(2 * Math.PI);

// ---------------------------------------------------------------- two_moons

/** Two moons (sbibm `two_moons/task.py`). */
function twoMoons(): Task {
  const rStd = 0.01;
  const rMean = 0.1;
  return {
    name: "two_moons",
    dimTheta: 2,
    dimX: 2,
    prior: new BoxUniform({ low: [-1, -1], high: [1, 1] }),
    simulate(theta: Matrix, seed: number): Matrix {
      checkTheta(theta, 2, "two_moons");
      const rng = new Rng(seed);
      const out = new Matrix(theta.rows, 2);
      for (let i = 0; i < theta.rows; i++) {
        const t1 = theta.data[2 * i];
        const t2 = theta.data[2 * i + 1];
        const a = rng.uniform(-Math.PI / 2, Math.PI / 2);
        const r = rMean + rStd * rng.normal();
        const px = r * Math.cos(a) + 0.25;
        const py = r * Math.sin(a);
        // Rotation by −π/4: z0 = (θ1 + θ2)/√2, z1 = (θ2 − θ1)/√2.
        const z0 = (t1 + t2) / Math.SQRT2;
        const z1 = (t2 - t1) / Math.SQRT2;
        out.data[2 * i] = px - Math.abs(z0);
        out.data[2 * i + 1] = py + z1;
      }
      return out;
    },
    logLikelihood(theta: ArrayLike<number>, x: ArrayLike<number>): number {
      // sbibm's likelihood (angle density omitted, as in the task file).
      const z0 = (theta[0] + theta[1]) / Math.SQRT2;
      const z1 = (theta[1] - theta[0]) / Math.SQRT2;
      const u = x[0] + Math.abs(z0) - 0.25;
      const v = x[1] - z1;
      if (u < 0) return -Infinity;
      const r = Math.sqrt(u * u + v * v);
      return -0.5 * ((r - rMean) / rStd) ** 2 -
        0.5 * Math.log(2 * Math.PI * rStd * rStd);
    },
  };
}

// ---------------------------------------------------------- gaussian_linear

function gaussianLinearLike(
  name: "gaussian_linear" | "gaussian_linear_uniform",
): Task {
  const dim = 10;
  // Covariance 0.1·I for the noise (and for the Gaussian prior), see TASKS.md.
  const noiseStd = Math.sqrt(0.1);
  const prior = name === "gaussian_linear"
    ? new Normal({
      mean: new Array(dim).fill(0),
      std: new Array(dim).fill(noiseStd),
    })
    : new BoxUniform({
      low: new Array(dim).fill(-1),
      high: new Array(dim).fill(1),
    });
  return {
    name,
    dimTheta: dim,
    dimX: dim,
    prior,
    simulate(theta: Matrix, seed: number): Matrix {
      checkTheta(theta, dim, name);
      const rng = new Rng(seed);
      const out = new Matrix(theta.rows, dim);
      for (let i = 0; i < theta.rows * dim; i++) {
        out.data[i] = theta.data[i] + noiseStd * rng.normal();
      }
      return out;
    },
    logLikelihood(theta: ArrayLike<number>, x: ArrayLike<number>): number {
      let s = 0;
      for (let j = 0; j < dim; j++) s += ((x[j] - theta[j]) / noiseStd) ** 2;
      return -0.5 * s - dim * Math.log(noiseStd) - 0.5 * dim * LOG_2PI;
    },
  };
}

// --------------------------------------------------------------------- slcp

/** Mean and Cholesky factor of the SLCP bivariate normal for one theta. */
function slcpGaussian(
  theta: ArrayLike<number>,
): [number, number, number, number, number] {
  const s1 = theta[2] * theta[2];
  const s2 = theta[3] * theta[3];
  const rho = Math.tanh(theta[4]);
  // Σ = [[s1², ρ s1 s2], [ρ s1 s2, s2²]] + 1e-6 I (sbibm adds the jitter).
  const c11 = s1 * s1 + 1e-6;
  const c21 = rho * s1 * s2;
  const c22 = s2 * s2 + 1e-6;
  const l11 = Math.sqrt(c11);
  const l21 = c21 / l11;
  const l22 = Math.sqrt(Math.max(c22 - l21 * l21, 0));
  return [theta[0], theta[1], l11, l21, l22];
}

function slcp(): Task {
  return {
    name: "slcp",
    dimTheta: 5,
    dimX: 8,
    prior: new BoxUniform({
      low: new Array(5).fill(-3),
      high: new Array(5).fill(3),
    }),
    simulate(theta: Matrix, seed: number): Matrix {
      checkTheta(theta, 5, "slcp");
      const rng = new Rng(seed);
      const out = new Matrix(theta.rows, 8);
      for (let i = 0; i < theta.rows; i++) {
        const [m1, m2, l11, l21, l22] = slcpGaussian(theta.row(i));
        // Four iid points, flattened point-major (x1a, x1b, x2a, x2b, ...).
        for (let j = 0; j < 4; j++) {
          const e1 = rng.normal();
          const e2 = rng.normal();
          out.data[8 * i + 2 * j] = m1 + l11 * e1;
          out.data[8 * i + 2 * j + 1] = m2 + l21 * e1 + l22 * e2;
        }
      }
      return out;
    },
    logLikelihood(theta: ArrayLike<number>, x: ArrayLike<number>): number {
      const [m1, m2, l11, l21, l22] = slcpGaussian(theta);
      let s = 0;
      for (let j = 0; j < 4; j++) {
        const z1 = (x[2 * j] - m1) / l11;
        const z2 = (x[2 * j + 1] - m2 - l21 * z1) / l22;
        s += -0.5 * (z1 * z1 + z2 * z2) - Math.log(l11 * l22) - LOG_2PI;
      }
      return s;
    },
  };
}

// ---------------------------------------------------------------------- sir

/**
 * Binomial(n, p) by inversion (sequential search of the CDF), using the
 * symmetry `Bin(n, p) = n − Bin(n, 1 − p)` so that `p ≤ 1/2` and
 * `(1 − p)^n` cannot underflow for n ≤ 1000. Exact up to float64 rounding.
 */
export function binomial(rng: Rng, n: number, p: number): number {
  if (!(p > 0)) return 0;
  if (p >= 1) return n;
  const flip = p > 0.5;
  const q = flip ? 1 - p : p;
  const ratio = q / (1 - q);
  let pmf = Math.exp(n * Math.log1p(-q));
  let u = rng.random();
  let k = 0;
  while (u > pmf && k < n) {
    u -= pmf;
    pmf *= ((n - k) / (k + 1)) * ratio;
    k++;
  }
  return flip ? n - k : k;
}

function sir(): Task {
  const N = 1e6;
  const tSave = Array.from({ length: 161 }, (_, i) => i); // saveat = 1 on [0, 160]
  const obsIdx = Array.from({ length: 10 }, (_, i) => 17 * i); // 0, 17, ..., 153
  const obsTimes = obsIdx.map((i) => tSave[i]);
  return {
    name: "sir",
    dimTheta: 2,
    dimX: 10,
    prior: new LogNormal({
      mean: [Math.log(0.4), Math.log(0.125)],
      std: [0.5, 0.2],
    }),
    simulate(theta: Matrix, seed: number): Matrix {
      checkTheta(theta, 2, "sir");
      const rng = new Rng(seed);
      const out = new Matrix(theta.rows, 10);
      for (let i = 0; i < theta.rows; i++) {
        const beta = theta.data[2 * i];
        const gamma = theta.data[2 * i + 1];
        const sol = solveTsit5(
          (_t, u, du) => {
            const inf = beta * u[0] * u[1] / N;
            du[0] = -inf;
            du[1] = inf - gamma * u[1];
            du[2] = gamma * u[1];
          },
          [N - 1, 1, 0],
          obsTimes,
        );
        for (let k = 0; k < 10; k++) {
          if (sol === null) {
            out.data[10 * i + k] = NaN;
            continue;
          }
          const p = Math.min(Math.max(sol[3 * k + 1] / N, 0), 1);
          out.data[10 * i + k] = binomial(rng, 1000, p);
        }
      }
      return out;
    },
  };
}

// ----------------------------------------------------------- lotka_volterra

function lotkaVolterra(): Task {
  // saveat 0.1 on [0, 20]; observed indices 0, 21, ..., 189 → t = 0, 2.1, ..., 18.9.
  // The solve continues to t = 20 so that failures after 18.9 also give NaN.
  const obsTimes = Array.from(
    { length: 10 },
    (_, i) => Math.round(21 * i) / 10,
  );
  const tSolve = [...obsTimes, 20];
  return {
    name: "lotka_volterra",
    dimTheta: 4,
    dimX: 20,
    prior: new LogNormal({
      mean: [-0.125, -3, -0.125, -3],
      std: [0.5, 0.5, 0.5, 0.5],
    }),
    simulate(theta: Matrix, seed: number): Matrix {
      checkTheta(theta, 4, "lotka_volterra");
      const rng = new Rng(seed);
      const out = new Matrix(theta.rows, 20);
      for (let i = 0; i < theta.rows; i++) {
        const [alpha, beta, gamma, delta] = theta.row(i);
        const sol = solveTsit5(
          (_t, u, du) => {
            du[0] = alpha * u[0] - beta * u[0] * u[1];
            du[1] = -gamma * u[1] + delta * u[0] * u[1];
          },
          [30, 1],
          tSolve,
        );
        // Species-major layout: prey at the 10 times, then predators.
        for (let s = 0; s < 2; s++) {
          for (let k = 0; k < 10; k++) {
            const idx = 20 * i + 10 * s + k;
            if (sol === null) {
              out.data[idx] = NaN;
              continue;
            }
            const v = Math.min(Math.max(sol[2 * k + s], 1e-10), 1e4);
            out.data[idx] = Math.exp(Math.log(v) + 0.1 * rng.normal());
          }
        }
      }
      return out;
    },
  };
}

const FACTORIES: Record<TaskName, () => Task> = {
  two_moons: twoMoons,
  gaussian_linear: () => gaussianLinearLike("gaussian_linear"),
  gaussian_linear_uniform: () => gaussianLinearLike("gaussian_linear_uniform"),
  slcp,
  sir,
  lotka_volterra: lotkaVolterra,
};

/**
 * The task of the given name.
 *
 * @param name an sbibm task name.
 * @returns the task (prior, simulator, optional likelihood).
 * @throws {RangeError} for an unknown name.
 */
export function getTask(name: string): Task {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(
      `unknown sbibm task "${name}"; known: ${TASK_NAMES.join(", ")}`,
    );
  }
  return FACTORIES[name as TaskName]();
}
