import assert from "node:assert/strict";
import {
  decodeNpy,
  encodeNpy,
  npyRows,
  readNpy,
  writeNpy,
} from "../../lib/io/npy.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const FIX = new URL("./fixtures/", import.meta.url);
const REF = new URL("../fixtures/brian2/", import.meta.url);
const fixture = (name: string) => Deno.readFile(new URL(name, FIX));
const A23 = [-2, -0.5, 1, 2.5, 4, 5.5];

Deno.test("readNpy()", async (t) => {
  await t.step(
    "numpy-made output_traces_synthetic.npy: float64 (10000,), spikes above 0 mV",
    async () => {
      const a = await readNpy(new URL("output_traces_synthetic.npy", REF));
      assert.equal(a.dtype, "float64");
      assert.deepEqual(a.shape, [10000]);
      assert.ok(a.data instanceof Float64Array);
      assert.equal(a.data.length, 10000);
      // values read with numpy 2.4 (np.load) from the same file
      assert.equal(a.data[0], -70);
      assert.equal(a.data[1], -69.99999079994977);
      assert.equal(a.data[9999], -69.91580579548125);
      let max = -Infinity, argmax = -1, min = Infinity, up = 0;
      for (let i = 0; i < a.data.length; i++) {
        const v = a.data[i];
        if (v > max) (max = v), (argmax = i);
        min = Math.min(min, v);
        if (i > 0 && v > 0 && a.data[i - 1] <= 0) up++;
      }
      assert.equal(max, 52.85746215900992);
      assert.equal(argmax, 8434);
      assert.equal(min, -80.62055868247845);
      // README of reference/brian2: 33 spikes; each overshoots 0 mV once
      assert.equal(up, 33);
    },
  );

  await t.step(
    "numpy-made input_traces_synthetic.npy: float64 (10000,), amperes",
    async () => {
      const a = await readNpy(new URL("input_traces_synthetic.npy", REF));
      assert.equal(a.dtype, "float64");
      assert.deepEqual(a.shape, [10000]);
      assert.equal(a.data[0], 0);
      assert.equal(a.data[2000], 1.5000000000000002e-10);
      assert.equal(a.data[5000], 3.0000000000000005e-10);
      assert.equal(Math.max(...a.data), 4.999500000000001e-10); // 0.5 nA ramp top
      assert.equal(a.data.filter((v) => v !== 0).length, 8000);
    },
  );

  await t.step("from a byte stream equals from a path", async () => {
    const url = new URL("output_traces_synthetic.npy", REF);
    const file = await Deno.open(url);
    const a = await readNpy(file.readable);
    assert.deepEqual(a, await readNpy(url));
  });
});

Deno.test("decodeNpy()", async (t) => {
  await t.step("big-endian >f8 and >f4 (numpy-made)", async () => {
    const f8 = decodeNpy(await fixture("be_f8.npy"));
    assert.equal(f8.dtype, "float64");
    assert.deepEqual(f8.shape, [2, 3]);
    assert.deepEqual([...f8.data], A23);
    const f4 = decodeNpy(await fixture("be_f4.npy"));
    assert.equal(f4.dtype, "float32");
    assert.ok(f4.data instanceof Float32Array);
    assert.deepEqual([...f4.data], A23);
    const f4le = decodeNpy(await fixture("f4_2x3.npy"), { float64: true });
    assert.ok(f4le.data instanceof Float64Array);
    assert.deepEqual([...f4le.data], A23);
  });

  await t.step(
    "Fortran order is transposed to C order (2-d and 3-d)",
    async () => {
      const f = decodeNpy(await fixture("fortran_3x4.npy"));
      assert.deepEqual(f.shape, [3, 4]);
      assert.deepEqual([...f.data], Array.from({ length: 12 }, (_, i) => i));
      const g = decodeNpy(await fixture("fortran_2x3x4_i4.npy"));
      assert.equal(g.dtype, "int32");
      assert.deepEqual(g.shape, [2, 3, 4]);
      assert.deepEqual([...g.data], Array.from({ length: 24 }, (_, i) => i));
      const c = decodeNpy(await fixture("f4_2x3x4.npy"));
      assert.deepEqual([...c.data], Array.from({ length: 24 }, (_, i) => i));
    },
  );

  await t.step(
    "integer, bool and half dtypes read into Float64Array",
    async () => {
      const cases: [string, string, number[]][] = [
        ["i8.npy", "int64", [-3, 0, 2 ** 40, 7]],
        ["i4.npy", "int32", [-1, 2, -3]],
        ["u1.npy", "uint8", [0, 1, 255]],
        ["bool.npy", "bool", [1, 0, 1]],
        ["f2.npy", "float16", [1, -2.5, 65504]],
      ];
      for (const [name, dtype, values] of cases) {
        const a = decodeNpy(await fixture(name));
        assert.equal(a.dtype, dtype, name);
        assert.ok(a.data instanceof Float64Array, name);
        assert.deepEqual([...a.data], values, name);
      }
    },
  );

  await t.step("0-d, empty, and format versions 2.0 / 3.0", async () => {
    const s = decodeNpy(await fixture("scalar.npy"));
    assert.deepEqual(s.shape, []);
    assert.deepEqual([...s.data], [3.25]);
    const e = decodeNpy(await fixture("empty.npy"));
    assert.deepEqual(e.shape, [0]);
    assert.equal(e.data.length, 0);
    for (const v of ["v2.npy", "v3.npy"]) {
      const a = decodeNpy(await fixture(v));
      assert.deepEqual(a.shape, [2, 3], v);
      assert.deepEqual([...a.data], A23, v);
    }
  });

  await t.step("works on a Uint8Array view at an odd byteOffset", async () => {
    const bytes = await fixture("f8_2x3.npy");
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    assert.deepEqual([...decodeNpy(padded.subarray(3)).data], A23);
  });

  await t.step(
    "truncated file → DataFormatError with expected vs actual bytes",
    async () => {
      const bytes = await fixture("f8_2x3.npy"); // 128 header + 48 data bytes
      assert.throws(
        () => decodeNpy(bytes.subarray(0, 170)),
        (e: unknown) => {
          assert.ok(e instanceof DataFormatError);
          assert.match(e.message, /needs 48 data bytes/);
          assert.match(e.message, /176 bytes in all/);
          assert.match(e.message, /got 42 \(170 in all\)/);
          assert.equal(e.offset, 170);
          return true;
        },
      );
      assert.throws(
        () => decodeNpy(bytes.subarray(0, 60)),
        /preamble needs 128 bytes, got 60/,
      );
      assert.throws(
        () => decodeNpy(bytes.subarray(0, 4)),
        /preamble needs 10 bytes/,
      );
    },
  );

  await t.step(
    "bad magic, bad header, unsupported dtype → DataFormatError",
    () => {
      assert.throws(
        () => decodeNpy(new TextEncoder().encode("PK\x03\x04 not npy")),
        (e: unknown) => e instanceof DataFormatError && e.offset === 0,
      );
      const withHeader = (h: string) => {
        const head = encodeNpy([1]);
        const text = new TextDecoder("latin1").decode(head.subarray(10, 128));
        const nh = h.padEnd(text.length - 1, " ") + "\n";
        const out = new Uint8Array(head.length);
        out.set(head);
        for (let i = 0; i < nh.length; i++) out[10 + i] = nh.charCodeAt(i);
        return out;
      };
      assert.throws(
        () =>
          decodeNpy(
            withHeader(
              "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
            ),
          ),
        /unsupported NPY dtype "<c16"/,
      );
      assert.throws(
        () =>
          decodeNpy(
            withHeader(
              "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
            ),
          ),
        /structured arrays/,
      );
      assert.throws(
        () => decodeNpy(withHeader("{'descr': '<f8', 'shape': (1,), }")),
        /no 'fortran_order'/,
      );
      assert.throws(
        () =>
          decodeNpy(
            withHeader(
              "{'descr': '<f8', 'fortran_order': False, 'shape': (x,), }",
            ),
          ),
        DataFormatError,
      );
    },
  );
});

Deno.test("encodeNpy()", async (t) => {
  await t.step(
    "bytes identical to np.save for a float64 (2, 3) array",
    async () => {
      const mine = encodeNpy([A23.slice(0, 3), A23.slice(3)]);
      assert.deepEqual(mine, await fixture("f8_2x3.npy"));
      const mine4 = encodeNpy({ data: new Float32Array(A23), shape: [2, 3] });
      assert.deepEqual(mine4, await fixture("f4_2x3.npy"));
    },
  );

  await t.step(
    "preamble is a multiple of 64 bytes and ends with a newline",
    () => {
      for (
        const shape of [[], [7], [1, 2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1], [0, 5]]
      ) {
        const n = shape.reduce((a, b) => a * b, 1);
        const bytes = encodeNpy({ data: new Float64Array(n), shape });
        const hlen = bytes[8] | (bytes[9] << 8);
        assert.equal((10 + hlen) % 64, 0);
        assert.equal(bytes[10 + hlen - 1], 0x0a);
        assert.deepEqual(decodeNpy(bytes).shape, shape);
      }
    },
  );

  await t.step("round trips dtypes and big-endian output", () => {
    const vals = [0, 1, -1, 127, 3.5, -1e300];
    const f8be = decodeNpy(encodeNpy(vals, { bigEndian: true }));
    assert.deepEqual([...f8be.data], vals);
    const i4 = decodeNpy(encodeNpy(new Int32Array([-5, 6])));
    assert.equal(i4.dtype, "int32");
    assert.deepEqual([...i4.data], [-5, 6]);
    const b = decodeNpy(encodeNpy([0, 2, 0], { dtype: "bool" }));
    assert.deepEqual([...b.data], [0, 1, 0]);
    const i8 = decodeNpy(
      encodeNpy([-(2 ** 50), 3], { dtype: "int64", bigEndian: true }),
    );
    assert.deepEqual([...i8.data], [-(2 ** 50), 3]);
    const f4 = decodeNpy(encodeNpy([0.1]), {});
    assert.equal(f4.data[0], 0.1);
  });

  await t.step("bad input → TypeError / RangeError", () => {
    assert.throws(() => encodeNpy([[1, 2], [3]]), TypeError);
    assert.throws(
      () => encodeNpy({ data: [1, 2, 3], shape: [2, 2] }),
      TypeError,
    );
    assert.throws(() => encodeNpy({ data: [1], shape: [-1] }), RangeError);
    assert.throws(() => encodeNpy([1], { dtype: "float16" }), RangeError);
  });
});

Deno.test("writeNpy()", async (t) => {
  await t.step("temporary file round trip of a 3-d float32 array", async () => {
    const path = await Deno.makeTempFile({ suffix: ".npy" });
    try {
      const data = Float32Array.from({ length: 24 }, (_, i) => i / 7);
      await writeNpy(path, { data, shape: [2, 3, 4] });
      const a = await readNpy(path);
      assert.equal(a.dtype, "float32");
      assert.deepEqual(a.shape, [2, 3, 4]);
      assert.deepEqual(a.data, data);
      // same bytes as numpy's own file for the same values
      const ref = decodeNpy(await fixture("f4_2x3x4.npy"));
      await writeNpy(path, ref);
      assert.deepEqual(
        await Deno.readFile(path),
        await fixture("f4_2x3x4.npy"),
      );
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("npyRows()", async (t) => {
  await t.step("rows of 1-d, 2-d and 3-d arrays", async () => {
    const r = npyRows(decodeNpy(await fixture("f8_2x3.npy")));
    assert.deepEqual(r.map((x) => [...x]), [A23.slice(0, 3), A23.slice(3)]);
    assert.equal(npyRows(decodeNpy(encodeNpy([1, 2]))).length, 1);
    const r3 = npyRows(decodeNpy(await fixture("f4_2x3x4.npy")));
    assert.equal(r3.length, 2);
    assert.equal(r3[1][0], 12);
    assert.throws(
      () => npyRows({ dtype: "float64", shape: [], data: new Float64Array(1) }),
      TypeError,
    );
  });
});
