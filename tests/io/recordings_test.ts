import assert from "node:assert/strict";
import { lastValueFrom, toArray } from "rxjs";
import { loadTraces, readAbf, readChunks, readNwb } from "../../mod.ts";
import { fromRecording } from "../../streams/mod.ts";

const ABF = new URL("../fixtures/recordings/abf/", import.meta.url);
const NWB = new URL("../fixtures/recordings/nwb/", import.meta.url);

Deno.test("loadTraces(abf): sweeps x (IN 0, synthesised command), SI", async () => {
  const path = new URL("190619B_0003.abf", ABF);
  const t = await loadTraces(path, {
    sweeps: [0, 1, 2],
    output: "IN 0",
    input: "stimulus",
  });
  assert.equal(t.dt, 1e-4);
  assert.deepEqual(t.sweeps, [0, 1, 2]);
  assert.deepEqual(t.units, { input: "A", output: "V" });
  const abf = await readAbf(path, { channels: [0] });
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(t.output[k], (await abf.readSweep(k))[0]);
    assert.deepEqual(t.input[k], abf.stimulus(k, 0));
    assert.equal(t.input[k][15000], (-120 + 60 * k) * 1e-12);
  }
  abf.close();
  // defaults: every sweep, first channel, the active DAC's command
  const all = await loadTraces(path);
  assert.equal(all.output.length, 10);
  assert.equal(all.input[9][15000], 420e-12);
});

Deno.test("loadTraces: a wrong name lists what the file has", async () => {
  await assert.rejects(
    () => loadTraces(new URL("pclamp11_4ch.abf", ABF), { output: "Vm" }),
    (e: Error) =>
      e instanceof RangeError && /no channel "Vm"/.test(e.message) &&
      /3 "IN 3" \(pA\)/.test(e.message) &&
      /"DAC 3" "Cmd 3" \(mV\)/.test(e.message),
  );
  await assert.rejects(
    () =>
      loadTraces(new URL("LantyerEtAl2018_180817_ME_9_CC.nwb", NWB), {
        sweeps: [99],
      }),
    (e: Error) =>
      e instanceof RangeError && /no sweep 99; sweeps: 1, 2, 3/.test(e.message),
  );
  await assert.rejects(
    () => loadTraces("cell.dat"),
    /pass format: "abf" or "nwb"/,
  );
});

Deno.test("loadTraces(nwb): every CurrentClampSeries with its stimulus, in sweep order", async () => {
  const path = new URL("LantyerEtAl2018_180817_ME_9_CC.nwb", NWB);
  const t = await loadTraces(path);
  assert.deepEqual(t.sweeps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(t.dt, 1 / 20000);
  assert.deepEqual(t.units, { input: "A", output: "V" });
  const nwb = await readNwb(path);
  assert.deepEqual(t.output[4], await nwb.readSeries("CurrentClampSeries_05"));
  assert.deepEqual(
    t.input[4],
    await nwb.readSeries("CurrentClampStimulusSeries_05"),
  );
  nwb.close();
  const vc = await loadTraces(
    new URL("LantyerEtAl2018_170328_AB_277_ST50_C.nwb", NWB),
    {
      output: "VoltageClampSeries",
    },
  );
  assert.deepEqual(vc.units, { input: "V", output: "A" });
  assert.equal(vc.output.length, 2);
});

Deno.test("readChunks and fromRecording read ABF and NWB files in chunks", async () => {
  const path = new URL("2020_07_29_0062.abf", ABF);
  const abf = await readAbf(path);
  const [v, i] = await abf.readSweep(0);
  abf.close();
  const chunks = [];
  for await (
    const c of readChunks(path, { format: "abf", chunkSamples: 50000 })
  ) chunks.push(c);
  assert.deepEqual(chunks.map((c) => [c.start, c.samples]), [
    [0, 50000],
    [50000, 50000],
    [100000, 50000],
    [150000, 34320],
  ]);
  assert.deepEqual(chunks.flatMap((c) => [...c.channels[0]]), [...v]);
  assert.deepEqual(chunks.flatMap((c) => [...c.channels[1]]), [...i]);
  const obs = await lastValueFrom(
    fromRecording(path, {
      format: "abf",
      chunkSamples: 50000,
      select: ["I_Com"],
    }).pipe(toArray()),
  );
  assert.deepEqual(obs.map((c) => c.channels.length), [1, 1, 1, 1]);
  assert.deepEqual(obs.flatMap((c) => [...c.channels[0]]), [...i]);
  const npath = new URL("LantyerEtAl2018_180817_ME_9_CC.nwb", NWB);
  const n = await lastValueFrom(
    fromRecording(npath, {
      format: "nwb",
      chunkSamples: 10000,
      select: ["CurrentClampSeries_02", "CurrentClampStimulusSeries_02"],
    })
      .pipe(toArray()),
  );
  assert.deepEqual(n.map((c) => c.samples), [10000, 10000, 3200]);
  const nwb = await readNwb(npath);
  assert.deepEqual(n.flatMap((c) => [...c.channels[1]]), [
    ...await nwb.readSeries("CurrentClampStimulusSeries_02"),
  ]);
  nwb.close();
});

Deno.test("OnlineTraceFitter.create reads ABF channels from the file", async () => {
  const { OnlineTraceFitter } = await import("../../lib/fitting/mod.ts");
  const f = new URL("2020_07_29_0062.abf", ABF).pathname;
  const fitter = await OnlineTraceFitter.create({
    model:
      "dv/dt = (gl*(El - v) + I)/C : volt\ngl : siemens (constant)\nC : farad (constant)\nEl : volt (constant)",
    input: { I: { path: f, select: ["I_Com"] } },
    output: { v: fromRecording(f, { format: "abf", select: ["Potential"] }) },
    dt: 1e-4,
    nSamples: 4,
    paramInit: { v: "El" },
  });
  try {
    assert.equal(fitter.nSteps, 184320);
    assert.deepEqual(fitter.sources, { I: "file", v: "file" });
  } finally {
    await fitter.dispose();
  }
});
