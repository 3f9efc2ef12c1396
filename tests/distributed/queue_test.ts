// The Redis queue end to end, on a private redis-server and real worker
// subprocesses (deno run -A distributed/worker.ts): results equal a local run
// row for row, kill -9 of a worker mid-batch loses nothing and duplicates
// nothing, a poisoned batch goes to the dead-letter stream, a wrong password
// is a typed error naming the host.
import assert from "node:assert/strict";
import {
  BatchFailedError,
  RedisConnectionError,
  redisExecutor,
  type RunProgress,
  simulateBatches,
  type SimulationJob,
} from "../../distributed/mod.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { REDIS_AVAILABLE, startRedis, startWorker } from "./_redis.ts";

// a run that hangs (lost batch) fails the test instead of blocking it
const LIMIT = 90_000;

const ignore = !REDIS_AVAILABLE;

// A leaky integrator driven by two input traces: 2 traces per set, features
// computed on the worker (mean, max, last of v).
const STEPS = 400;
const I = [0.1e-9, 0.25e-9].map((a) =>
  Float64Array.from({ length: STEPS }, (_, k) => a * (k > 50 ? 1 : 0))
);
const JOB: SimulationJob = {
  kind: "simulate",
  equations: "dv/dt = (El - v + R*I)/tau : volt\nR : ohm (constant)\n" +
    "tau : second (constant)",
  namespace: { El: "-70 mV" },
  dt: 1e-4,
  steps: STEPS,
  input: { I },
  params: ["R", "tau"],
  init: { v: "-70 mV" },
  output: ["v"],
  features: { v: ["mean", "max", "last"] },
};

function thetaRows(n: number): number[][] {
  // a deterministic grid over R in [50, 500] Mohm, tau in [2, 40] ms
  return Array.from({ length: n }, (_, i) => [
    5e7 + (4.5e8 * ((i * 37) % n)) / n,
    2e-3 + (3.8e-2 * ((i * 11) % n)) / n,
  ]);
}

Deno.test({
  name:
    "3 workers: simulateBatches equals the local run row for row, and the plain simulate() features",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    // w2 runs two slots (two connections) in one process
    const workers = [0, 1, 2].map((k) =>
      startWorker(server.url, [
        "--queue",
        "t1",
        "--name",
        `w${k}`,
        ...(k === 2 ? ["--concurrency", "2"] : []),
      ])
    );
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready/)));
      const theta = thetaRows(120);
      const local = await simulateBatches(JOB, theta, {
        batchSize: 10,
        seed: 5,
      });
      let last: RunProgress | null = null;
      const exec = await redisExecutor({
        url: server.url,
        queue: "t1",
        timeoutMs: LIMIT,
        onProgress: (p) => last = p,
      });
      let progress = 0;
      try {
        const remote = await simulateBatches(JOB, theta, {
          executor: exec,
          batchSize: 10,
          seed: 5,
        });
        assert.equal(remote.rows, 120);
        assert.equal(remote.cols, 2 * 3);
        // bit-identical rows, in the order of theta
        assert.deepEqual(
          new Uint8Array(remote.x.buffer),
          new Uint8Array(local.x.buffer),
        );
        const reports = await exec.workers();
        const total = reports.reduce((a, r) => a + r.batches, 0);
        assert.equal(total, 12, "12 batches of 10 sets were simulated once");
        assert.ok(reports.length >= 2, "the work was spread over workers");
        progress = reports.length;
        // the last progress report: everything done, per-worker rates
        const p = last as RunProgress | null;
        assert.ok(p);
        assert.equal(p.done, 12);
        assert.equal(p.inFlight, 0);
        assert.equal(p.duplicates, 0);
        assert.ok(p.simsPerSecond > 0);
        const rates = Object.entries(p.workers);
        assert.equal(rates.reduce((a, [, w]) => a + w.batches, 0), 12);
        for (const [name, w] of rates) {
          assert.match(name, /^(w0|w1|w2\/[01])$/);
          assert.ok(w.simsPerSecond > 0);
        }
      } finally {
        await exec.close();
      }
      assert.ok(progress > 0);
      // independent check of one row against the library's simulate()
      const m = new NeuronModel(JOB.equations, { namespace: JOB.namespace });
      const r = await simulate(m, {
        dt: JOB.dt,
        steps: STEPS,
        nNeurons: 2,
        input: { I },
        params: { R: theta[7][0], tau: theta[7][1] },
        init: JOB.init,
        record: ["v"],
      });
      const v1 = r.traces.v[1];
      let mean = 0;
      for (const x of v1) mean += x;
      mean /= v1.length;
      assert.equal(local.x[7 * 6 + 3], mean);
      assert.equal(local.x[7 * 6 + 5], v1[v1.length - 1]);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "kill -9 of a worker mid-batch: its batch is re-delivered, all batches done, no duplicates",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    // batches long enough (~0.5 s: 10 sets x 100,000 steps) that the kill
    // lands inside one; the log checks that it did
    const job: SimulationJob = {
      ...JOB,
      steps: 100000,
      input: undefined,
      nTraces: 1,
      equations: "dv/dt = (El - v)/tau + sin(2*pi*t/tau)*mV/ms : volt\n" +
        "R : ohm (constant)\ntau : second (constant)",
    };
    const victim = startWorker(server.url, [
      "--queue",
      "t2",
      "--name",
      "victim",
      "--verbose",
      "--visibility-timeout",
      "2",
    ]);
    let rescuer: ReturnType<typeof startWorker> | null = null;
    const exec = await redisExecutor({
      url: server.url,
      queue: "t2",
      timeoutMs: LIMIT,
    });
    try {
      await victim.waitFor(/ready/);
      const theta = thetaRows(60);
      const remoteP = simulateBatches(job, theta, {
        executor: exec,
        batchSize: 10,
        runId: "killrun",
      });
      await victim.waitFor(/started batch killrun:\d+/);
      await victim.kill9();
      const killed = victim.log().match(/started batch (killrun:\d+)/)![1];
      assert.doesNotMatch(
        victim.log(),
        new RegExp(`finished batch ${killed}\\b`),
      );
      rescuer = startWorker(server.url, [
        "--queue",
        "t2",
        "--name",
        "rescuer",
        "--verbose",
        "--visibility-timeout",
        "2",
      ]);
      const remote = await remoteP;
      assert.match(rescuer.log(), new RegExp(`took over batch ${killed}\\b`));
      const local = await simulateBatches(job, theta, { batchSize: 10 });
      assert.deepEqual(Array.from(remote.x), Array.from(local.x));
      assert.equal(remote.failed.length, 0);
      // every batch finished exactly once: 6 results in total, no task left
      const reports = await exec.workers();
      const byName = Object.fromEntries(reports.map((r) => [r.name, r]));
      assert.equal(
        (byName.victim?.batches ?? 0) + byName.rescuer.batches,
        6,
      );
      const { connectRedis } = await import("../../distributed/redis.ts");
      const r = await connectRedis(server.url);
      try {
        assert.equal(await r.xlen(exec.keys.tasks), 0);
        const pending = await r.xpending(exec.keys.tasks, "workers");
        assert.equal(Number((pending as unknown[])[0]), 0);
      } finally {
        r.disconnect();
      }
    } finally {
      await exec.close();
      await victim.stop();
      await rescuer?.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a poisoned batch goes to the dead-letter stream with its error; the other batches go on",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const w = startWorker(server.url, ["--queue", "t3", "--name", "w"]);
    const exec = await redisExecutor({
      url: server.url,
      queue: "t3",
      timeoutMs: LIMIT,
      maxAttempts: 2,
    });
    try {
      await w.waitFor(/ready/);
      const good = {
        rows: 2,
        cols: 2,
        tag: 0,
        data: Float64Array.from(thetaRows(2).flat()),
      };
      // batch 1 has 3 columns for a job with 2 parameters
      const poison = {
        rows: 1,
        cols: 3,
        tag: 0,
        data: Float64Array.from([1, 2, 3]),
      };
      const seen: number[] = [];
      const dead: string[] = [];
      for await (
        const b of exec.runBatches(JOB, [good, poison, good], {
          allowFailures: true,
          onDeadLetter: (d) => dead.push(`${d.batch} ${d.attempts} ${d.error}`),
        })
      ) seen.push(b.index);
      assert.deepEqual(seen.sort(), [0, 2]);
      assert.equal(dead.length, 1);
      assert.match(
        dead[0],
        /:1 2 PayloadError: batch has 3 columns, the job has 2 parameters/,
      );
      const { connectRedis } = await import("../../distributed/redis.ts");
      const r = await connectRedis(server.url);
      try {
        assert.equal(await r.xlen(exec.keys.dead), 1);
      } finally {
        r.disconnect();
      }
      // a model that does not compile: every batch fails, the run throws a typed error
      const broken: SimulationJob = {
        ...JOB,
        equations: "dv/dt = (El - v)/tau : volt\ntau : second (constant",
      };
      await assert.rejects(
        simulateBatches(broken, thetaRows(4), { executor: exec, batchSize: 2 }),
        (e) =>
          e instanceof BatchFailedError && e.failed.length === 2 &&
          /tau/.test(e.failed[0].error),
      );
    } finally {
      await exec.close();
      await w.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "wrong password / unreachable server → RedisConnectionError naming host and cause, never the password",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis({ password: "c0rrect-h0rse" });
    try {
      const t0 = performance.now();
      await assert.rejects(
        redisExecutor({
          url: `redis://:wr0ng-pa55@127.0.0.1:${server.port}`,
          connectTimeoutMs: 2000,
        }),
        (e) =>
          e instanceof RedisConnectionError && e.host === "127.0.0.1" &&
          e.port === server.port && /authentication failed/.test(e.message) &&
          !e.message.includes("wr0ng-pa55") &&
          e.message.includes(`127.0.0.1:${server.port}`),
      );
      assert.ok(performance.now() - t0 < 2000);
      // the right password works
      const exec = await redisExecutor({ url: server.url });
      await exec.close();
      // a worker with a wrong password exits with the typed error, password not printed
      const w = startWorker(
        `redis://:wr0ng-pa55@127.0.0.1:${server.port}`,
        ["--queue", "t4"],
      );
      const status = await w.proc.status;
      assert.equal(status.code, 1);
      assert.match(
        w.log(),
        /RedisConnectionError: Redis at 127\.0\.0\.1:\d+: authentication failed/,
      );
      assert.doesNotMatch(w.log(), /wr0ng-pa55/);
    } finally {
      await server.stop();
    }
    // nothing listens on the port any more
    await assert.rejects(
      redisExecutor({
        url: `redis://127.0.0.1:${server.port}`,
        connectTimeoutMs: 1000,
      }),
      (e) => e instanceof RedisConnectionError && /refused/.test(e.message),
    );
  },
});

Deno.test({
  name:
    "a consumer that stops an anonymous run early withdraws its queued batches",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const w = startWorker(server.url, ["--queue", "t5", "--name", "w"]);
    const exec = await redisExecutor({
      url: server.url,
      queue: "t5",
      timeoutMs: LIMIT,
    });
    try {
      await w.waitFor(/ready/);
      const theta = thetaRows(100);
      const batches = Array.from({ length: 10 }, (_, k) => ({
        rows: 10,
        cols: 2,
        tag: k,
        data: Float64Array.from(theta.slice(10 * k, 10 * k + 10).flat()),
      }));
      const { connectRedis } = await import("../../distributed/redis.ts");
      const r = await connectRedis(server.url);
      try {
        let queuedWhileRunning = 0;
        for await (const _ of exec.runBatches(JOB, batches)) {
          queuedWhileRunning = await r.xlen(exec.keys.tasks);
          break;
        }
        assert.ok(
          queuedWhileRunning > 0,
          "batches were queued when it stopped",
        );
        assert.equal(await r.xlen(exec.keys.tasks), 0);
      } finally {
        r.disconnect();
      }
    } finally {
      await exec.close();
      await w.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "an ACL user limited to the nf:* keys (no dangerous commands) runs coordinator and workers; the default user is off",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // the ACL the README documents
    const server = await startRedis({
      aclUser: {
        name: "neurofit",
        password: "acl-pa55",
        rules: ["~nf:*", "&*", "+@all", "-@dangerous"],
      },
    });
    const w = startWorker(server.url, ["--queue", "acl", "--name", "w"]);
    try {
      await w.waitFor(/ready on redis:\/\/neurofit:\*\*\*@127/);
      const exec = await redisExecutor({
        url: server.url,
        queue: "acl",
        timeoutMs: LIMIT,
      });
      try {
        const theta = thetaRows(20);
        const remote = await simulateBatches(JOB, theta, {
          executor: exec,
          batchSize: 10,
        });
        const local = await simulateBatches(JOB, theta, { batchSize: 10 });
        assert.deepEqual(Array.from(remote.x), Array.from(local.x));
        assert.equal((await exec.workers())[0].batches, 2);
      } finally {
        await exec.close();
      }
      // the default user (no password) is refused
      await assert.rejects(
        redisExecutor({ url: `redis://127.0.0.1:${server.port}` }),
        (e) =>
          e instanceof RedisConnectionError &&
          /authentication failed|NOAUTH|NOPERM/.test(e.message),
      );
    } finally {
      await w.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a batch longer than the visibility timeout keeps its claim (simulation thread + XCLAIM JUSTID); without the thread it is taken over",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // ~2-5 s per batch of 10 sets x 1,200,000 steps (96 MB of trace per
    // worker), visibility timeout 0.3 s
    const job: SimulationJob = {
      ...JOB,
      steps: 1200000,
      input: undefined,
      nTraces: 1,
      equations: "dv/dt = (El - v)/tau + sin(2*pi*t/tau)*mV/ms : volt\n" +
        "R : ohm (constant)\ntau : second (constant)",
    };
    const theta = thetaRows(20);
    const runWith = async (extra: string[], queue: string) => {
      const server = await startRedis();
      const ws = [0, 1].map((k) =>
        startWorker(server.url, [
          "--queue",
          queue,
          "--name",
          `w${k}`,
          "--verbose",
          "--visibility-timeout",
          "0.3",
          ...extra,
        ])
      );
      try {
        await Promise.all(ws.map((w) => w.waitFor(/ready/)));
        const exec = await redisExecutor({
          url: server.url,
          queue,
          timeoutMs: LIMIT,
        });
        try {
          const r = await simulateBatches(job, theta, {
            executor: exec,
            batchSize: 10,
          });
          const simulated = (await exec.workers()).reduce(
            (a, w) => a + w.batches,
            0,
          );
          // the log lines are written before the results are pushed; give
          // the pipes a moment to deliver them
          const t0 = Date.now();
          let logs = "";
          while (Date.now() - t0 < 5000) {
            logs = ws.map((w) => w.log()).join("\n");
            if ((logs.match(/finished batch/g) ?? []).length >= simulated) {
              break;
            }
            await new Promise((res) => setTimeout(res, 50));
          }
          const times = [...logs.matchAll(/finished batch \S+ in (\d+) ms/g)]
            .map((m) => Number(m[1]));
          return { x: r.x, simulated, logs, minMs: Math.min(...times) };
        } finally {
          await exec.close();
        }
      } finally {
        await Promise.all(ws.map((w) => w.stop()));
        await server.stop();
      }
    };
    const kept = await runWith([], "hb1");
    assert.doesNotMatch(kept.logs, /took over/);
    assert.equal(kept.simulated, 2, "each batch simulated once");
    assert.ok(
      kept.minMs > 600,
      `batches outlast the timeout (${kept.minMs} ms)`,
    );
    // control: the same run without the thread loses its claims
    const lost = await runWith(["--no-threads"], "hb2");
    // (only meaningful when its batches also outlasted 3 timeouts)
    if (lost.minMs > 900) assert.match(lost.logs, /took over batch/);
    assert.deepEqual(Array.from(lost.x), Array.from(kept.x));
  },
});
