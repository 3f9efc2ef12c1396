// Generated long recordings of the tutorial HH model (tests/golden/_models.ts
// hhTutorial()) for the streaming tests and bench/stream_bench.ts: a random
// step current (a new amplitude in [0, 1 nA) every 25 ms) and the membrane
// potential with N(0, 1 mV) noise, written incrementally as raw float32.
import { hhTutorial } from "../golden/_models.ts";
import { Runner } from "../../lib/simulation/runner.ts";
import { Rng } from "../../lib/_internal/random.ts";
import { encodeRaw } from "../../lib/io/raw.ts";
import { lastValueFrom, tap } from "rxjs";
import { fromRunner } from "../../streams/from_runner.ts";

export const mV = 1e-3;
/** Ground truth of the generated recordings (EXAMPLES.md, model A). */
export const TRUTH = { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 } as const;

export interface HHRecording {
  /** Raw float32 file of the input current (A). */
  iPath: string;
  /** Raw float32 file of the noisy membrane potential (V). */
  vPath: string;
  /** Samples. */
  nSteps: number;
  /** Time step (s). */
  dt: number;
}

/**
 * Simulate `seconds` of the tutorial HH model and write I and v as f32 files.
 * @param dir directory of the files
 * @param seconds duration
 * @param options dt (default 0.05 ms), seed, noise (V, default 1 mV)
 */
export async function writeHHRecording(
  dir: string,
  seconds: number,
  options: { dt?: number; seed?: number; noise?: number } = {},
): Promise<HHRecording> {
  const dt = options.dt ?? 0.05e-3;
  const noise = options.noise ?? 1 * mV;
  const rng = new Rng(options.seed ?? 1);
  const nSteps = Math.round(seconds / dt);
  const seg = Math.round(25e-3 / dt);
  const I = new Float64Array(nSteps);
  for (let a = 0; a < nSteps; a += seg) {
    I.fill(rng.uniform(0, 1e-9), a, Math.min(nSteps, a + seg));
  }
  const iPath = `${dir}/hh_${seconds}s_I.f32`;
  const vPath = `${dir}/hh_${seconds}s_v.f32`;
  await Deno.writeFile(iPath, encodeRaw([I], "f32"));
  // the simulation sees the float32 current it will be fitted with
  const I32 = Float64Array.from(new Float32Array(I));
  const runner = await Runner.create(hhTutorial(), {
    dt,
    input: { I: [I32] },
    params: { ...TRUTH },
    init: { v: -65 * mV },
    record: ["v"],
  });
  const file = await Deno.open(vPath, {
    write: true,
    create: true,
    truncate: true,
  });
  try {
    const pending: Uint8Array[] = [];
    await lastValueFrom(
      fromRunner(runner, { chunkSteps: 65536, totalSteps: nSteps }).pipe(
        tap((c) => {
          const v = Float64Array.from(
            c.vars.v,
            (x) => x + noise * rng.normal(),
          );
          pending.push(encodeRaw([v], "f32"));
        }),
      ),
    );
    for (const p of pending) {
      let o = 0;
      while (o < p.length) o += await file.write(p.subarray(o));
    }
  } finally {
    file.close();
  }
  return { iPath, vPath, nSteps, dt };
}
