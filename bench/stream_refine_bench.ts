// Streamed refine (OnlineTraceFitter.refine) against recording length: a
// passive membrane (tests/streams/_passive_child.ts: 1 mV noise, step
// current, float32 files written chunk by chunk), refined from parameters 10%
// off the truth, each length in its own process. Prints JSON:
// [{ samples, passes, error, errorAtTruth, ratio, seconds, peakRssMB }].
//
//   deno run -A bench/stream_refine_bench.ts [samples...]   (default 2e5 2e6 2e7)
//
// Measured 2026-12-04 (shared 2-core machine, loaded): 2e5, 2e6 and 2e7
// samples all converge in 4 passes to the error at the truth (refined/truth
// 0.99997, 0.9999998, 0.9999999: the least-squares optimum is slightly
// below); refine time 0.2, 0.6, 8.2 s; peak RSS 115, 118, 115 MB (flat: the
// refinement holds O(p^2) plus one block; before the chunk readers recycled
// their arrays it was 108-117 MB at 2e6 and 159 MB at 2.1e7).
import {
  PASSIVE,
  PASSIVE_TRUTH,
  writePassiveRecording,
} from "../tests/streams/_passive_child.ts";
import { OnlineTraceFitter } from "../lib/fitting/fitters/online_trace_fitter.ts";

const BOUNDS = {
  gl: ["2 nS", "50 nS"],
  C: ["50 pF", "800 pF"],
  El: ["-90 mV", "-50 mV"],
} as const;

async function child(iPath: string, vPath: string) {
  const fitter = await OnlineTraceFitter.create({
    model: PASSIVE,
    method: "exponential_euler",
    input: { I: iPath },
    output: { v: vPath },
    dt: 1e-4,
    paramInit: { v: "El" },
  });
  try {
    const truth = await fitter.refine({
      params: { ...PASSIVE_TRUTH },
      bounds: BOUNDS as never,
      maxPasses: 1,
    });
    const t0 = performance.now();
    const r = await fitter.refine({
      params: {
        gl: PASSIVE_TRUTH.gl * 1.1,
        C: PASSIVE_TRUTH.C * 0.9,
        El: PASSIVE_TRUTH.El * 1.1,
      },
      bounds: BOUNDS as never,
      maxPasses: 10,
    });
    const seconds = (performance.now() - t0) / 1000;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(
      Deno.readTextFileSync("/proc/self/status"),
    );
    return {
      samples: fitter.nSteps,
      passes: r.passes,
      error: r.error,
      errorAtTruth: truth.error,
      ratio: r.error / truth.error,
      message: r.message,
      seconds,
      peakRssMB: hwm ? Number(hwm[1]) / 1024 : NaN,
    };
  } finally {
    await fitter.dispose();
  }
}

if (Deno.args[0] === "--child") {
  console.log(JSON.stringify(await child(Deno.args[1], Deno.args[2])));
} else {
  const lengths = Deno.args.length ? Deno.args.map(Number) : [2e5, 2e6, 2e7];
  const dir = await Deno.makeTempDir({ prefix: "refine_bench_" });
  const out = [];
  try {
    for (const n of lengths) {
      const rec = await writePassiveRecording(dir, n);
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--child",
          rec.iPath,
          rec.vPath,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
      const lines = new TextDecoder().decode(r.stdout).trim().split("\n");
      out.push(JSON.parse(lines[lines.length - 1]));
      await Deno.remove(rec.iPath);
      await Deno.remove(rec.vPath);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(JSON.stringify(out, null, 2));
}
