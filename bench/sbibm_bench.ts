/**
 * sbibm benchmark of single-round NPE (Lueckmann et al., AISTATS 2021): for
 * each task and observation, simulate `--sims` pairs from the prior, train NPE
 * with the chosen density estimator, draw 10,000 posterior samples at the
 * observation and compare them with the 10,000 reference samples by C2ST
 * (sbibm protocol, `lib/inference/diagnostics/c2st.ts`).
 *
 * Usage:
 *   deno run -A bench/sbibm_bench.ts [--tasks two_moons,slcp] [--observations 1-10]
 *     [--sims 10000] [--estimator nsf] [--samples 10000] [--seed 0] [--folds-to-run 5]
 *     [--amortized] [--method npe|nle|nre] [--mcmc sbibm] [--transforms 10]
 *
 * `--method nle` trains NLE (the `--estimator`, default maf) and samples the
 * posterior by MCMC (slice sampling, 20 chains, sbi's defaults); `--method
 * nre` trains NRE-B with the `--estimator` as classifier (default resnet).
 * They write `out/sbibm_<method>_<estimator>.json`. `--transforms N` sets the
 * NLE flow's number of transforms (sbi's default 5; file suffix `_t<N>`).
 *
 * `--amortized` trains one network per task and evaluates it at every listed
 * observation (single-round NPE does not depend on the observation, so the
 * expected C2ST is the same as sbibm's one-training-per-observation protocol;
 * the runs are marked `amortized: true` in the JSON and with `a` in the table).
 *
 * Reference posteriors come from `NEUROFIT_SBIBM_DIR`; when it is unset the
 * bench uses `../shared/data/sbibm/` beside the repository if present, else the
 * observations bundled in `tests/fixtures/sbibm/` (observation 1 of every
 * task, and 5 of two_moons and slcp).
 *
 * Writes `out/sbibm_<estimator>.json` (results of earlier runs for other
 * task/observation pairs are kept, so the table can be filled in several
 * runs) and prints a markdown table next to the sbibm paper's NPE numbers and
 * the issue's thresholds. Exits with status 1 if a task that has all 10
 * observations misses its threshold.
 * @module
 */

import { NPE } from "../lib/inference/methods/npe.ts";
import { NLE } from "../lib/inference/methods/nle.ts";
import { NRE } from "../lib/inference/methods/nre.ts";
import type { Matrix } from "../lib/inference/matrix.ts";
import { c2stScores } from "../lib/inference/diagnostics/c2st.ts";
import {
  getTask,
  ISSUE_THRESHOLDS,
  PUBLISHED_NPE_C2ST_1E4,
  TASK_NAMES,
  type TaskName,
} from "./sbibm/tasks.ts";
import { loadObservation, loadReferenceSamples } from "./sbibm/data.ts";

// The full sbibm data beside the checkout, when there is one (see above).
if (!Deno.env.get("NEUROFIT_SBIBM_DIR")) {
  const full = new URL("../../shared/data/sbibm/", import.meta.url);
  try {
    if (Deno.statSync(full).isDirectory) {
      Deno.env.set("NEUROFIT_SBIBM_DIR", full.pathname);
    }
  } catch { /* not there: the bundled observations */ }
}

interface RunResult {
  task: TaskName;
  /** One network trained for the task and evaluated at every observation. */
  amortized?: boolean;
  /** Rounds of sequential NPE (the simulations split equally), when > 1. */
  rounds?: number;
  /** Trained from a stream of chunks (`train({ source })`) instead of one batch. */
  streamed?: boolean;
  observation: number;
  estimator: string;
  nSimulations: number;
  nExcluded: number;
  c2st: number;
  c2stFolds: number[];
  c2stEpochs: number[];
  foldsRun: number;
  epochs: number;
  trainSeconds: number;
  trainSamplesPerSecond: number;
  sampleSeconds: number;
  c2stSeconds: number;
  backend: string;
  date: string;
}

interface BenchFile {
  estimator: string;
  runs: RunResult[];
}

function parseArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new RangeError(`unexpected argument "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
      out[a.slice(2)] = "true"; // a flag
    } else {
      out[a.slice(2)] = args[i + 1];
      i++;
    }
  }
  return out;
}

function parseObservations(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(",")) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new RangeError(`bad --observations "${spec}"`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) out.push(i);
  }
  for (const o of out) {
    if (o < 1 || o > 10) throw new RangeError(`observation ${o} outside 1..10`);
  }
  return out;
}

/** What the bench needs of a trained method. */
interface Trainable {
  buildPosterior(mcmc?: Record<string, unknown>): {
    sample(
      n: number,
      o: { x: ArrayLike<number>; seed: number },
    ): Promise<Matrix>;
    dispose(): void;
  };
  dispose(): void;
}

interface Trained {
  npe: Trainable;
  summary: {
    nExcluded: number;
    epochs: number;
    trainingTime: number;
    samplesPerSecond: number;
    backend: string;
  };
}

type Method = "npe" | "nle" | "nre";

/** Whether `--mcmc sbibm` was given. */
const MCMC_SBIBM = { on: false };
/** `--transforms N`: NLE flow transforms (undefined: the default, 5). */
const NLE_TRANSFORMS: { n?: number } = {};

/** The sbibm paper's NLE / NRE means at 10^4 simulations and the issue's thresholds. */
const OTHER_METHODS: Record<
  "nle" | "nre",
  {
    published: Partial<Record<TaskName, number>>;
    threshold: Partial<Record<TaskName, number>>;
  }
> = {
  nle: {
    published: {
      two_moons: 0.713,
      gaussian_linear: 0.555,
      slcp: 0.771,
      sir: 0.748,
    },
    threshold: {
      two_moons: 0.72,
      gaussian_linear: 0.56,
      slcp: 0.78,
      sir: 0.75,
    },
  },
  nre: {
    published: { two_moons: 0.761, gaussian_linear: 0.560, slcp: 0.947 },
    threshold: { two_moons: 0.77, gaussian_linear: 0.57, slcp: 0.95 },
  },
};

async function trainOther(
  method: "nle" | "nre",
  taskName: TaskName,
  seed: number,
  sims: number,
  estimator: string,
): Promise<Trained> {
  const task = getTask(taskName);
  const theta = task.prior.sample(sims, seed);
  const x = task.simulate(theta, seed + 1);
  if (method === "nle") {
    const nle = new NLE({
      prior: task.prior,
      densityEstimator: estimator as "maf",
      seed,
      estimatorOptions: NLE_TRANSFORMS.n
        ? { numTransforms: NLE_TRANSFORMS.n }
        : {},
    });
    nle.appendSimulations(theta, x);
    const summary = await nle.train();
    return { npe: nle, summary };
  }
  const nre = new NRE({
    prior: task.prior,
    classifier: estimator as "resnet",
    seed,
  });
  nre.appendSimulations(theta, x);
  const summary = await nre.train();
  return { npe: nre, summary };
}

async function trainFor(
  taskName: TaskName,
  seed: number,
  sims: number,
  estimator: string,
  mode: {
    rounds?: number;
    streamed?: boolean;
    xo?: number[];
    method?: Method;
  } = {},
): Promise<Trained> {
  if (mode.method && mode.method !== "npe") {
    return await trainOther(mode.method, taskName, seed, sims, estimator);
  }
  const task = getTask(taskName);
  const npe = new NPE({
    prior: task.prior,
    densityEstimator: estimator as "nsf",
    seed,
  });
  const rounds = mode.rounds ?? 1;
  if (rounds > 1) {
    // sequential NPE (APT): round 1 from the prior, later rounds from the
    // current posterior at x_o, atomic loss (Greenberg et al. 2019)
    if (!mode.xo) throw new TypeError("multi-round NPE needs the observation");
    const per = Math.floor(sims / rounds);
    let summary!: Awaited<ReturnType<NPE["train"]>>;
    for (let r = 0; r < rounds; r++) {
      if (r === 0) {
        const theta = task.prior.sample(per, seed);
        npe.appendSimulations(theta, task.simulate(theta, seed + 1));
      } else {
        const proposal = npe.buildPosterior().setDefaultX(mode.xo);
        const theta = await proposal.sample(per, { seed: seed + 10 * r });
        npe.appendSimulations(theta, task.simulate(theta, seed + 10 * r + 1), {
          proposal,
        });
      }
      summary = await npe.train();
    }
    return { npe, summary };
  }
  const theta = task.prior.sample(sims, seed);
  const x = task.simulate(theta, seed + 1);
  if (mode.streamed) {
    // the same simulations arriving in chunks of 1000 (incremental training)
    const chunks = async function* () {
      for (let i = 0; i < sims; i += 1000) {
        yield {
          theta: theta.sliceRows(i, Math.min(sims, i + 1000)),
          x: x.sliceRows(i, Math.min(sims, i + 1000)),
        };
      }
    };
    const summary = await npe.train({ source: chunks() });
    return { npe, summary };
  }
  npe.appendSimulations(theta, x);
  const summary = await npe.train();
  return { npe, summary };
}

async function runOne(
  taskName: TaskName,
  observation: number,
  opts: {
    sims: number;
    estimator: string;
    samples: number;
    seed: number;
    foldsToRun: number;
    rounds?: number;
    streamed?: boolean;
    method?: Method;
  },
  shared?: Trained,
): Promise<RunResult> {
  const xo = await loadObservation(taskName, observation);
  const reference = await loadReferenceSamples(taskName, observation);
  const seed = opts.seed + 1000 * observation + TASK_NAMES.indexOf(taskName);
  const { npe, summary } = shared ??
    await trainFor(taskName, seed, opts.sims, opts.estimator, {
      rounds: opts.rounds,
      streamed: opts.streamed,
      xo: Array.from(xo),
      method: opts.method,
    });
  // --mcmc sbibm: the sbibm paper's slice-sampler settings for NLE/NRE
  // (100 chains, 100 warm-up steps, thinning 10, SIR initialisation)
  const posterior = opts.method && opts.method !== "npe" && MCMC_SBIBM.on
    ? npe.buildPosterior({ numChains: 100, warmupSteps: 100, thin: 10 })
    : npe.buildPosterior();
  const t0 = performance.now();
  const samples = await posterior.sample(opts.samples, {
    x: xo,
    seed: seed + 2,
  });
  const sampleSeconds = (performance.now() - t0) / 1000;
  const ref = opts.samples < reference.rows
    ? reference.sliceRows(0, opts.samples)
    : reference;
  const t1 = performance.now();
  const c = await c2stScores(ref, samples, {
    seed: 1,
    foldsToRun: opts.foldsToRun,
  });
  const c2stSeconds = (performance.now() - t1) / 1000;
  posterior.dispose();
  if (!shared) npe.dispose();
  return {
    task: taskName,
    ...(shared ? { amortized: true } : {}),
    ...((opts.rounds ?? 1) > 1 ? { rounds: opts.rounds } : {}),
    ...(opts.streamed ? { streamed: true } : {}),
    observation,
    estimator: opts.estimator,
    nSimulations: opts.sims,
    nExcluded: summary.nExcluded,
    c2st: c.accuracy,
    c2stFolds: c.foldAccuracies,
    c2stEpochs: c.nIter,
    foldsRun: c.foldAccuracies.length,
    epochs: summary.epochs,
    trainSeconds: summary.trainingTime,
    trainSamplesPerSecond: summary.samplesPerSecond,
    sampleSeconds,
    c2stSeconds,
    backend: summary.backend,
    date: new Date().toISOString(),
  };
}

function table(
  file: BenchFile,
  method: Method = "npe",
): { text: string; failed: string[] } {
  const M = method.toUpperCase();
  const lines = [
    `| task | observations | mean C2ST (${M}-${file.estimator}, 10^4) | sbibm paper ${M} 10^4 | issue threshold | per observation |`,
    "|---|---|---|---|---|---|",
  ];
  const failed: string[] = [];
  for (const task of TASK_NAMES) {
    const runs = file.runs.filter((r) => r.task === task).sort((a, b) =>
      a.observation - b.observation
    );
    if (runs.length === 0) continue;
    const mean = runs.reduce((s, r) => s + r.c2st, 0) / runs.length;
    const thr = method === "npe"
      ? ISSUE_THRESHOLDS[task]
      : OTHER_METHODS[method].threshold[task];
    const pub = method === "npe"
      ? PUBLISHED_NPE_C2ST_1E4[task]
      : OTHER_METHODS[method].published[task];
    const per = runs.map((r) =>
      `${r.observation}: ${r.c2st.toFixed(3)}${
        r.foldsRun < 5 ? `(${r.foldsRun}f)` : ""
      }${r.amortized ? "a" : ""}`
    ).join(", ");
    if (thr !== undefined && runs.length === 10 && mean > thr) {
      failed.push(task);
    }
    lines.push(
      `| ${task} | ${runs.length} | ${mean.toFixed(3)} | ${
        pub === undefined ? "–" : pub.toFixed(3)
      } | ${thr === undefined ? "–" : `≤ ${thr.toFixed(2)}`} | ${per} |`,
    );
  }
  return { text: lines.join("\n"), failed };
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const tasks =
    (args.tasks ?? "two_moons,gaussian_linear,gaussian_linear_uniform,slcp,sir")
      .split(",").map((t) => t.trim()).filter((t) => t !== "");
  for (const t of tasks) getTask(t); // validates the names
  const observations = parseObservations(args.observations ?? "1-10");
  const sims = Number(args.sims ?? 10000);
  const estimator = args.estimator ??
    ({ npe: "nsf", nle: "maf", nre: "resnet" } as const)[
      (args.method ?? "npe") as Method
    ];
  const samples = Number(args.samples ?? 10000);
  const seed = Number(args.seed ?? 0);
  const foldsToRun = Number(args["folds-to-run"] ?? 5);
  const method = (args.method ?? "npe") as Method;
  MCMC_SBIBM.on = args.mcmc === "sbibm";
  if (args.transforms !== undefined) {
    const n = Number(args.transforms);
    if (!Number.isInteger(n) || n < 1 || method !== "nle") {
      throw new RangeError(
        `--transforms needs a positive integer and --method nle, got ${args.transforms}`,
      );
    }
    NLE_TRANSFORMS.n = n;
  }
  if (!["npe", "nle", "nre"].includes(method)) {
    throw new RangeError(`--method must be npe, nle or nre, got ${method}`);
  }
  const rounds = Number(args.rounds ?? 1);
  const streamed = "streamed" in args;
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(
      `--rounds must be a positive integer, got ${args.rounds}`,
    );
  }
  if (rounds > 1 && ("amortized" in args || streamed)) {
    throw new RangeError(
      "--rounds > 1 trains per observation: no --amortized/--streamed",
    );
  }
  const variant = `${rounds > 1 ? `_r${rounds}` : ""}${
    streamed ? "_streamed" : ""
  }${MCMC_SBIBM.on ? "_mcmcsbibm" : ""}${
    NLE_TRANSFORMS.n ? `_t${NLE_TRANSFORMS.n}` : ""
  }`;
  const outPath = new URL(
    `../out/sbibm_${
      method === "npe" ? "" : `${method}_`
    }${estimator}${variant}.json`,
    import.meta.url,
  );
  await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
  let file: BenchFile = { estimator, runs: [] };
  try {
    file = JSON.parse(await Deno.readTextFile(outPath));
  } catch {
    // first run
  }
  const amortized = "amortized" in args;
  for (const task of tasks as TaskName[]) {
    let shared: Trained | undefined;
    if (amortized) {
      console.error(
        `[sbibm] ${task}: ${method.toUpperCase()}-${estimator}, ${sims} simulations, one network for observations ${
          observations.join(",")
        }`,
      );
      shared = await trainFor(
        task,
        seed + 777 + TASK_NAMES.indexOf(task),
        sims,
        estimator,
        { streamed, method },
      );
    }
    for (const obs of observations) {
      console.error(
        `[sbibm] ${task} observation ${obs}: ${method.toUpperCase()}-${estimator}, ${sims} simulations`,
      );
      const r = await runOne(task, obs, {
        sims,
        estimator,
        samples,
        seed,
        foldsToRun,
        rounds,
        streamed,
        method,
      }, shared);
      console.error(
        `[sbibm] ${task} #${obs}: C2ST ${r.c2st.toFixed(3)} (folds ${
          r.c2stFolds.map((v) => v.toFixed(3)).join(" ")
        }), ${r.epochs} epochs, train ${r.trainSeconds.toFixed(0)} s, sample ${
          r.sampleSeconds.toFixed(2)
        } s, c2st ${r.c2stSeconds.toFixed(0)} s`,
      );
      // Sanity checks of the run itself.
      if (!(r.c2st >= 0.3 && r.c2st <= 1)) {
        throw new Error(`implausible C2ST ${r.c2st}`);
      }
      file.runs = file.runs.filter((x) =>
        !(x.task === r.task && x.observation === r.observation &&
          x.nSimulations === r.nSimulations)
      );
      file.runs.push(r);
      await Deno.writeTextFile(outPath, JSON.stringify(file, null, 2));
    }
    shared?.npe.dispose();
  }
  const { text, failed } = table({
    estimator,
    runs: file.runs.filter((r) => r.nSimulations === sims),
  }, method);
  console.log(text);
  console.log(`\nwritten: ${outPath.pathname}`);
  if (failed.length > 0) {
    console.log(`threshold missed (10 observations): ${failed.join(", ")}`);
    Deno.exit(1);
  }
}
