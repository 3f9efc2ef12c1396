// readChunks({ reuseBuffers: true }): the same values as without, chunk by
// chunk, from arrays recycled once the next chunk is requested (raw f32/f64
// from a file, where one read piece may hold many chunks, and ABF), so a
// streamed reader allocates nothing per chunk.
import assert from "node:assert/strict";
import { readChunks, type ReadChunksOptions } from "../../lib/io/chunks.ts";
import { encodeRaw } from "../../lib/io/raw.ts";

async function compare(
  path: string,
  o: ReadChunksOptions,
  chunks: number,
  maxSets: number,
) {
  const plain = readChunks(path, o);
  const seen: Float64Array[][] = [];
  for await (const c of readChunks(path, { ...o, reuseBuffers: true })) {
    const p = await plain.next();
    assert.ok(!p.done);
    assert.equal(c.start, p.value.start);
    assert.equal(c.samples, p.value.samples);
    // compared on receipt: the arrays are valid until the next request
    assert.deepEqual(c.channels, p.value.channels, `chunk at ${c.start}`);
    seen.push(c.channels);
  }
  assert.ok((await plain.next()).done);
  assert.equal(seen.length, chunks);
  // the full chunks come from a bounded number of recycled array sets
  const sets = new Set(seen.slice(0, -1).map((c) => c[0])).size;
  assert.ok(sets <= maxSets, `${sets} array sets`);
  assert.notEqual(seen[1][0], seen[0][0]);
}

Deno.test("readChunks reuseBuffers", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step(
      "raw f32 and f64, 2 channels: many chunks per read piece, and chunks larger than a piece",
      async () => {
        for (const n of [10_007, 5 * 65536 + 7]) {
          const a = Float64Array.from({ length: n }, (_, k) => Math.sin(k / 7));
          const b = Float64Array.from({ length: n }, (_, k) => k * 1e-3);
          for (const format of ["f32", "f64"] as const) {
            const path = `${dir}/x.${format}`;
            await Deno.writeFile(path, encodeRaw([a, b], format));
            if (n < 65536) {
              // 1000-sample chunks: 11; the 10 full ones are decoded from
              // one 256 KiB piece before the first is used
              await compare(
                path,
                { format, channels: 2, chunkSamples: 1000 },
                11,
                10,
              );
            } else {
              // 65536-sample chunks (>= 512 KiB) span pieces: two sets in turn
              await compare(
                path,
                { format, channels: 2, chunkSamples: 65536 },
                6,
                2,
              );
            }
          }
        }
      },
    );
    await t.step("ABF2 gap-free, two channels", async () => {
      const path = new URL(
        "../fixtures/recordings/abf/2020_07_29_0062.abf",
        import.meta.url,
      ).pathname;
      // 184320 samples in chunks of 50000: 4 chunks
      await compare(path, { format: "abf", chunkSamples: 50_000 }, 4, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
