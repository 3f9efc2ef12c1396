/**
 * NLE posterior sampling speed (the step sbi users find slow) on sbibm
 * two_moons, observation 1: NLE-MAF trained on 10,000 simulations (epochs
 * capped, `--epochs=N`, default 40), then posterior samples per second of the
 * vectorised slice sampler for 1,000 and 10,000 samples
 *   - with 20 chains, 200 warm-up steps, thin 1 (neurofit's defaults), and
 *   - with sbi's benchmark setting (100 chains, 25 warm-up steps, thin 10).
 * Self-checks: the slice samples are compared by C2ST with exact rejection
 * samples of the same potential (must be ≤ 0.6), and C2ST against the sbibm
 * reference posterior is reported (informative: training is capped).
 * Writes out/nle_bench.json.
 *
 *   deno run -A bench/nle_bench.ts [--quick] [--epochs=40]
 *
 * Reference (shared/reference/sbi/TIMINGS.md, same kind of machine): sbi 0.22
 * `slice_np_vectorized` (100 chains, thin 10, 25 warm-up) on NLE-MAF two_moons
 * drew 1,000 samples in 96 s and 10,000 in 1,881 s.
 */
import { NLE } from "../lib/inference/methods/nle.ts";
import { Matrix } from "../lib/inference/matrix.ts";
import { c2st } from "../lib/inference/diagnostics/c2st.ts";
import { rejectionSample } from "../lib/inference/samplers/importance.ts";
import { getTask } from "./sbibm/tasks.ts";
import { loadObservation, loadReferenceSamples } from "./sbibm/data.ts";

const quick = Deno.args.includes("--quick");
const epochsArg = Deno.args.find((a) => a.startsWith("--epochs="));
const epochs = epochsArg ? Number(epochsArg.slice(9)) : quick ? 5 : 40;
const nSim = quick ? 2000 : 10_000;
const SBI = { 1000: 96, 10000: 1881 } as Record<number, number>;

const task = getTask("two_moons");
const theta = task.prior.sample(nSim, 1);
const x = task.simulate(theta, 2);
const nle = new NLE({ prior: task.prior, densityEstimator: "maf", seed: 3 });
nle.appendSimulations(theta, x);
const summary = await nle.train({ maxEpochs: epochs, showProgress: false });
console.log(
  `trained ${summary.epochs} epochs in ${summary.trainingTime.toFixed(1)} s ` +
    `(${summary.samplesPerSecond.toFixed(0)} samples/s)`,
);
const xo = await loadObservation("two_moons", 1);
const reference = await loadReferenceSamples("two_moons", 1);

interface Row {
  setting: string;
  numChains: number;
  warmupSteps: number;
  thin: number;
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  potentialCalls: number;
  potentialEvaluations: number;
  speedupVsSbi: number | null;
}
const rows: Row[] = [];
const settings = [
  { setting: "neurofit default", numChains: 20, warmupSteps: 200, thin: 1 },
  { setting: "sbi benchmark", numChains: 100, warmupSteps: 25, thin: 10 },
];
let check: Float32Array | null = null;
for (const s of settings) {
  for (const n of quick ? [1000] : [1000, 10_000]) {
    const post = nle.buildPosterior({
      ...s,
      mcmcMethod: "slice_np_vectorized",
    });
    const t0 = performance.now();
    const samples = await post.sample(n, { x: xo, seed: 11 });
    const sec = (performance.now() - t0) / 1000;
    if (samples.rows !== n || !samples.data.every(Number.isFinite)) {
      throw new Error(`bad samples for ${s.setting} n=${n}`);
    }
    const r = post.lastResult!;
    const row: Row = {
      ...s,
      samples: n,
      seconds: sec,
      samplesPerSecond: n / sec,
      potentialCalls: r.potentialCalls,
      potentialEvaluations: r.potentialEvaluations,
      speedupVsSbi: s.setting === "sbi benchmark" && SBI[n]
        ? SBI[n] / sec
        : null,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
    if (s.setting === "neurofit default" && n === 1000) check = samples.data;
    post.dispose();
  }
}

// correctness: slice samples vs exact rejection samples of the same potential
const post = nle.buildPosterior();
const pot = post.potential(xo);
const t0 = performance.now();
const rej = rejectionSample(pot, task.prior, 1000, { seed: 5 });
const rejSec = (performance.now() - t0) / 1000;
const sliceSamples = new Matrix(1000, 2, check!);
const c2stVsRejection = await c2st(rej.samples, sliceSamples, { seed: 1 });
const c2stVsReference = await c2st(
  reference.sliceRows(0, 1000),
  sliceSamples,
  { seed: 1 },
);
post.dispose();
nle.dispose();
const result = {
  task: "two_moons",
  observation: 1,
  simulations: nSim,
  training: {
    epochs: summary.epochs,
    seconds: summary.trainingTime,
    samplesPerSecond: summary.samplesPerSecond,
    converged: summary.converged,
  },
  sampling: rows,
  sbiReferenceSeconds: SBI,
  rejection: {
    seconds: rejSec,
    acceptanceRate: rej.acceptanceRate,
    samplesPerSecond: 1000 / rejSec,
  },
  c2stSliceVsRejection: c2stVsRejection,
  c2stSliceVsReferencePosterior: c2stVsReference,
};
console.log(JSON.stringify(result, null, 2));
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/nle_bench.json", JSON.stringify(result, null, 2));
if (c2stVsRejection > 0.6) {
  throw new Error(
    `slice samples differ from rejection samples of the same potential: c2st ${c2stVsRejection}`,
  );
}
