// Simulation throughput: tutorial HH, exponential Euler, dt 0.01 ms, 1000
// steps, N = 1e3, 1e4, 1e5; JavaScript kernel on 1 and 2 threads and the
// SIMD WebAssembly kernel on 1 thread; f64 and f32. Reports
// neuron-steps per wall second and per CPU-second (process CPU time, all
// threads), checks that every run produced finite traces, and writes
// out/simulate_bench.json. Ratios are against the 1-thread f64 JS run at the
// same N in the same process.
//
//   deno run -A bench/simulate_bench.ts [--sizes 1000,10000,100000] [--steps 1000]
import process from "node:process";
import { parseArgs } from "node:util";
import { NeuronModel } from "../lib/simulation/neuron_model.ts";
import { Runner } from "../lib/simulation/runner.ts";
import { HH_NAMESPACE, HH_TUTORIAL } from "../tests/golden/_models.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    steps: { type: "string", default: "1000" },
  },
});
const sizes = values.sizes!.split(",").map(Number);
const steps = Number(values.steps);
const model = new NeuronModel(HH_TUTORIAL, {
  method: "exponential_euler",
  namespace: HH_NAMESPACE,
});

interface Row {
  device: string;
  engine: string;
  n: number;
  threads: number;
  precision: string;
  steps: number;
  wallSeconds: number;
  cpuSeconds: number;
  neuronStepsPerSecond: number;
  neuronStepsPerCpuSecond: number;
  ratioPerCpuSecondVsJs1ThreadF64: number;
}
const rows: Row[] = [];
const hw = navigator.hardwareConcurrency;
for (const n of sizes) {
  let base = NaN;
  for (const precision of ["f64", "f32"] as const) {
    for (
      const [engine, threads] of [["js", 1], ["js", 2], ["wasm", 1]] as const
    ) {
      const runner = await Runner.create(model, {
        dt: 0.01e-3,
        nNeurons: n,
        input: { I: [new Float64Array(steps).fill(1e-9)] },
        params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
        init: { v: "-65 mV" },
        record: [],
        precision,
        threads,
        engine,
      });
      await runner.step(10); // warm-up (JIT, workers started)
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await runner.step(steps);
      const wall = (performance.now() - t0) / 1000;
      const c1 = process.cpuUsage(c0);
      const cpu = (c1.user + c1.system) / 1e6;
      const st = await runner.state();
      runner.dispose();
      if (!st.v.every(Number.isFinite)) {
        throw new Error(`non-finite state at N=${n}`);
      }
      const perCpu = (n * steps) / cpu;
      if (threads === 1 && precision === "f64" && engine === "js") {
        base = perCpu;
      }
      const row: Row = {
        device: "cpu",
        engine,
        n,
        threads,
        precision,
        steps,
        wallSeconds: +wall.toFixed(4),
        cpuSeconds: +cpu.toFixed(4),
        neuronStepsPerSecond: Math.round((n * steps) / wall),
        neuronStepsPerCpuSecond: Math.round(perCpu),
        ratioPerCpuSecondVsJs1ThreadF64: +(perCpu / base).toFixed(3),
      };
      rows.push(row);
      console.log(
        `cpu ${engine} N=${n} threads=${threads} ${precision}: ${
          (row.neuronStepsPerSecond / 1e6).toFixed(1)
        } M neuron-steps/s, ` +
          `${(row.neuronStepsPerCpuSecond / 1e6).toFixed(1)} M per CPU-s`,
      );
    }
  }
}
const out = {
  bench: "simulate",
  model: "tutorial HH, exponential_euler, dt 0.01 ms",
  hardwareConcurrency: hw,
  date: new Date().toISOString(),
  rows,
};
await Deno.mkdir("out", { recursive: true });
await Deno.writeTextFile(
  "out/simulate_bench.json",
  JSON.stringify(out, null, 2),
);
console.log(JSON.stringify(out));
