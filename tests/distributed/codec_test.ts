// Binary formats of the distributed queue: round trips, caps checked before
// allocation, malformed headers → PayloadError naming the byte offset.
import assert from "node:assert/strict";
import {
  decodeMatrix,
  decodeSpec,
  encodeMatrix,
  encodeSpec,
  parseRedisUrl,
  PayloadError,
  redactUrl,
  sha256Hex,
  validateJob,
} from "../../distributed/mod.ts";

Deno.test("matrix round trip keeps every bit (NaN, -0, subnormals)", () => {
  const data = Float64Array.from([
    1.5,
    -0,
    NaN,
    5e-324,
    -Infinity,
    Math.PI,
  ]);
  const bytes = encodeMatrix({ rows: 2, cols: 3, tag: 7, data });
  assert.equal(bytes.length, 24 + 48);
  // decode from an unaligned view (Node Buffers from a pool are unaligned)
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const m = decodeMatrix(shifted.subarray(3));
  assert.equal(m.rows, 2);
  assert.equal(m.cols, 3);
  assert.equal(m.tag, 7);
  assert.deepEqual(
    new Uint8Array(m.data.buffer),
    new Uint8Array(data.buffer),
  );
});

Deno.test("matrix decoder checks the header against the length before allocating", () => {
  const bytes = encodeMatrix({
    rows: 1,
    cols: 2,
    tag: 0,
    data: new Float64Array(2),
  });
  // claim 2^32-1 rows: must fail on the size check, not try to allocate
  const evil = bytes.slice();
  new DataView(evil.buffer).setUint32(4, 0xffffffff, true);
  assert.throws(
    () => decodeMatrix(evil),
    (e) => e instanceof PayloadError && /4294967295/.test(e.message),
  );
  const bad = bytes.slice();
  bad[0] = 0x41;
  assert.throws(
    () => decodeMatrix(bad),
    (e) => e instanceof PayloadError && e.offset === 0,
  );
  assert.throws(
    () => decodeMatrix(bytes.subarray(0, 10)),
    PayloadError,
  );
  assert.throws(() => decodeMatrix(bytes, 20), /over the cap of 20/);
  assert.throws(
    () =>
      encodeMatrix({
        rows: 100,
        cols: 100,
        tag: 0,
        data: new Float64Array(1e4),
      }, 1000),
    RangeError,
  );
});

Deno.test("spec round trip: JSON part + f64 arrays, content hash is stable", async () => {
  const spec = {
    kind: "simulate",
    equations: "dv/dt = -v/tau : 1",
    input: { I: [Float64Array.from([1, 2, 3]), Float64Array.from([4, 5])] },
    params: ["tau"],
    dt: 1e-4,
  };
  const a = encodeSpec(spec);
  const b = encodeSpec(structuredClone(spec));
  assert.equal(await sha256Hex(a), await sha256Hex(b));
  assert.match(await sha256Hex(a), /^[0-9a-f]{64}$/);
  const back = decodeSpec(a) as typeof spec;
  assert.deepEqual(back, spec);
  assert.ok(back.input.I[1] instanceof Float64Array);
  // a different value gives a different address
  const c = encodeSpec({ ...spec, dt: 2e-4 });
  assert.notEqual(await sha256Hex(a), await sha256Hex(c));
});

Deno.test("spec encoder refuses code and non-data; decoder refuses bad references", () => {
  assert.throws(
    () => encodeSpec({ f: () => 1 }),
    (e) => e instanceof TypeError && /spec\.f is a Function/.test(e.message),
  );
  assert.throws(() => encodeSpec({ x: new Float32Array(2) }), /Float32Array/);
  assert.throws(() => encodeSpec({ x: NaN }), /finite/);
  const bytes = encodeSpec({ a: Float64Array.from([1, 2]) });
  // point the reference past the stored values
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + bytes[4]));
  const evilJson = new TextEncoder().encode(json.replace("[0,2]", "[1,9]"));
  const evil = new Uint8Array(bytes.length);
  evil.set(bytes);
  evil.set(evilJson, 8);
  assert.throws(() => decodeSpec(evil), /outside its 2 stored values/);
  assert.throws(() => decodeSpec(bytes, 10), /over the cap/);
  const proto = encodeSpec({ ok: 1 });
  const pj = new TextEncoder().encode('{"__proto__":1}');
  const evil2 = new Uint8Array(8 + pj.length);
  evil2.set(proto.subarray(0, 4));
  new DataView(evil2.buffer).setUint32(4, pj.length, true);
  evil2.set(pj, 8);
  assert.throws(() => decodeSpec(evil2), /__proto__/);
});

Deno.test("validateJob names the offending field", () => {
  assert.throws(
    () => validateJob({ kind: "simulate", equations: 1, dt: 1e-4 }),
    (e) => e instanceof PayloadError && /'equations'/.test(e.message),
  );
  assert.throws(
    () => validateJob({ kind: "exec", equations: "", dt: 1 }),
    /unknown kind "exec"/,
  );
  assert.throws(
    () =>
      validateJob({
        kind: "simulate",
        equations: "dv/dt = -v/(10*ms) : volt",
        dt: 1e-4,
        steps: 10,
        params: [],
        output: ["v"],
        features: { v: ["eval"] },
      }),
    /unknown feature 'eval'/,
  );
});

Deno.test("Redis URLs: credentials parsed, masked in text, bad URLs refused", () => {
  const { target, options } = parseRedisUrl(
    "rediss://alice:p%40ss%2Fw0rd@cache.example.org:6380/2",
  );
  assert.deepEqual(target, {
    host: "cache.example.org",
    port: 6380,
    tls: true,
    db: 2,
  });
  assert.equal(options.username, "alice");
  assert.equal(options.password, "p@ss/w0rd");
  assert.ok(options.tls);
  assert.equal(parseRedisUrl("redis://h").target.port, 6379);
  assert.equal(
    redactUrl("redis://alice:s3cr@t@h:1/0"),
    "redis://alice:***@h:1/0",
  );
  assert.equal(redactUrl("redis://:pw@h:1"), "redis://:***@h:1");
  assert.equal(redactUrl("redis://h:1"), "redis://h:1");
  assert.throws(() => parseRedisUrl("http://h:1"), /redis:\/\/ or rediss:\/\//);
  assert.throws(
    () => parseRedisUrl("redis://:secret@h:1/x"),
    (e) =>
      e instanceof TypeError && /database/.test(e.message) &&
      !e.message.includes("secret"),
  );
  assert.throws(
    () => parseRedisUrl("not a url :secret@"),
    (e) => e instanceof TypeError && !e.message.includes("secret"),
  );
});
