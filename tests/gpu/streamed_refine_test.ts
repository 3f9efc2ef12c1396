// OnlineTraceFitter.refine on WebGPU (f32 simulation, f64 accumulation of
// JᵀJ and Jᵀr on the host): the passive-membrane case of
// tests/fitting/fitters/online_refine_test.ts, streamed from float32 files in
// 4 blocks, from 10% off the truth to the error at the truth within 1% in at
// most 10 passes, and the same refined parameters as on the CPU within 1e-4
// relative (f32 simulation vs f64; measured <= 7e-6 on lavapipe).
import assert from "node:assert/strict";
import { OnlineTraceFitter } from "../../lib/fitting/fitters/online_trace_fitter.ts";
import {
  PASSIVE,
  PASSIVE_TRUTH,
  writePassiveRecording,
} from "../streams/_passive_child.ts";
import { hasAdapter } from "./_gpu.ts";

const BOUNDS = {
  gl: ["2 nS", "50 nS"],
  C: ["50 pF", "800 pF"],
  El: ["-90 mV", "-50 mV"],
} as const;
const OFF = {
  gl: PASSIVE_TRUTH.gl * 1.1,
  C: PASSIVE_TRUTH.C * 0.9,
  El: PASSIVE_TRUTH.El * 1.1,
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

Deno.test({
  name:
    "OnlineTraceFitter.refine on WebGPU: from 10% off to the truth's error within 1% in <= 10 passes, as on the CPU",
  ignore: !hasAdapter,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const rec = await writePassiveRecording(dir, 200_000);
      const out: Record<string, { params: Record<string, number> }> = {};
      for (const device of ["cpu", "webgpu"] as const) {
        const f = await OnlineTraceFitter.create({
          model: PASSIVE,
          method: "exponential_euler",
          input: { I: rec.iPath },
          output: { v: rec.vPath },
          dt: 1e-4,
          paramInit: { v: "El" },
          device,
        });
        try {
          const truth = await f.refine({
            params: { ...PASSIVE_TRUTH },
            bounds: BOUNDS as never,
            maxPasses: 1,
          });
          const r = await f.refine({
            params: OFF,
            bounds: BOUNDS as never,
            maxPasses: 10,
          });
          assert.ok(r.passes <= 10, `${device}: ${r.passes} passes`);
          assert.ok(
            Math.abs(r.error - truth.error) <= 0.01 * truth.error,
            `${device}: ${r.error} vs ${truth.error}`,
          );
          out[device] = r;
        } finally {
          await f.dispose();
        }
      }
      for (const k of Object.keys(PASSIVE_TRUTH)) {
        assert.ok(
          rel(out.webgpu.params[k], out.cpu.params[k]) < 1e-4,
          `${k}: ${out.webgpu.params[k]} vs ${out.cpu.params[k]}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
