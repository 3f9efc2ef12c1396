// Simulates the Hodgkin–Huxley model of the brian2modelfitting tutorial on
// its 5 recorded input currents, prints spike counts and writes
// out/simulate_hh.svg (simulated vs recorded membrane potential).
//
//   deno run -A examples/simulate_hh.ts [--device cpu|webgpu|auto]
import { parseArgs } from "node:util";
import { ms, mV, NeuronModel, nS, simulate, uS } from "../mod.ts";
import { readCsvMatrix } from "../lib/io/mod.ts";
import { tracesSvg } from "../lib/plot/traces.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { device: { type: "string", default: "cpu" } },
});
const device = values.device as "cpu" | "webgpu" | "auto";
if (!["cpu", "webgpu", "auto"].includes(device)) {
  console.error(`--device must be cpu, webgpu or auto, got ${device}`);
  Deno.exit(2);
}
if (device !== "cpu") await import("../gpu/mod.ts"); // registers the WebGPU backend

const model = new NeuronModel(
  `
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
  {
    method: "exponential_euler",
    namespace: {
      El: "-65 mV",
      EK: "-90 mV",
      ENa: "50 mV",
      VT: "-63 mV",
      Cm: "200 pF",
    },
    threshold: "v > -20*mV",
    refractory: "v > -20*mV",
  },
);

const dataDir = new URL("../data/b2mf/", import.meta.url);
const input = await readCsvMatrix(new URL("input_traces_hh.csv", dataDir)); // amperes
const output = await readCsvMatrix(new URL("output_traces_hh.csv", dataDir), {
  scale: 1e-3,
}); // mV -> V
const dt = 0.01 * ms;

const t0 = performance.now();
const result = await simulate(model, {
  dt,
  steps: input.cols,
  input: { I: input.data },
  params: { gl: 10 * nS, g_na: 20 * uS, g_kd: 6 * uS },
  init: { v: -65 * mV },
  record: ["v"],
  device,
});
const wall = performance.now() - t0;
console.log(
  `simulated ${input.rows} traces x ${input.cols} steps with ${result.method} on ${result.device} in ${
    wall.toFixed(1)
  } ms`,
);
result.spikes.forEach((s, i) => {
  console.log(
    `trace ${i}: ${s.length} spikes${
      s.length ? ` (first at ${(s[0] / ms).toFixed(2)} ms)` : ""
    }`,
  );
});

const svg = tracesSvg({
  t: result.t,
  title:
    "Tutorial HH: recording vs simulation (gl 10 nS, g_na 20 uS, g_kd 6 uS)",
  yLabel: "v (mV)",
  panels: result.traces.v.map((v, i) => ({
    title: `trace ${i}`,
    series: [
      {
        label: "recorded",
        values: output.data[i].map((x) => x / mV),
        color: "#999999",
      },
      {
        label: "simulated",
        values: Array.from(v, (x) => x / mV),
        color: "#d62728",
      },
    ],
  })),
});
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile("out/simulate_hh.svg", svg);
console.log("wrote out/simulate_hh.svg");
