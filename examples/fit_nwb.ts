// Fits an adaptive exponential integrate-and-fire (AdEx) neuron to the three
// subthreshold sweeps (sweep_number 1-3) of a real NWB 2.2 current-clamp file:
// LantyerEtAl2018_180817_ME_9_CC.nwb (mouse S1 L2/3, OSB NWBShowcase;
// tests/fixtures/recordings/nwb). The recorded stimulus series are the input,
// the CurrentClampSeries the output. Reports the residual and writes
// out/fit_nwb.svg (data vs fit).
//
//   deno run -A examples/fit_nwb.ts [--seed 1]
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
  options: { seed: { type: "string", default: "1" } },
});
const file = new URL(
  "../tests/fixtures/recordings/nwb/LantyerEtAl2018_180817_ME_9_CC.nwb",
  import.meta.url,
);
const sweeps = [1, 2, 3];
const rec = await loadTraces(file, { sweeps }); // CurrentClampSeries + stimulus, SI

const step = 4; // 20 kHz -> 5 kHz
const down = (y: Float64Array) =>
  Float64Array.from(
    { length: Math.floor(y.length / step) },
    (_, k) => y[k * step],
  );
const input = rec.input.map(down), output = rec.output.map(down);
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
  `fitting ${fitter.nTraces} sweeps (${sweeps}) x ${fitter.nSteps} steps of ${
    dt / ms
  } ms`,
);
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
const refined = await fitter.refine();
const best = refined.error < fit.error ? refined : fit;
const units: Record<string, [number, string]> = {
  gl: [nS, "nS"],
  C: [pF, "pF"],
  El: [mV, "mV"],
  a: [nS, "nS"],
  tau_w: [ms, "ms"],
};
for (const [p, [s, u]] of Object.entries(units)) {
  console.log(`  ${p.padEnd(6)} ${(best.params[p] / s).toFixed(3)} ${u}`);
}
const fitted = (await fitter.generateTraces({ params: best.params })).v;
const rms = Math.sqrt(best.error);
console.log(
  `residual: MSE ${best.error.toExponential(3)} V², RMS ${
    (rms / mV).toFixed(3)
  } mV`,
);
const t = Float64Array.from({ length: fitter.nSteps }, (_, k) => k * dt);
const svg = tracesSvg({
  t,
  title: `AdEx fit to ${file.pathname.split("/").pop()} (RMS residual ${
    (rms / mV).toFixed(2)
  } mV)`,
  yLabel: "v (mV)",
  panels: output.map((d, i) => ({
    title: `sweep ${sweeps[i]}: max stimulus ${
      (Math.max(...input[i]) / pA).toFixed(0)
    } pA`,
    series: [
      { label: "data", values: d.map((x) => x / mV), color: "#999999" },
      { label: "fit", values: fitted[i].map((x) => x / mV), color: "#d62728" },
    ],
  })),
});
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/fit_nwb.svg", svg);
console.log("wrote out/fit_nwb.svg");
