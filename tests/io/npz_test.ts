import assert from "node:assert/strict";
import {
  crc32,
  decodeNpz,
  encodeNpz,
  readNpz,
  writeNpz,
} from "../../lib/io/npz.ts";
import { decodeNpy, encodeNpy } from "../../lib/io/npy.ts";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { runHostile } from "./_hostile.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const FIX = new URL("./fixtures/", import.meta.url);
const A23 = [-2, -0.5, 1, 2.5, 4, 5.5];

Deno.test("crc32()", async (t) => {
  await t.step("standard check values", () => {
    const enc = new TextEncoder();
    assert.equal(crc32(enc.encode("123456789")), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
    assert.equal(
      crc32(enc.encode("The quick brown fox jumps over the lazy dog")),
      0x414fa339,
    );
  });
});

Deno.test("readNpz()", async (t) => {
  await t.step("np.savez archive (stored members, ZIP64 extras)", async () => {
    const z = await readNpz(new URL("stored.npz", FIX));
    assert.deepEqual(Object.keys(z).sort(), ["n", "theta", "x"]);
    assert.deepEqual(z.theta.shape, [2, 3]);
    assert.deepEqual([...z.theta.data], A23);
    assert.equal(z.x.dtype, "float32");
    assert.deepEqual([...z.x.data], [1.5, -2]);
    assert.equal(z.n.dtype, "int64");
    assert.deepEqual(z.n.shape, []);
    assert.deepEqual([...z.n.data], [5]);
  });

  await t.step("np.savez_compressed archive (deflated members)", async () => {
    const z = await readNpz(new URL("deflated.npz", FIX).pathname);
    assert.deepEqual([...z.theta.data], A23);
    assert.deepEqual(z.x.shape, [1000]);
    for (const i of [0, 1, 500, 999]) {
      assert.ok(Math.abs(z.x.data[i] - i / 999) < 1e-15, `x[${i}]`);
    }
  });

  await t.step("corrupt and truncated archives → DataFormatError", async () => {
    const good = await Deno.readFile(new URL("stored.npz", FIX));
    // truncated: the end-of-central-directory record is gone
    assert.throws(
      () => decodeNpz(good.subarray(0, good.length - 30)),
      (e: unknown) =>
        e instanceof DataFormatError &&
        /end-of-central-directory/.test(e.message),
    );
    // a flipped data byte → CRC mismatch naming the member
    const bad = good.slice();
    bad[200] ^= 0xff;
    assert.throws(() => decodeNpz(bad), /CRC-32 .* does not match/);
    // corrupt deflate stream
    const d = await Deno.readFile(new URL("deflated.npz", FIX));
    const bd = d.slice();
    for (let i = 80; i < 120; i++) bd[i] = 0xff;
    assert.throws(() => decodeNpz(bd), DataFormatError);
    assert.throws(() => decodeNpz(new Uint8Array(10)), DataFormatError);
  });
});

Deno.test("encodeNpz()", async (t) => {
  await t.step(
    "stored archive: members decode, CRCs check, layout like np.savez",
    () => {
      const theta = [
        new Float32Array([0.1, 0.2]),
        new Float32Array([0.3, 0.4]),
      ];
      const x = {
        data: new Float64Array(12).map((_, i) => i),
        shape: [2, 3, 2],
      };
      const bytes = encodeNpz({ theta, x });
      const z = decodeNpz(bytes); // verifies every CRC
      assert.equal(z.theta.dtype, "float32");
      assert.deepEqual(z.theta.shape, [2, 2]);
      assert.deepEqual([...z.theta.data], [...theta[0], ...theta[1]]);
      assert.deepEqual(z.x.shape, [2, 3, 2]);
      assert.equal(z.x.data[11], 11);
      // first local header: signature, method 0 (stored), name "theta.npy"
      const dv = new DataView(bytes.buffer);
      assert.equal(dv.getUint32(0, true), 0x04034b50);
      assert.equal(dv.getUint16(8, true), 0);
      assert.equal(
        new TextDecoder().decode(bytes.subarray(30, 39)),
        "theta.npy",
      );
      // stored member is the plain NPY file, its CRC is the one in the header
      const member = bytes.subarray(39, 39 + dv.getUint32(18, true));
      assert.equal(crc32(member), dv.getUint32(14, true));
      assert.deepEqual([...decodeNpy(member).data], [...z.theta.data]);
    },
  );

  await t.step("compressed archive is smaller and decodes the same", () => {
    const big = { x: new Float64Array(5000) };
    const s = encodeNpz(big);
    const c = encodeNpz(big, { compress: true });
    assert.ok(c.length < s.length / 10, `${c.length} vs ${s.length}`);
    assert.deepEqual(decodeNpz(c), decodeNpz(s));
  });

  await t.step("non-ASCII names round trip (UTF-8 flag)", () => {
    const z = decodeNpz(encodeNpz({ "θ": [1, 2] }));
    assert.deepEqual(Object.keys(z), ["θ"]);
  });
});

Deno.test("writeNpz()", async (t) => {
  await t.step("temporary file round trip", async () => {
    const path = await Deno.makeTempFile({ suffix: ".npz" });
    try {
      await writeNpz(path, { theta: [[1, 2], [3, 4]], x: [5, 6, 7] });
      const z = await readNpz(path);
      assert.deepEqual(z.theta.shape, [2, 2]);
      assert.deepEqual([...z.x.data], [5, 6, 7]);
    } finally {
      await Deno.remove(path);
    }
  });
});

/** A one-member ZIP archive with the given (possibly lying) directory fields. */
function zipOne(m: {
  name?: string;
  data: Uint8Array;
  method: number;
  crc: number;
  size: number;
  centralExtra?: Uint8Array;
  extraLenOverride?: number;
}): Uint8Array {
  const name = new TextEncoder().encode(m.name ?? "a.npy");
  const extra = m.centralExtra ?? new Uint8Array(0);
  const local = new Uint8Array(30 + name.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(4, 20, true);
  lv.setUint16(8, m.method, true);
  lv.setUint32(14, m.crc, true);
  lv.setUint32(18, m.data.length, true);
  lv.setUint32(22, m.size, true);
  lv.setUint16(26, name.length, true);
  local.set(name, 30);
  const central = new Uint8Array(46 + name.length + extra.length);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(4, 20, true);
  cv.setUint16(6, 20, true);
  cv.setUint16(10, m.method, true);
  cv.setUint32(16, m.crc, true);
  cv.setUint32(20, m.data.length, true);
  cv.setUint32(24, m.size, true);
  cv.setUint16(28, name.length, true);
  cv.setUint16(30, m.extraLenOverride ?? extra.length, true);
  central.set(name, 46);
  central.set(extra, 46 + name.length);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length, true);
  const cdOffset = local.length + m.data.length;
  ev.setUint32(16, cdOffset, true);
  const out = new Uint8Array(cdOffset + central.length + 22);
  out.set(local, 0);
  out.set(m.data, local.length);
  out.set(central, cdOffset);
  out.set(eocd, cdOffset + central.length);
  return out;
}

/**
 * Raw deflate data of `mib` MiB of zeros, made without holding them: one
 * MiB deflated with a full flush (byte-aligned, independent), repeated, then
 * an empty final block.
 */
function zeroBomb(mib: number): Uint8Array {
  const piece = new Uint8Array(
    deflateRawSync(new Uint8Array(1 << 20), {
      finishFlush: constants.Z_FULL_FLUSH,
    }),
  );
  const tail = new Uint8Array(deflateRawSync(new Uint8Array(0)));
  const out = new Uint8Array(piece.length * mib + tail.length);
  for (let k = 0; k < mib; k++) out.set(piece, k * piece.length);
  out.set(tail, piece.length * mib);
  return out;
}

Deno.test("readNpz() on hostile archives", async (t) => {
  await t.step("the bomb builder makes what it says (4 MiB of zeros)", () => {
    const bomb = zeroBomb(4);
    assert.equal(inflateRawSync(bomb).length, 4 << 20);
  });

  await t.step(
    "a 256 MiB deflate bomb declared as 1,000 bytes: DataFormatError, memory stays flat (child process)",
    async () => {
      const bomb = zeroBomb(256);
      // about 255 KB of file for 256 MiB of output (the example)
      assert.ok(bomb.length < 300_000, `bomb is ${bomb.length} bytes`);
      const dir = await Deno.makeTempDir();
      try {
        const small = `${dir}/small.npz`;
        await Deno.writeFile(
          small,
          zipOne({ data: bomb, method: 8, crc: 0, size: 1000 }),
        );
        const r = await runHostile("npz", [small]);
        assert.equal(
          r.results[0].name,
          "DataFormatError",
          r.results[0].message,
        );
        assert.equal(typeof r.results[0].offset, "number");
        assert.match(r.results[0].message!, /more than the 1000 bytes/);
        // inflating the member would hold 256 MiB (today's behaviour: 826
        // MB RSS); capped at 1,000 bytes the child grows by a few MB of zlib
        // state. 64 MiB leaves room for the runtime and is a quarter of the
        // bomb.
        assert.ok(
          r.growth < 64 * 2 ** 20,
          `child RSS grew by ${(r.growth / 2 ** 20).toFixed(1)} MiB`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );

  await t.step(
    "a declared size beyond deflate's 1032:1 ratio is rejected before inflating",
    () => {
      const data = new Uint8Array(deflateRawSync(new Uint8Array(10)));
      const bytes = zipOne({ data, method: 8, crc: 0, size: 2 ** 31 });
      assert.throws(
        () => decodeNpz(bytes),
        (e: unknown) =>
          e instanceof DataFormatError && e.offset === 0 &&
          /cannot come from/.test(e.message),
      );
    },
  );

  await t.step(
    "an extra-field length of 0xFFFF past the directory → DataFormatError with offset",
    () => {
      const npy = encodeNpy([1, 2, 3]);
      const bytes = zipOne({
        data: npy,
        method: 0,
        crc: crc32(npy),
        size: npy.length,
        extraLenOverride: 0xffff,
      });
      assert.throws(
        () => decodeNpz(bytes),
        (e: unknown) =>
          e instanceof DataFormatError && typeof e.offset === "number" &&
          /extra field \(65535\)/.test(e.message),
      );
    },
  );

  await t.step(
    "a ZIP64 extra field shorter than the values it must hold → DataFormatError",
    () => {
      const npy = encodeNpy([1, 2, 3]);
      const extra = new Uint8Array([1, 0, 4, 0, 0, 0, 0, 0]); // id 1, 4 bytes
      const bytes = zipOne({
        data: npy,
        method: 0,
        crc: crc32(npy),
        size: 0xffffffff,
        centralExtra: extra,
      });
      assert.throws(
        () => decodeNpz(bytes),
        (e: unknown) =>
          e instanceof DataFormatError && typeof e.offset === "number" &&
          /ZIP64 extra field/.test(e.message),
      );
    },
  );

  await t.step(
    "an extra-field record longer than the extra data → DataFormatError",
    () => {
      const npy = encodeNpy([1, 2, 3]);
      const extra = new Uint8Array([9, 9, 0xff, 0xff]); // id 0x0909, 65535 bytes
      const bytes = zipOne({
        data: npy,
        method: 0,
        crc: crc32(npy),
        size: npy.length,
        centralExtra: extra,
      });
      assert.throws(
        () => decodeNpz(bytes),
        (e: unknown) =>
          e instanceof DataFormatError && typeof e.offset === "number" &&
          /declares 65535 bytes/.test(e.message),
      );
    },
  );
});
