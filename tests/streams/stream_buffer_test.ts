/**
 * One-shot streams buffered to a temporary file by the streamed
 * OnlineTraceFitter: kept at their precision, limited in size, removed on
 * every exit path we control.
 */
import assert from "node:assert/strict";
import { OnlineTraceFitter } from "../../lib/fitting/fitters/online_trace_fitter.ts";
import {
  encodeFrames,
  fromSocket,
  socketChunks,
  toSocket,
} from "../../streams/socket.ts";
import { decodeRaw } from "../../lib/io/raw.ts";
import type { RecordingChunk } from "../../lib/io/chunks.ts";

const MODEL = {
  model: "v = c + x : volt\nc : volt (constant)",
  inputUnits: { x: "volt" },
  dt: 1e-4,
} as const;

function chunksOf(
  values: Float64Array,
  size: number,
): () => AsyncGenerator<RecordingChunk> {
  return async function* () {
    for (let a = 0; a < values.length; a += size) {
      const b = Math.min(values.length, a + size);
      yield { start: a, samples: b - a, channels: [values.slice(a, b)] };
    }
  };
}

const files = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("streamed OnlineTraceFitter: the temporary file of a one-shot stream", async (t) => {
  const n = 1000;
  // float32 values (what a binary socket carries), not all integers
  const v32 = Float64Array.from(
    { length: n },
    (_, k) => Math.fround(0.01 + 1e-5 * Math.sin(k)),
  );

  await t.step(
    "a float32 stream (f32frames over TCP) stays float32 on disk: 4 bytes a sample, values exact",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const server = await toSocket([v32], {
          listen: true,
          port: 0,
          frameSamples: 128,
        });
        const f = await OnlineTraceFitter.create({
          ...MODEL,
          input: { x: [new Float64Array(n)] },
          output: { v: fromSocket({ port: server.port }) },
          tempDir: dir,
        });
        await server.done;
        const names = files(dir);
        assert.equal(names.length, 1);
        assert.match(names[0], /\.f32$/);
        const bytes = await Deno.readFile(`${dir}/${names[0]}`);
        assert.equal(
          bytes.length,
          4 * n,
          "float32 on disk (main: float64, 8 bytes a sample)",
        );
        assert.deepEqual(decodeRaw(bytes, { format: "f32" })[0], v32);
        await f.dispose();
        assert.deepEqual(files(dir), []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "a value that is not a float32 widens the file to float64, earlier values kept exactly",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const mixed = v32.slice();
        mixed[700] = 0.1; // not a float32
        const f = await OnlineTraceFitter.create({
          ...MODEL,
          input: { x: [new Float64Array(n)] },
          output: { v: chunksOf(mixed, 300)() },
          tempDir: dir,
        });
        const names = files(dir);
        assert.equal(names.length, 1);
        assert.match(names[0], /\.f64$/);
        const bytes = await Deno.readFile(`${dir}/${names[0]}`);
        assert.equal(bytes.length, 8 * n);
        assert.deepEqual(decodeRaw(bytes, { format: "f64" })[0], mixed);
        await f.dispose();
        assert.deepEqual(files(dir), []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "maxBufferBytes: a longer stream fails create with a RangeError, its file removed",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const err = await OnlineTraceFitter.create({
          ...MODEL,
          input: { x: [new Float64Array(n)] },
          output: { v: chunksOf(v32, 100)() },
          tempDir: dir,
          maxBufferBytes: 2000, // 500 float32 samples
        }).then(() => null, (e) => e);
        assert.ok(err instanceof RangeError, String(err));
        assert.match(err.message, /maxBufferBytes = 2000 bytes at sample 600/);
        assert.deepEqual(files(dir), []);
        await assert.rejects(
          () =>
            OnlineTraceFitter.create({
              ...MODEL,
              input: { x: [new Float64Array(n)] },
              output: { v: chunksOf(v32, 100)() },
              maxBufferBytes: 0,
            }),
          RangeError,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "a stream failing while buffered: the file is removed",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const failing = async function* () {
          yield* chunksOf(v32.subarray(0, 500), 100)();
          throw new Error("source broke");
        };
        await assert.rejects(
          () =>
            OnlineTraceFitter.create({
              ...MODEL,
              input: { x: [new Float64Array(n)] },
              output: { v: failing() },
              tempDir: dir,
            }),
          /source broke/,
        );
        // a malformed socket stream: SocketFrameError, file removed
        const bad = encodeFrames([v32.subarray(0, 100)], { end: false });
        const pieces = [bad, Uint8Array.of(3, 0, 0, 0)];
        await assert.rejects(() =>
          OnlineTraceFitter.create({
            ...MODEL,
            input: { x: [new Float64Array(n)] },
            output: { v: socketChunks(pieces) },
            tempDir: dir,
          })
        );
        assert.deepEqual(files(dir), []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "`await using` and `using` remove the file at the end of the scope",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        {
          await using f = await OnlineTraceFitter.create({
            ...MODEL,
            input: { x: [new Float64Array(n)] },
            output: { v: chunksOf(v32, 250)() },
            tempDir: dir,
          });
          assert.equal(f.sources.v, "buffered");
          assert.equal(files(dir).length, 1);
        }
        assert.deepEqual(files(dir), [], "await using");
        {
          using f = await OnlineTraceFitter.create({
            ...MODEL,
            input: { x: [new Float64Array(n)] },
            output: { v: chunksOf(v32, 250)() },
            tempDir: dir,
          });
          assert.equal(f.sources.v, "buffered");
          assert.equal(files(dir).length, 1);
        }
        assert.deepEqual(files(dir), [], "using");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "a process that exits (Deno.exit, or the end of its script) without dispose() leaves no file",
    async () => {
      for (const how of ["exit", "end"]) {
        const dir = await Deno.makeTempDir();
        try {
          const child = new URL("./_buffer_exit_child.ts", import.meta.url);
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "--quiet", child.pathname, dir, how],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const stdout = new TextDecoder().decode(out.stdout);
          assert.ok(
            out.success,
            `${stdout}\n${new TextDecoder().decode(out.stderr)}`,
          );
          // the child saw its file, and it is gone after the exit
          assert.equal(JSON.parse(stdout).length, 1, stdout);
          assert.deepEqual(files(dir), [], how);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      }
    },
  );
});
