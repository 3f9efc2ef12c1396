import assert from "node:assert/strict";
import {
  decodeRaw,
  encodeRaw,
  parseRawDescription,
  readRaw,
  readRawDescription,
  writeRaw,
} from "../../lib/io/raw.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

Deno.test("encodeRaw()", async (t) => {
  await t.step("interleaved little-endian layout", () => {
    const b = encodeRaw([[1, 2], [3, 4]], "f32");
    const dv = new DataView(b.buffer);
    assert.deepEqual(
      [0, 4, 8, 12].map((o) => dv.getFloat32(o, true)),
      [1, 3, 2, 4],
    );
    const d = encodeRaw([[0.1]], "f64");
    assert.equal(new DataView(d.buffer).getFloat64(0, true), 0.1);
  });

  await t.step(
    "ragged or missing channels → TypeError; bad format → RangeError",
    () => {
      assert.throws(() => encodeRaw([[1, 2], [3]], "f32"), TypeError);
      assert.throws(() => encodeRaw([], "f32"), TypeError);
      // @ts-expect-error testing a bad format
      assert.throws(() => encodeRaw([[1]], "i16"), RangeError);
    },
  );
});

Deno.test("decodeRaw()", async (t) => {
  await t.step("f64 round trip is exact, f32 rounds to float32", () => {
    const a = Float64Array.from({ length: 30 }, (_, i) => Math.sin(i) * 1e-3);
    const b = Float64Array.from({ length: 30 }, (_, i) => i * 0.1);
    const [x, y] = decodeRaw(encodeRaw([a, b], "f64"), {
      format: "f64",
      channels: 2,
    });
    assert.deepEqual(x, a);
    assert.deepEqual(y, b);
    const [z] = decodeRaw(encodeRaw([a], "f32"), { format: "f32" });
    assert.deepEqual(z, Float64Array.from(Float32Array.from(a)));
  });

  await t.step("wrong byte count → DataFormatError naming the offset", () => {
    const bytes = encodeRaw([[1, 2, 3], [4, 5, 6]], "f32").subarray(0, 21);
    assert.throws(
      () => decodeRaw(bytes, { format: "f32", channels: 2 }),
      (e: unknown) => {
        assert.ok(e instanceof DataFormatError);
        assert.equal(e.offset, 16);
        assert.match(
          e.message,
          /21 bytes is not a multiple of 2 channel\(s\) × 4 bytes = 8/,
        );
        assert.match(e.message, /incomplete sample 2 at byte offset 16/);
        return true;
      },
    );
    assert.throws(
      () => decodeRaw(bytes, { format: "f32", channels: 0 }),
      RangeError,
    );
  });
});

Deno.test("parseRawDescription()", async (t) => {
  await t.step(
    "normalises format, fills dt/sampleRate, defaults channels",
    () => {
      assert.deepEqual(parseRawDescription({ format: "float64", dt: 1e-4 }), {
        format: "f64",
        channels: 1,
        dt: 1e-4,
        sampleRate: 1e4,
      });
      const d = parseRawDescription({
        format: "f32",
        channels: 2,
        sampleRate: 20000,
        units: ["A", "V"],
        labels: ["I", "v"],
      });
      assert.equal(d.dt, 5e-5);
      assert.deepEqual(d.units, ["A", "V"]);
    },
  );

  await t.step("invalid sidecars → TypeError / RangeError", () => {
    assert.throws(() => parseRawDescription([1]), TypeError);
    assert.throws(() => parseRawDescription({ format: "i16" }), RangeError);
    assert.throws(
      () => parseRawDescription({ format: "f32", channels: 1.5 }),
      RangeError,
    );
    assert.throws(
      () => parseRawDescription({ format: "f32", channels: "2" }),
      TypeError,
    );
    assert.throws(
      () => parseRawDescription({ format: "f32", dt: -1 }),
      RangeError,
    );
    assert.throws(
      () => parseRawDescription({ format: "f32", dt: 1e-4, sampleRate: 2e4 }),
      /disagree/,
    );
    assert.throws(
      () => parseRawDescription({ format: "f32", channels: 2, units: ["V"] }),
      /1 entries for 2 channel/,
    );
    assert.throws(
      () => parseRawDescription({ format: "f32", units: 3 }),
      TypeError,
    );
  });
});

Deno.test("writeRaw()", async (t) => {
  await t.step(
    "writes data and <file>.json sidecar; readRaw reads both",
    async () => {
      const dir = await Deno.makeTempDir();
      const path = `${dir}/rec.f32`;
      try {
        const I = Float64Array.from(
          { length: 100 },
          (_, i) => (i > 50 ? 1e-9 : 0),
        );
        const v = Float64Array.from(
          { length: 100 },
          (_, i) => -0.065 + i * 1e-4,
        );
        await writeRaw(path, [I, v], {
          format: "f32",
          dt: 5e-5,
          units: ["A", "V"],
          labels: ["I", "v"],
        });
        assert.equal((await Deno.stat(path)).size, 100 * 2 * 4);
        const side = JSON.parse(await Deno.readTextFile(`${path}.json`));
        assert.deepEqual(side, {
          format: "f32",
          channels: 2,
          dt: 5e-5,
          sampleRate: 20000,
          units: ["A", "V"],
          labels: ["I", "v"],
        });
        const rec = await readRaw(path);
        assert.equal(rec.channels, 2);
        assert.equal(rec.dt, 5e-5);
        assert.deepEqual(rec.data[0], Float64Array.from(Float32Array.from(I)));
        assert.deepEqual(rec.data[1], Float64Array.from(Float32Array.from(v)));
        // options override the sidecar: read the same bytes as one channel
        const one = await readRaw(path, {
          channels: 1,
          units: "V",
          labels: undefined,
        });
        assert.equal(one.data.length, 1);
        assert.equal(one.data[0].length, 200);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "no sidecar: readRaw needs a format; truncated file → DataFormatError",
    async () => {
      const path = await Deno.makeTempFile({ suffix: ".f64" });
      try {
        assert.equal(await readRawDescription(path), undefined);
        await Deno.writeFile(
          path,
          encodeRaw([[1, 2, 3]], "f64").subarray(0, 20),
        );
        await assert.rejects(() => readRaw(path), TypeError);
        await assert.rejects(
          () => readRaw(path, { format: "f64" }),
          (e: unknown) => e instanceof DataFormatError && e.offset === 16,
        );
        await Deno.writeTextFile(`${path}.json`, "{ not json");
        await assert.rejects(() => readRawDescription(path), DataFormatError);
      } finally {
        await Deno.remove(path);
        await Deno.remove(`${path}.json`).catch(() => {});
      }
    },
  );

  await t.step("channel count mismatch → TypeError", async () => {
    await assert.rejects(
      () =>
        writeRaw("/nonexistent/x.f32", [[1]], { format: "f32", channels: 2 }),
      TypeError,
    );
  });
});
