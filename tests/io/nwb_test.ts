import assert from "node:assert/strict";
import { readNwb } from "../../lib/io/nwb.ts";
import { loadH5wasm } from "../../lib/io/_nwb_deps.ts";
import { DataFormatError } from "../../lib/io/errors.ts";

const DIR = new URL("../fixtures/recordings/nwb/", import.meta.url);
const REF = JSON.parse(
  await Deno.readTextFile(new URL("reference.json", DIR)),
).files;

// deno-lint-ignore no-explicit-any
type Any = any;

function close(got: number, want: number, scale: number, what: string) {
  const err = Math.abs(got - want) / Math.max(Math.abs(want), scale);
  assert.ok(err <= 1e-6, `${what}: got ${got}, want ${want} (rel ${err})`);
}

function stats(y: Float64Array) {
  let s = 0, min = Infinity, max = -Infinity;
  for (const v of y) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / y.length;
  let q = 0;
  for (const v of y) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / y.length), min, max };
}

for (const [name, ref] of Object.entries<Any>(REF)) {
  Deno.test(`readNwb(${name}) matches h5py's reference values`, async () => {
    const nwb = await readNwb(new URL(name, DIR));
    try {
      assert.equal(nwb.nwbVersion, ref.nwb_version);
      assert.equal(nwb.identifier, ref.identifier);
      assert.equal(nwb.sessionStartTime, ref.session_start_time);
      assert.deepEqual(
        nwb.series.map((s) => s.path),
        ref.series.map((s: Any) => s.path),
      );
      assert.equal(nwb.grouping, "sweep_table");
      for (const r of ref.series) {
        const s = nwb.series.find((x) => x.path === r.path)!;
        assert.equal(s.neurodataType, r.neurodata_type);
        assert.equal(s.unit, r.unit);
        assert.equal(s.conversion, r.conversion);
        assert.equal(s.offset, r.offset ?? 0);
        assert.equal(s.resolution, r.resolution);
        assert.equal(s.samples, r.n_samples);
        assert.equal(s.rate, r.rate);
        assert.equal(s.startingTime, r.starting_time);
        assert.equal(s.sweepNumber, r.sweep_number);
        assert.equal(s.electrode, r.electrode);
        // units are SI already (volts, amperes), so the SI factor is 1
        const y = await nwb.readSeries(s.name);
        const scale = r.max - r.min;
        r.first5.forEach((v: number, i: number) =>
          close(y[i], v, scale, `${r.path} first[${i}]`)
        );
        r.last5.forEach((v: number, i: number) =>
          close(y[y.length - 5 + i], v, scale, `${r.path} last[${i}]`)
        );
        const st = stats(y);
        close(st.mean, r.mean, scale, `${r.path} mean`);
        close(st.std, r.std, scale, `${r.path} std`);
        close(st.min, r.min, scale, `${r.path} min`);
        close(st.max, r.max, scale, `${r.path} max`);
      }
      // sweep_table rows: every sweep pairs its response with its stimulus
      const t = ref.tables.sweep_table.columns;
      const want = new Map<number, string[]>();
      t.sweep_number.forEach((n: number, i: number) => {
        const from = i === 0 ? 0 : t.series_index[i - 1];
        for (const p of t.series.slice(from, t.series_index[i])) {
          want.set(n, [...(want.get(n) ?? []), p.split("/").pop()]);
        }
      });
      assert.deepEqual(
        nwb.sweeps.map((s) => s.sweep),
        [...want.keys()].sort((a, b) => a - b),
      );
      for (const s of nwb.sweeps) {
        assert.deepEqual(
          [...s.responses, ...s.stimuli].sort(),
          want.get(s.sweep)!.sort(),
        );
        assert.equal(nwb.stimulusOf(s.responses[0])?.name, s.stimuli[0]);
      }
    } finally {
      nwb.close();
    }
  });
}

Deno.test("readNwb: ranged reads and chunks equal the whole series", async () => {
  const nwb = await readNwb(
    new URL("LantyerEtAl2018_180817_ME_9_CC.nwb", DIR),
    {
      series: ["CurrentClampSeries_03", "CurrentClampStimulusSeries_03"],
    },
  );
  assert.deepEqual(nwb.series.map((s) => s.name), [
    "CurrentClampSeries_03",
    "CurrentClampStimulusSeries_03",
  ]);
  const whole = await nwb.readSeries("CurrentClampSeries_03");
  assert.deepEqual(
    await nwb.readSeries("CurrentClampSeries_03", 1000, 77),
    whole.slice(1000, 1077),
  );
  const got: number[] = [];
  let next = 0;
  for await (
    const c of nwb.chunks("CurrentClampSeries_03", { chunkSamples: 5000 })
  ) {
    assert.equal(c.start, next);
    next += c.samples;
    got.push(...c.channels[0]);
  }
  assert.deepEqual(got, [...whole]);
  const t = nwb.readTimes("CurrentClampSeries_03", 20000, 2);
  assert.deepEqual([...t], [1, 1 + 1 / 20000]);
  await assert.rejects(
    () =>
      readNwb(new URL("LantyerEtAl2018_180817_ME_9_CC.nwb", DIR), {
        series: ["Vm"],
      }),
    (e: Error) =>
      e instanceof RangeError &&
      /CurrentClampSeries_10 \(CurrentClampSeries, volts\)/.test(e.message),
  );
  nwb.close();
});

/** Writes a small NWB 2.4 icephys file with the intracellular tables. */
async function writeNwb24(path: string) {
  const h5 = await loadH5wasm();
  const f = new h5.File(path, "w");
  const meta = (o: Any, type: string, extra: Record<string, unknown> = {}) => {
    o.create_attribute("neurodata_type", type);
    o.create_attribute("namespace", "core");
    o.create_attribute("object_id", crypto.randomUUID());
    for (const [k, v] of Object.entries(extra)) o.create_attribute(k, v);
  };
  meta(f, "NWBFile", { nwb_version: "2.4.0" });
  f.create_dataset({ name: "identifier", data: "test-2.4" });
  f.create_dataset({
    name: "session_description",
    data: "written by nwb_test.ts",
  });
  f.create_dataset({
    name: "session_start_time",
    data: "2026-12-04T12:00:00+00:00",
  });
  f.create_dataset({
    name: "timestamps_reference_time",
    data: "2026-12-04T12:00:00+00:00",
  });
  f.create_group("acquisition");
  f.create_group("stimulus");
  f.create_group("stimulus/presentation");
  f.create_group("general");
  const ice = f.create_group("general/intracellular_ephys");
  const el = ice.create_group("elec0");
  meta(el, "IntracellularElectrode");
  el.create_dataset({ name: "description", data: "test electrode" });
  const series = (
    where: string,
    name: string,
    type: string,
    data: Int16Array,
    unit: string,
    conversion: number,
    offset: number,
    timed: "rate" | "timestamps",
  ) => {
    const g = f.create_group(`${where}/${name}`);
    meta(g, type, { description: "no description", comments: "no comments" });
    const d = g.create_dataset({
      name: "data",
      data,
      chunks: [64],
      compression: "gzip",
    });
    d.create_attribute("unit", unit);
    d.create_attribute("conversion", conversion, null, "<f4");
    d.create_attribute("offset", offset, null, "<f4");
    d.create_attribute("resolution", -1, null, "<f4");
    if (timed === "rate") {
      const s = g.create_dataset({ name: "starting_time", data: 0.5 });
      s.create_attribute("rate", 1000);
      s.create_attribute("unit", "seconds");
    } else {
      const ts = Float64Array.from(
        { length: data.length },
        (_, i) => 2 + i * 0.002,
      );
      g.create_dataset({ name: "timestamps", data: ts });
    }
    g.create_soft_link("/general/intracellular_ephys/elec0", "electrode");
    return g;
  };
  const n = 300;
  const v0 = Int16Array.from({ length: n }, (_, i) => -700 + (i % 50));
  const v1 = Int16Array.from({ length: n }, (_, i) => -650 + (i % 7));
  const i0 = Int16Array.from(
    { length: n },
    (_, i) => (i >= 100 && i < 200 ? 100 : 0),
  );
  const i1 = Int16Array.from(
    { length: n },
    (_, i) => (i >= 100 && i < 200 ? 200 : 0),
  );
  // data · conversion + offset: 0.1 mV steps and a -5 mV offset; 1 pA steps
  const r0 = series(
    "acquisition",
    "ccs_a",
    "CurrentClampSeries",
    v0,
    "volts",
    1e-4,
    -0.005,
    "rate",
  );
  const r1 = series(
    "acquisition",
    "ccs_b",
    "CurrentClampSeries",
    v1,
    "volts",
    1e-4,
    -0.005,
    "timestamps",
  );
  const s0 = series(
    "stimulus/presentation",
    "stim_a",
    "CurrentClampStimulusSeries",
    i0,
    "amperes",
    1e-12,
    0,
    "rate",
  );
  const s1 = series(
    "stimulus/presentation",
    "stim_b",
    "CurrentClampStimulusSeries",
    i1,
    "amperes",
    1e-12,
    0,
    "timestamps",
  );
  // intracellular_recordings rows: row 0 = b, row 1 = a
  const ir = ice.create_group("intracellular_recordings");
  meta(ir, "IntracellularRecordingsTable", {
    description: "rows",
    colnames: [],
    categories: ["electrodes", "stimuli", "responses"],
  });
  ir.create_dataset({ name: "id", data: new Int32Array([0, 1]) });
  const sub = (
    name: string,
    type: string,
    col: string,
    refs: Any[] | null,
    rows: Any[] | null,
  ) => {
    const g = ir.create_group(name);
    meta(g, type, { description: name, colnames: [col] });
    g.create_dataset({ name: "id", data: new Int32Array([0, 1]) });
    if (refs) g.create_dataset({ name: col, data: refs });
    if (rows) {
      g.create_dataset({
        name: col,
        // h5wasm takes compound data as columns
        data: new Map([
          ["idx_start", rows.map((r) => r[0])],
          ["count", rows.map((r) => r[1])],
          ["timeseries", rows.map((r) => r[2])],
        ]),
        dtype: [["idx_start", "<i4"], ["count", "<i4"], [
          "timeseries",
          "Reference",
        ]],
      });
    }
  };
  sub("electrodes", "IntracellularElectrodesTable", "electrode", [
    el.create_reference(),
    el.create_reference(),
  ], null);
  sub("stimuli", "IntracellularStimuliTable", "stimulus", null, [[
    0,
    n,
    s1.create_reference(),
  ], [0, n, s0.create_reference()]]);
  sub("responses", "IntracellularResponsesTable", "response", null, [[
    0,
    n,
    r1.create_reference(),
  ], [0, n, r0.create_reference()]]);
  // simultaneous_recordings: id 5 = row 1 (a), id 7 = row 0 (b)
  const sim = ice.create_group("simultaneous_recordings");
  meta(sim, "SimultaneousRecordingsTable", {
    description: "sweeps",
    colnames: ["recordings"],
  });
  sim.create_dataset({ name: "id", data: new Int32Array([5, 7]) });
  sim.create_dataset({ name: "recordings", data: new Int32Array([1, 0]) });
  sim.create_dataset({
    name: "recordings_index",
    data: new Int32Array([1, 2]),
  });
  const seq = ice.create_group("sequential_recordings");
  meta(seq, "SequentialRecordingsTable", {
    description: "protocol",
    colnames: ["simultaneous_recordings", "stimulus_type"],
  });
  seq.create_dataset({ name: "id", data: new Int32Array([0]) });
  seq.create_dataset({
    name: "simultaneous_recordings",
    data: new Int32Array([0, 1]),
  });
  seq.create_dataset({
    name: "simultaneous_recordings_index",
    data: new Int32Array([2]),
  });
  seq.create_dataset({ name: "stimulus_type", data: ["step"] });
  f.close();
  return { v0, v1, i0, i1 };
}

Deno.test("readNwb: an NWB 2.4 file grouped by its icephys tables", async () => {
  const path = await Deno.makeTempFile({ suffix: ".nwb" });
  try {
    const { v0, v1, i1 } = await writeNwb24(path);
    const nwb = await readNwb(path);
    assert.equal(nwb.nwbVersion, "2.4.0");
    assert.equal(nwb.grouping, "intracellular_recordings");
    assert.deepEqual(nwb.sweeps, [
      { sweep: 5, responses: ["ccs_a"], stimuli: ["stim_a"] },
      { sweep: 7, responses: ["ccs_b"], stimuli: ["stim_b"] },
    ]);
    assert.equal(nwb.stimulusOf("ccs_b")?.name, "stim_b");
    const conv = Math.fround(1e-4), off = Math.fround(-0.005);
    const a = await nwb.readSeries("ccs_a");
    const b = await nwb.readSeries("ccs_b");
    v0.forEach((x, i) => assert.equal(a[i], x * conv + off));
    v1.forEach((x, i) => assert.equal(b[i], x * conv + off));
    const s = await nwb.readSeries("stim_b");
    i1.forEach((x, i) => assert.equal(s[i], x * Math.fround(1e-12)));
    assert.equal(
      nwb.series.find((x) => x.name === "ccs_b")!.hasTimestamps,
      true,
    );
    assert.deepEqual([...nwb.readTimes("ccs_b", 10, 2)], [
      2 + 10 * 0.002,
      2 + 11 * 0.002,
    ]);
    assert.deepEqual([...nwb.readTimes("ccs_a", 10, 1)], [0.5 + 10 / 1000]);
    assert.equal(nwb.series[0].electrode, "/general/intracellular_ephys/elec0");
    nwb.close();
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("readNwb: bad files are DataFormatError naming the file and path", async () => {
  await assert.rejects(
    () => readNwb(new TextEncoder().encode("not hdf5 at all")),
    (e: Error) =>
      e instanceof DataFormatError && /not an HDF5 file/.test(e.message),
  );
  const h5 = await loadH5wasm();
  const path = await Deno.makeTempFile({ suffix: ".h5" });
  try {
    const f = new h5.File(path, "w");
    f.create_dataset({ name: "x", data: new Float64Array([1, 2]) });
    f.close();
    await assert.rejects(
      () => readNwb(path),
      (e: Error) =>
        e instanceof DataFormatError &&
        /not NWB: attribute \/nwb_version/.test(e.message),
    );
    const g = new h5.File(path, "w");
    g.create_attribute("nwb_version", "2.5.0");
    g.create_group("acquisition");
    g.close();
    await assert.rejects(
      async () => readNwb(await Deno.readFile(path)),
      (e: Error) =>
        e instanceof DataFormatError &&
        /<bytes>: NWB 2.5.0 file has no icephys series/.test(e.message),
    );
  } finally {
    await Deno.remove(path);
  }
});
