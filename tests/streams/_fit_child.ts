// Child process of the long-trace memory measurements (tests/streams and
// bench/stream_bench.ts): fits the tutorial HH model's three conductances to
// a recording streamed from float32 files and prints one JSON line with the
// result, the time and the process's peak RSS (VmHWM). Run as
//   deno run -A tests/streams/_fit_child.ts '<json options>'
import { HH_NAMESPACE, HH_TUTORIAL } from "../golden/_models.ts";
import { OnlineTraceFitter } from "../../lib/fitting/fitters/online_trace_fitter.ts";
import { CMAES } from "../../lib/fitting/optimizers/cmaes.ts";
import { DifferentialEvolution } from "../../lib/fitting/optimizers/differential_evolution.ts";
import { fromRecording } from "../../streams/from_recording.ts";
import { fromSocket } from "../../streams/socket.ts";
import { mV, TRUTH } from "./_hh_data.ts";

export interface ChildOptions {
  iPath: string;
  vPath: string;
  dt: number;
  nSamples: number;
  nRounds: number;
  blockSamples?: number;
  /** Bounds: [truth / factor, truth * factor * 0.9]. */
  boundsFactor: number;
  seed?: number;
  optimizer?: "cmaes" | "de";
  /** Read v from a TCP sender on this port instead of the file. */
  socketPort?: number;
  /** Device. Default "cpu" ("webgpu" loads gpu/mod.ts). */
  device?: "cpu" | "webgpu";
}

export interface ChildResult {
  params: Record<string, number>;
  relErrors: Record<string, number>;
  error: number;
  seconds: number;
  neuronSteps: number;
  neuronStepsPerSecond: number;
  peakRssMB: number;
  nSteps: number;
}

/** Peak resident set size of this process (MB), from /proc/self/status. */
export function peakRssMB(): number {
  const s = Deno.readTextFileSync("/proc/self/status");
  const m = s.match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Deno.memoryUsage().rss / 2 ** 20;
}

/**
 * Bounds around the truth: [truth / factor, 0.9 · truth · factor].
 * @param factor width factor
 */
export function boundsAround(factor: number): Record<string, [number, number]> {
  return Object.fromEntries(
    Object.entries(TRUTH).map(([k, v]) => [k, [v / factor, v * factor * 0.9]]),
  );
}

/** Run the fit. */
export async function runFit(o: ChildOptions): Promise<ChildResult> {
  if (o.device === "webgpu") await import("../../gpu/mod.ts");
  const fitter = await OnlineTraceFitter.create({
    model: HH_TUTORIAL,
    namespace: HH_NAMESPACE,
    method: "exponential_euler",
    input: { I: fromRecording(o.iPath, { format: "f32" }) },
    output: {
      v: o.socketPort
        ? fromSocket({ port: o.socketPort })
        : fromRecording(o.vPath, { format: "f32" }),
    },
    dt: o.dt,
    nSamples: o.nSamples,
    blockSamples: o.blockSamples,
    paramInit: { v: -65 * mV },
    device: o.device,
  });
  try {
    const t0 = performance.now();
    const seed = o.seed ?? 1;
    const r = await fitter.fit({
      optimizer: o.optimizer === "de"
        ? new DifferentialEvolution({ seed })
        : new CMAES({ seed }),
      nRounds: o.nRounds,
      callback: null,
      params: boundsAround(o.boundsFactor),
    });
    const seconds = (performance.now() - t0) / 1000;
    const neuronSteps = fitter.results().length * fitter.nSteps;
    return {
      params: r.params,
      relErrors: Object.fromEntries(
        Object.entries(TRUTH).map((
          [k, v],
        ) => [k, Math.abs(r.params[k] - v) / v]),
      ),
      error: r.error,
      seconds,
      neuronSteps,
      neuronStepsPerSecond: neuronSteps / seconds,
      peakRssMB: peakRssMB(),
      nSteps: fitter.nSteps,
    };
  } finally {
    await fitter.dispose();
  }
}

if (import.meta.main) {
  const o = JSON.parse(Deno.args[0]) as ChildOptions;
  console.log(JSON.stringify(await runFit(o)));
}

/**
 * Run {@linkcode runFit} in a fresh process (so its peak RSS is its own).
 * @param o options
 */
export async function runFitInChild(o: ChildOptions): Promise<ChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_fit_child.ts", import.meta.url).pathname,
      JSON.stringify(o),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `fit child failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
    );
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}
