// Streamed fit of the longest gap-free recording with a current channel:
// pyABF's 2020_07_29_0062.abf (ABF 2.9 gap-free, 18.4 s at 10 kHz, MIT;
// tests/fixtures/recordings/abf). Input: the recorded command current I_Com;
// output: the membrane potential. Both are read from the ABF file in chunks
// every round (fromRecording with format "abf"); the file is never loaded
// whole. Prints the fit and the peak RSS, sampled every 50 ms.
//
//   deno run -A examples/stream_fit_abf.ts [--file x.abf] [--rounds 8]
import { parseArgs } from "node:util";
import { mV, nS, pF } from "../mod.ts";
import { CMAES, OnlineTraceFitter } from "../lib/fitting/mod.ts";
import { readAbf } from "../lib/io/mod.ts";
import { fromRecording } from "../streams/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    file: {
      type: "string",
      default: new URL(
        "../tests/fixtures/recordings/abf/2020_07_29_0062.abf",
        import.meta.url,
      ).pathname,
    },
    rounds: { type: "string", default: "8" },
    output: { type: "string", default: "Potential" },
    input: { type: "string", default: "I_Com" },
  },
});
let peak = 0;
// with --v8-flags=--expose-gc, collect before each sample: the peak then
// measures memory kept alive, not memory the collector has yet to free
const gc = (globalThis as { gc?: () => void }).gc;
const timer = setInterval(() => {
  gc?.();
  peak = Math.max(peak, Deno.memoryUsage().rss);
}, 50);

const head = await readAbf(values.file);
const dt = head.dt, n = head.sweeps[0].samples;
head.close();
const fitter = await OnlineTraceFitter.create({
  model: `
    dv/dt = (gl*(El - v) + I)/C : volt
    gl : siemens (constant)
    C : farad (constant)
    El : volt (constant)
  `,
  method: "exponential_euler",
  input: {
    I: fromRecording(values.file, { format: "abf", select: [values.input] }),
  },
  output: {
    v: fromRecording(values.file, { format: "abf", select: [values.output] }),
  },
  dt,
  nSamples: 32,
  paramInit: { v: "El" },
});
const { params, error } = await fitter.fit({
  optimizer: new CMAES({ seed: 1 }),
  nRounds: Number(values.rounds),
  params: {
    gl: ["0.5 nS", "50 nS"],
    C: ["5 pF", "500 pF"],
    El: ["-80 mV", "-30 mV"],
  },
});
await fitter.dispose();
clearInterval(timer);
peak = Math.max(peak, Deno.memoryUsage().rss);
console.log(
  `${values.file}: ${n} samples (${
    (n * dt).toFixed(1)
  } s), ${fitter.nSteps} steps per round`,
);
console.log(
  `gl ${(params.gl / nS).toFixed(3)} nS, C ${
    (params.C / pF).toFixed(2)
  } pF, El ${(params.El / mV).toFixed(2)} mV; MSE ${
    error.toExponential(3)
  } V² (RMS ${(Math.sqrt(error) / mV).toFixed(2)} mV)`,
);
console.log(`peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`);
