// WebGPU simulation throughput: tutorial HH, exponential Euler, dt 0.01 ms,
// 1 nA constant input (the neurons spike), 1000 steps, N = 1e3 … 1e6, without
// recording and with v recorded at every step. Reports neuron-steps per wall
// second and per CPU-second (process CPU time: getrusage of the whole
// process, so lavapipe's worker threads are included) and the ratio per
// CPU-second to the CPU backend (JS f64 and WebAssembly f32, 1 thread)
// measured in the same run. Checks that every run produced finite states,
// that recordings have the expected size, and that the GPU agrees with the
// CPU backend in f32 on a small batch. Writes out/simulate_gpu_bench.json.
//
//   deno run -A bench/simulate_gpu_bench.ts [--sizes 1000,10000,100000,1000000] [--steps 1000]
//     [--cpu-sizes 10000,100000]
import process from "node:process";
import { parseArgs } from "node:util";
import { NeuronModel } from "../lib/simulation/neuron_model.ts";
import { Runner } from "../lib/simulation/runner.ts";
import { HH_NAMESPACE, HH_TUTORIAL } from "../tests/golden/_models.ts";
import { gpuContext, kernelOptions } from "../gpu/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "1000,10000,100000,1000000" },
    steps: { type: "string", default: "1000" },
    "cpu-sizes": { type: "string", default: "10000,100000" },
  },
});
const sizes = values.sizes!.split(",").map(Number);
const cpuSizes = values["cpu-sizes"]!.split(",").filter((s) => s).map(Number);
const steps = Number(values.steps);
const model = new NeuronModel(HH_TUTORIAL, {
  method: "exponential_euler",
  namespace: HH_NAMESPACE,
});
const ctx = await gpuContext();
if (typeof ctx === "string") {
  console.error(`no WebGPU adapter: ${ctx}`);
  Deno.exit(1);
}

interface Row {
  device: string;
  engine: string;
  n: number;
  record: string;
  steps: number;
  chunkSteps: number;
  wallSeconds: number;
  cpuSeconds: number;
  neuronStepsPerSecond: number;
  neuronStepsPerCpuSecond: number;
  spikes: number;
}

const options = (n: number) => ({
  dt: 0.01e-3,
  nNeurons: n,
  input: { I: [new Float64Array(steps + 20).fill(1e-9)] },
  params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
  init: { v: "-65 mV" },
});

async function measure(
  runner: Runner,
  n: number,
  chunk: number,
  record: boolean,
): Promise<Omit<Row, "device" | "engine" | "record">> {
  await runner.step(10); // warm-up (pipelines, JIT, workers)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let spikes = 0;
  for (let done = 0; done < steps;) {
    const s = Math.min(chunk, steps - done);
    const c = await runner.step(s);
    if (record && c.vars.v.length !== n * s) {
      throw new Error(
        `recording has ${c.vars.v.length} values, expected ${n * s}`,
      );
    }
    if (c.spikes.overflow.length) {
      throw new Error(`spike buffer overflow at N=${n}`);
    }
    spikes += c.spikes.neuron.length;
    done += s;
  }
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6;
  const st = await runner.state();
  if (!st.v.every(Number.isFinite)) {
    throw new Error(`non-finite state at N=${n}`);
  }
  return {
    n,
    steps,
    chunkSteps: chunk,
    wallSeconds: +wall.toFixed(4),
    cpuSeconds: +cpu.toFixed(4),
    neuronStepsPerSecond: Math.round((n * steps) / wall),
    neuronStepsPerCpuSecond: Math.round((n * steps) / cpu),
    spikes,
  };
}

const rows: Row[] = [];
const log = (r: Row) => {
  rows.push(r);
  console.log(
    `${r.device} ${r.engine} N=${r.n} record=${r.record}: ${
      (r.neuronStepsPerSecond / 1e6).toFixed(1)
    } M neuron-steps/s, ` +
      `${
        (r.neuronStepsPerCpuSecond / 1e6).toFixed(1)
      } M per CPU-s (${r.spikes} spikes)`,
  );
};

// parity check on a small batch: GPU (f32) vs CPU backend (f32), final v
{
  const n = 100;
  const g = await Runner.create(model, {
    ...options(n),
    record: [],
    device: "webgpu",
  });
  const c = await Runner.create(model, {
    ...options(n),
    record: [],
    precision: "f32",
    threads: 1,
    engine: "js",
  });
  await g.step(steps);
  await c.step(steps);
  const gv = (await g.state()).v;
  const cv = (await c.state()).v;
  g.dispose();
  c.dispose();
  let d = 0;
  for (let i = 0; i < n; i++) d = Math.max(d, Math.abs(gv[i] - cv[i]));
  console.log(
    `parity: max |v_gpu - v_cpu_f32| after ${steps} steps = ${
      (d * 1e3).toExponential(2)
    } mV`,
  );
  if (!(d < 0.5e-3)) throw new Error(`GPU and CPU disagree by ${d * 1e3} mV`);
}

// variants: accurate exp (default) with and without recording; the driver's
// built-in exp (kernelOptions.nativeExp, faster, ~0.15 mV off on the HH) without
const variants = [
  { record: false, nativeExp: false },
  { record: true, nativeExp: false },
  { record: false, nativeExp: true },
];
for (const n of sizes) {
  for (const v of variants) {
    kernelOptions.nativeExp = v.nativeExp;
    const runner = await Runner.create(model, {
      ...options(n),
      record: v.record ? ["v"] : [],
      device: "webgpu",
    });
    // recordings are read back per chunk: at most 32 M values (128 MB) per chunk
    const chunk = v.record
      ? Math.max(1, Math.min(steps, Math.floor(32 * 2 ** 20 / n)))
      : steps;
    const m = await measure(runner, n, chunk, v.record);
    runner.dispose();
    log({
      device: "webgpu",
      engine: `${ctx.description}${v.nativeExp ? ", native exp" : ""}`,
      record: v.record ? "v every step" : "none",
      ...m,
    });
  }
  kernelOptions.nativeExp = false;
}
for (const n of cpuSizes) {
  for (const [engine, precision] of [["js", "f64"], ["wasm", "f32"]] as const) {
    const runner = await Runner.create(model, {
      ...options(n),
      record: [],
      precision,
      threads: 1,
      engine,
    });
    const m = await measure(runner, n, steps, false);
    runner.dispose();
    log({
      device: "cpu",
      engine: `${engine} ${precision} 1 thread`,
      record: "none",
      ...m,
    });
  }
}

// ratios per CPU-second: GPU without recording vs the CPU rows at the same N
const ratios: Record<string, number> = {};
for (const c of rows.filter((r) => r.device === "cpu")) {
  for (
    const g of rows.filter((r) =>
      r.device === "webgpu" && r.n === c.n && r.record === "none"
    )
  ) {
    ratios[`N=${c.n} ${g.engine} / cpu ${c.engine}`] =
      +(g.neuronStepsPerCpuSecond / c.neuronStepsPerCpuSecond).toFixed(2);
  }
}
const g5 = rows.find((r) =>
  r.device === "webgpu" && r.n === 1e5 && r.record === "none" &&
  !r.engine.includes("native")
);
const out = {
  bench: "simulate_gpu",
  model: "tutorial HH, exponential_euler, dt 0.01 ms, I = 1 nA",
  adapter: ctx.description,
  hardwareConcurrency: navigator.hardwareConcurrency,
  date: new Date().toISOString(),
  targets: {
    "neuron-steps per CPU-second at N=1e5 >= 1.5e8": g5
      ? g5.neuronStepsPerCpuSecond >= 1.5e8
      : null,
    "ratios per CPU-second >= 6": ratios,
  },
  rows,
};
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile(
  "out/simulate_gpu_bench.json",
  JSON.stringify(out, null, 2),
);
console.log(JSON.stringify(out));
