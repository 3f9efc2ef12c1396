import assert from "node:assert/strict";
import fc from "fast-check";
import { readAbf } from "../../lib/io/abf.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const DIR = new URL("../fixtures/recordings/abf/", import.meta.url);
const REF = JSON.parse(
  await Deno.readTextFile(new URL("reference.json", DIR)),
).files;

// deno-lint-ignore no-explicit-any
type Any = any;

/** Relative error, with the scale of the compared statistic's range as floor. */
function close(got: number, want: number, scale: number, what: string) {
  const err = Math.abs(got - want) / Math.max(Math.abs(want), scale);
  assert.ok(err <= 1e-6, `${what}: got ${got}, want ${want} (rel ${err})`);
}

function stats(y: Float64Array) {
  let s = 0, min = Infinity, max = -Infinity;
  for (const v of y) {
    s += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / y.length;
  let q = 0;
  for (const v of y) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / y.length), min, max };
}

function segments(y: Float64Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  let a = 0;
  for (let i = 1; i <= y.length; i++) {
    if (i === y.length || y[i] !== y[a]) {
      out.push([a, i, y[a]]);
      a = i;
    }
  }
  return out;
}

for (const [name, ref] of Object.entries<Any>(REF)) {
  Deno.test(`readAbf(${name}) matches neo's reference values`, async () => {
    const abf = await readAbf(new URL(name, DIR));
    try {
      assert.equal(abf.version, ref.abf_version);
      assert.equal(abf.major, ref.abf_major);
      assert.equal(abf.operationMode, ref.operation_mode);
      assert.equal(abf.dataFormat, ref.data_format);
      assert.equal(abf.sampleRate, ref.sampling_rate_hz);
      assert.equal(abf.sweepCount, ref.n_sweeps);
      assert.equal(abf.channels.length, ref.n_channels);
      assert.deepEqual(abf.sweeps.map((s) => s.samples), ref.sweep_lengths);
      abf.sweeps.forEach((s, i) =>
        close(s.start, ref.sweep_t_start_s[i], 1e-9, `sweep ${i} start`)
      );
      ref.channels.forEach((c: Any, i: number) => {
        const ch = abf.channels[i];
        assert.equal(ch.name, c.name);
        assert.equal(ch.units, c.units);
        assert.equal(ch.adcNum, c.adc_num);
        assert.equal(ch.toSi, c.to_si);
        close(ch.gain, c.gain, 0, `${c.name} gain`);
        assert.equal(ch.offset, c.offset);
      });
      for (const sw of ref.sweeps) {
        const data = await abf.readSweep(sw.sweep);
        for (const r of sw.channels) {
          const y = data[r.channel];
          const k = ref.channels[r.channel].to_si;
          const scale = (r.max - r.min) * k;
          const what = `${name} sweep ${sw.sweep} ch ${r.channel}`;
          assert.equal(y.length, r.n);
          r.first5.forEach((v: number, i: number) =>
            close(y[i], v * k, scale, `${what} first[${i}]`)
          );
          r.last5.forEach((v: number, i: number) =>
            close(y[y.length - 5 + i], v * k, scale, `${what} last[${i}]`)
          );
          const st = stats(y);
          close(st.mean, r.mean * k, scale, `${what} mean`);
          close(st.std, r.std * k, scale, `${what} std`);
          close(st.min, r.min * k, scale, `${what} min`);
          close(st.max, r.max * k, scale, `${what} max`);
        }
      }
      if (ref.command?.available) {
        assert.equal(abf.preEpochSamples, ref.command.pre_epoch_samples);
        for (const d of ref.command.dacs) {
          const dac = abf.dacs.find((x) => x.dac === d.dac)!;
          assert.equal(dac.name, d.name);
          assert.equal(dac.units, d.units);
          assert.equal(dac.holding, d.holding);
          assert.deepEqual(
            dac.epochs.map((e) => [
              e.index,
              e.type,
              e.initLevel,
              e.levelInc,
              e.initDuration,
              e.durationInc,
            ]),
            d.epochs.map((e: Any) => [
              e.index,
              e.type,
              e.init_level,
              e.level_inc,
              e.init_duration,
              e.duration_inc,
            ]),
          );
          for (const s of d.sweeps) {
            const y = abf.stimulus(s.sweep, d.dac);
            assert.equal(y.length, s.n);
            const k = d.to_si;
            assert.deepEqual(
              segments(y),
              s.segments.map(([a, b, v]: number[]) => [a, b, v * k]),
              `${name} DAC ${d.dac} sweep ${s.sweep}`,
            );
          }
        }
      }
      assert.equal(abf.tags.length, ref.tags.length);
      ref.tags.forEach((t: Any, i: number) => {
        assert.equal(abf.tags[i].comment, t.comment);
        assert.equal(abf.tags[i].type, t.type);
        assert.equal(abf.tags[i].rawTime, t.raw_time);
        close(abf.tags[i].time, t.time_s, 1e-9, `tag ${i} time`);
      });
      assert.equal(abf.startDateTime, ref.rec_datetime_pyabf);
    } finally {
      abf.close();
    }
  });
}

Deno.test("readAbf: selections, chunks and per-sweep increments", async (t) => {
  const path = new URL("190619B_0003.abf", DIR);
  await t.step("channel by name, chosen sweeps", async () => {
    const abf = await readAbf(path, { sweeps: [9, 2], channels: ["IN 2"] });
    assert.deepEqual(abf.sweeps.map((s) => s.index), [9, 2]);
    assert.equal(abf.channels.length, 1);
    const [y] = await abf.readSweep(9);
    const want = REF["190619B_0003.abf"].sweeps[1].channels[1];
    close(y[0], want.first5[0] * 1e-3, 1e-7, "IN 2 first");
    // step of sweep s: -120 + 60 s pA, from 478 + 10000 for 10000 samples
    for (const s of [0, 3, 9]) {
      const i = abf.stimulus(s);
      assert.equal(i[10478], (-120 + 60 * s) * 1e-12);
      assert.equal(i[10477], 0);
      assert.equal(i[20478], 0);
    }
    abf.close();
  });
  await t.step("chunks concatenate the sweeps", async () => {
    const abf = await readAbf(path, { sweeps: [0, 1] });
    const whole = [...await abf.readSweep(0), ...await abf.readSweep(1)];
    const parts: number[][] = [[], []];
    let next = 0;
    for await (const c of abf.chunks({ chunkSamples: 7001 })) {
      assert.equal(c.start, next);
      next += c.samples;
      c.channels.forEach((y, k) => parts[k].push(...y));
    }
    assert.equal(next, 2 * 30640);
    assert.deepEqual(parts[0], [...whole[0], ...whole[2]]);
    assert.deepEqual(parts[1], [...whole[1], ...whole[3]]);
    abf.close();
  });
  await t.step("bytes and stream sources read like the path", async () => {
    const bytes = await Deno.readFile(path);
    const a = await readAbf(bytes, { sweeps: [4] });
    const b = await readAbf(
      ReadableStream.from([bytes.slice(0, 999), bytes.slice(999)]),
    );
    assert.deepEqual(await a.readSweep(4), await b.readSweep(4));
  });
  await t.step("unknown channel lists the channels", async () => {
    await assert.rejects(
      () => readAbf(path, { channels: ["Vm"] }),
      (e: Error) =>
        e instanceof RangeError && /"IN 0" \(mV\)/.test(e.message) &&
        /"IN 2"/.test(e.message),
    );
    await assert.rejects(() => readAbf(path, { sweeps: [10] }), RangeError);
  });
});

Deno.test("readAbf: bad files are DataFormatError with the file, section and offset", async (t) => {
  const good = await Deno.readFile(new URL("pclamp11_4ch.abf", DIR));
  const good1 = await Deno.readFile(new URL("190619B_0003.abf", DIR));
  await t.step("wrong magic", async () => {
    const b = good.slice();
    b.set([0x50, 0x4b, 3, 4]);
    await assert.rejects(
      () => readAbf(b),
      (e: DataFormatError) =>
        e instanceof DataFormatError && e.offset === 0 &&
        /signature "PK/.test(e.message),
    );
  });
  await t.step("truncated data section", async () => {
    await assert.rejects(
      () => readAbf(good.slice(0, 19456 + 160000 * 2 - 100)),
      (e: DataFormatError) =>
        e instanceof DataFormatError && /DataSection/.test(e.message) &&
        /byte 19456/.test(e.message) && e.offset === 76 + 16 * 10,
    );
    await assert.rejects(
      () => readAbf(good1.slice(0, 5000)),
      (e: DataFormatError) =>
        e instanceof DataFormatError && /ABF1 header/.test(e.message),
    );
  });
  await t.step("section offset past the end", async () => {
    const b = good.slice();
    // StringsSection (index 9): block index far past the end
    new DataView(b.buffer).setUint32(76 + 16 * 9, 100000, true);
    await assert.rejects(
      () => readAbf(b),
      (e: DataFormatError) =>
        e instanceof DataFormatError && /StringsSection/.test(e.message) &&
        e.offset === 76 + 16 * 9,
    );
  });
  await t.step("epoch table longer than the sweep", async () => {
    const b = good1.slice();
    new DataView(b.buffer).setInt32(2508 + 4, 40000, true); // lEpochInitDuration[1]
    const abf = await readAbf(b);
    assert.throws(
      () => abf.stimulus(0),
      (e: DataFormatError) =>
        e instanceof DataFormatError && /EpochSection/.test(e.message) &&
        /inconsistent/.test(e.message),
    );
  });
});

async function onlyDataFormatErrors(bytes: Uint8Array) {
  try {
    const abf = await readAbf(bytes);
    for (const s of abf.sweeps.slice(0, 2)) {
      await abf.readSweep(s.index);
      for (const d of abf.dacs) abf.stimulus(s.index, d.dac);
    }
  } catch (e) {
    if (!(e instanceof DataFormatError)) throw e;
  }
}

Deno.test("readAbf fuzz: truncations and bit flips give only DataFormatError", async () => {
  for (
    const name of [
      "pclamp11_4ch.abf",
      "2020_06_16_0001.abf",
      "190619B_0003.abf",
    ]
  ) {
    // headers and the sections behind them; data bytes do not change the parse
    const full = await Deno.readFile(new URL(name, DIR));
    const head = full.subarray(0, 20000);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: full.length - 1 }),
        (n) => onlyDataFormatErrors(full.slice(0, n)),
      ),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: head.length - 1 }),
            fc.integer({ min: 0, max: 7 }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        (flips) => {
          const b = full.slice();
          for (const [i, bit] of flips) b[i] ^= 1 << bit;
          return onlyDataFormatErrors(b);
        },
      ),
      { numRuns: 150 },
    );
  }
});
