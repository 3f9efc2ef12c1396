/**
 * Every reader fuzzed with fast-check (2,000 cases each): valid files
 * truncated, bit-flipped, with length fields set to 0 / huge / random, a
 * wrong magic, numbers in their text parts replaced. A reader returns a
 * result or throws its typed error (DataFormatError, or PosteriorFileError
 * for posterior files) with a byte offset inside the input — never an
 * internal error. The peak memory of a child process reading such files is
 * bounded (last test). Replay a failure with FUZZ_SEED=<seed printed>.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { lastValueFrom, toArray } from "rxjs";
import { DataFormatError } from "../../lib/io/errors.ts";
import { decodeNpy, encodeNpy } from "../../lib/io/npy.ts";
import { decodeNpz, encodeNpz } from "../../lib/io/npz.ts";
import { readCsvMatrix } from "../../lib/io/csv.ts";
import { readChunks } from "../../lib/io/chunks.ts";
import { decodeRaw, encodeRaw, parseRawSidecar } from "../../lib/io/raw.ts";
import {
  encodeFrames,
  fromSocket,
  socketChunks,
  StreamDroppedError,
} from "../../streams/socket.ts";
import {
  BoxUniform,
  DirectPosterior,
  NPE,
  PosteriorFileError,
} from "../../lib/inference/mod.ts";
import { crc32 } from "../../lib/inference/posteriors/_format.ts";
import {
  expectTyped,
  type Field,
  fuzzSeed,
  mutate,
  mutations,
} from "./_mutate.ts";
import { runHostile } from "./_hostile.ts";

const RUNS = 2000;
const params = () => ({ numRuns: RUNS, seed: fuzzSeed() });

// ---- bases -----------------------------------------------------------------

const npyBases: Uint8Array[] = [
  encodeNpy({ data: [1, 2, 3, 4, 5, 6], shape: [2, 3] }),
  encodeNpy(new Float32Array([0.5, -1.5, 2.5])),
  encodeNpy({ data: [7, 8, 9, 10], shape: [2, 2] }, { dtype: "int64" }),
  encodeNpy({ data: [1, 2], shape: [2] }, { bigEndian: true }),
];
const npyFields: Field[] = [{ at: 8, width: 2 }];

const npzBases: Uint8Array[] = [
  encodeNpz({ theta: [[1, 2], [3, 4]], x: new Float32Array([5, 6, 7]) }),
  encodeNpz({ a: [1, 2, 3], b: [[0.5]] }, { compress: true }),
];

/** The length/offset fields of a ZIP archive's headers. */
function zipFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Field[] = [];
  for (let p = 0; p + 4 <= b.length; p++) {
    const sig = dv.getUint32(p, true);
    if (sig === 0x04034b50) {
      out.push({ at: p + 18, width: 4 }, { at: p + 22, width: 4 });
      out.push({ at: p + 26, width: 2 }, { at: p + 28, width: 2 });
    } else if (sig === 0x02014b50) {
      out.push({ at: p + 20, width: 4 }, { at: p + 24, width: 4 });
      out.push({ at: p + 28, width: 2 }, { at: p + 30, width: 2 });
      out.push({ at: p + 32, width: 2 }, { at: p + 42, width: 4 });
    } else if (sig === 0x06054b50) {
      out.push({ at: p + 8, width: 2 }, { at: p + 10, width: 2 });
      out.push({ at: p + 12, width: 4 }, { at: p + 16, width: 4 });
    }
  }
  return out;
}

const enc = new TextEncoder();
const csvBases: Uint8Array[] = [
  enc.encode("t,v\n0,1.5\n1,2.5e-3\n2,-3\n"),
  enc.encode(",a,b\n0,1,2\n1,3,4\n"),
  enc.encode("\ufeff1;2\n3;4\n"),
  enc.encode("# comment\n1.25\n\u00b5,2\n"),
];

const rawData = encodeRaw([[1, 2, 3], [-0.5, 0.25, 8]], "f32");
const rawSidecar = enc.encode(
  JSON.stringify({ format: "f32", channels: 2, dt: 5e-5, units: ["A", "V"] }),
);

const frames = encodeFrames(
  [Float64Array.of(1, 2, 3, 4, 5), Float64Array.of(-1, -2, -3, -4, -5)],
  { frameSamples: 2 },
);
/** Frame headers of an f32frames stream. */
function frameFields(b: Uint8Array): Field[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Field[] = [];
  let p = 0;
  while (p + 4 <= b.length) {
    out.push({ at: p, width: 4 });
    const len = dv.getUint32(p, true);
    if (len === 0) break;
    p += 4 + len;
  }
  return out;
}
const text = enc.encode("1.5,2\n-3e-2 4\r\n\n5e3\t6\nend\n");

/** Feeds bytes in pieces of `size` to the socket decoder and drains it. */
async function decodeSocket(
  bytes: Uint8Array,
  format: "f32frames" | "text",
  size: number,
): Promise<void> {
  const pieces: Uint8Array[] = [];
  for (let a = 0; a < bytes.length; a += size) {
    pieces.push(bytes.subarray(a, a + size));
  }
  for await (
    const _ of socketChunks(pieces, {
      format,
      channels: 2,
      chunkSamples: 2,
      maxLineBytes: 64,
    })
  ) { /* drain */ }
}

// ---- the fuzzers -------------------------------------------------------------

Deno.test("fuzz: NPY reader", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: npyBases.length - 1 }),
      mutations,
      (k, ms) => {
        const b = mutate(npyBases[k], npyFields, ms);
        try {
          decodeNpy(b);
        } catch (e) {
          expectTyped(e, b.length, [DataFormatError]);
        }
      },
    ),
    params(),
  );
});

Deno.test("fuzz: NPZ reader", () => {
  const fields = npzBases.map(zipFields);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: npzBases.length - 1 }),
      mutations,
      (k, ms) => {
        const b = mutate(npzBases[k], fields[k], ms);
        try {
          decodeNpz(b);
        } catch (e) {
          expectTyped(e, b.length, [DataFormatError]);
        }
      },
    ),
    params(),
  );
});

Deno.test("fuzz: CSV reader", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: csvBases.length - 1 }),
      mutations,
      async (k, ms) => {
        const b = mutate(csvBases[k], [], ms);
        try {
          await readCsvMatrix(b, { delimiter: k === 2 ? ";" : "," });
        } catch (e) {
          expectTyped(e, b.length, [DataFormatError]);
        }
      },
    ),
    params(),
  );
});

Deno.test("fuzz: readChunks (CSV, NPY, raw f32) over bytes in random pieces", async () => {
  const bases = [
    { format: "csv" as const, bytes: csvBases[0], fields: [] as Field[] },
    { format: "csv" as const, bytes: csvBases[3], fields: [] as Field[] },
    { format: "npy" as const, bytes: npyBases[0], fields: npyFields },
    { format: "npy" as const, bytes: npyBases[2], fields: npyFields },
    { format: "f32" as const, bytes: rawData, fields: [] as Field[] },
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: bases.length - 1 }),
      mutations,
      fc.integer({ min: 1, max: 64 }),
      async (k, ms, size) => {
        const { format, bytes, fields } = bases[k];
        const b = mutate(bytes, fields, ms);
        const pieces: Uint8Array[] = [];
        for (let a = 0; a < b.length; a += size) {
          pieces.push(b.subarray(a, a + size));
        }
        try {
          for await (
            const _ of readChunks(pieces, {
              format,
              channels: format === "f32" ? 2 : undefined,
              chunkSamples: 2,
              maxLineBytes: 64,
            })
          ) { /* drain */ }
        } catch (e) {
          expectTyped(e, b.length, [DataFormatError]);
        }
      },
    ),
    params(),
  );
});

Deno.test("readChunks CSV: a 64 MiB line fails at the 1 MiB default cap, memory flat (child process)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/line.csv`;
    const f = await Deno.open(path, { write: true, create: true });
    await f.write(enc.encode("1.5\n2.5\n"));
    const ones = new Uint8Array(1 << 20).fill(0x31);
    for (let k = 0; k < 64; k++) await f.write(ones);
    f.close();
    const r = await runHostile("chunks-csv", [path]);
    const res = r.results[0];
    assert.equal(res.name, "DataFormatError", res.message);
    assert.equal(res.offset, 8);
    assert.match(res.message!, /longer than maxLineBytes = 1048576/);
    // the reader holds at most the cap plus one file piece; main joined
    // strings (quadratic) and held the whole line. 32 MiB: half the line.
    assert.ok(
      r.growth < 32 * 2 ** 20,
      `child RSS grew by ${(r.growth / 2 ** 20).toFixed(1)} MiB`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fuzz: raw data + JSON sidecar", () => {
  fc.assert(
    fc.property(mutations, mutations, fc.boolean(), (msData, msSide, both) => {
      const data = mutate(rawData, [], msData);
      const side = both ? mutate(rawSidecar, [], msSide) : rawSidecar;
      let desc;
      try {
        desc = parseRawSidecar(new TextDecoder().decode(side), "rec.f32.json");
      } catch (e) {
        expectTyped(e, side.length, [DataFormatError]);
        return;
      }
      try {
        decodeRaw(data, desc);
      } catch (e) {
        expectTyped(e, data.length, [DataFormatError]);
      }
    }),
    params(),
  );
});

Deno.test("fuzz: socket streams (f32frames and text), bytes in random pieces", async () => {
  const fields = frameFields(frames);
  await fc.assert(
    fc.asyncProperty(
      fc.boolean(),
      mutations,
      fc.integer({ min: 1, max: 64 }),
      async (binary, ms, size) => {
        const b = binary ? mutate(frames, fields, ms) : mutate(text, [], ms);
        try {
          await decodeSocket(b, binary ? "f32frames" : "text", size);
        } catch (e) {
          // malformed data: SocketFrameError (a DataFormatError); a stream
          // that ends early: StreamDroppedError; both name the byte offset
          expectTyped(e, b.length, [DataFormatError, StreamDroppedError]);
        }
      },
    ),
    params(),
  );
});

Deno.test("fuzz: socket frames over real TCP on 127.0.0.1", async () => {
  const fields = frameFields(frames);
  // each case is a connection: fewer cases than in memory, same mutations
  await fc.assert(
    fc.asyncProperty(fc.boolean(), mutations, async (binary, ms) => {
      const b = binary ? mutate(frames, fields, ms) : mutate(text, [], ms);
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      const serve = (async () => {
        const conn = await listener.accept();
        try {
          let o = 0;
          while (o < b.length) o += await conn.write(b.subarray(o));
        } catch { /* the client may close first */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })();
      try {
        await lastValueFrom(
          fromSocket({
            port,
            format: binary ? "f32frames" : "text",
            channels: 2,
            maxLineBytes: 64,
          }).pipe(toArray()),
        );
      } catch (e) {
        expectTyped(e, b.length, [DataFormatError, StreamDroppedError]);
      } finally {
        await serve;
        listener.close();
      }
    }),
    { numRuns: 100, seed: fuzzSeed() },
  );
});

// ---- posterior files -----------------------------------------------------------

async function tinyPosteriorFile(): Promise<Uint8Array> {
  const prior = new BoxUniform({ low: [0, 0], high: [1, 1] });
  const theta = prior.sample(100, 1);
  const npe = new NPE({
    prior,
    densityEstimator: "mdn",
    seed: 1,
    estimatorOptions: { hiddenFeatures: 4, numComponents: 2 },
  });
  npe.appendSimulations(theta, theta);
  await npe.train({ maxEpochs: 1, showProgress: false });
  const post = npe.buildPosterior();
  post.setDefaultX([0.5, 0.5]);
  const bytes = post.toBytes();
  post.dispose();
  npe.dispose();
  return bytes;
}

/** A container with a new JSON header and the old weights (checksum redone). */
function rewrap(json: Uint8Array, weights: Uint8Array): Uint8Array {
  const pad = (4 - (json.length % 4)) % 4;
  const out = new Uint8Array(16 + json.length + pad + weights.length + 4);
  const dv = new DataView(out.buffer);
  out.set(enc.encode("NFITPOST"), 0);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(weights, 16 + json.length + pad);
  dv.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

Deno.test("fuzz: posterior files (raw bytes, and headers with a valid checksum)", async () => {
  const base = await tinyPosteriorFile();
  const dv = new DataView(base.buffer);
  const jl = dv.getUint32(12, true);
  const json = base.subarray(16, 16 + jl);
  const weights = base.subarray(
    16 + jl + ((4 - (jl % 4)) % 4),
    base.length - 4,
  );
  const fields: Field[] = [
    { at: 8, width: 4 },
    { at: 12, width: 4 },
    { at: base.length - 4, width: 4 },
  ];
  const seen = { loaded: 0, checksum: 0, deeper: 0 };
  await fc.assert(
    fc.asyncProperty(fc.boolean(), mutations, async (inHeader, ms) => {
      // half the cases edit the JSON header and redo the checksum, so that
      // they reach the header validation and the network rebuild
      const b = inHeader
        ? rewrap(mutate(json, [], ms), weights)
        : mutate(base, fields, ms);
      try {
        const p = await DirectPosterior.fromBytes(b);
        p.dispose();
        seen.loaded++;
      } catch (e) {
        // a header naming a custom prior asks the caller for it (not a
        // damaged file): the one other error allowed
        if (e instanceof TypeError && /pass it explicitly/.test(e.message)) {
          return;
        }
        expectTyped(e, b.length, [PosteriorFileError]);
        if (/header|rebuild|weight/.test((e as Error).message)) seen.deeper++;
        else seen.checksum++;
      }
    }),
    params(),
  );
  // the fuzzer reaches past the container checks (magic, version,
  // checksum): at least a tenth of the cases end in the header validation or
  // the rebuild, or load
  const n = seen.loaded + seen.checksum + seen.deeper;
  assert.ok(
    seen.loaded + seen.deeper >= 0.1 * n,
    `only ${seen.loaded + seen.deeper} of ${n} cases got past the checksum`,
  );
  console.log(`posterior fuzz: ${JSON.stringify(seen)}`);
});

// ---- memory ------------------------------------------------------------------------

Deno.test("hostile files of every reader: child-process RSS stays bounded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const N = 40;
    const sample = (seed: number) =>
      fc.sample(mutations, { numRuns: N, seed: (fuzzSeed() ?? 0) + seed });
    const write = async (
      name: string,
      make: (ms: ReturnType<typeof sample>[number], i: number) => Uint8Array,
      seed: number,
      side?: (i: number) => Uint8Array,
    ) => {
      const paths: string[] = [];
      const all = sample(seed);
      for (let i = 0; i < all.length; i++) {
        const p = `${dir}/${name}_${i}`;
        await Deno.writeFile(p, make(all[i], i));
        if (side) await Deno.writeFile(`${p}.json`, side(i));
        paths.push(p);
      }
      return paths;
    };
    // huge declared lengths are what could make a reader allocate: every
    // file here has one length field set to the maximum on top of the
    // random mutations
    const maxField = (fields: Field[], i: number) => ({
      kind: "field" as const,
      which: (i % Math.max(1, fields.length)) / Math.max(1, fields.length),
      value: "max" as const,
      r: 0,
    });
    const npzF = npzBases.map(zipFields);
    const posterior = await tinyPosteriorFile();
    const sets: [string, string[]][] = [
      [
        "npy",
        await write(
          "npy",
          (ms, i) =>
            mutate(npyBases[i % 4], npyFields, [maxField(npyFields, i), ...ms]),
          1,
        ),
      ],
      [
        "npz",
        await write("npz", (ms, i) =>
          mutate(npzBases[i % 2], npzF[i % 2], [
            maxField(npzF[i % 2], i),
            ...ms,
          ]), 2),
      ],
      [
        "csv",
        await write("csv", (ms, i) => mutate(csvBases[i % 2], [], ms), 3),
      ],
      [
        "raw",
        await write(
          "raw",
          (ms) => mutate(rawData, [], ms),
          4,
          (i) =>
            i % 2 ? rawSidecar : enc.encode(
              `{"format":"f32","channels":${
                [2, 4294967295, 65536, 1e9][i % 4]
              }}`,
            ),
        ),
      ],
      [
        "socket-frames",
        await write("frames", (ms, i) =>
          mutate(frames, frameFields(frames), [
            maxField(frameFields(frames), i),
            ...ms,
          ]), 5),
      ],
      ["socket-text", await write("text", (ms) => mutate(text, [], ms), 6)],
      [
        "chunks-npy",
        await write(
          "cnpy",
          (ms, i) =>
            mutate(npyBases[i % 4], npyFields, [maxField(npyFields, i), ...ms]),
          8,
        ),
      ],
      [
        "chunks-csv",
        await write("ccsv", (ms, i) => mutate(csvBases[i % 2], [], ms), 9),
      ],
      [
        "posterior",
        await write("post", (ms, i) =>
          mutate(
            posterior,
            [{ at: 12, width: 4 }],
            i % 2 ? [maxField([{ at: 12, width: 4 }], 0), ...ms] : ms,
          ), 7),
      ],
    ];
    for (const [reader, paths] of sets) {
      const r = await runHostile(reader, paths);
      assert.equal(r.results.length, paths.length);
      for (const res of r.results) {
        if (res.ok) continue;
        assert.ok(
          [
            "DataFormatError",
            "SocketFrameError",
            "StreamDroppedError",
            "PosteriorFileError",
          ]
            .includes(res.name!),
          `${reader} ${res.file}: ${res.name}: ${res.message}`,
        );
        assert.equal(typeof res.offset, "number", `${reader}: ${res.message}`);
      }
      // the inputs are at most a few KB; 64 MiB is far above what reading
      // them needs and far below a single allocation of a huge declared
      // length (4 GiB)
      assert.ok(
        r.growth < 64 * 2 ** 20,
        `${reader}: child RSS grew by ${(r.growth / 2 ** 20).toFixed(1)} MiB`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("what the fuzzers found, pinned", async (t) => {
  await t.step(
    "CSV errors carry the byte offset of their line, in the file's bytes",
    async () => {
      // two invalid UTF-8 bytes (decoded as 2 U+FFFD, 6 bytes of UTF-8)
      const b = Uint8Array.of(
        0x80,
        0x80,
        0x2c,
        0x31,
        0x0a,
        ...enc.encode("1,2\n3\n"),
      );
      const e = await readCsvMatrix(b).then(() => null, (e) => e);
      assert.ok(e instanceof DataFormatError, String(e));
      assert.equal(e.line, 3);
      assert.equal(e.offset, 9);
      const e2 = await readCsvMatrix("a,b\n1,x\n").then(() => null, (e) => e);
      assert.ok(
        e2 instanceof DataFormatError && e2.offset === 4 && e2.column === 2,
      );
    },
  );

  await t.step(
    "NPZ: a central-directory offset past the file names the EOCD field",
    () => {
      const b = npzBases[0].slice();
      const dv = new DataView(b.buffer);
      dv.setUint32(b.length - 22 + 16, 0xffffffff, true);
      assert.throws(
        () => decodeNpz(b),
        (e: unknown) =>
          e instanceof DataFormatError && e.offset === b.length - 6,
      );
    },
  );

  await t.step(
    "raw sidecar: bad content is a DataFormatError at the key; absurd channel counts are refused",
    async () => {
      const dir = await Deno.makeTempDir();
      try {
        const { readRaw } = await import("../../lib/io/raw.ts");
        const p = `${dir}/r.f32`;
        await Deno.writeFile(p, new Uint8Array(0));
        const side = '{"format": "f32", "channels": 1000000000}';
        await Deno.writeTextFile(`${p}.json`, side);
        const e = await readRaw(p).then(() => null, (e) => e);
        assert.ok(e instanceof DataFormatError, String(e));
        assert.equal(e.offset, side.indexOf('"channels"'));
        await Deno.writeTextFile(`${p}.json`, '{"format": "i16"}');
        const e2 = await readRaw(p).then(() => null, (e) => e);
        assert.ok(e2 instanceof DataFormatError && e2.offset === 1, String(e2));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "socket: a stream that ends early names its byte offset",
    async () => {
      const cut = frames.subarray(0, 10);
      const e = await decodeSocket(cut, "f32frames", 3).then(
        () => null,
        (e) => e,
      );
      assert.ok(e instanceof StreamDroppedError && e.offset === 10, String(e));
    },
  );
});
