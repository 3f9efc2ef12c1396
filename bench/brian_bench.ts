// Side-by-side simulation throughput against Brian 2 (issue #17): the
// tutorial HH model (tests/golden/_models.ts HH_TUTORIAL, exponential Euler,
// dt 0.01 ms, 1 nA input, v0 = -65 mV), N neurons, 1000 steps, f64 and f32.
//
// When Debian's python3-brian is importable from /usr/bin/python3 (or
// $BRIAN_PYTHON), each round runs Brian 2 (bench/brian/hh_bench.py: `cython`,
// and `cpp_standalone` when g++ is present, compilation excluded) and then
// neurofit's CPU engines in this process (JS and SIMD wasm, 1 and 2
// threads, and the default: no engine/threads option, `threads: 0` in the
// JSON), one after another, so Brian and neurofit see the same machine load. Without Brian it says so and reports neurofit alone.
//
// Reported per figure: neuron-steps per wall second and per CPU-second
// (process CPU time, all threads; Brian's own process CPU time around its
// run() call) — the median over rounds — and, per neurofit figure, its ratio
// to Brian cython (and cpp_standalone) at the same N and precision. The load
// average is read before and after each round: on a shared machine the
// per-CPU-second figures are the ones to compare.
//
//   deno run -A bench/brian_bench.ts [--sizes 10000,100000] [--steps 1000]
//     [--rounds 1] [--no-standalone] [--out out/brian_bench.json]
import process from "node:process";
import { parseArgs } from "node:util";
import { NeuronModel } from "../lib/simulation/neuron_model.ts";
import { Runner } from "../lib/simulation/runner.ts";
import { HH_NAMESPACE, HH_TUTORIAL } from "../tests/golden/_models.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "10000,100000" },
    steps: { type: "string", default: "1000" },
    rounds: { type: "string", default: "1" },
    "no-standalone": { type: "boolean", default: false },
    out: { type: "string", default: "out/brian_bench.json" },
  },
});
const sizes = values.sizes!.split(",").map(Number);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
for (
  const [name, v] of [
    ["steps", steps],
    ["rounds", rounds],
    ...sizes.map((s) => ["sizes", s] as const),
  ] as const
) {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`--${name} must be a positive integer, got ${v}`);
  }
}
const python = Deno.env.get("BRIAN_PYTHON") ?? "/usr/bin/python3";
const script = new URL("./brian/hh_bench.py", import.meta.url).pathname;

async function runCmd(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const o = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const d = new TextDecoder();
    return {
      ok: o.success,
      stdout: d.decode(o.stdout),
      stderr: d.decode(o.stderr),
    };
  } catch (e) {
    return { ok: false, stdout: "", stderr: String(e) };
  }
}

const probe = await runCmd(python, [
  "-c",
  "import brian2; print(brian2.__version__)",
]);
const brianVersion = probe.ok ? probe.stdout.trim() : null;
const gpp = brianVersion !== null && !values["no-standalone"]
  ? (await runCmd("g++", ["--version"])).ok
  : false;
const brianTargets = brianVersion === null
  ? []
  : gpp
  ? ["cython", "cpp_standalone"]
  : ["cython"];
if (brianVersion === null) {
  console.log(
    `Brian 2 not found (${python} -c 'import brian2' failed: ${
      probe.stderr.trim().split("\n").at(-1)
    }); install Debian's python3-brian to compare. Reporting neurofit alone.`,
  );
} else {
  console.log(
    `Brian 2 ${brianVersion} (${python}); targets: ${brianTargets.join(", ")}` +
      (gpp || values["no-standalone"] ? "" : " (no g++: no cpp_standalone)"),
  );
}

const model = new NeuronModel(HH_TUTORIAL, {
  method: "exponential_euler",
  namespace: HH_NAMESPACE,
});

const loadavg = (): number[] =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);

interface Sample {
  wallSeconds: number;
  cpuSeconds: number;
  loadBefore: number;
}

async function neurofit(
  n: number,
  precision: "f64" | "f32",
  engine: "js" | "wasm" | "default",
  threads: number,
): Promise<Sample> {
  const loadBefore = loadavg()[0];
  const runner = await Runner.create(model, {
    dt: 0.01e-3,
    nNeurons: n,
    input: { I: [new Float64Array(steps + 10).fill(1e-9)] },
    params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
    init: { v: "-65 mV" },
    record: [],
    precision,
    ...(engine === "default" ? {} : { threads, engine }),
  });
  await runner.step(10); // warm-up: JIT, wasm compiled, workers started
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await runner.step(steps);
  const wall = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const st = await runner.state();
  runner.dispose();
  if (!st.v.every(Number.isFinite)) {
    throw new Error(`non-finite state: ${engine} ${precision} N=${n}`);
  }
  return {
    wallSeconds: wall,
    cpuSeconds: (c1.user + c1.system) / 1e6,
    loadBefore,
  };
}

async function brian(
  n: number,
  precision: "f64" | "f32",
  target: string,
): Promise<Sample & { compileSeconds?: number; mainLoopSeconds?: number }> {
  const loadBefore = loadavg()[0];
  const r = await runCmd(python, [
    script,
    "--target",
    target,
    "--n",
    String(n),
    "--steps",
    String(steps),
    "--precision",
    precision === "f64" ? "float64" : "float32",
  ]);
  if (!r.ok) throw new Error(`Brian ${target} N=${n} failed:\n${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  return { ...j, loadBefore };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

interface Row {
  simulator: "neurofit" | "brian2";
  engine: string;
  threads: number;
  precision: "f64" | "f32";
  n: number;
  steps: number;
  rounds: number;
  wallSeconds: number;
  cpuSeconds: number;
  neuronStepsPerSecond: number;
  neuronStepsPerCpuSecond: number;
  samplesPerCpuSecond: number[];
  loadAverage1mBefore: number[];
  compileSeconds?: number;
  mainLoopSeconds?: number;
  ratioPerCpuSecondVsBrianCython?: number;
  ratioWallVsBrianCython?: number;
  ratioPerCpuSecondVsBrianStandalone?: number;
}

// "default": no engine or threads option, i.e. what a user gets (engine
// "auto"; threads: all cores from 4096 neurons).
const engines = [
  ["js", 1],
  ["js", 2],
  ["wasm", 1],
  ["wasm", 2],
  ["default", 0],
] as const;
const rows: Row[] = [];
const loadStart = loadavg();
const started = performance.now();
for (const n of sizes) {
  for (const precision of ["f64", "f32"] as const) {
    const samples = new Map<string, Sample[]>();
    const extra = new Map<
      string,
      { compileSeconds?: number; mainLoopSeconds?: number }
    >();
    const push = (key: string, s: Sample) => {
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key)!.push(s);
    };
    for (let r = 0; r < rounds; r++) {
      // Interleaved: Brian, then each neurofit engine, in every round.
      for (const target of brianTargets) {
        const s = await brian(n, precision, target);
        push(`brian2|${target}|1`, s);
        extra.set(target, {
          compileSeconds: s.compileSeconds,
          mainLoopSeconds: s.mainLoopSeconds,
        });
      }
      for (const [engine, threads] of engines) {
        push(
          `neurofit|${engine}|${threads}`,
          await neurofit(n, precision, engine, threads),
        );
      }
    }
    const group: Row[] = [];
    for (const [key, ss] of samples) {
      const [simulator, engine, threads] = key.split("|");
      const wall = median(ss.map((s) => s.wallSeconds));
      const cpu = median(ss.map((s) => s.cpuSeconds));
      const row: Row = {
        simulator: simulator as Row["simulator"],
        engine,
        threads: Number(threads),
        precision,
        n,
        steps,
        rounds: ss.length,
        wallSeconds: +wall.toFixed(4),
        cpuSeconds: +cpu.toFixed(4),
        neuronStepsPerSecond: Math.round((n * steps) / wall),
        neuronStepsPerCpuSecond: Math.round((n * steps) / cpu),
        samplesPerCpuSecond: ss.map((s) =>
          Math.round((n * steps) / s.cpuSeconds)
        ),
        loadAverage1mBefore: ss.map((s) => s.loadBefore),
        ...(simulator === "brian2" ? extra.get(engine) : {}),
      };
      group.push(row);
    }
    const cy = group.find((r) => r.engine === "cython");
    const sa = group.find((r) => r.engine === "cpp_standalone");
    for (const row of group) {
      if (row.simulator === "neurofit") {
        if (cy) {
          row.ratioPerCpuSecondVsBrianCython = +(row.neuronStepsPerCpuSecond /
            cy.neuronStepsPerCpuSecond).toFixed(3);
          row.ratioWallVsBrianCython = +(row.neuronStepsPerSecond /
            cy.neuronStepsPerSecond).toFixed(3);
        }
        if (sa) {
          row.ratioPerCpuSecondVsBrianStandalone =
            +(row.neuronStepsPerCpuSecond /
              sa.neuronStepsPerCpuSecond).toFixed(3);
        }
      }
      rows.push(row);
      console.log(
        `${row.simulator} ${row.engine} ${row.threads}t ${precision} N=${n}: ` +
          `${(row.neuronStepsPerSecond / 1e6).toFixed(1)} M/s wall, ` +
          `${(row.neuronStepsPerCpuSecond / 1e6).toFixed(1)} M/CPU-s` +
          (row.ratioPerCpuSecondVsBrianCython !== undefined
            ? ` (${row.ratioPerCpuSecondVsBrianCython}x Brian cython per CPU-s)`
            : ""),
      );
    }
  }
}
const out = {
  bench: "brian",
  model: "tutorial HH, exponential_euler, dt 0.01 ms, 1 nA, v0 -65 mV",
  date: new Date().toISOString(),
  brian2: brianVersion,
  brianTargets,
  brianNote: brianVersion === null
    ? `Brian 2 not importable from ${python}: neurofit alone`
    : "Brian: compilation excluded (cython: second run() after a cached warm-up; " +
      "cpp_standalone: binary run timed after the build); single-threaded",
  hardwareConcurrency: navigator.hardwareConcurrency,
  loadAverageStart: loadStart,
  loadAverageEnd: loadavg(),
  seconds: +((performance.now() - started) / 1000).toFixed(1),
  rows,
};
const outPath = values.out!;
await Deno.mkdir(outPath.replace(/\/[^/]*$/, "") || ".", { recursive: true });
await Deno.writeTextFile(outPath, JSON.stringify(out, null, 2));
console.log(`wrote ${outPath}`);
