/**
 * Scale out on Redis 7: worker processes on any number of machines pull
 * batches of parameter sets from a Redis Streams queue, simulate them,
 * compute errors or features where they ran, and push small results back.
 * The coordinator (your script) hands `fit` rounds or `simulateBatches` to a
 * {@linkcode RedisExecutor}; the default executor stays local.
 *
 * Workers: `deno run -A distributed/worker.ts --redis redis://host:6379`.
 *
 * @example
 * ```ts ignore
 * import { redisExecutor } from "./mod.ts";
 * const executor = await redisExecutor({ url: "redis://127.0.0.1:6379", batchSize: 20 });
 * const { params } = await fitter.fit({ executor, nRounds: 10, params: bounds });
 * await executor.close();
 * ```
 * @module
 */
export {
  type BatchExecutor,
  type BatchResult,
  LocalExecutor,
  RedisExecutor,
  redisExecutor,
  type RedisExecutorOptions,
  type RunOptions,
  type RunProgress,
  simulateBatches,
  type SimulateBatchesOptions,
  type SimulatedBatches,
  type WorkerReport,
} from "./executor.ts";
export {
  type DistributedChunk,
  simulationChunks,
  type SimulationChunksOptions,
  type ThetaSource,
} from "./chunks.ts";
export {
  type CompiledJob,
  compileJob,
  type FitJob,
  type Job,
  type SimulationJob,
  type SpikeFeature,
  type SpikeFitJob,
  type TraceFeature,
  type TraceFitJob,
  validateJob,
} from "./jobs.ts";
export { worker, type WorkerOptions, type WorkerStats } from "./worker.ts";
export {
  BatchFailedError,
  type DeadLetter,
  ExecutorTimeoutError,
  PayloadError,
  RedisConnectionError,
} from "./errors.ts";
export {
  decodeMatrix,
  decodeSpec,
  encodeMatrix,
  encodeSpec,
  sha256Hex,
  type TaggedMatrix,
} from "./codec.ts";
export {
  parseRedisUrl,
  redactUrl,
  type RedisTarget,
  type RedisUrlOptions,
} from "./redis.ts";
export { type QueueKeys } from "./protocol.ts";
