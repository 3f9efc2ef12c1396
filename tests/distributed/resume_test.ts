// Resuming from Redis: a coordinator that stops mid-run and a new one with
// the same runId finish the run without re-simulating what was done; a
// server killed mid-run gives a typed error, keeps the partial results (AOF)
// and the run resumes after the restart. Real redis-server, worker
// subprocesses.
import assert from "node:assert/strict";
import {
  RedisConnectionError,
  redisExecutor,
  simulateBatches,
  type SimulationJob,
} from "../../distributed/mod.ts";
import { connectRedis } from "../../distributed/redis.ts";
import { REDIS_AVAILABLE, startRedis, startWorker } from "./_redis.ts";

// a run that hangs (lost batch) fails the test instead of blocking it
const LIMIT = 90_000;

// ~0.1-0.2 s per batch of 10 sets on this machine
const JOB: SimulationJob = {
  kind: "simulate",
  equations: "dv/dt = (El - v)/tau + sin(2*pi*t/tau)*mV/ms : volt\n" +
    "tau : second (constant)",
  namespace: { El: "-70 mV" },
  dt: 1e-4,
  steps: 20000,
  params: ["tau"],
  init: { v: "-70 mV" },
  output: ["v"],
  features: { v: ["mean", "max", "last"] },
};
const THETA = Array.from({ length: 80 }, (_, i) => [2e-3 + 5e-4 * i]);
const N_BATCHES = 8;

async function batchesBy(url: string, queue: string, name: string) {
  const r = await connectRedis(url);
  try {
    const json = await r.hget(`nf:${queue}:workers`, name);
    return json ? JSON.parse(json).batches as number : 0;
  } finally {
    r.disconnect();
  }
}

Deno.test({
  name:
    "coordinator restart mid-run: the same runId resumes, nothing done is re-simulated, same result",
  ignore: !REDIS_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const w = startWorker(server.url, ["--queue", "r1", "--name", "w"]);
    try {
      await w.waitFor(/ready/);
      const local = await simulateBatches(JOB, THETA, { batchSize: 10 });
      // first coordinator: takes 3 results, then goes away
      const first = await redisExecutor({
        url: server.url,
        queue: "r1",
        timeoutMs: LIMIT,
      });
      let got = 0;
      const batches = Array.from({ length: N_BATCHES }, (_, k) => ({
        rows: 10,
        cols: 1,
        tag: k,
        data: Float64Array.from(THETA.slice(10 * k, 10 * k + 10).flat()),
      }));
      for await (
        const _ of first.runBatches(JOB, batches, { runId: "run-a" })
      ) {
        if (++got === 3) break;
      }
      await first.close();
      // second coordinator, same run id
      let resumed = -1;
      const second = await redisExecutor({
        url: server.url,
        queue: "r1",
        timeoutMs: LIMIT,
        onProgress: (p) => resumed = p.resumed,
      });
      try {
        const again = await simulateBatches(JOB, THETA, {
          executor: second,
          batchSize: 10,
          runId: "run-a",
        });
        assert.deepEqual(Array.from(again.x), Array.from(local.x));
        assert.ok(
          resumed >= 3,
          `at least the 3 answered batches were not resubmitted (${resumed})`,
        );
      } finally {
        await second.close();
      }
      assert.equal(
        await batchesBy(server.url, "r1", "w"),
        N_BATCHES,
        "every batch simulated exactly once across both coordinators",
      );
    } finally {
      await w.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "server killed mid-run: RedisConnectionError, partial results kept in Redis (AOF), the run resumes after a restart",
  ignore: !REDIS_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const w1 = startWorker(server.url, [
      "--queue",
      "r2",
      "--name",
      "w1",
      "--verbose",
    ]);
    let w2: ReturnType<typeof startWorker> | null = null;
    try {
      await w1.waitFor(/ready/);
      const exec = await redisExecutor({
        url: server.url,
        queue: "r2",
        timeoutMs: LIMIT,
        reconnectForMs: 500,
        maxInFlight: 2,
      });
      const run = simulateBatches(JOB, THETA, {
        executor: exec,
        batchSize: 10,
        runId: "run-b",
      });
      const failed = assert.rejects(
        run,
        (e) =>
          e instanceof RedisConnectionError && e.port === server.port &&
          /connection lost/.test(e.message),
      );
      // batch 3 simulated ⇒ batches 0-2 were pushed (one slot, in order)
      await w1.waitFor(/finished batch run-b:3\b/);
      await server.kill();
      const t0 = performance.now();
      await failed;
      assert.ok(
        performance.now() - t0 < 10000,
        "the error came within the reconnect window",
      );
      await exec.close();
      await w1.kill9();
      await server.restart();
      const r = await connectRedis(server.url);
      let kept = 0;
      try {
        kept = await r.xlen("nf:r2:results:run-b");
      } finally {
        r.disconnect();
      }
      assert.ok(
        kept >= 3,
        `results of the finished batches survived (${kept})`,
      );
      w2 = startWorker(server.url, [
        "--queue",
        "r2",
        "--name",
        "w2",
        "--visibility-timeout",
        "1",
      ]);
      await w2.waitFor(/ready/);
      const exec2 = await redisExecutor({
        url: server.url,
        queue: "r2",
        timeoutMs: LIMIT,
      });
      try {
        const again = await simulateBatches(JOB, THETA, {
          executor: exec2,
          batchSize: 10,
          runId: "run-b",
        });
        const local = await simulateBatches(JOB, THETA, { batchSize: 10 });
        assert.deepEqual(Array.from(again.x), Array.from(local.x));
      } finally {
        await exec2.close();
      }
      assert.equal(
        await batchesBy(server.url, "r2", "w2"),
        N_BATCHES - kept,
        "only the batches without a kept result were simulated after the restart",
      );
    } finally {
      await w1.stop();
      await w2?.stop();
      await server.stop();
    }
  },
});
