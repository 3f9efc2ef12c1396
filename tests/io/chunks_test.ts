import assert from "node:assert/strict";
import {
  readChunks,
  type ReadChunksOptions,
  type RecordingChunk,
} from "../../lib/io/chunks.ts";
import { decodeRaw, encodeRaw, writeRaw } from "../../lib/io/raw.ts";
import { decodeNpy, encodeNpy } from "../../lib/io/npy.ts";
import { parseCsvMatrix } from "../../lib/io/csv.ts";
import { DataFormatError } from "../../lib/io/errors.ts";
import { Rng } from "../../lib/_internal/random.ts";

const FIX = new URL("./fixtures/", import.meta.url);
const REF = new URL("../fixtures/brian2/", import.meta.url);

async function collect(
  source: Parameters<typeof readChunks>[0],
  options: ReadChunksOptions,
): Promise<RecordingChunk[]> {
  const out: RecordingChunk[] = [];
  for await (const c of readChunks(source, options)) out.push(c);
  return out;
}

/**
 * A ReadableStream delivering `bytes` cut at the given offsets. With `base`,
 * the pieces are views into one buffer where the data starts at byte `base`
 * (so typed-array alignment varies); otherwise each piece is a fresh copy.
 */
function splitStream(
  bytes: Uint8Array,
  cuts: number[],
  base = -1,
): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let src = bytes;
  if (base >= 0) {
    const buf = new Uint8Array(bytes.length + base);
    buf.set(bytes, base);
    src = buf.subarray(base);
  }
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    pieces.push(base >= 0 ? src.subarray(prev, c) : src.slice(prev, c));
    prev = c;
  }
  return new ReadableStream({
    pull(ctl) {
      const p = pieces.shift();
      if (p) ctl.enqueue(p);
      else ctl.close();
    },
  });
}

/** Joins the chunks per channel. */
function joined(chunks: RecordingChunk[]): number[][] {
  const n = chunks[0]?.channels.length ?? 0;
  return Array.from(
    { length: n },
    (_, c) => chunks.flatMap((k) => [...k.channels[c]]),
  );
}

function checkChunking(
  chunks: RecordingChunk[],
  total: number,
  size: number,
): void {
  let start = 0;
  for (const [i, c] of chunks.entries()) {
    assert.equal(c.start, start);
    const expect = Math.min(size, total - start);
    assert.equal(c.samples, expect, `chunk ${i}`);
    for (const ch of c.channels) assert.equal(ch.length, expect);
    start += c.samples;
  }
  assert.equal(start, total);
}

/** Reads `bytes` whole, split at every offset, byte by byte, and at random cuts: all equal. */
async function assertSplitInvariant(
  bytes: Uint8Array,
  options: ReadChunksOptions,
): Promise<RecordingChunk[]> {
  const ref = await collect(bytes, options);
  for (let k = 0; k <= bytes.length; k++) {
    assert.deepEqual(
      await collect(splitStream(bytes, [k]), options),
      ref,
      `split at ${k}`,
    );
  }
  for (const base of [0, 1, 2, 3, 5]) {
    for (const k of [0, 1, 3, 4, 7, 8, 9, bytes.length >> 1]) {
      assert.deepEqual(
        await collect(
          splitStream(bytes, [Math.min(k, bytes.length)], base),
          options,
        ),
        ref,
        `base ${base}, split at ${k}`,
      );
    }
  }
  const every = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(
    await collect(splitStream(bytes, every), options),
    ref,
    "byte by byte",
  );
  const rng = new Rng(7);
  for (let r = 0; r < 30; r++) {
    const cuts = Array.from({ length: 4 }, () => rng.int(bytes.length + 1))
      .sort((a, b) => a - b);
    assert.deepEqual(
      await collect(splitStream(bytes, cuts), options),
      ref,
      `cuts ${cuts}`,
    );
  }
  return ref;
}

async function assertSplitInvariantError(
  bytes: Uint8Array,
  options: ReadChunksOptions,
  check: (e: DataFormatError) => void,
): Promise<void> {
  for (let k = 0; k <= bytes.length; k++) {
    await assert.rejects(
      () => collect(splitStream(bytes, [k]), options),
      (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        check(e);
        return true;
      },
    );
  }
}

Deno.test("readChunks()", async (t) => {
  const a = Float64Array.from({ length: 37 }, (_, i) => Math.sin(i) + i * 1e-3);
  const b = Float64Array.from({ length: 37 }, (_, i) => -i / 3);

  await t.step(
    "f32, 2 channels: chunk boundaries do not depend on byte arrival",
    async () => {
      const bytes = encodeRaw([a, b], "f32");
      for (const size of [1, 7, 37, 1000]) {
        const chunks = await assertSplitInvariant(bytes, {
          format: "f32",
          channels: 2,
          chunkSamples: size,
        });
        checkChunking(chunks, 37, size);
        assert.deepEqual(
          joined(chunks),
          decodeRaw(bytes, { format: "f32", channels: 2 }).map((x) => [...x]),
        );
      }
    },
  );

  await t.step("f64, 1 channel, scale", async () => {
    const bytes = encodeRaw([a], "f64");
    const chunks = await assertSplitInvariant(bytes, {
      format: "f64",
      chunkSamples: 5,
      scale: 1e-3,
    });
    checkChunking(chunks, 37, 5);
    assert.deepEqual(joined(chunks)[0], [...a].map((v) => v * 1e-3));
  });

  await t.step(
    "npy (numpy-made (50, 2) recording): split-invariant, equals decodeNpy",
    async () => {
      const bytes = await Deno.readFile(new URL("rec_50x2.npy", FIX));
      const whole = decodeNpy(bytes);
      for (const size of [1, 7, 50, 64]) {
        const chunks = await assertSplitInvariant(bytes, {
          format: "npy",
          chunkSamples: size,
        });
        checkChunking(chunks, 50, size);
        const j = joined(chunks);
        assert.equal(j.length, 2);
        for (let i = 0; i < 50; i++) {
          assert.equal(j[0][i], whole.data[2 * i]);
          assert.equal(j[1][i], whole.data[2 * i + 1]);
        }
      }
      assert.equal(
        joined(await collect(bytes, { format: "npy", chunkSamples: 9 }))[1][49],
        24.5,
      );
    },
  );

  await t.step(
    "npy of other dtypes, 1-d, big-endian, 3-d flattened to channels",
    async () => {
      const be = encodeNpy([1.5, -2, 3], { bigEndian: true, dtype: "float32" });
      const c1 = await assertSplitInvariant(be, {
        format: "npy",
        chunkSamples: 2,
      });
      assert.deepEqual(joined(c1), [[1.5, -2, 3]]);
      const i8 = await Deno.readFile(new URL("i8.npy", FIX));
      assert.deepEqual(joined(await collect(i8, { format: "npy" })), [[
        -3,
        0,
        2 ** 40,
        7,
      ]]);
      const t3 = await Deno.readFile(new URL("f4_2x3x4.npy", FIX));
      const c3 = await collect(t3, { format: "npy", chunkSamples: 1 });
      assert.equal(c3.length, 2);
      assert.equal(c3[0].channels.length, 12);
      assert.equal(c3[1].channels[11][0], 23);
      // a Fortran-order 1-channel file is contiguous; a multi-channel one is rejected
      const f = await Deno.readFile(new URL("fortran_3x4.npy", FIX));
      await assert.rejects(
        () => collect(f, { format: "npy" }),
        /Fortran order/,
      );
      await assert.rejects(
        () => collect(be, { format: "npy", channels: 2 }),
        DataFormatError,
      );
      assert.deepEqual(
        await collect(await Deno.readFile(new URL("empty.npy", FIX)), {
          format: "npy",
        }),
        [],
      );
    },
  );

  await t.step(
    "npy: the numpy-made synthetic trace streamed in chunks equals the whole",
    async () => {
      const url = new URL("output_traces_synthetic.npy", REF);
      const whole = decodeNpy(await Deno.readFile(url)).data;
      const chunks = await collect(url, { format: "npy", chunkSamples: 999 });
      checkChunking(chunks, 10000, 999);
      assert.deepEqual(Float64Array.from(joined(chunks)[0]), whole);
    },
  );

  await t.step(
    "csv: one line per sample, header/index, CRLF, multi-byte UTF-8",
    async () => {
      const text =
        '"Zeit µs",I,v\r\n0,1e-9,-0.065\r\n1,2e-9,-0.064\r\n\r\n2,3e-9,-0.063\r\n3,4e-9,-0.062';
      const bytes = new TextEncoder().encode(text);
      const chunks = await assertSplitInvariant(bytes, {
        format: "csv",
        chunkSamples: 3,
      });
      checkChunking(chunks, 4, 3);
      // the header's first cell is not empty: no index column by default
      assert.deepEqual(joined(chunks), [
        [0, 1, 2, 3],
        [1e-9, 2e-9, 3e-9, 4e-9],
        [-0.065, -0.064, -0.063, -0.062],
      ]);
      const noIdx = await collect(bytes, {
        format: "csv",
        indexColumn: true,
        chunkSamples: 10,
      });
      assert.equal(noIdx[0].channels.length, 2);
      const m = parseCsvMatrix(text, { indexColumn: true });
      assert.deepEqual(joined(noIdx), [
        m.data.map((r) => r[0]),
        m.data.map((r) => r[1]),
      ]);
    },
  );

  await t.step(
    "wrong float count → DataFormatError naming the position, however split",
    async () => {
      const bytes = encodeRaw([a, b], "f32").subarray(0, 37 * 8 - 3);
      await assertSplitInvariantError(bytes, {
        format: "f32",
        channels: 2,
        chunkSamples: 10,
      }, (e) => {
        assert.equal(e.offset, 36 * 8);
        assert.match(
          e.message,
          /293 bytes is not a multiple of 2 channel\(s\) × 4 bytes = 8/,
        );
        assert.match(e.message, /incomplete sample 36 at byte offset 288/);
      });
    },
  );

  await t.step(
    "truncated npy → DataFormatError with expected vs actual bytes",
    async () => {
      const bytes = (await Deno.readFile(new URL("rec_50x2.npy", FIX)))
        .subarray(0, 500);
      await assertSplitInvariantError(
        bytes,
        { format: "npy", chunkSamples: 8 },
        (e) => {
          assert.match(
            e.message,
            /needs 928 bytes \(128-byte header \+ 800 data bytes\), got 500/,
          );
          assert.match(e.message, /sample 23/);
          assert.equal(e.offset, 500);
        },
      );
      await assert.rejects(
        () => collect(bytes.subarray(0, 50), { format: "npy" }),
        /preamble needs 128 bytes, got 50/,
      );
      await assert.rejects(
        () => collect(new Uint8Array(0), { format: "npy" }),
        /preamble needs 10 bytes, got 0/,
      );
    },
  );

  await t.step(
    "bad csv cell / ragged row → DataFormatError with line and column",
    async () => {
      const bytes = new TextEncoder().encode("1,2\n3,4\n5,x\n7,8\n");
      await assertSplitInvariantError(bytes, { format: "csv" }, (e) => {
        assert.equal(e.line, 3);
        assert.equal(e.column, 2);
        assert.match(e.message, /"x"/);
      });
      await assert.rejects(
        () => collect(new TextEncoder().encode("1,2\n3\n"), { format: "csv" }),
        /line 2 has 1 fields, expected 2/,
      );
      await assert.rejects(
        () =>
          collect(new TextEncoder().encode("1,2\n"), {
            format: "csv",
            channels: 3,
          }),
        DataFormatError,
      );
    },
  );

  await t.step(
    "chunks already yielded before an error stay valid",
    async () => {
      const bytes = encodeRaw([a], "f64").subarray(0, 20 * 8 + 1);
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (
          const c of readChunks(bytes, { format: "f64", chunkSamples: 8 })
        ) seen.push(c.samples);
      }, DataFormatError);
      assert.deepEqual(seen, [8, 8]); // the partial third chunk is not emitted
    },
  );

  await t.step(
    "reads incrementally: the first chunk needs only the first bytes",
    async () => {
      const piece = encodeRaw([new Float64Array(1024).fill(1)], "f32"); // 4 KiB per pull
      let pulls = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(ctl) {
          pulls++;
          ctl.enqueue(piece.slice());
        },
      }, { highWaterMark: 0 });
      let got = 0;
      for await (
        const c of readChunks(endless, { format: "f32", chunkSamples: 3000 })
      ) {
        got += c.samples;
        if (got >= 6000) break;
      }
      assert.equal(got, 6000);
      assert.ok(pulls <= 7, `pulled ${pulls} pieces`);
    },
  );

  await t.step("early exit cancels a stream source", async () => {
    let cancelled = false;
    const s = new ReadableStream<Uint8Array>({
      pull(ctl) {
        ctl.enqueue(encodeRaw([[1, 2, 3, 4]], "f32"));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of readChunks(s, { format: "f32", chunkSamples: 2 })) {
      break;
    }
    assert.ok(cancelled);
  });

  await t.step(
    "path source: sidecar gives channels; file closed after early exit",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const path = `${dir}/r.f64`;
        await writeRaw(path, [a, b], { format: "f64", dt: 1e-4 });
        const chunks = await collect(path, { format: "f64", chunkSamples: 10 });
        checkChunking(chunks, 37, 10);
        assert.deepEqual(joined(chunks), [[...a], [...b]]);
        await assert.rejects(() => collect(path, { format: "f32" }), /sidecar/);
        // async iterable and sync iterable sources
        const bytes = await Deno.readFile(path);
        const gen = async function* () {
          yield bytes.subarray(0, 13);
          yield bytes.subarray(13);
        };
        assert.deepEqual(
          await collect(gen(), {
            format: "f64",
            channels: 2,
            chunkSamples: 10,
          }),
          chunks,
        );
        assert.deepEqual(
          await collect([bytes.subarray(0, 5), bytes.subarray(5)], {
            format: "f64",
            channels: 2,
            chunkSamples: 10,
          }),
          chunks,
        );
        if (Deno.build.os === "linux") {
          const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
          const before = fds();
          for (let i = 0; i < 5; i++) {
            for await (
              const _ of readChunks(path, { format: "f64", chunkSamples: 4 })
            ) break;
          }
          await collect(path, { format: "f64", chunkSamples: 4 });
          assert.equal(fds(), before);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step("bad options → RangeError", async () => {
    await assert.rejects(
      () => collect(new Uint8Array(8), { format: "f32", chunkSamples: 0 }),
      RangeError,
    );
    await assert.rejects(
      () => collect(new Uint8Array(8), { format: "f32", channels: -1 }),
      RangeError,
    );
    await assert.rejects(
      () => collect(new Uint8Array(8), { format: "wav" as unknown as "f32" }),
      RangeError,
    );
  });
});
