// The streamed-memory test's recording and child process: a passive membrane
// (the cheapest model the streamed fitter runs, so that a recording of
// 2e7 samples streams in seconds) driven by a random step current.
//
// writePassiveRecording writes I and v (with N(0, 1 mV) noise) as raw float32
// files one chunk at a time: the generator never holds the recording.
// Run as a child, this module fits gl, C, El to such files streamed from disk
// and prints one JSON line: samples, MSE, peak RSS (VmHWM).
//   deno run -A tests/streams/_passive_child.ts '<json PassiveChildOptions>'
import { Rng } from "../../lib/_internal/random.ts";
import { encodeRaw } from "../../lib/io/raw.ts";
import { OnlineTraceFitter } from "../../lib/fitting/fitters/online_trace_fitter.ts";
import { CMAES } from "../../lib/fitting/optimizers/cmaes.ts";
import { fromRecording } from "../../streams/from_recording.ts";

/** The passive membrane fitted by the child. */
export const PASSIVE = `
  dv/dt = (gl*(El - v) + I)/C : volt
  gl : siemens (constant)
  C : farad (constant)
  El : volt (constant)
`;
/** Parameters of the generated recordings. */
export const PASSIVE_TRUTH = { gl: 10e-9, C: 200e-12, El: -70e-3 } as const;

/** Options of the child. */
export interface PassiveChildOptions {
  iPath: string;
  vPath: string;
  dt: number;
  nSamples: number;
  nRounds: number;
}

/** What the child prints. */
export interface PassiveChildResult {
  nSteps: number;
  error: number;
  params: Record<string, number>;
  peakRssMB: number;
  seconds: number;
}

/**
 * Write `nSteps` samples of a passive membrane (exact exponential update,
 * truth {@linkcode PASSIVE_TRUTH}) under a step current (a new amplitude in
 * [0, 0.2 nA) every 25 ms) as two raw float32 files, chunk by chunk.
 * @param dir directory of the files
 * @param nSteps samples
 * @param dt time step (s)
 * @returns the two paths
 */
export async function writePassiveRecording(
  dir: string,
  nSteps: number,
  dt = 0.1e-3,
): Promise<{ iPath: string; vPath: string }> {
  const rng = new Rng(5);
  const iPath = `${dir}/passive_${nSteps}_I.f32`;
  const vPath = `${dir}/passive_${nSteps}_v.f32`;
  const fi = await Deno.open(iPath, {
    write: true,
    create: true,
    truncate: true,
  });
  const fv = await Deno.open(vPath, {
    write: true,
    create: true,
    truncate: true,
  });
  const { gl, C, El } = PASSIVE_TRUTH;
  const decay = Math.exp(-dt * gl / C);
  const seg = Math.round(25e-3 / dt);
  const CHUNK = 1 << 18;
  const I = new Float64Array(CHUNK);
  const v = new Float64Array(CHUNK);
  let amp = 0;
  let x = El;
  const write = async (f: Deno.FsFile, b: Uint8Array) => {
    let o = 0;
    while (o < b.length) o += await f.write(b.subarray(o));
  };
  try {
    for (let a = 0; a < nSteps; a += CHUNK) {
      const n = Math.min(CHUNK, nSteps - a);
      for (let j = 0; j < n; j++) {
        if ((a + j) % seg === 0) amp = rng.uniform(0, 0.2e-9);
        // the fit reads the current as float32: simulate with that value
        I[j] = Math.fround(amp);
        v[j] = x + 1e-3 * rng.normal();
        const inf = El + I[j] / gl;
        x = inf + (x - inf) * decay;
      }
      await write(fi, encodeRaw([I.subarray(0, n)], "f32"));
      await write(fv, encodeRaw([v.subarray(0, n)], "f32"));
    }
  } finally {
    fi.close();
    fv.close();
  }
  return { iPath, vPath };
}

/** Peak resident set size of this process (MB), from /proc/self/status. */
function peakRssMB(): number {
  const s = Deno.readTextFileSync("/proc/self/status");
  const m = s.match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : Deno.memoryUsage().rss / 2 ** 20;
}

/**
 * The streamed fit (in this process).
 * @param o options
 * @returns the result
 */
export async function runPassiveFit(
  o: PassiveChildOptions,
): Promise<PassiveChildResult> {
  const t0 = performance.now();
  const fitter = await OnlineTraceFitter.create({
    model: PASSIVE,
    method: "exponential_euler",
    input: { I: fromRecording(o.iPath, { format: "f32" }) },
    output: { v: fromRecording(o.vPath, { format: "f32" }) },
    dt: o.dt,
    nSamples: o.nSamples,
    paramInit: { v: "El" },
  });
  try {
    const r = await fitter.fit({
      optimizer: new CMAES({ seed: 1 }),
      nRounds: o.nRounds,
      callback: null,
      params: {
        gl: ["2 nS", "50 nS"],
        C: ["50 pF", "800 pF"],
        El: ["-90 mV", "-50 mV"],
      },
    });
    return {
      nSteps: fitter.nSteps,
      error: r.error,
      params: r.params,
      peakRssMB: peakRssMB(),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await fitter.dispose();
  }
}

/**
 * Run {@linkcode runPassiveFit} in a fresh process (its peak RSS is its own).
 * @param o options
 * @returns the child's result
 */
export async function runPassiveFitInChild(
  o: PassiveChildOptions,
): Promise<PassiveChildResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_passive_child.ts", import.meta.url).pathname,
      JSON.stringify(o),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `passive fit child failed: ${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (import.meta.main) {
  const o = JSON.parse(Deno.args[0]) as PassiveChildOptions;
  console.log(JSON.stringify(await runPassiveFit(o)));
}
