// OnlineTraceFitter.refine: streamed Levenberg–Marquardt (JᵀJ and Jᵀr
// accumulated block by block). A passive membrane recorded for 20 s (2e5
// samples, 1 mV noise) in float32 files, streamed in blocks of 65,536
// samples: from parameters 10% off the truth, the refinement reaches the
// error at the truth within 1% in at most 10 passes over the data.
import assert from "node:assert/strict";
import { OnlineTraceFitter } from "../../../lib/fitting/fitters/online_trace_fitter.ts";
import { readRaw } from "../../../lib/io/raw.ts";
import { fromRecording } from "../../../streams/from_recording.ts";
import {
  PASSIVE,
  PASSIVE_TRUTH,
  writePassiveRecording,
} from "../../streams/_passive_child.ts";
import { FixedSets } from "./_fixtures.ts";

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

Deno.test("OnlineTraceFitter.refine (streamed Levenberg–Marquardt)", async (t) => {
  const dir = await Deno.makeTempDir();
  const n = 200_000;
  const rec = await writePassiveRecording(dir, n);
  const common = {
    model: PASSIVE,
    method: "exponential_euler",
    dt: 1e-4,
    paramInit: { v: "El" },
    nSamples: 1,
  };
  const streamed = await OnlineTraceFitter.create({
    ...common,
    input: { I: fromRecording(rec.iPath, { format: "f32" }) },
    output: { v: fromRecording(rec.vPath, { format: "f32" }) },
  });
  let fromOff: Awaited<ReturnType<OnlineTraceFitter["refine"]>> | null = null;
  try {
    await t.step(
      "from 10% off the truth: the error at the truth within 1% in <= 10 passes over 4 blocks",
      async () => {
        // the error at the truth as the fitter's own streamed fit computes it
        const atTruth = await streamed.fit({
          optimizer: new FixedSets([{ ...PASSIVE_TRUTH }]),
          nRounds: 1,
          callback: null,
          params: BOUNDS as never,
        });
        // refine's objective is that error: one pass at the truth
        const one = await streamed.refine({
          params: { ...PASSIVE_TRUTH },
          maxPasses: 1,
        });
        assert.equal(one.passes, 1);
        assert.ok(
          rel(one.error, atTruth.error) < 1e-9,
          `${one.error} vs ${atTruth.error}`,
        );
        const passes: number[] = [];
        const r = await streamed.refine({
          params: OFF,
          maxPasses: 10,
          callback: (i) => passes.push(i.pass),
        });
        fromOff = r;
        assert.ok(r.passes <= 10, `${r.passes} passes`);
        assert.deepEqual(
          passes,
          Array.from({ length: r.passes }, (_, i) => i + 1),
        );
        // the start is far worse than the truth: the case is not trivial
        const start = await streamed.refine({ params: OFF, maxPasses: 1 });
        assert.ok(start.error > 10 * atTruth.error, `start ${start.error}`);
        assert.ok(
          Math.abs(r.error - atTruth.error) <= 0.01 * atTruth.error,
          `refined ${r.error} vs truth ${atTruth.error} (${r.message})`,
        );
        // 2e5 samples with 1 mV noise pin the parameters well below 1%
        for (const [k, v] of Object.entries(PASSIVE_TRUTH)) {
          assert.ok(rel(r.params[k], v) < 0.01, `${k}: ${r.params[k]} vs ${v}`);
        }
      },
    );
    await t.step(
      "in memory: the same blocks give the same refinement",
      async () => {
        const I = await readRaw(rec.iPath, { format: "f32" });
        const v = await readRaw(rec.vPath, { format: "f32" });
        const mem = new OnlineTraceFitter({
          ...common,
          input: { I: I.data },
          output: { v: v.data },
        });
        const r = await mem.refine({
          params: OFF,
          bounds: BOUNDS as never,
          maxPasses: 10,
        });
        assert.equal(r.passes, fromOff!.passes);
        assert.ok(rel(r.error, fromOff!.error) < 1e-12);
        for (const k of Object.keys(PASSIVE_TRUTH)) {
          assert.ok(rel(r.params[k], fromOff!.params[k]) < 1e-12, k);
        }
      },
    );
    await t.step("bad options", async () => {
      const fresh = await OnlineTraceFitter.create({
        ...common,
        input: { I: rec.iPath },
        output: { v: rec.vPath },
      });
      try {
        await assert.rejects(() => fresh.refine(), /start point/);
        await assert.rejects(
          () => fresh.refine({ params: OFF }),
          (e) => e instanceof TypeError && /bounds/.test(e.message),
        );
        await assert.rejects(
          () =>
            fresh.refine({
              params: OFF,
              bounds: BOUNDS as never,
              maxPasses: 0,
            }),
          RangeError,
        );
      } finally {
        await fresh.dispose();
      }
    });
  } finally {
    await streamed.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
