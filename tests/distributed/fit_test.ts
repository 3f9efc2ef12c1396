// TraceFitter.fit({ executor }): the brian2modelfitting tutorial HH model,
// reduced to 2 of its 5 recorded traces and a small optimization (the DE
// population x 4 rounds), fitted in this process and through 2 worker
// subprocesses on a private redis-server. Same seed → the same asks, so the same errors give
// the same history and the same best parameters, compared exactly.
import assert from "node:assert/strict";
import { LocalExecutor, redisExecutor } from "../../distributed/mod.ts";
import {
  DifferentialEvolution,
  type FitExecutor,
  MSEMetric,
  OnlineTraceFitter,
  SpikeFitter,
  TraceFitter,
} from "../../lib/fitting/mod.ts";
import { readCsvMatrix } from "../../lib/io/mod.ts";
import { TUTORIAL_DATA } from "../_ref.ts";
import { REDIS_AVAILABLE, startRedis, startWorker } from "./_redis.ts";

// a run that hangs (lost batch) fails the test instead of blocking it
const LIMIT = 90_000;

const MODEL = `
  dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
  dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
          - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
  dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
          - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
  dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
  g_na : siemens (constant)
  g_kd : siemens (constant)
  gl   : siemens (constant)
`;

const BOUNDS = {
  gl: ["2 psiemens", "200 nS"],
  g_na: ["200 nS", "0.4 mS"],
  g_kd: ["200 nS", "200 uS"],
} as const;

async function makeFitter(): Promise<TraceFitter> {
  const input = await readCsvMatrix(
    new URL("input_traces_hh.csv", TUTORIAL_DATA),
  );
  const output = await readCsvMatrix(
    new URL("output_traces_hh.csv", TUTORIAL_DATA),
    { scale: 1e-3 },
  );
  return new TraceFitter({
    model: MODEL,
    namespace: {
      El: "-65 mV",
      EK: "-90 mV",
      ENa: "50 mV",
      VT: "-63 mV",
      Cm: "200 pF",
    },
    input: { I: input.data.slice(1, 3) },
    output: { v: output.data.slice(1, 3) },
    dt: 1e-5,
    nSamples: 20,
    method: "exponential_euler",
    paramInit: { v: "-65 mV" },
  });
}

async function fitWith(
  executor: FitExecutor | undefined,
) {
  const fitter = await makeFitter();
  const r = await fitter.fit({
    optimizer: new DifferentialEvolution({ seed: 11 }),
    metric: new MSEMetric(),
    nRounds: 4,
    callback: null,
    params: BOUNDS,
    executor,
  });
  return {
    r,
    table: fitter.results({ format: "table" }).rows,
    nSamples: fitter.nSamples,
  };
}

Deno.test("fit({ executor: LocalExecutor }) gives the same history as the default", async () => {
  const local = await fitWith(undefined);
  const viaJob = await fitWith(new LocalExecutor());
  // the optimizer chose the population size (>= the 20 asked for)
  assert.ok(local.nSamples >= 20);
  assert.equal(local.table.length, 4 * local.nSamples);
  assert.deepEqual(viaJob.table, local.table);
  assert.deepEqual(viaJob.r, local.r);
});

Deno.test("fit({ executor }) is refused with a clear error where it is not supported", async () => {
  const fitter = await makeFitter();
  await assert.rejects(
    fitter.fit({
      params: BOUNDS,
      callback: null,
      executor: { evaluate: () => Promise.reject(new Error("unused")) },
      metric: new (class extends MSEMetric {})(),
    }),
    /cannot run on an executor yet; use MSEMetric/,
  );
  await assert.rejects(
    fitter.fit({
      params: BOUNDS,
      callback: null,
      executor: {} as never,
    }),
    /executor must have an evaluate/,
  );
  const online = new OnlineTraceFitter({
    model: "dv/dt = (El - v + R*I)/tau : volt\ntau : second (constant)",
    namespace: { El: "-70 mV", R: "100 Mohm" },
    input: { I: [new Float64Array(100)] },
    output: { v: [new Float64Array(100).fill(-0.07)] },
    dt: 1e-4,
    paramInit: { v: "-70 mV" },
  });
  await assert.rejects(
    online.fit({
      params: { tau: ["1 ms", "10 ms"] },
      callback: null,
      executor: new LocalExecutor(),
    }),
    /OnlineTraceFitter cannot run on an executor yet/,
  );
});

// the SpikeFitter example of its docs (AdEx-like, GammaFactor)
function makeSpikeFitter(): SpikeFitter {
  const I = [
    Float64Array.from(
      { length: 600 },
      (_, k) => (k >= 50 && k < 300 ? 5e-9 : 0),
    ),
  ];
  return new SpikeFitter({
    model:
      "dv/dt = (gL*(EL-v)+gL*DeltaT*exp((v-VT)/DeltaT) + I)/C : volt\ngL : siemens (constant)\nC : farad (constant)",
    namespace: { EL: "-70 mV", VT: "-50 mV", DeltaT: "2 mV" },
    input: { I },
    output: [[9.2e-3, 13.5e-3, 17.8e-3, 22.1e-3, 26.4e-3]],
    dt: 1e-4,
    threshold: "v > -50*mV",
    reset: "v = -70*mV",
    paramInit: { v: "-70 mV" },
    nSamples: 30,
  });
}

async function spikeFitWith(executor: FitExecutor | undefined) {
  const fitter = makeSpikeFitter();
  const r = await fitter.fit({
    optimizer: new DifferentialEvolution({ seed: 2 }),
    nRounds: 3,
    callback: null,
    params: { gL: ["10 nS", "100 nS"], C: ["0.3 nF", "3 nF"] },
    executor,
  });
  return { r, table: fitter.results({ format: "table" }).rows };
}

Deno.test("SpikeFitter.fit({ executor: LocalExecutor }) gives the same history as the default", async () => {
  const local = await spikeFitWith(undefined);
  const viaJob = await spikeFitWith(new LocalExecutor());
  assert.ok(local.table.length >= 90);
  assert.deepEqual(viaJob.table, local.table);
  assert.deepEqual(viaJob.r, local.r);
});

Deno.test({
  name:
    "TraceFitter tutorial fit (and a SpikeFitter fit) through 2 workers: same best parameters and history as the local run",
  ignore: !REDIS_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const workers = [0, 1].map((k) =>
      startWorker(server.url, ["--queue", "fit", "--name", `w${k}`])
    );
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready/)));
      const local = await fitWith(undefined);
      // batches of 5 sets: several per round, both workers get work
      const exec = await redisExecutor({
        url: server.url,
        queue: "fit",
        timeoutMs: LIMIT,
        batchSize: 5,
      });
      try {
        const remote = await fitWith(exec);
        assert.deepEqual(remote.r.params, local.r.params);
        assert.equal(remote.r.error, local.r.error);
        assert.deepEqual(remote.table, local.table);
        const reports = await exec.workers();
        assert.equal(
          reports.reduce((a, w) => a + w.batches, 0),
          4 * Math.ceil(local.nSamples / 5),
          "each batch of each round was evaluated once",
        );
        assert.equal(reports.length, 2, "both workers evaluated batches");
        // a SpikeFitter (GammaFactor computed on the workers) through the same queue
        const spikeLocal = await spikeFitWith(undefined);
        const spikeRemote = await spikeFitWith(exec);
        assert.deepEqual(spikeRemote.table, spikeLocal.table);
        assert.deepEqual(spikeRemote.r, spikeLocal.r);
      } finally {
        await exec.close();
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await server.stop();
    }
  },
});
