/**
 * Distributed executor benchmark on the brian2modelfitting tutorial problem
 * (HH model, 5 traces x 1497 steps at 0.01 ms, data/b2mf): the same fit
 * batches (errors computed where they are simulated) evaluated
 *
 * - by the local executor (this process),
 * - through Redis by 1 and by 2 worker subprocesses,
 *
 * for each batch size. Reports parameter sets (and neuron simulations) per
 * second, the scaling efficiency of 2 workers (speed-up / 2), the broker
 * overhead per batch (wall time of the 1-worker run minus the time the
 * worker spent simulating, per batch; as a share of the simulation time)
 * and the bytes that travel per parameter set (batch + result payloads).
 * Starts its own redis-server (AOF on, as documented) unless `--redis URL`.
 *
 * Writes out/distributed_bench.json and prints it.
 *
 * Run: deno run -A bench/distributed_bench.ts [--sizes 100,1000] [--sets 2000]
 *   [--redis redis://127.0.0.1:6379]
 * On a shared machine, numbers for 2 workers reflect the idle cores left.
 * @module
 */
import { parseArgs } from "node:util";
import {
  DifferentialEvolution,
  type EvaluatedSets,
  type FitExecutor,
  MSEMetric,
  type TraceFitJob,
  TraceFitter,
} from "../lib/fitting/mod.ts";
import { readCsvMatrix } from "../lib/io/mod.ts";
import {
  encodeMatrix,
  LocalExecutor,
  redisExecutor,
  type TaggedMatrix,
} from "../distributed/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "100,1000" },
    sets: { type: "string", default: "2000" },
    redis: { type: "string" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const minSets = Number(values.sets);

const data = new URL("../data/b2mf/", import.meta.url);
const input = await readCsvMatrix(new URL("input_traces_hh.csv", data));
const output = await readCsvMatrix(new URL("output_traces_hh.csv", data), {
  scale: 1e-3,
});
const fitter = new TraceFitter({
  model: `
    dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
    dm/dt = 0.32*(mV**-1)*(13.*mV-v+VT)/(exp((13.*mV-v+VT)/(4.*mV))-1.)/ms*(1-m)
            - 0.28*(mV**-1)*(v-VT-40.*mV)/(exp((v-VT-40.*mV)/(5.*mV))-1.)/ms*m : 1
    dn/dt = 0.032*(mV**-1)*(15.*mV-v+VT)/(exp((15.*mV-v+VT)/(5.*mV))-1.)/ms*(1.-n)
            - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
    dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
    g_na : siemens (constant)
    g_kd : siemens (constant)
    gl   : siemens (constant)
  `,
  namespace: {
    El: "-65 mV",
    EK: "-90 mV",
    ENa: "50 mV",
    VT: "-63 mV",
    Cm: "200 pF",
  },
  input: { I: input.data },
  output: { v: output.data },
  dt: 1e-5,
  nSamples: 10,
  method: "exponential_euler",
  paramInit: { v: "-65 mV" },
});
// capture the job as fit() hands it to an executor
let job: TraceFitJob | null = null;
const local = new LocalExecutor();
const capture: FitExecutor = {
  evaluate(j, sets, it): Promise<EvaluatedSets> {
    job = j as TraceFitJob;
    return local.evaluate(j, sets, it);
  },
};
await fitter.fit({
  optimizer: new DifferentialEvolution({ seed: 1 }),
  metric: new MSEMetric(),
  nRounds: 1,
  callback: null,
  executor: capture,
  params: {
    gl: ["2 psiemens", "200 nS"],
    g_na: ["200 nS", "0.4 mS"],
    g_kd: ["200 nS", "200 uS"],
  },
});
const theJob = job as unknown as TraceFitJob;
const nTraces = fitter.nTraces;

/** Batches of random parameter sets within the tutorial bounds (fixed seed). */
function makeBatches(size: number, total: number): TaggedMatrix[] {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lo = { gl: 2e-12, g_na: 2e-7, g_kd: 2e-7 };
  const hi = { gl: 2e-7, g_na: 4e-4, g_kd: 2e-4 };
  const out: TaggedMatrix[] = [];
  for (let s0 = 0; s0 < total; s0 += size) {
    const n = Math.min(size, total - s0);
    const data = new Float64Array(n * theJob.parameters.length);
    for (let r = 0; r < n; r++) {
      theJob.parameters.forEach((p, j) => {
        const k = p as keyof typeof lo;
        data[r * theJob.parameters.length + j] = lo[k] +
          (hi[k] - lo[k]) * rnd();
      });
    }
    out.push({ rows: n, cols: theJob.parameters.length, tag: 0, data });
  }
  return out;
}

// ------------------------------------------------------------ redis-server
let stopServer = async () => {};
let url = values.redis;
if (!url) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const dir = await Deno.makeTempDir({ prefix: "neurofit-bench-redis-" });
  const proc = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "yes",
      "--dir",
      dir,
      "--maxmemory-policy",
      "noeviction",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  url = `redis://127.0.0.1:${port}`;
  stopServer = async () => {
    proc.kill("SIGTERM");
    await proc.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
}

async function startWorkers(n: number, queue: string) {
  const procs: Deno.ChildProcess[] = [];
  for (let k = 0; k < n; k++) {
    const p = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../distributed/worker.ts", import.meta.url).pathname,
        "--redis",
        url!,
        "--queue",
        queue,
        "--name",
        `bench${k}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // wait for "ready"
    const reader = p.stderr.getReader();
    let text = "";
    while (!/ready/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`worker exited: ${text}`);
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    p.stderr.cancel().catch(() => {});
    procs.push(p);
  }
  return async () => {
    for (const p of procs) {
      p.kill("SIGTERM");
      await p.status;
    }
  };
}

interface Row {
  batchSize: number;
  batches: number;
  sets: number;
  local: { setsPerSecond: number; simsPerSecond: number };
  workers1: {
    setsPerSecond: number;
    overheadMsPerBatch: number;
    overheadShare: number;
  };
  workers2: { setsPerSecond: number; speedupVs1: number; efficiency: number };
  bytesPerSet: number;
}

const rows: Row[] = [];
try {
  for (const size of sizes) {
    const total = Math.max(minSets, 2 * size);
    const batches = makeBatches(size, total);
    // warm-up (compile) then local
    for await (const _ of local.runBatches(theJob, batches.slice(0, 1))) {
      /**/
    }
    let t = performance.now();
    for await (const _ of local.runBatches(theJob, batches)) {
      /**/
    }
    const localS = (performance.now() - t) / 1000;
    const bytes = batches.reduce((a, b) => a + encodeMatrix(b).length, 0) +
      batches.reduce((a, b) => a + 24 + 8 * b.rows * 3, 0);
    const res: Record<number, { wall: number; busy: number }> = {};
    for (const nw of [1, 2]) {
      const queue = `bench-${size}-${nw}`;
      const stop = await startWorkers(nw, queue);
      const exec = await redisExecutor({ url, queue, maxInFlight: 2 * nw });
      try {
        // warm-up: each worker compiles the job once
        for await (
          const _ of exec.runBatches(
            theJob,
            batches.slice(0, nw).map((b) => ({
              ...b,
              rows: 1,
              data: b.data.slice(0, b.cols),
            })),
          )
        ) { /**/ }
        t = performance.now();
        let busy = 0;
        for await (const b of exec.runBatches(theJob, batches)) busy += b.ms;
        res[nw] = { wall: (performance.now() - t) / 1000, busy: busy / 1000 };
      } finally {
        await exec.close();
        await stop();
      }
    }
    const w1 = res[1], w2 = res[2];
    rows.push({
      batchSize: size,
      batches: batches.length,
      sets: total,
      local: {
        setsPerSecond: total / localS,
        simsPerSecond: (total * nTraces) / localS,
      },
      workers1: {
        setsPerSecond: total / w1.wall,
        overheadMsPerBatch: (1000 * (w1.wall - w1.busy)) / batches.length,
        overheadShare: (w1.wall - w1.busy) / w1.busy,
      },
      workers2: {
        setsPerSecond: total / w2.wall,
        speedupVs1: w1.wall / w2.wall,
        efficiency: w1.wall / w2.wall / 2,
      },
      bytesPerSet: bytes / total,
    });
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
} finally {
  await stopServer();
}

const report = {
  problem:
    "brian2modelfitting tutorial HH, 5 traces x 1497 steps, MSE on the worker",
  cores: navigator.hardwareConcurrency,
  loadAverage: Deno.loadavg(),
  rows,
};
await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("../out/distributed_bench.json", import.meta.url),
  JSON.stringify(report, null, 2) + "\n",
);
console.log(JSON.stringify(report, null, 2));
