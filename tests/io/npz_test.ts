import assert from "node:assert/strict";
import {
  crc32,
  decodeNpz,
  encodeNpz,
  readNpz,
  writeNpz,
} from "../../lib/io/npz.ts";
import { decodeNpy } from "../../lib/io/npy.ts";
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
