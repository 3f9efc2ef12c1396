// Peak RSS of a streamed fit (examples/stream_fit_abf.ts) against recording
// length: a real gap-free ABF2 file (2020_07_29_0062.abf, 18.4 s) and files
// assembled from it by repeating its data section k times (section pointers
// behind the data shifted, DataSection entry count scaled). Writes JSON to
// stdout: [{ k, samples, seconds, peakRssMiB, mse }].
//
// By default the example runs as a user would run it (no V8 flags): the peak
// includes garbage the collector has not yet freed. --gc runs it with
// --expose-gc, collecting garbage before each RSS sample (every 50 ms), so the
// peak is memory kept alive; --heap N caps the V8 old space at N MiB.
//
//   deno run -A bench/abf_stream_rss.ts [--gc] [--heap MiB] [k...]   (default 1 4 16 64)
//
// Measured 2026-12-04 on a shared 2-core machine, peak RSS in MiB for
// k = 1, 4, 16, 64 (0.18, 0.74, 2.95, 11.8 M samples, 8 CMA-ES rounds of 32):
//
//   mode       before                   one kernel/round        + recycled buffers
//   default    113.5 127.0 171.1 201.7  107.0 116.3 148.4 149.4  90.2 89.4 92.9 89.2
//   --heap 64   91.7 111.7 119.8 161.2   91.2 139.2 145.6 144.5  93.3 84.9 88.4 85.7
//   --gc        84.6  87.3 104.9 109.8   86.5  98.4 100.2 111.6  86.5 84.7 84.5 85.9
//
// "before" compiled a wasm kernel (module + memory) per 65,536-sample block
// and grew with the length in every mode, even with a capped heap (the
// garbage is off the JS heap). With one kernel per round (Runner.continueWith)
// what was left was V8 letting ~64 MiB of chunk ArrayBuffers pile up before
// collecting (peak `external` 58-72 MiB): a plateau reached over the first
// 1-3 M samples. The readers now recycle their arrays (reuseBuffers) and
// continueWith copies nothing: no allocation per block, flat from the start.
const src = new URL(
  "../tests/fixtures/recordings/abf/2020_07_29_0062.abf",
  import.meta.url,
);
const bytes = await Deno.readFile(src);
const view = new DataView(bytes.buffer);
const dataEntry = 76 + 16 * 10;
const dataBlock = view.getUint32(dataEntry, true);
const dataStart = dataBlock * 512;
const dataBytes = Number(view.getBigInt64(dataEntry + 8, true)) * 2;
if (dataBytes % 512 !== 0) throw new Error("data section is not whole blocks");
// --heap N caps the V8 heap at N MiB: the fit must still complete for every
// length (it would run out of memory if it kept data proportional to length)
const hi = Deno.args.indexOf("--heap");
const heap = hi >= 0 ? Number(Deno.args[hi + 1]) : 0;
const gc = Deno.args.includes("--gc");
const rest = Deno.args.filter((a, i) =>
  a !== "--gc" && (hi < 0 || (i !== hi && i !== hi + 1))
);
const ks = rest.length ? rest.map(Number) : [1, 4, 16, 64];
const v8 = [
  ...(gc ? ["--expose-gc"] : []),
  ...(heap ? [`--max-old-space-size=${heap}`] : []),
];
const dir = await Deno.makeTempDir({ prefix: "abf_rss_" });
const out = [];
for (const k of ks) {
  const total = dataStart + k * dataBytes +
    (bytes.length - dataStart - dataBytes);
  const b = new Uint8Array(total);
  b.set(bytes.subarray(0, dataStart));
  for (let i = 0; i < k; i++) {
    b.set(
      bytes.subarray(dataStart, dataStart + dataBytes),
      dataStart + i * dataBytes,
    );
  }
  b.set(bytes.subarray(dataStart + dataBytes), dataStart + k * dataBytes);
  const v = new DataView(b.buffer);
  for (let s = 0; s < 18; s++) {
    const at = v.getUint32(76 + 16 * s, true);
    if (at > dataBlock) {
      v.setUint32(76 + 16 * s, at + (k - 1) * dataBytes / 512, true);
    }
  }
  v.setBigInt64(dataEntry + 8, BigInt(k * dataBytes / 2), true);
  const path = `${dir}/x${k}.abf`;
  await Deno.writeFile(path, b);
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(v8.length ? [`--v8-flags=${v8.join(",")}`] : []),
      new URL("../examples/stream_fit_abf.ts", import.meta.url).pathname,
      "--file",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  const samples = Number(/: (\d+) samples/.exec(text)![1]);
  out.push({
    k,
    heapLimitMiB: heap || null,
    forcedGc: gc,
    samples,
    seconds: samples / 10000,
    peakRssMiB: Number(/peak RSS ([\d.]+) MiB/.exec(text)![1]),
    mse: Number(/MSE ([\d.e+-]+) V/.exec(text)![1]),
  });
  await Deno.remove(path);
}
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify(out, null, 2));
