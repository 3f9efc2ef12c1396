// The Inferencer tutorial of brian2modelfitting (docs "tutorial_sbi", its
// 4-parameter part): infer g_Na, g_K, g_l and Cm of the Hodgkin–Huxley model
// with rate subexpressions from the synthetic recording (truth 32 uS, 1 uS,
// 10 nS, 200 pF).
//
// NPE-MAF on 20,000 simulations with voltage features (max, mean, std during
// the current ramp, resting mean, post-stimulus mean) and spike features
// (count, first-spike latency, mean inter-spike interval, last/first
// interval); then NLE-MAF (MCMC) on the same parameter sets. NLE models the
// density of the features, so its features must have one: no constant
// feature (the resting mean is E_l for every parameter set), no point masses
// (the latency and interval defaults of traces without spikes), and the spike
// count dequantized (log(1 + count + u), u uniform in [0, 1); the recording
// takes u = 1/2). Writes out/pairplot.svg (both posteriors, truth marked) and
// out/posterior_predictive.svg (the recording vs traces of NPE draws).
//
//   deno run -A examples/infer_hh.ts [--simulations 20000] [--device cpu|webgpu|auto] [--no-nle]
//     [--simulations-file out/infer_hh_sims.npz]   (reused when it exists, else written)
import { parseArgs } from "node:util";
import { Inferencer, type InferencerOptions } from "../lib/inference/mod.ts";
import { readNpy } from "../lib/io/mod.ts";
import { pairplot, tracesSvg } from "../lib/plot/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    simulations: { type: "string", default: "20000" },
    device: { type: "string", default: "cpu" },
    "no-nle": { type: "boolean", default: false },
    "simulations-file": { type: "string" },
  },
});
const device = values.device as "cpu" | "webgpu" | "auto";
if (device !== "cpu") await import("../gpu/mod.ts");

// The recordings made by brian2modelfitting's generate_traces_synthetic.py
// (regenerated with Brian 2.5.1; bundled in tests/fixtures/brian2, see its README).
const recordings = new URL("../tests/fixtures/brian2/", import.meta.url);
const I = await readNpy(new URL("input_traces_synthetic.npy", recordings)); // A
const V = await readNpy(new URL("output_traces_synthetic.npy", recordings)); // mV
const dt = 0.1e-3;
const T_ON = 0.1, T_OFF = 0.9; // the current ramp

// Spikes: upward crossings of -20 mV. The model uses the same rule as its
// threshold (and stays refractory while above), so recorded and simulated
// spike times are measured alike.
const V_SPIKE = -20e-3;
function spikeTimes(v: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let k = 1; k < v.length; k++) {
    if (v[k] > V_SPIKE && v[k - 1] <= V_SPIKE) out.push(k * dt);
  }
  return out;
}

/** Max, mean and standard deviation of v over samples with t in [a, b). */
function moments(v: Float64Array, a: number, b: number): number[] {
  let max = -Infinity, s = 0, s2 = 0, n = 0;
  for (let k = Math.ceil(a / dt); k < Math.min(v.length, b / dt); k++) {
    max = Math.max(max, v[k]);
    s += v[k];
    s2 += v[k] * v[k];
    n++;
  }
  const mean = s / n;
  return [max, mean, Math.sqrt(Math.max(0, s2 / n - mean * mean))];
}

// Spike features stay finite without spikes: latency and intervals then take
// the length of the ramp (and the interval ratio 1), as "no spike in 0.8 s".
const RAMP = T_OFF - T_ON;
function isis(s: Float64Array): number[] {
  return Array.from(
    { length: Math.max(0, s.length - 1) },
    (_, i) => s[i + 1] - s[i],
  );
}
const spikeFeatures = [
  (s: Float64Array) => s.length,
  (s: Float64Array) => (s.length > 0 ? s[0] - T_ON : RAMP),
  (s: Float64Array) => {
    const d = isis(s);
    return d.length > 0 ? d.reduce((a, b) => a + b) / d.length : RAMP;
  },
  (s: Float64Array) => {
    const d = isis(s);
    return d.length > 1 ? d[d.length - 1] / d[0] : 1;
  },
];

const recorded = Float64Array.from(V.data, (x) => x * 1e-3);
const common: Omit<InferencerOptions, "features" | "output"> = {
  dt,
  model: `
    dv/dt = -(g_Na*m**3*h*(v - E_Na) + g_K*n**4*(v - E_K) + g_l*(v - E_l) - I)/Cm : volt
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
    g_K : siemens (constant)
    g_l : siemens (constant)
    Cm : farad (constant)`,
  namespace: { VT: "-60 mV", E_Na: "53 mV", E_K: "-107 mV", E_l: "-70 mV" },
  input: { I: [Float64Array.from(I.data)] },
  method: "exponential_euler",
  threshold: "v > -20*mV",
  refractory: "v > -20*mV",
  paramInit: {
    v: "E_l",
    m: "1/(1 + beta_m/alpha_m)",
    h: "1/(1 + beta_h/alpha_h)",
    n: "1/(1 + beta_n/alpha_n)",
  },
  device,
  seed: 1,
};
const output = { v: [recorded], spikes: [spikeTimes(recorded)] };
const ramp = [
  (v: Float64Array) => moments(v, T_ON, T_OFF)[0],
  (v: Float64Array) => moments(v, T_ON, T_OFF)[1],
  (v: Float64Array) => moments(v, T_ON, T_OFF)[2],
];
const post = (v: Float64Array) => moments(v, T_OFF + 0.01, 1)[1];
const inf = new Inferencer({
  ...common,
  output,
  features: {
    v: [...ramp, (v) => moments(v, 0.01, T_ON)[1], post],
    spikes: spikeFeatures,
  },
});

const bounds = {
  g_Na: ["1 uS", "100 uS"],
  g_K: ["0.1 uS", "10 uS"],
  g_l: ["2 nS", "50 nS"],
  Cm: ["50 pF", "500 pF"],
} as const;
// display units and the truth of the synthetic recording, per parameter
const show: Record<string, { unit: string; scale: number; truth: number }> = {
  g_Na: { unit: "uS", scale: 1e6, truth: 32 },
  g_K: { unit: "uS", scale: 1e6, truth: 1 },
  g_l: { unit: "nS", scale: 1e9, truth: 10 },
  Cm: { unit: "pF", scale: 1e12, truth: 200 },
};
const names = inf.paramNames; // sorted: Cm, g_K, g_Na, g_l
const scaled = (rows: number[][]) =>
  rows.map((r) => r.map((x, j) => x * show[names[j]].scale));
function report(label: string, rows: number[][]): void {
  const n = rows.length;
  for (const [j, name] of names.entries()) {
    const col = rows.map((r) => r[j]).sort((a, b) => a - b);
    const { unit, truth } = show[name];
    console.log(
      `${label} ${name}: median ${col[n >> 1].toPrecision(4)} ${unit}, ` +
        `90% [${col[Math.floor(0.05 * n)].toPrecision(4)}, ${
          col[Math.floor(0.95 * n)].toPrecision(4)
        }] (truth ${truth})`,
    );
  }
}
console.log(
  `recording: ${spikeTimes(recorded).length} spikes; observed features ${
    Array.from(inf.xo, (x) => x.toPrecision(4)).join(", ")
  }`,
);

const t0 = performance.now();
const simsFile = values["simulations-file"];
const exists = simsFile !== undefined &&
  await Deno.stat(simsFile).then(() => true, () => false);
let theta, x;
if (exists) {
  ({ theta, x } = await inf.loadSummaryStatistics(simsFile));
  console.log(`${theta.rows} simulations read from ${simsFile}`);
} else {
  const prior = inf.initPrior(bounds);
  theta = inf.generateTrainingData(Number(values.simulations), prior);
  x = await inf.extractSummaryStatistics(theta);
  console.log(
    `${theta.rows} simulations in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  if (simsFile) await inf.saveSummaryStatistics(simsFile, theta, x);
}
await inf.infer({ theta, x, params: bounds, densityEstimator: "maf" });
const summary = inf.summaries[0];
console.log(
  `NPE-MAF: ${summary.nSimulations} simulations (${summary.nExcluded} excluded), ${summary.epochs} epochs, ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s in all`,
);
const npe = scaled((await inf.sample(10_000, { seed: 2 })).toArray());
report("NPE-MAF", npe);
const sets = [npe];
const setNames = ["NPE-MAF"];
if (!values["no-nle"]) {
  // NLE: a likelihood q(x | θ) of density-friendly features (see the header),
  // the posterior by slice sampling (20 chains); same parameter sets
  const t1 = performance.now();
  // seeded uniform jitter (mulberry32), so that runs repeat
  let state = 7;
  const jitter = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let observing = true; // the recording is featurised first, in the constructor
  const nleInf = new Inferencer({
    ...common,
    output,
    features: {
      v: [...ramp, post],
      spikes: [
        (s) => Math.log(1 + s.length + (observing ? 0.5 : jitter())),
      ],
    },
  });
  observing = false;
  const xNle = await nleInf.extractSummaryStatistics(theta);
  await nleInf.infer({
    theta,
    x: xNle,
    params: bounds,
    inferenceMethod: "NLE",
    densityEstimator: "maf",
  });
  const nle = scaled((await nleInf.sample(10_000, { seed: 3 })).toArray());
  report("NLE-MAF", nle);
  sets.push(nle);
  setNames.push("NLE-MAF");
  console.log(
    `NLE: simulated, trained and sampled in ${
      ((performance.now() - t1) / 1000).toFixed(1)
    } s`,
  );
  nleInf.dispose();
}

// posterior predictive: traces of 5 draws of the NPE posterior
const draws = await inf.sample(5, { seed: 4 });
const predictive: { label: string; values: number[]; color: string }[] = [];
for (let i = 0; i < draws.rows; i++) {
  const params = Object.fromEntries(names.map((p, j) => [p, draws.get(i, j)]));
  const g = await inf.generateTraces({ params });
  predictive.push({
    label: "NPE posterior draws", // one legend entry for all five
    values: Array.from(g.traces.v[0], (x) => x * 1e3),
    color: "#d62728",
  });
  console.log(
    `draw ${i}: ${
      names.map((p) =>
        `${p} ${(params[p] * show[p].scale).toPrecision(4)} ${show[p].unit}`
      ).join(", ")
    }; ${g.spikes[0].length} spikes`,
  );
}

await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile(
  "out/pairplot.svg",
  pairplot(sets, {
    labels: names.map((p) => `${p} (${show[p].unit})`),
    points: [names.map((p) => show[p].truth)],
    diag: "kde",
    names: setNames,
    title: "posterior, truth marked",
  }),
);
const t = Float64Array.from({ length: V.data.length }, (_, k) => k * dt);
await Deno.writeTextFile(
  "out/posterior_predictive.svg",
  tracesSvg({
    t,
    title: "recording vs traces of 5 NPE posterior draws",
    yLabel: "v (mV)",
    series: [
      ...predictive,
      // on top of the draws
      {
        label: "recording",
        values: Array.from(V.data),
        color: "#000000",
        strokeWidth: 1,
      },
    ],
  }),
);
console.log("wrote out/pairplot.svg and out/posterior_predictive.svg");
inf.dispose();
