// simulationChunks: (θ, x) chunks of a 10,000-simulation run from 3 Redis
// worker subprocesses, sorted by batch index, equal the chunks of a local run
// (θ drawn lazily from a prior, per-batch seeds), and feed NPE's streamed
// training (train({ source })).
import assert from "node:assert/strict";
import {
  type DistributedChunk,
  redisExecutor,
  simulationChunks,
  type SimulationJob,
} from "../../distributed/mod.ts";
import { BoxUniform, NPE } from "../../lib/inference/mod.ts";
import { REDIS_AVAILABLE, startRedis, startWorker } from "./_redis.ts";

// a run that hangs (lost batch) fails the test instead of blocking it
const LIMIT = 90_000;

const JOB: SimulationJob = {
  kind: "simulate",
  equations: "dv/dt = (El - v + R*I0)/tau : volt\nR : ohm (constant)\n" +
    "tau : second (constant)",
  namespace: { El: "-70 mV", I0: "0.1 nA" },
  dt: 1e-4,
  steps: 300,
  params: ["R", "tau"],
  init: { v: "-70 mV" },
  output: ["v"],
  features: { v: ["mean", "last"] },
};

const prior = new BoxUniform({ low: [5e7, 2e-3], high: [5e8, 4e-2] });

function collect(
  o: ReturnType<typeof simulationChunks>,
): Promise<DistributedChunk[]> {
  return new Promise((resolve, reject) => {
    const out: DistributedChunk[] = [];
    o.subscribe({
      next: (c) => out.push(c),
      error: reject,
      complete: () => resolve(out),
    });
  });
}

function flat(chunks: DistributedChunk[]): { theta: number[]; x: number[] } {
  const sorted = [...chunks].sort((a, b) => a.index - b.index);
  return {
    theta: sorted.flatMap((c) => Array.from(c.theta.data)),
    x: sorted.flatMap((c) => Array.from(c.x.data)),
  };
}

Deno.test({
  name:
    "3 workers, 10,000 simulations: (θ, x) chunks sorted by batch equal the local run; they feed npe.train({ source })",
  ignore: !REDIS_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis();
    const workers = [0, 1, 2].map((k) =>
      startWorker(server.url, ["--queue", "c", "--name", `w${k}`])
    );
    try {
      await Promise.all(workers.map((w) => w.waitFor(/ready/)));
      const source = { prior, count: 10000 };
      const local = await collect(
        simulationChunks(JOB, source, { batchSize: 250, seed: 3 }),
      );
      assert.equal(local.length, 40);
      let maxOutstanding = 0;
      const exec = await redisExecutor({
        url: server.url,
        queue: "c",
        timeoutMs: LIMIT,
        maxInFlight: 4,
        progress: "force", // exercises the progress line (stderr)
        onProgress: (p) => {
          // outstanding batches at each report, before the next submission
          maxOutstanding = Math.max(maxOutstanding, p.inFlight + 1);
        },
      });
      try {
        const remote = await collect(
          simulationChunks(JOB, source, {
            executor: exec,
            batchSize: 250,
            seed: 3,
          }),
        );
        assert.deepEqual(
          remote.map((c) => c.index).sort((a, b) => a - b),
          Array.from({ length: 40 }, (_, k) => k),
          "every batch exactly once",
        );
        assert.equal(flat(remote).theta.length, 2 * 10000);
        // back-pressure: never more than maxInFlight batches outstanding
        assert.ok(
          maxOutstanding > 1 && maxOutstanding <= 4,
          `${maxOutstanding}`,
        );
        assert.deepEqual(flat(remote), flat(local));
        // the features are not constant: the simulations really ran
        const xs = flat(remote).x.filter((_, i) => i % 2 === 1);
        assert.ok(Math.max(...xs) - Math.min(...xs) > 1e-3);
        // streamed training straight from the queue
        const npe = new NPE({ prior, densityEstimator: "mdn", seed: 1 });
        try {
          const summary = await npe.train({
            source: simulationChunks(JOB, { prior, count: 1000 }, {
              executor: exec,
              batchSize: 100,
              seed: 4,
            }),
            maxEpochs: 3,
            showProgress: false,
          });
          assert.ok(summary.epochs >= 1);
          assert.ok(Number.isFinite(summary.bestValidationLoss));
        } finally {
          npe.dispose();
        }
      } finally {
        await exec.close();
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await server.stop();
    }
  },
});
