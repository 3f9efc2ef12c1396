import assert from "node:assert/strict";
import { lastValueFrom, take, toArray } from "rxjs";
import { fromRecording, RECORDING_FILE } from "../../streams/from_recording.ts";
import { encodeRaw } from "../../lib/io/raw.ts";
import { encodeNpy } from "../../lib/io/npy.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const tick = () => new Promise((r) => setTimeout(r, 20));
const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;

/** A byte stream that never ends (f32 zeros), counting cancellations. */
function endless(): {
  stream: ReadableStream<Uint8Array>;
  cancelled: () => number;
  pulls: () => number;
} {
  let c = 0;
  let p = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      p++;
      ctrl.enqueue(new Uint8Array(4 * 100));
    },
    cancel() {
      c++;
    },
  }, { highWaterMark: 0 });
  return { stream, cancelled: () => c, pulls: () => p };
}

Deno.test("fromRecording()", async (t) => {
  const dir = await Deno.makeTempDir();
  const data = Float64Array.from({ length: 25 }, (_, i) => i * 0.5);
  const path = `${dir}/x.f32`;
  await Deno.writeFile(path, encodeRaw([data], "f32"));

  await t.step("empty source: completes without chunks", async () => {
    for (const bytes of [new Uint8Array(0)]) {
      const out = await lastValueFrom(
        fromRecording(bytes, { format: "f32" }).pipe(toArray()),
      );
      assert.deepEqual(out, []);
    }
    const csv = await lastValueFrom(
      fromRecording(new TextEncoder().encode(""), { format: "csv" }).pipe(
        toArray(),
      ),
    );
    assert.deepEqual(csv, []);
  });

  await t.step("one chunk", async () => {
    const out = await lastValueFrom(
      fromRecording(path, { format: "f32", chunkSamples: 100 }).pipe(toArray()),
    );
    assert.equal(out.length, 1);
    assert.deepEqual(Array.from(out[0].channels[0]), Array.from(data));
  });

  await t.step(
    "many chunks, every chunk size, from a path, bytes and npy",
    async () => {
      for (const k of [1, 7, 24, 25, 1000]) {
        const out = await lastValueFrom(
          fromRecording(path, { format: "f32", chunkSamples: k }).pipe(
            toArray(),
          ),
        );
        assert.equal(out.length, Math.ceil(25 / k));
        assert.deepEqual(out.map((c) => c.start), out.map((_, i) => i * k));
        assert.deepEqual(
          out.flatMap((c) => Array.from(c.channels[0])),
          Array.from(data),
        );
      }
      const npy = encodeNpy({ data: data, shape: [25] });
      const out = await lastValueFrom(
        fromRecording(npy, { format: "npy", chunkSamples: 10 }).pipe(toArray()),
      );
      assert.deepEqual(out.map((c) => c.samples), [10, 10, 5]);
    },
  );

  await t.step(
    "error mid-stream: chunks before the error are delivered, then a DataFormatError with the position",
    async () => {
      const bytes = encodeRaw([data], "f32").subarray(0, 4 * 23 + 2); // truncated
      const seen: number[] = [];
      const err = await new Promise<unknown>((resolve) =>
        fromRecording(bytes, { format: "f32", chunkSamples: 10 }).subscribe({
          next: (c) => seen.push(c.samples),
          error: resolve,
          complete: () => resolve(null),
        })
      );
      assert.deepEqual(seen, [10, 10]);
      assert.ok(err instanceof DataFormatError, String(err));
      assert.equal(err.offset, 92);
      assert.match(err.message, /sample 23/);
      const csvErr = await lastValueFrom(
        fromRecording(new TextEncoder().encode("1\n2\nx\n"), { format: "csv" }),
      ).catch((e) => e);
      assert.ok(csvErr instanceof DataFormatError && csvErr.line === 3);
    },
  );

  await t.step(
    "never-ending source with take(3): completes, the stream is cancelled",
    async () => {
      const src = endless();
      const out = await lastValueFrom(
        fromRecording(src.stream, { format: "f32", chunkSamples: 50 }).pipe(
          take(3),
          toArray(),
        ),
      );
      assert.deepEqual(out.map((c) => c.start), [0, 50, 100]);
      await tick();
      assert.equal(src.cancelled(), 1);
      const p = src.pulls();
      await tick();
      assert.equal(src.pulls(), p, "no reads after cancellation");
    },
  );

  await t.step(
    "early unsubscribe frees resources: stream cancelled, file closed",
    async () => {
      const src = endless();
      const sub = fromRecording(src.stream, { format: "f32", chunkSamples: 10 })
        .subscribe(() => {});
      await tick();
      sub.unsubscribe();
      await tick();
      assert.equal(src.cancelled(), 1);

      const before = openFds();
      let got = 0;
      const sub2 = fromRecording(path, { format: "f32", chunkSamples: 1 })
        .subscribe(() => {
          if (++got === 3) sub2.unsubscribe();
        });
      await tick();
      await tick();
      assert.ok(got >= 3 && got < 25, `got ${got} chunks`);
      assert.equal(openFds(), before, "the file descriptor was closed");
    },
  );

  await t.step(
    "cold: each subscription re-reads; paths carry RECORDING_FILE",
    async () => {
      const obs = fromRecording(path, { format: "f32", chunkSamples: 10 });
      const a = await lastValueFrom(obs.pipe(toArray()));
      const b = await lastValueFrom(obs.pipe(toArray()));
      assert.deepEqual(a, b);
      assert.equal(obs[RECORDING_FILE]?.path, path);
      assert.equal(
        fromRecording(new Uint8Array(0), { format: "f32" })[RECORDING_FILE],
        undefined,
      );
    },
  );

  await t.step("bad options error as RangeError", async () => {
    await assert.rejects(
      () =>
        lastValueFrom(fromRecording(path, { format: "f32", chunkSamples: 0 })),
      RangeError,
    );
  });

  await Deno.remove(dir, { recursive: true });
});
