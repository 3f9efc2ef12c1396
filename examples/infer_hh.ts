// The Inferencer tutorial of brian2modelfitting (docs "tutorial_sbi"): infer
// g_Na and g_K of the Hodgkin–Huxley model with rate subexpressions from the
// synthetic recording (truth 32 uS, 1 uS), with four voltage features and
// NPE-MAF on 15,000 simulations, then NLE-MAF (MCMC) on the same
// simulations; writes out/pairplot.svg (both posteriors, truth marked) and
// out/posterior_predictive.svg (data vs the trace at the posterior mean).
//
//   deno run -A examples/infer_hh.ts [--simulations 15000] [--device cpu|webgpu|auto] [--no-nle]
import { parseArgs } from "node:util";
import { Inferencer } from "../lib/inference/mod.ts";
import { readNpy } from "../lib/io/mod.ts";
import { pairplot, tracesSvg } from "../lib/plot/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    simulations: { type: "string", default: "15000" },
    device: { type: "string", default: "cpu" },
    "no-nle": { type: "boolean", default: false },
  },
});
const device = values.device as "cpu" | "webgpu" | "auto";
if (device !== "cpu") await import("../gpu/mod.ts");

// The recordings made by brian2modelfitting's generate_traces_synthetic.py
// (regenerated with Brian 2.5.1 in the project's shared reference data).
const shared = Deno.env.get("NEUROFIT_SHARED") ??
  new URL("../../shared/", import.meta.url).pathname;
const I = await readNpy(
  `${shared}/reference/brian2/input_traces_synthetic.npy`,
); // A
const V = await readNpy(
  `${shared}/reference/brian2/output_traces_synthetic.npy`,
); // mV
const dt = 0.1e-3;

const window = (k: number) => k * dt > 0.1 && k * dt < 0.9; // stimulus on
const rest = (k: number) => k * dt > 0.01 && k * dt < 0.09;
function moments(
  v: Float64Array,
  pick: (k: number) => boolean,
): [number, number, number] {
  let max = -Infinity, s = 0, s2 = 0, n = 0;
  for (let k = 0; k < v.length; k++) {
    if (!pick(k)) continue;
    max = Math.max(max, v[k]);
    s += v[k];
    s2 += v[k] * v[k];
    n++;
  }
  const mean = s / n;
  return [max, mean, Math.sqrt(Math.max(0, s2 / n - mean * mean))];
}

const inf = new Inferencer({
  dt,
  model: `
    dv/dt = -(g_Na*m**3*h*(v - E_Na) + g_K*n**4*(v - E_K) + g_l*(v - E_l) - I)/C : volt
    dm/dt = alpha_m*(1-m) - beta_m*m : 1
    dn/dt = alpha_n*(1-n) - beta_n*n : 1
    dh/dt = alpha_h*(1-h) - beta_h*h : 1
    alpha_m = ((-0.32/mV)*(v - VT - 13.*mV)/(exp((-(v - VT - 13.*mV))/(4.*mV)) - 1))/ms : Hz
    beta_m  = ((0.28/mV)*(v - VT - 40.*mV)/(exp((v - VT - 40.*mV)/(5.*mV)) - 1))/ms : Hz
    alpha_h = 0.128*exp(-(v - VT - 17.*mV)/(18.*mV))/ms : Hz
    beta_h  = 4/(1 + exp((-(v - VT - 40.*mV))/(5.*mV)))/ms : Hz
    alpha_n = ((-0.032/mV)*(v - VT - 15.*mV)/(exp((-(v - VT - 15.*mV))/(5.*mV)) - 1))/ms : Hz
    beta_n  = 0.5*exp(-(v - VT - 10.*mV)/(40.*mV))/ms : Hz
    g_Na : siemens (constant)
    g_K : siemens (constant)`,
  namespace: {
    C: "200 pF",
    VT: "-60 mV",
    E_Na: "53 mV",
    E_K: "-107 mV",
    E_l: "-70 mV",
    g_l: "10 nS",
  },
  input: { I: [Float64Array.from(I.data)] },
  output: { v: [Float64Array.from(V.data, (x) => x * 1e-3)] },
  features: {
    v: [
      (v) => moments(v, window)[0],
      (v) => moments(v, window)[1],
      (v) => moments(v, window)[2],
      (v) => moments(v, rest)[1],
    ],
  },
  method: "exponential_euler",
  threshold: "m > 0.5",
  refractory: "m > 0.5",
  paramInit: {
    v: "E_l",
    m: "1/(1 + beta_m/alpha_m)",
    h: "1/(1 + beta_h/alpha_h)",
    n: "1/(1 + beta_n/alpha_n)",
  },
  device,
  seed: 1,
});

const t0 = performance.now();
const bounds = { g_Na: ["1 uS", "100 uS"], g_K: ["0.1 uS", "10 uS"] } as const;
// simulate once, train NPE and NLE on the same data
const prior = inf.initPrior(bounds);
const theta = inf.generateTrainingData(Number(values.simulations), prior);
const x = await inf.extractSummaryStatistics(theta);
console.log(
  `${theta.rows} simulations in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
await inf.infer({ theta, x, params: bounds, densityEstimator: "maf" });
const summary = inf.summaries[0];
console.log(
  `NPE-MAF: ${summary.nSimulations} simulations (${summary.nExcluded} excluded), ${summary.epochs} epochs, ` +
    `${summary.samplesPerSecond.toFixed(0)} samples/s, ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s in all`,
);
const samples = await inf.sample(10_000, { seed: 2 });
const uS = samples.toArray().map((r) => r.map((x) => x * 1e6)); // columns: g_K, g_Na (sorted names)
for (const [j, name] of inf.paramNames.entries()) {
  const col = uS.map((r) => r[j]).sort((a, b) => a - b);
  console.log(
    `${name}: median ${col[5000].toFixed(3)} uS, 90% interval [${
      col[500].toFixed(3)
    }, ${col[9500].toFixed(3)}] uS`,
  );
}
const gen = await inf.generateTraces({ nSamples: 1000 });
const sets = [uS];
if (!values["no-nle"]) {
  // NLE: a likelihood q(x | θ), the posterior by slice sampling (20 chains)
  const t1 = performance.now();
  await inf.infer({
    theta,
    x,
    params: bounds,
    inferenceMethod: "NLE",
    densityEstimator: "maf",
    restart: true,
  });
  const nle = await inf.sample(10_000, { seed: 3 });
  const nleUS = nle.toArray().map((r) => r.map((v) => v * 1e6));
  sets.push(nleUS);
  for (const [j, name] of inf.paramNames.entries()) {
    const col = nleUS.map((r) => r[j]).sort((a, b) => a - b);
    console.log(
      `NLE-MAF ${name}: median ${col[5000].toFixed(3)} uS, 90% interval [${
        col[500].toFixed(3)
      }, ${col[9500].toFixed(3)}] uS`,
    );
  }
  console.log(
    `NLE: trained and sampled in ${
      ((performance.now() - t1) / 1000).toFixed(1)
    } s`,
  );
}
console.log(
  `posterior mean: g_K ${(gen.params.g_K * 1e6).toFixed(3)} uS, g_Na ${
    (gen.params.g_Na * 1e6).toFixed(3)
  } uS; ` +
    `${gen.spikes[0].length} spikes (recording: 33)`,
);

await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile(
  "out/pairplot.svg",
  pairplot(sets, {
    labels: ["g_K (uS)", "g_Na (uS)"],
    points: [[1, 32]],
    diag: "kde",
    names: ["NPE-MAF", "NLE-MAF"].slice(0, sets.length),
    title: "posterior, truth marked",
  }),
);
const t = Float64Array.from({ length: V.data.length }, (_, k) => k * dt);
await Deno.writeTextFile(
  "out/posterior_predictive.svg",
  tracesSvg({
    t,
    title: "recording vs the model at the posterior mean",
    yLabel: "v (mV)",
    series: [
      { label: "recording", values: V.data, color: "#999999" },
      {
        label: "posterior mean",
        values: Array.from(gen.traces.v[0], (x) => x * 1e3),
        color: "#d62728",
      },
    ],
  }),
);
console.log("wrote out/pairplot.svg and out/posterior_predictive.svg");
inf.dispose();
