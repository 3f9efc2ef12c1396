// Runner.continueWith: a simulation continued block by block in one kernel
// equals the same blocks simulated by a new Runner per block (created from
// the previous block's final state at the block's absolute step), bit for
// bit: states, recorded values, spikes and the error accumulator.
import assert from "node:assert/strict";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { Runner, type RunnerOptions } from "../../lib/simulation/runner.ts";
import { UndefinedNameError } from "../../lib/equations/errors.ts";

// rk4 reads the input at stage offsets (sample k + 1), so the last step of
// a block reads the block's clipped last sample: a shorter last block held
// to the compiled length must read exactly what a kernel of its own reads
const lif = (targets: string[]) =>
  new NeuronModel("dv/dt = (El - v + R*I)/tau : volt (unless refractory)", {
    namespace: { El: "-70 mV", R: "100 Mohm", tau: "8 ms" },
    threshold: "v > -52*mV",
    reset: "v = -65*mV",
    refractory: "1.5*ms",
    method: "rk4",
    targets,
  });
const LIF = lif(["v"]);
const NOISY = new NeuronModel(
  "dv/dt = (El - v + R*I)/tau + sigma*xi*tau**-0.5 : volt",
  {
    namespace: { El: "-70 mV", R: "100 Mohm", tau: "8 ms", sigma: "2 mV" },
    targets: ["v"],
  },
);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const N = 6;
const TOTAL = 600;
const rnd = lcg(7);
// two input rows (neuron n reads row n % 2), strong enough to spike
const I = [0, 1].map((r) =>
  Float64Array.from(
    { length: TOTAL },
    () => (0.15 + 0.2 * r + 0.1 * rnd()) * 1e-9,
  )
);
const target = [
  Float64Array.from(
    { length: TOTAL },
    (_, k) => -0.065 + 0.005 * Math.sin(k / 30),
  ),
];
const weights = Float64Array.from({ length: TOTAL }, () => rnd());
const T_START = 40;

interface BlockResult {
  state: Record<string, Float64Array>;
  v: Float64Array | Float32Array;
  spikes: [Int32Array, Int32Array];
  acc: { sum: Float64Array; count: Float64Array };
}

function blockInputs(a: number, b: number) {
  return {
    input: { I: I.map((r) => r.subarray(a, b)) },
    targets: { v: target.map((r) => r.subarray(a, b)) },
    accumulate: {
      startStep: Math.min(b - a, Math.max(0, T_START - a)),
      weights: weights.subarray(a, b),
    },
  };
}

async function collect(r: Runner, steps: number): Promise<BlockResult> {
  const c = await r.step(steps);
  return {
    state: await r.state(),
    v: c.vars.v,
    spikes: [c.spikes.neuron, c.spikes.step],
    acc: await r.accumulator(),
  };
}

/** Blocks with one Runner each (the reference) and with one Runner continued. */
async function both(
  model: NeuronModel,
  sizes: number[],
  opts: Partial<RunnerOptions>,
): Promise<[BlockResult[], BlockResult[]]> {
  const base: RunnerOptions = {
    dt: 1e-4,
    nNeurons: N,
    params: {},
    record: ["v"],
    seed: 3,
    ...opts,
  };
  const ref: BlockResult[] = [];
  let init: RunnerOptions["init"] = { v: "-68 mV" };
  let a = 0;
  for (const s of sizes) {
    const b = blockInputs(a, a + s);
    const r = await Runner.create(model, {
      ...base,
      input: b.input,
      targets: b.targets,
      init,
      stepOrigin: a,
      accumulate: { variable: "v", ...b.accumulate },
    });
    const out = await collect(r, s);
    init = out.state;
    r.dispose();
    ref.push(out);
    a += s;
  }
  const got: BlockResult[] = [];
  a = 0;
  let r: Runner | null = null;
  for (const s of sizes) {
    const b = blockInputs(a, a + s);
    if (!r) {
      r = await Runner.create(model, {
        ...base,
        input: b.input,
        targets: b.targets,
        init: { v: "-68 mV" },
        accumulate: { variable: "v", ...b.accumulate },
      });
    } else {
      await r.continueWith({ ...b, stepOrigin: a });
    }
    got.push(await collect(r, s));
    a += s;
  }
  r!.dispose();
  return [ref, got];
}

function assertSame(ref: BlockResult[], got: BlockResult[], what: string) {
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    assert.deepEqual(
      got[i].state,
      ref[i].state,
      `${what}: state after block ${i}`,
    );
    assert.deepEqual(got[i].v, ref[i].v, `${what}: v in block ${i}`);
    assert.deepEqual(
      got[i].spikes,
      ref[i].spikes,
      `${what}: spikes in block ${i}`,
    );
    assert.deepEqual(
      got[i].acc,
      ref[i].acc,
      `${what}: accumulator of block ${i}`,
    );
  }
}

Deno.test("Runner.continueWith", async (t) => {
  for (const engine of ["wasm", "js"] as const) {
    for (const precision of ["f64", "f32"] as const) {
      await t.step(
        `${engine} ${precision}: blocks of 250, 250, 100 (a shorter last block) equal a new Runner per block, bit for bit`,
        async () => {
          const [ref, got] = await both(LIF, [250, 250, 100], {
            engine,
            precision,
          });
          assertSame(ref, got, `${engine} ${precision}`);
          // the case must exercise spikes, resets and the accumulation start
          const spikes = ref.reduce((n, b) => n + b.spikes[0].length, 0);
          assert.ok(spikes >= 2 * N, `only ${spikes} spikes`);
          assert.equal(ref[0].acc.count[0], 250 - T_START);
          assert.equal(ref[2].acc.count[0], 100);
        },
      );
    }
  }
  await t.step(
    "a block longer than the first, and worker threads, recompile (same results)",
    async () => {
      const [ref, got] = await both(LIF, [100, 300, 200], { engine: "wasm" });
      assertSame(ref, got, "longer block");
      const [ref2, got2] = await both(LIF, [250, 250, 100], {
        engine: "js",
        threads: 2,
      });
      assertSame(ref2, got2, "2 threads");
    },
  );
  await t.step(
    "noise and t continue from the block's absolute step (js engine)",
    async () => {
      const [ref, got] = await both(NOISY, [170, 170, 170, 90], {});
      assertSame(ref, got, "noisy");
      // the noise differs between blocks: continued blocks are not replays
      assert.notDeepEqual(ref[0].v.subarray(0, 50), ref[1].v.subarray(0, 50));
    },
  );
  await t.step(
    "accumulating against a target the model does not declare: js equals wasm (js threw a ReferenceError)",
    async () => {
      const acc: Record<string, { sum: Float64Array; count: Float64Array }> =
        {};
      for (const engine of ["js", "wasm"] as const) {
        const r = await Runner.create(lif([]), {
          dt: 1e-4,
          nNeurons: 2,
          input: { I },
          targets: { v: target },
          init: { v: "-70 mV" },
          record: [],
          accumulate: { variable: "v", startStep: 10 },
          engine,
        });
        await r.step(TOTAL);
        acc[engine] = await r.accumulator();
        r.dispose();
      }
      for (let i = 0; i < 2; i++) {
        assert.equal(acc.js.count[i], TOTAL - 10);
        assert.ok(acc.js.sum[i] > 0);
        assert.ok(
          Math.abs(acc.js.sum[i] - acc.wasm.sum[i]) <= 1e-9 * acc.wasm.sum[i],
          `${acc.js.sum[i]} vs ${acc.wasm.sum[i]}`,
        );
      }
    },
  );
  await t.step("bad blocks fail as Runner.create would", async () => {
    const r = await Runner.create(lif([]), {
      dt: 1e-4,
      nNeurons: 2,
      input: { I: [I[0].subarray(0, 100)] },
      init: { v: "-70 mV" },
    });
    await assert.rejects(
      () =>
        r.continueWith({
          input: { I: [I[0].subarray(100, 200)] },
          stepOrigin: 100,
          accumulate: { startStep: 0 },
        }),
      (e) => e instanceof TypeError && /without accumulate/.test(e.message),
    );
    await assert.rejects(
      () => r.continueWith({ input: {}, stepOrigin: 100 }),
      (e) => e instanceof UndefinedNameError && /'I'/.test(e.message),
    );
    await assert.rejects(
      () =>
        r.continueWith({
          input: {
            I: [
              I[0].subarray(100, 200),
              I[0].subarray(100, 200),
              I[0].subarray(100, 200),
            ],
          },
          stepOrigin: 100,
        }),
      (e) => e instanceof RangeError && /3 rows/.test(e.message),
    );
    await assert.rejects(
      () =>
        r.continueWith({
          input: { I: [I[0].subarray(100, 200)] },
          stepOrigin: -1,
        }),
      (e) => e instanceof RangeError && /stepOrigin/.test(e.message),
    );
    r.dispose();
  });
});
