import assert from "node:assert/strict";
import {
  EMPTY,
  from,
  interval,
  lastValueFrom,
  map,
  Observable,
  take,
  toArray,
} from "rxjs";
import {
  type MetricChunk,
  onlineMetric,
  simulateAlong,
} from "../../streams/online_metric.ts";
import { fromRecording } from "../../streams/from_recording.ts";
import { MSEMetric } from "../../lib/fitting/metrics/mse.ts";
import { Runner } from "../../lib/simulation/runner.ts";
import { encodeRaw } from "../../lib/io/raw.ts";
import { Rng } from "../../lib/_internal/random.ts";
import { hhTutorial } from "../golden/_models.ts";

const dt = 1e-4;

Deno.test("onlineMetric()", async (t) => {
  const metric = new MSEMetric();
  const chunk = (start: number, k: number, off: number): MetricChunk => ({
    start,
    model: [new Float64Array(k).fill(off), new Float64Array(k)],
    data: [new Float64Array(k)],
  });

  await t.step("empty source: no emission, completes", async () => {
    const out = await lastValueFrom(
      EMPTY.pipe(onlineMetric(metric, { dt }), toArray()),
    );
    assert.deepEqual(out, []);
  });

  await t.step("one chunk", async () => {
    const out = await lastValueFrom(
      from([chunk(0, 4, 2)]).pipe(onlineMetric(metric, { dt }), toArray()),
    );
    assert.equal(out.length, 1);
    assert.deepEqual(Array.from(out[0].errors), [4, 0]);
    assert.equal(out[0].steps, 4);
  });

  await t.step("many chunks: running errors after each chunk", async () => {
    const src = [chunk(0, 2, 1), chunk(2, 2, 3)];
    const out = await lastValueFrom(
      from(src).pipe(onlineMetric(metric, { dt }), toArray()),
    );
    assert.deepEqual(out.map((o) => o.errors[0]), [1, (2 * 1 + 2 * 9) / 4]);
    assert.deepEqual(out.map((o) => o.chunks), [1, 2]);
  });

  await t.step("error mid-stream: errors so far, then the error", async () => {
    const src = new Observable<MetricChunk>((s) => {
      s.next(chunk(0, 2, 1));
      s.error(new Error("source failed at 2"));
    });
    const seen: number[] = [];
    const err = await new Promise<unknown>((resolve) =>
      src.pipe(onlineMetric(metric, { dt })).subscribe({
        next: (o) => seen.push(o.errors[0]),
        error: resolve,
      })
    );
    assert.deepEqual(seen, [1]);
    assert.match(String(err), /source failed at 2/);
    // a gap between chunks is an error of the operator
    const gap = await lastValueFrom(
      from([chunk(0, 2, 1), chunk(5, 2, 1)]).pipe(onlineMetric(metric, { dt })),
    ).catch((e) => e);
    assert.ok(gap instanceof RangeError && /expected 2/.test(gap.message));
  });

  await t.step("never-ending source with take", async () => {
    let produced = 0;
    const out = await lastValueFrom(
      interval(0).pipe(
        map((i) => {
          produced++;
          return chunk(i * 3, 3, 1);
        }),
        onlineMetric(metric, { dt }),
        take(4),
        toArray(),
      ),
    );
    assert.equal(out.length, 4);
    assert.equal(out[3].steps, 12);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(produced, 4, "the source was unsubscribed");
  });

  await t.step("early unsubscribe frees the source", () => {
    let torn = 0;
    const src = new Observable<MetricChunk>((s) => {
      s.next(chunk(0, 1, 1));
      return () => void torn++;
    });
    const sub = src.pipe(onlineMetric(metric, { dt })).subscribe();
    sub.unsubscribe();
    assert.equal(torn, 1);
  });

  await t.step("tStart and time weights follow MSEMetric.calc", async () => {
    const rng = new Rng(3);
    const n = 50;
    const d = [Float64Array.from({ length: n }, () => rng.normal())];
    const m = [0, 1, 2].map(() =>
      Float64Array.from({ length: n }, () => rng.normal())
    );
    for (
      const mt of [
        new MSEMetric({ tStart: 7 * dt }),
        new MSEMetric({
          tWeights: Float64Array.from({ length: n }, (_, i) => i % 3),
          normalization: 0.5,
        }),
      ]
    ) {
      const want = mt.calc(m, d, dt);
      for (const k of [1, 7, 50]) {
        const chunks: MetricChunk[] = [];
        for (let a = 0; a < n; a += k) {
          const b = Math.min(n, a + k);
          chunks.push({
            start: a,
            model: m.map((r) => r.subarray(a, b)),
            data: d.map((r) => r.subarray(a, b)),
          });
        }
        const got = await lastValueFrom(
          from(chunks).pipe(onlineMetric(mt, { dt })),
        );
        assert.deepEqual(got.errors, want, `chunks of ${k}`);
      }
    }
  });
});

Deno.test("fromRecording → simulateAlong → onlineMetric", async (t) => {
  // a 2-trace HH recording written as float32, compared with 3 parameter sets
  const dtHH = 0.01e-3;
  const nSteps = 3000;
  const rng = new Rng(7);
  const I = [0.5e-9, 0.8e-9].map((a) =>
    Float64Array.from({ length: nSteps }, (_, k) => (k > 200 ? a : 0))
  );
  const truth = await Runner.create(hhTutorial(), {
    dt: dtHH,
    input: { I },
    params: { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 },
    init: { v: -0.065 },
    record: ["v"],
  });
  const c = await truth.step(nSteps);
  truth.dispose();
  const v = [0, 1].map((n) =>
    Float64Array.from(
      c.vars.v.subarray(n * nSteps, (n + 1) * nSteps),
      (x) => x + 1e-3 * rng.normal(),
    )
  );
  const dir = await Deno.makeTempDir();
  const path = `${dir}/v.f32`;
  await Deno.writeFile(path, encodeRaw(v, "f32"));
  const v32 = v.map((r) => Float64Array.from(new Float32Array(r)));
  const sets = {
    gl: [8e-9, 10e-9, 12e-9],
    g_na: [20e-6, 20e-6, 25e-6],
    g_kd: [6e-6, 6e-6, 5e-6],
  };
  const perNeuron = (xs: number[]) =>
    Float64Array.from({ length: 6 }, (_, n) => xs[Math.floor(n / 2)]);
  const runner = () =>
    Runner.create(hhTutorial(), {
      dt: dtHH,
      nNeurons: 6,
      input: { I },
      params: {
        gl: perNeuron(sets.gl),
        g_na: perNeuron(sets.g_na),
        g_kd: perNeuron(sets.g_kd),
      },
      init: { v: -0.065 },
      record: ["v"],
    });
  // the in-memory computation
  const r0 = await runner();
  const whole = await r0.step(nSteps);
  r0.dispose();
  const modelRows = Array.from(
    { length: 6 },
    (_, n) => whole.vars.v.subarray(n * nSteps, (n + 1) * nSteps),
  );
  for (const metric of [new MSEMetric(), new MSEMetric({ tStart: 2e-3 })]) {
    const want = metric.calc(modelRows, v32, dtHH);
    assert.ok(want[1] < want[0] && want[1] < want[2], `sanity: ${want}`);
    for (const k of [1, 7, 1000, 65536]) {
      await t.step(
        `tStart ${metric.tStart}: chunks of ${k} samples give the in-memory errors exactly`,
        async () => {
          const r = await runner();
          try {
            const got = await lastValueFrom(
              fromRecording(path, {
                format: "f32",
                channels: 2,
                chunkSamples: k,
              }).pipe(
                simulateAlong(r, { variable: "v" }),
                onlineMetric(metric, { dt: dtHH }),
              ),
            );
            assert.equal(got.steps, nSteps);
            assert.deepEqual(got.errors, want);
          } finally {
            r.dispose();
          }
        },
      );
    }
  }
  await t.step("simulateAlong checks the runner position", async () => {
    const r = await runner();
    await r.step(5);
    const e = await lastValueFrom(
      fromRecording(path, { format: "f32", channels: 2, chunkSamples: 10 })
        .pipe(simulateAlong(r, { variable: "v" })),
    ).catch((x) => x);
    assert.ok(e instanceof RangeError && /step 5/.test(e.message));
    r.dispose();
  });
  await Deno.remove(dir, { recursive: true });
});
