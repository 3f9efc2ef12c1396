// Fits an adaptive exponential integrate-and-fire (AdEx) neuron to a real
// current-clamp recording: pyABF's 190619B_0003.abf (ABF 1.83, MIT, shipped in
// tests/fixtures/recordings/abf). The current steps of sweeps 0, 1 and 3
// (-120, -60 and +60 pA, 1 s each, from the epoch table of the file) are the
// input; the membrane potential (IN 0) is the output. The model is an
// approximation of a real cell, so the residual is reported and drawn.
//
//   deno run -A examples/fit_abf.ts [--seed 1] [--file path.abf --sweeps 0,1,3]
//
// Writes out/fit_abf.svg (data vs fit, per sweep).
import { parseArgs } from "node:util";
import { loadTraces, ms, mV, nS, pA, pF } from "../mod.ts";
import {
  DifferentialEvolution,
  MSEMetric,
  TraceFitter,
} from "../lib/fitting/mod.ts";
import { tracesSvg } from "../lib/plot/traces.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string", default: "1" },
    file: {
      type: "string",
      default: new URL(
        "../tests/fixtures/recordings/abf/190619B_0003.abf",
        import.meta.url,
      ).pathname,
    },
    sweeps: { type: "string", default: "0,1,3" },
  },
});
const sweeps = values.sweeps.split(",").map(Number);

// one line: SI traces, rows = sweeps
const rec = await loadTraces(values.file, {
  sweeps,
  output: "IN 0",
  input: "stimulus",
});

// keep 0.1 s before the step to 0.3 s after it, every 2nd sample (5 kHz)
const from = 9478, to = 23478, step = 2;
const crop = (y: Float64Array) =>
  Float64Array.from(
    { length: (to - from) / step },
    (_, k) => y[from + k * step],
  );
const input = rec.input.map(crop), output = rec.output.map(crop);
const dt = rec.dt * step;

const fitter = new TraceFitter({
  model: `
    dv/dt = (gl*(El - v) + gl*DeltaT*exp((v - VT)/DeltaT) - w + I)/C : volt
    dw/dt = (a*(v - El) - w)/tau_w : amp
    gl : siemens (constant)
    C : farad (constant)
    El : volt (constant)
    a : siemens (constant)
    tau_w : second (constant)
  `,
  namespace: { VT: "-45 mV", DeltaT: "2 mV" },
  threshold: "v > 0*mV",
  reset: "v = El",
  input: { I: input },
  output: { v: output },
  dt,
  nSamples: 100,
  method: "euler",
  paramInit: { v: "El", w: 0 },
});
console.log(
  `${values.file}: fitting ${fitter.nTraces} sweeps (${sweeps}) x ${fitter.nSteps} steps of ${
    dt / ms
  } ms`,
);
const t0 = performance.now();
const fit = await fitter.fit({
  optimizer: new DifferentialEvolution({ seed: Number(values.seed) }),
  metric: new MSEMetric(),
  nRounds: 40,
  callback: null,
  params: {
    gl: ["0.5 nS", "50 nS"],
    C: ["10 pF", "500 pF"],
    El: ["-80 mV", "-55 mV"],
    a: ["0 nS", "20 nS"],
    tau_w: ["5 ms", "500 ms"],
  },
});
console.log(
  `differential evolution: ${fitter.results().length} parameter sets, ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
const units: Record<string, [number, string]> = {
  gl: [nS, "nS"],
  C: [pF, "pF"],
  El: [mV, "mV"],
  a: [nS, "nS"],
  tau_w: [ms, "ms"],
};
for (const [p, [s, u]] of Object.entries(units)) {
  console.log(`  ${p.padEnd(6)} ${(fit.params[p] / s).toFixed(3)} ${u}`);
}
// least-squares refinement from the best parameter set
const refined = await fitter.refine();
console.log(
  `refined (${refined.evaluations} simulations, ${refined.message}):`,
);
for (const [p, [s, u]] of Object.entries(units)) {
  console.log(`  ${p.padEnd(6)} ${(refined.params[p] / s).toFixed(3)} ${u}`);
}
const best = refined.error < fit.error ? refined : fit;
const fitted = (await fitter.generateTraces({ params: best.params })).v;
const rms = Math.sqrt(best.error);
console.log(
  `residual: MSE ${best.error.toExponential(3)} V², RMS ${
    (rms / mV).toFixed(3)
  } mV`,
);
fitted.forEach((y, i) => {
  let q = 0;
  for (let k = 0; k < y.length; k++) q += (y[k] - output[i][k]) ** 2;
  console.log(
    `  sweep ${sweeps[i]} (${(input[i][2000] / pA).toFixed(0)} pA): RMS ${
      (Math.sqrt(q / y.length) / mV).toFixed(3)
    } mV`,
  );
});

const t = Float64Array.from({ length: fitter.nSteps }, (_, k) => k * dt);
const svg = tracesSvg({
  t,
  title: `AdEx fit to 190619B_0003.abf (RMS residual ${
    (rms / mV).toFixed(2)
  } mV)`,
  yLabel: "v (mV)",
  panels: output.map((d, i) => ({
    title: `sweep ${sweeps[i]}: ${(input[i][2000] / pA).toFixed(0)} pA step`,
    series: [
      { label: "data", values: d.map((x) => x / mV), color: "#999999" },
      { label: "fit", values: fitted[i].map((x) => x / mV), color: "#d62728" },
      {
        label: "residual",
        values: d.map((x, k) => (x - fitted[i][k]) / mV - 90),
        color: "#1f77b4",
        dash: true,
      },
    ],
  })),
});
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/fit_abf.svg", svg);
console.log("wrote out/fit_abf.svg (residual drawn offset by -90 mV)");
