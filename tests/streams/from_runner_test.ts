import assert from "node:assert/strict";
import { firstValueFrom, lastValueFrom, take, toArray } from "rxjs";
import { fromRunner } from "../../streams/from_runner.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { type Chunk, Runner } from "../../lib/simulation/runner.ts";

const model = new NeuronModel("dv/dt = (1 - v)/tau : 1", {
  namespace: { tau: "10 ms" },
});

/** A real runner whose dispose and step calls are counted. */
async function spied(): Promise<
  { runner: Runner; disposed: () => number; steps: () => number }
> {
  const runner = await Runner.create(model, { dt: 1e-4, nNeurons: 2 });
  let d = 0;
  let s = 0;
  const dispose = runner.dispose.bind(runner);
  const step = runner.step.bind(runner);
  runner.dispose = () => {
    d++;
    dispose();
  };
  runner.step = (n: number) => {
    s++;
    return step(n);
  };
  return { runner, disposed: () => d, steps: () => s };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

Deno.test("fromRunner()", async (t) => {
  await t.step(
    "empty source (totalSteps 0): completes without chunks, disposes",
    async () => {
      const { runner, disposed, steps } = await spied();
      const out = await lastValueFrom(
        fromRunner(runner, { totalSteps: 0 }).pipe(toArray()),
      );
      assert.deepEqual(out, []);
      assert.equal(steps(), 0);
      assert.equal(disposed(), 1);
    },
  );

  await t.step("one chunk", async () => {
    const { runner, disposed } = await spied();
    const out = await lastValueFrom(
      fromRunner(runner, { chunkSteps: 50, totalSteps: 50 }).pipe(toArray()),
    );
    assert.equal(out.length, 1);
    assert.equal(out[0].steps, 50);
    assert.equal(out[0].vars.v.length, 100);
    assert.equal(disposed(), 1);
  });

  await t.step("many chunks: the same values as one big step", async () => {
    const { runner } = await spied();
    const chunks = await lastValueFrom(
      fromRunner(runner, { chunkSteps: 7, totalSteps: 100 }).pipe(toArray()),
    );
    assert.deepEqual(chunks.map((c) => c.startStep), [
      0,
      7,
      14,
      21,
      28,
      35,
      42,
      49,
      56,
      63,
      70,
      77,
      84,
      91,
      98,
    ]);
    assert.equal(chunks.at(-1)!.steps, 2);
    const whole = await Runner.create(model, { dt: 1e-4, nNeurons: 2 });
    const c = await whole.step(100);
    whole.dispose();
    for (let n = 0; n < 2; n++) {
      const joined = chunks.flatMap((k) =>
        Array.from(k.vars.v.subarray(n * k.samples, (n + 1) * k.samples))
      );
      assert.deepEqual(
        joined,
        Array.from(c.vars.v.subarray(n * 100, (n + 1) * 100)),
      );
    }
  });

  await t.step(
    "error mid-stream: delivered chunks, then the error; disposed",
    async () => {
      let calls = 0;
      let disposed = 0;
      const fake = {
        step: (n: number): Promise<Chunk> => {
          if (++calls === 3) return Promise.reject(new RangeError("boom at 3"));
          return Promise.resolve({ steps: n } as unknown as Chunk);
        },
        dispose: () => void disposed++,
      };
      const seen: number[] = [];
      const err = await new Promise<unknown>((resolve) =>
        fromRunner(fake, { chunkSteps: 5 }).subscribe({
          next: (c) => seen.push(c.steps),
          error: resolve,
          complete: () => resolve(null),
        })
      );
      assert.ok(err instanceof RangeError && err.message === "boom at 3");
      assert.deepEqual(seen, [5, 5]);
      assert.equal(disposed, 1);
    },
  );

  await t.step(
    "never-ending source with take(3): stops stepping, disposes",
    async () => {
      const { runner, disposed, steps } = await spied();
      const out = await lastValueFrom(
        fromRunner(runner, { chunkSteps: 10 }).pipe(take(3), toArray()),
      );
      assert.equal(out.length, 3);
      await tick();
      assert.equal(steps(), 3, "no step after the third chunk was delivered");
      assert.equal(runner.stepIndex, 30);
      assert.equal(disposed(), 1);
    },
  );

  await t.step(
    "early unsubscribe: simulation stops, runner disposed once (resources freed)",
    async () => {
      const { runner, disposed, steps } = await spied();
      let got = 0;
      const sub = fromRunner(runner, { chunkSteps: 10 }).subscribe(() => got++);
      // the first step runs synchronously during subscribe; unsubscribe while
      // the loop waits for the next step's promise
      sub.unsubscribe();
      await tick();
      const s = steps();
      await tick();
      assert.equal(steps(), s, "no more steps after unsubscribe");
      assert.ok(got <= 1, `delivered ${got} chunk(s) after unsubscribe`);
      assert.equal(disposed(), 1);
    },
  );

  await t.step(
    "backpressure: the next step starts only after the chunk was delivered",
    async () => {
      const during: number[] = [];
      const { runner: r2, steps: steps2 } = await spied();
      await new Promise<void>((resolve) =>
        fromRunner(r2, { chunkSteps: 5, totalSteps: 20 }).subscribe({
          next: () => during.push(steps2()),
          complete: resolve,
        })
      );
      // chunk k arrives when exactly k steps were started: none ahead
      assert.deepEqual(during, [1, 2, 3, 4]);
      assert.equal(steps2(), 4);
    },
  );

  await t.step("single use and bad options", async () => {
    const { runner } = await spied();
    const obs = fromRunner(runner, { totalSteps: 5, dispose: false });
    await firstValueFrom(obs);
    await assert.rejects(() => firstValueFrom(obs), /already subscribed/);
    runner.dispose();
    assert.throws(() => fromRunner(runner, { chunkSteps: 0 }), RangeError);
    assert.throws(() => fromRunner(runner, { totalSteps: -1 }), RangeError);
  });
});
