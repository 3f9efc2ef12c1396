// Fits the Hodgkin–Huxley model of the brian2modelfitting tutorial
// (docs_sphinx/introduction/tutorial_hh.rst) to its 5 recorded traces
// (data/b2mf, shipped with neurofit, CeCILL 2.1): differential evolution with
// 100 parameter sets x 10 rounds, then least-squares refinement; prints the
// progress and the result and writes out/fit_hh.svg (data vs fitted traces).
//
//   deno run -A examples/fit_hh.ts [--device cpu|webgpu|auto] [--seed 5]
//
// Ground truth of the data (Brian 2 re-simulation + 1 mV noise): gl 10 nS,
// g_na 20 uS, g_kd 6 uS; the noise alone gives an MSE of 9.95e-7 V².
import { parseArgs } from "node:util";
import { ms, mV, nS, uS } from "../mod.ts";
import {
  DifferentialEvolution,
  MSEMetric,
  TraceFitter,
} from "../lib/fitting/mod.ts";
import { readCsvMatrix } from "../lib/io/mod.ts";
import { tracesSvg } from "../lib/plot/traces.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    device: { type: "string", default: "cpu" },
    seed: { type: "string", default: "3" },
  },
});
const device = values.device as "cpu" | "webgpu" | "auto";
if (!["cpu", "webgpu", "auto"].includes(device)) {
  console.error(`--device must be cpu, webgpu or auto, got ${device}`);
  Deno.exit(2);
}
if (device !== "cpu") await import("../gpu/mod.ts"); // registers the WebGPU backend
const seed = Number(values.seed);

const dataDir = new URL("../data/b2mf/", import.meta.url);
const input = await readCsvMatrix(new URL("input_traces_hh.csv", dataDir)); // amperes
const output = await readCsvMatrix(new URL("output_traces_hh.csv", dataDir), {
  scale: 1e-3,
}); // mV -> V
const dt = 0.01 * ms;

const fitter = new TraceFitter({
  model: `
    dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
    dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
            - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
    dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
            - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
    dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
    g_na : siemens (constant)
    g_kd : siemens (constant)
    gl   : siemens (constant)
  `,
  namespace: {
    El: "-65 mV",
    EK: "-90 mV",
    ENa: "50 mV",
    VT: "-63 mV",
    Cm: "200 pF",
  },
  input: { I: input.data },
  output: { v: output.data },
  dt,
  nSamples: 100,
  method: "exponential_euler",
  paramInit: { v: -65 * mV },
  device,
});

console.log(
  `fitting ${fitter.nTraces} traces x ${fitter.nSteps} steps (${fitter.model.method}, ${device})`,
);
let t0 = performance.now();
const fit = await fitter.fit({
  optimizer: new DifferentialEvolution({ seed }),
  metric: new MSEMetric(),
  nRounds: 10,
  callback: "text",
  params: {
    gl: ["2 psiemens", "200 nS"],
    g_na: ["200 nS", "0.4 mS"],
    g_kd: ["200 nS", "200 uS"],
  },
});
const fitSeconds = (performance.now() - t0) / 1000;
console.log(
  `differential evolution: ${fitter.results().length} parameter sets in ${
    fitSeconds.toFixed(1)
  } s, error ${fit.error.toExponential(3)} V²`,
);

t0 = performance.now();
const refined = await fitter.refine({ calcGradient: true });
console.log(
  `refine (sensitivity equations): error ${
    refined.error.toExponential(4)
  } V², ${refined.evaluations} simulations, ` +
    `${((performance.now() - t0) / 1000).toFixed(2)} s, ${refined.message}`,
);

const truth: Record<string, number> = {
  gl: 10 * nS,
  g_na: 20 * uS,
  g_kd: 6 * uS,
};
const unit: Record<string, [number, string]> = {
  gl: [nS, "nS"],
  g_na: [uS, "uS"],
  g_kd: [uS, "uS"],
};
console.log("parameter    fit        refined    truth");
for (const p of ["gl", "g_na", "g_kd"]) {
  const [s, u] = unit[p];
  const f = (x: number) => `${(x / s).toFixed(3)} ${u}`.padEnd(11);
  console.log(
    `${p.padEnd(12)} ${f(fit.params[p])}${f(refined.params[p])}${f(truth[p])}`,
  );
}

const fitted = (await fitter.generateTraces({ params: fit.params })).v;
const best = (await fitter.generateTraces({ params: refined.params })).v;
const t = Float64Array.from({ length: fitter.nSteps }, (_, k) => k * dt);
const svg = tracesSvg({
  t,
  title: `Tutorial HH fit: data vs DE (${
    fit.error.toExponential(2)
  } V²) vs refined (${refined.error.toExponential(2)} V²)`,
  yLabel: "v (mV)",
  panels: output.data.map((d, i) => ({
    title: `trace ${i}`,
    series: [
      { label: "data", values: d.map((x) => x / mV), color: "#999999" },
      {
        label: "fit (DE)",
        values: fitted[i].map((x) => x / mV),
        color: "#1f77b4",
        dash: true,
      },
      {
        label: "refined",
        values: best[i].map((x) => x / mV),
        color: "#d62728",
      },
    ],
  })),
});
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/fit_hh.svg", svg);
console.log("wrote out/fit_hh.svg");
