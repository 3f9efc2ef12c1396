// Fits the three conductances of the tutorial Hodgkin–Huxley model to a long
// recording that is streamed, never loaded whole: the example first
// generates the recording (a random step current and the membrane potential
// with 1 mV noise, ground truth gl 10 nS, g_na 20 uS, g_kd 6 uS) into raw
// float32 files with JSON sidecars, chunk by chunk (fromRunner), then fits it
// with OnlineTraceFitter.create reading the files in blocks every round.
// With --socket the voltage comes over TCP instead: the example starts a
// local sender (toSocket, length-prefixed float32 frames) and the fitter
// reads it with fromSocket (buffered once to a temporary file).
//
//   deno run -A examples/stream_fit.ts [--seconds 20] [--socket]
//     [--samples 64] [--rounds 10] [--device cpu|webgpu|auto]
import { parseArgs } from "node:util";
import { lastValueFrom, tap } from "rxjs";
import { ms, mV, nS, uS } from "../mod.ts";
import { CMAES, OnlineTraceFitter } from "../lib/fitting/mod.ts";
import { NeuronModel } from "../lib/simulation/neuron_model.ts";
import { Runner } from "../lib/simulation/runner.ts";
import { encodeRaw, writeRaw } from "../lib/io/mod.ts";
import { Rng } from "../lib/_internal/random.ts";
import {
  fromRecording,
  fromRunner,
  fromSocket,
  progressBar,
  toSocket,
} from "../streams/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "20" },
    samples: { type: "string", default: "64" },
    rounds: { type: "string", default: "10" },
    device: { type: "string", default: "cpu" },
    socket: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const device = values.device as "cpu" | "webgpu" | "auto";
if (device !== "cpu") await import("../gpu/mod.ts"); // registers the WebGPU backend

const equations = `
dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
        - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
        - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
g_na : siemens (constant)
g_kd : siemens (constant)
gl   : siemens (constant)
`;
const namespace = {
  El: "-65 mV",
  EK: "-90 mV",
  ENa: "50 mV",
  VT: "-63 mV",
  Cm: "200 pF",
};
const truth = { gl: 10 * nS, g_na: 20 * uS, g_kd: 6 * uS };
const dt = 0.05 * ms;

// ---- 1. generate the recording, chunk by chunk
const dir = await Deno.makeTempDir({ prefix: "stream_fit_" });
const nSteps = Math.round(seconds / dt);
const rng = new Rng(1);
const current = new Float32Array(nSteps); // a new amplitude in [0, 1 nA) every 25 ms
for (let a = 0; a < nSteps; a += 500) {
  current.fill(rng.uniform(0, 1e-9), a, a + 500);
}
const iPath = `${dir}/I.f32`;
const vPath = `${dir}/v.f32`;
await writeRaw(iPath, [current], { format: "f32", dt, units: "A" });
const truthRunner = await Runner.create(
  new NeuronModel(equations, { namespace, method: "exponential_euler" }),
  {
    dt,
    input: { I: [Float64Array.from(current)] },
    params: truth,
    init: { v: -65 * mV },
    record: ["v"],
  },
);
const vFile = await Deno.open(vPath, {
  write: true,
  create: true,
  truncate: true,
});
await lastValueFrom(
  fromRunner(truthRunner, { chunkSteps: 65536, totalSteps: nSteps }).pipe(
    tap((c) => {
      const noisy = Float64Array.from(
        c.vars.v,
        (x) => x + 1 * mV * rng.normal(),
      );
      vFile.writeSync(encodeRaw([noisy], "f32"));
    }),
  ),
);
vFile.close();
await Deno.writeTextFile(
  `${vPath}.json`,
  JSON.stringify({ format: "f32", channels: 1, dt, units: "V" }),
);
console.log(
  `recording: ${seconds} s at dt ${dt / ms} ms = ${nSteps} samples in ${dir}`,
);

// ---- 2. the voltage source: the file, or a local TCP sender
let sender: Awaited<ReturnType<typeof toSocket>> | null = null;
let output;
if (values.socket) {
  sender = await toSocket(fromRecording(vPath, { format: "f32" }), {
    listen: true,
    port: 0,
  });
  console.log(`streaming v over TCP from 127.0.0.1:${sender.port}`);
  output = fromSocket({ port: sender.port });
} else {
  output = fromRecording(vPath, { format: "f32" });
}

// ---- 3. fit
const fitter = await OnlineTraceFitter.create({
  model: equations,
  namespace,
  method: "exponential_euler",
  input: { I: fromRecording(iPath, { format: "f32" }) },
  output: { v: output },
  dt,
  nSamples: Number(values.samples),
  paramInit: { v: -65 * mV },
  device,
  onProgress: progressBar({ label: "fit" }),
});
if (sender) console.log(`received ${await sender.done} samples over TCP`);
console.log(
  `sources: ${
    JSON.stringify(fitter.sources)
  }; ${fitter.nSteps} samples per round`,
);
const t0 = performance.now();
const { params, error } = await fitter.fit({
  optimizer: new CMAES({ seed: 1 }),
  nRounds: Number(values.rounds),
  params: {
    gl: ["6.7 nS", "13.5 nS"],
    g_na: ["13.3 uS", "27 uS"],
    g_kd: ["4 uS", "8.1 uS"],
  },
});
const s = (performance.now() - t0) / 1000;
await fitter.dispose();
await Deno.remove(dir, { recursive: true });

console.log(
  `\nfit of ${fitter.results().length} parameter sets in ${s.toFixed(1)} s`,
);
console.log(`best MSE ${error.toExponential(3)} V² (noise alone: ~1e-6 V²)`);
for (const [k, v] of Object.entries(truth)) {
  const got = params[k];
  console.log(
    `${k.padEnd(5)} ${got.toExponential(4)} (truth ${v.toExponential(4)}, ${
      (100 * (got - v) / v).toFixed(2)
    }%)`,
  );
}
