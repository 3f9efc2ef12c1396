/**
 * The coordinator side: executors that run batches of a job, locally or
 * through Redis workers, and `simulateBatches`.
 *
 * @example
 * ```ts ignore
 * import { redisExecutor } from "./executor.ts";
 * const exec = await redisExecutor({ url: "redis://127.0.0.1:6379" });
 * const { params } = await fitter.fit({ executor: exec, nRounds: 10, params: bounds });
 * await exec.close();
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type EvaluatedSets,
  type FitExecutor,
  type FitJob,
  fitJobOutputs,
} from "../lib/fitting/executor.ts";
import {
  decodeMatrix,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SPEC_BYTES,
  encodeMatrix,
  encodeSpec,
  sha256Hex,
  type TaggedMatrix,
} from "./codec.ts";
import {
  type CompiledJob,
  compileJob,
  decodeEvaluated,
  type Job,
  type SimulationJob,
  simulationWidth,
  validateJob,
} from "./jobs.ts";
import {
  ensureGroup,
  type QueueKeys,
  queueKeys,
  text,
  toEntry,
} from "./protocol.ts";
import { connectionError, connectRedis, type RedisClient } from "./redis.ts";
import {
  BatchFailedError,
  type DeadLetter,
  ExecutorTimeoutError,
  PayloadError,
} from "./errors.ts";

/** One finished batch. */
export interface BatchResult {
  /** Position of the batch in the submitted sequence (0-based). */
  index: number;
  /** The batch id (`<run>:<index>`). */
  batch: string;
  /** The result matrix (rows = sets of the batch). */
  result: TaggedMatrix;
  /** Worker that computed it. */
  worker: string;
  /** Simulation time on the worker (ms). */
  ms: number;
}

/** Progress of a run. */
export interface RunProgress {
  /** Run id. */
  run: string;
  /** Batches finished (results ingested, dead-lettered included). */
  done: number;
  /** Batches submitted and not finished (queued or being simulated). */
  inFlight: number;
  /** Batches known in total (grows while the source is read). */
  submitted: number;
  /** Dead-lettered batches. */
  failed: number;
  /** Results received twice and dropped. */
  duplicates: number;
  /** Batches not submitted because a previous coordinator of the same run had (resumed run). */
  resumed: number;
  /** Parameter sets per second since the start of the run. */
  setsPerSecond: number;
  /** Neuron simulations per second since the start of the run (all workers). */
  simsPerSecond: number;
  /** Per worker of this run: batches done and its simulations per second while busy. */
  workers: Record<string, { batches: number; simsPerSecond: number }>;
}

/** Options of one run of batches. */
export interface RunOptions {
  /**
   * Run id (default: random). Batch ids are `<run>:<index>`. Giving the id
   * of an unfinished run resumes it (the batches must be the same): what is
   * answered or queued in Redis is not submitted again.
   */
  runId?: string;
  /** Yield the batches that worked and do not throw when some went to the dead-letter stream. Default false. */
  allowFailures?: boolean;
  /** Called with each dead-lettered batch. */
  onDeadLetter?: (d: DeadLetter) => void;
}

/** Something that runs the batches of a job. */
export interface BatchExecutor {
  /**
   * Run batches and yield their results as they arrive (any order).
   * @param job the job (plain data)
   * @param batches parameter-set matrices (tags = round counter or seed)
   * @param options run id, failure handling
   * @returns the results; after the last, throws {@linkcode BatchFailedError} if some batches failed (unless allowFailures)
   */
  runBatches(
    job: Job,
    batches: Iterable<TaggedMatrix> | AsyncIterable<TaggedMatrix>,
    options?: RunOptions,
  ): AsyncIterable<BatchResult>;
}

/** A {@linkcode BatchExecutor} and {@linkcode FitExecutor} that works in this process. */
export class LocalExecutor implements BatchExecutor, FitExecutor {
  readonly #cache = new WeakMap<Job, CompiledJob>();

  #compile(job: Job): CompiledJob {
    let c = this.#cache.get(job);
    if (!c) {
      c = compileJob(validateJob(job));
      this.#cache.set(job, c);
    }
    return c;
  }

  /**
   * Run batches one after the other in this process.
   * @param job the job
   * @param batches the batches
   * @param options run id
   * @returns the results in order
   */
  async *runBatches(
    job: Job,
    batches: Iterable<TaggedMatrix> | AsyncIterable<TaggedMatrix>,
    options: RunOptions = {},
  ): AsyncGenerator<BatchResult> {
    const c = this.#compile(job);
    const run = options.runId ?? "local";
    let index = 0;
    for await (const b of batches) {
      const t = performance.now();
      const result = await c.run(b);
      yield {
        index,
        batch: `${run}:${index}`,
        result,
        worker: "local",
        ms: performance.now() - t,
      };
      index++;
    }
  }

  /**
   * Evaluate fit parameter sets in this process (the same code as the workers).
   * @param job the job
   * @param sets full parameter sets
   * @param iteration round counter
   * @returns errors per set
   */
  async evaluate(
    job: FitJob,
    sets: readonly Record<string, number>[],
    iteration: number,
  ): Promise<EvaluatedSets> {
    const c = this.#compile(job);
    const out = await c.run(setsMatrix(job, sets, 0, sets.length, iteration));
    return decodeEvaluated(out, fitJobOutputs(job));
  }
}

function setsMatrix(
  job: FitJob,
  sets: readonly Record<string, number>[],
  s0: number,
  s1: number,
  iteration: number,
): TaggedMatrix {
  const cols = job.parameters.length;
  const data = new Float64Array((s1 - s0) * cols);
  for (let s = s0; s < s1; s++) {
    job.parameters.forEach((p, j) => {
      const v = sets[s][p];
      if (typeof v !== "number") {
        throw new TypeError(`parameter set ${s} has no value for '${p}'`);
      }
      data[(s - s0) * cols + j] = v;
    });
  }
  return { rows: s1 - s0, cols, tag: iteration, data };
}

function fmtRate(r: number): string {
  if (!Number.isFinite(r)) return "?";
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(0);
}

/** Options of {@linkcode redisExecutor}. */
export interface RedisExecutorOptions {
  /** Redis URL: `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** Queue name (the workers' `--queue`). Default `"neurofit"`. */
  queue?: string;
  /** Parameter sets per batch in `fit` rounds. Default 50. */
  batchSize?: number;
  /** Batches submitted and not yet finished at most (back-pressure). Default 64. */
  maxInFlight?: number;
  /** Attempts of a failing batch before the dead-letter stream. Default 3. */
  maxAttempts?: number;
  /** Time limit of one run (ms). Default: none. */
  timeoutMs?: number;
  /** Time allowed to connect and authenticate (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** After the connection is lost, how long to try to reconnect before failing with a RedisConnectionError (ms). Default 10000. */
  reconnectForMs?: number;
  /** PEM certificate(s) of a private CA for `rediss://`. */
  tlsCa?: string;
  /** Called after each finished batch. */
  onProgress?: (p: RunProgress) => void;
  /**
   * Draw a progress line on stderr (batches done / queued / in flight,
   * simulations per second, per-worker rates): `true` when stderr is a
   * terminal, `"force"` always. Default false.
   */
  progress?: boolean | "force";
  /** Keep a run's result stream after the run (default false: deleted once ingested). */
  keepResults?: boolean;
  /** Cap of one batch payload (bytes). */
  maxPayloadBytes?: number;
}

/** Workers' self-reported counters (from the queue's `workers` hash). */
export interface WorkerReport {
  /** Worker name. */
  name: string;
  /** Batches finished. */
  batches: number;
  /** Neurons simulated. */
  simulations: number;
  /** Seconds simulating. */
  busySeconds: number;
  /** Failures. */
  failures: number;
  /** Last report (ms since epoch). */
  lastSeen: number;
}

/** Runs batches through Redis workers. Create it with {@linkcode redisExecutor}. */
export class RedisExecutor implements BatchExecutor, FitExecutor {
  readonly #r: RedisClient;
  readonly #url: string;
  readonly #keys: QueueKeys;
  readonly #opts: RedisExecutorOptions;
  readonly #specs = new WeakMap<Job, Promise<string>>();
  #closed = false;

  /**
   * Use {@linkcode redisExecutor}.
   * @param r connected client
   * @param options the options
   */
  constructor(r: RedisClient, options: RedisExecutorOptions) {
    this.#r = r;
    this.#url = options.url;
    this.#keys = queueKeys(options.queue ?? "neurofit");
    this.#opts = options;
  }

  /** The queue's key names. */
  get keys(): QueueKeys {
    return this.#keys;
  }

  /**
   * Store a job spec once under its SHA-256 (idempotent).
   * @param job the job
   * @returns the hash
   */
  storeSpec(job: Job): Promise<string> {
    let p = this.#specs.get(job);
    if (!p) {
      p = (async () => {
        const bytes = encodeSpec(job, DEFAULT_MAX_SPEC_BYTES);
        const hash = await sha256Hex(bytes);
        await this.#r.set(
          this.#keys.spec(hash),
          Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          "NX",
        );
        return hash;
      })();
      this.#specs.set(job, p);
      p.catch(() => this.#specs.delete(job));
    }
    return p;
  }

  /**
   * The workers' counters.
   * @returns one report per worker that finished a batch on this queue
   */
  async workers(): Promise<WorkerReport[]> {
    const h = await this.#r.hgetall(this.#keys.workers);
    return Object.entries(h).map(([name, json]) => ({
      name,
      ...(JSON.parse(json) as Omit<WorkerReport, "name">),
    }));
  }

  /** A throttled progress line on stderr, or null when off. */
  #progressLine():
    | ((p: RunProgress, last: boolean) => Promise<void>)
    | null {
    const mode = this.#opts.progress ?? false;
    if (mode === false) return null;
    let tty = false;
    try {
      tty = Deno.stderr.isTerminal();
    } catch { /* no access */ }
    if (mode !== "force" && !tty) return null;
    let lastDraw = 0;
    let picked = 0;
    const enc = new TextEncoder();
    return async (p, last) => {
      const now = performance.now();
      if (!last && now - lastDraw < 500) return;
      lastDraw = now;
      try {
        // entries handed to workers and not yet acknowledged (whole queue)
        const s = await this.#r.xpending(this.#keys.tasks, "workers") as [
          number,
          ...unknown[],
        ];
        picked = Number(s?.[0] ?? 0);
      } catch { /* keep the last value */ }
      const inFlight = Math.min(picked, p.inFlight);
      const rates = Object.entries(p.workers)
        .map(([k, w]) => `${k} ${fmtRate(w.simsPerSecond)}/s`)
        .join(", ");
      const line =
        `${p.run.slice(0, 8)}: ${p.done}/${p.submitted} batches done, ` +
        `${p.inFlight - inFlight} queued, ${inFlight} in flight` +
        (p.failed ? `, ${p.failed} dead` : "") +
        `, ${fmtRate(p.simsPerSecond)} sims/s [${rates}]`;
      Deno.stderr.writeSync(enc.encode(`\r\x1b[K${line}${last ? "\n" : ""}`));
    };
  }

  /**
   * Withdraw the queued batches of an abandoned run and let its result
   * stream expire (batches being simulated still answer into it).
   * @param run the run id
   */
  async #abandon(run: string): Promise<void> {
    const prefix = `${run}:`;
    let start = "-";
    const ids: string[] = [];
    while (true) {
      const page = await this.#r.callBuffer(
        "XRANGE",
        this.#keys.tasks,
        start,
        "+",
        "COUNT",
        "500",
      ) as unknown[];
      if (!page || page.length === 0) break;
      for (const raw of page) {
        const e = toEntry(raw);
        if (!e) continue;
        const b = e.fields.get("batch");
        if (b && new TextDecoder().decode(b).startsWith(prefix)) ids.push(e.id);
        start = `(${e.id}`;
      }
      if (page.length < 500) break;
    }
    if (ids.length > 0) await this.#r.xdel(this.#keys.tasks, ...ids);
    await this.#r.expire(this.#keys.results(run), 600);
  }

  /**
   * Indices of a run's batches that are answered (result stream) or queued
   * (task stream).
   * @param run the run id
   * @returns the indices
   */
  async #knownBatches(run: string): Promise<Set<number>> {
    const out = new Set<number>();
    const prefix = `${run}:`;
    for (const key of [this.#keys.results(run), this.#keys.tasks]) {
      let start = "-";
      while (true) {
        const page = await this.#r.callBuffer(
          "XRANGE",
          key,
          start,
          "+",
          "COUNT",
          "500",
        ) as unknown[];
        if (!page || page.length === 0) break;
        for (const raw of page) {
          const e = toEntry(raw);
          if (!e) continue;
          const b = e.fields.get("batch");
          const id = b ? new TextDecoder().decode(b) : "";
          if (id.startsWith(prefix)) {
            const k = Number(id.slice(prefix.length));
            if (Number.isInteger(k) && k >= 0) out.add(k);
          }
          start = `(${e.id}`;
        }
        if (page.length < 500) break;
      }
    }
    return out;
  }

  /**
   * Run batches through the workers; yields results as they arrive.
   * @param job the job
   * @param batches the batches (read lazily: at most `maxInFlight` outstanding)
   * @param options run id, failure handling
   * @returns the results
   * @throws {BatchFailedError} some batches failed on every attempt (after the others)
   * @throws {ExecutorTimeoutError} the run took longer than `timeoutMs`
   * @throws {RedisConnectionError} the connection was lost
   */
  async *runBatches(
    job: Job,
    batches: Iterable<TaggedMatrix> | AsyncIterable<TaggedMatrix>,
    options: RunOptions = {},
  ): AsyncGenerator<BatchResult> {
    if (this.#closed) throw new Error("the executor is closed");
    const r = this.#r;
    const keys = this.#keys;
    const run = options.runId ?? crypto.randomUUID();
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(run)) {
      throw new TypeError(
        `runId must be 1-100 letters, digits or _ . -, got ${
          JSON.stringify(run)
        }`,
      );
    }
    const maxInFlight = this.#opts.maxInFlight ?? 64;
    const maxAttempts = this.#opts.maxAttempts ?? 3;
    const maxPayload = this.#opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const timeout = this.#opts.timeoutMs ?? Infinity;
    const resultsKey = keys.results(run);
    const t0 = performance.now();
    const rowsOf = new Map<number, number>();
    const done = new Set<number>();
    const failed: DeadLetter[] = [];
    let duplicates = 0;
    let resumed = 0;
    let sets = 0;
    let sims = 0;
    const perWorker: Record<
      string,
      { batches: number; sims: number; ms: number }
    > = {};
    const draw = this.#progressLine();
    let submitted = 0;
    let exhausted = false;
    const it = (Symbol.asyncIterator in batches)
      ? (batches as AsyncIterable<TaggedMatrix>)[Symbol.asyncIterator]()
      : (batches as Iterable<TaggedMatrix>)[Symbol.iterator]();
    const wrap = (e: unknown) => connectionError(r, this.#url, e);
    let finished = false;
    try {
      const hash = await this.storeSpec(job);
      await ensureGroup(r, keys);
      // resuming a run (same runId, e.g. after a coordinator restart):
      // batches already answered or still queued are not submitted again
      const known = options.runId !== undefined
        ? await this.#knownBatches(run)
        : new Set<number>();
      let lastId = "0-0";
      while (true) {
        // submit up to maxInFlight outstanding batches
        if (!exhausted && rowsOf.size - done.size < maxInFlight) {
          const p = r.pipeline();
          let n = 0;
          while (rowsOf.size - done.size < maxInFlight) {
            const next = await it.next();
            if (next.done) {
              exhausted = true;
              break;
            }
            const b = next.value;
            const bytes = encodeMatrix(b, maxPayload);
            const index = submitted++;
            rowsOf.set(index, b.rows);
            if (known.has(index)) {
              resumed++;
              continue;
            }
            p.xadd(
              keys.tasks,
              "*",
              "batch",
              `${run}:${index}`,
              "run",
              run,
              "spec",
              hash,
              "attempt",
              "0",
              "max",
              String(maxAttempts),
              "data",
              Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
            );
            n++;
          }
          if (n > 0) {
            const res = await p.exec();
            const err = res?.find(([e]: [Error | null, unknown]) => e)?.[0];
            if (err) throw err;
          }
        }
        if (exhausted && done.size === rowsOf.size) break;
        const elapsed = performance.now() - t0;
        if (elapsed > timeout) {
          throw new ExecutorTimeoutError(timeout, done.size, rowsOf.size);
        }
        const block = Math.max(
          1,
          Math.min(1000, Math.ceil(timeout - elapsed)),
        );
        const res = await r.callBuffer(
          "XREAD",
          "COUNT",
          "256",
          "BLOCK",
          String(block),
          "STREAMS",
          resultsKey,
          lastId,
        ) as unknown[] | null;
        const list = ((res?.[0] as unknown[] | undefined)?.[1] ??
          []) as unknown[];
        for (const raw of list) {
          const e = toEntry(raw);
          if (!e) continue;
          lastId = e.id;
          const batch = text(e, "batch");
          const index = Number(batch.slice(batch.lastIndexOf(":") + 1));
          if (
            !batch.startsWith(`${run}:`) || !Number.isInteger(index) ||
            !rowsOf.has(index)
          ) continue; // not a batch of this run's submissions
          if (done.has(index)) {
            duplicates++;
            continue;
          }
          const worker = e.fields.has("worker") ? text(e, "worker") : "?";
          if (e.fields.has("dead")) {
            const d: DeadLetter = {
              batch,
              error: text(e, "dead"),
              attempts: Number(text(e, "attempts")),
              worker,
            };
            done.add(index);
            failed.push(d);
            options.onDeadLetter?.(d);
          } else {
            const data = e.fields.get("data");
            if (!data) {
              throw new PayloadError(`result of batch ${batch} has no data`);
            }
            const result = decodeMatrix(data, maxPayload);
            if (result.rows !== rowsOf.get(index)) {
              throw new PayloadError(
                `result of batch ${batch} has ${result.rows} rows, the batch had ${
                  rowsOf.get(index)
                }`,
              );
            }
            done.add(index);
            sets += result.rows;
            const ms = Number(text(e, "ms"));
            const ns = e.fields.has("sims") ? Number(text(e, "sims")) : 0;
            sims += ns;
            const pw = perWorker[worker] ??= { batches: 0, sims: 0, ms: 0 };
            pw.batches++;
            pw.sims += ns;
            pw.ms += ms;
            yield {
              index,
              batch,
              result,
              worker,
              ms,
            };
          }
          const elapsed = (performance.now() - t0) / 1000;
          const progress: RunProgress = {
            run,
            done: done.size,
            inFlight: rowsOf.size - done.size,
            submitted,
            failed: failed.length,
            duplicates,
            resumed,
            setsPerSecond: sets / elapsed,
            simsPerSecond: sims / elapsed,
            workers: Object.fromEntries(
              Object.entries(perWorker).map(([k, w]) => [k, {
                batches: w.batches,
                simsPerSecond: w.sims / Math.max(1e-9, w.ms / 1000),
              }]),
            ),
          };
          this.#opts.onProgress?.(progress);
          await draw?.(progress, exhausted && done.size === rowsOf.size);
        }
      }
      finished = true;
      if (!this.#opts.keepResults) await r.del(resultsKey);
    } catch (e) {
      finished = true;
      throw wrap(e);
    } finally {
      // the consumer stopped early (break, unsubscribe): an anonymous run
      // can never be resumed, so its queued batches are withdrawn
      if (!finished && options.runId === undefined) {
        await this.#abandon(run).catch(() => {});
      }
    }
    if (failed.length > 0 && !options.allowFailures) {
      throw new BatchFailedError(failed);
    }
  }

  /**
   * Evaluate a fit round through the workers (`fit({ executor })`).
   * @param job the fitting job
   * @param sets full parameter sets
   * @param iteration round counter
   * @returns errors per set, in the order of `sets`
   * @throws {BatchFailedError} a batch failed on every attempt
   */
  async evaluate(
    job: FitJob,
    sets: readonly Record<string, number>[],
    iteration: number,
  ): Promise<EvaluatedSets> {
    const size = this.#opts.batchSize ?? 50;
    const batches: TaggedMatrix[] = [];
    for (let s0 = 0; s0 < sets.length; s0 += size) {
      batches.push(
        setsMatrix(job, sets, s0, Math.min(sets.length, s0 + size), iteration),
      );
    }
    const vars = fitJobOutputs(job);
    const parts: EvaluatedSets[] = new Array(batches.length);
    for await (const b of this.runBatches(job, batches)) {
      parts[b.index] = decodeEvaluated(b.result, vars);
    }
    const total = new Float64Array(sets.length);
    const normalized: Record<string, Float64Array> = {};
    const raw: Record<string, Float64Array> = {};
    for (const v of vars) {
      normalized[v] = new Float64Array(sets.length);
      raw[v] = new Float64Array(sets.length);
    }
    parts.forEach((p, k) => {
      const at = k * size;
      total.set(p.total, at);
      for (const v of vars) {
        normalized[v].set(p.normalized[v], at);
        raw[v].set(p.raw[v], at);
      }
    });
    return { total, normalized, raw };
  }

  /** Disconnect. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#r.quit();
    } catch {
      this.#r.disconnect();
    }
  }
}

/**
 * Connect to Redis and return an executor for `fit({ executor })` and
 * {@linkcode simulateBatches}.
 * @param options url, queue, batch size, back-pressure, attempts, timeouts
 * @returns the executor
 * @throws {RedisConnectionError} unreachable server or refused credentials (within `connectTimeoutMs`)
 */
export async function redisExecutor(
  options: RedisExecutorOptions,
): Promise<RedisExecutor> {
  if (options === null || typeof options !== "object" || !options.url) {
    throw new TypeError(
      "redisExecutor needs { url: 'redis://host:6379', queue? }",
    );
  }
  queueKeys(options.queue ?? "neurofit");
  const r = await connectRedis(options.url, {
    connectTimeoutMs: options.connectTimeoutMs,
    reconnectForMs: options.reconnectForMs,
    tlsCa: options.tlsCa,
    name: "neurofit-coordinator",
  });
  return new RedisExecutor(r, options);
}

/** Options of {@linkcode simulateBatches}. */
export interface SimulateBatchesOptions extends RunOptions {
  /** Where to run (default: a {@linkcode LocalExecutor}). */
  executor?: BatchExecutor;
  /** Parameter sets per batch. Default 1000. */
  batchSize?: number;
  /** Seed of batch 0; batch `k` uses `seed + k`, wherever it runs. Default 0. */
  seed?: number;
}

/** Result of {@linkcode simulateBatches}. */
export interface SimulatedBatches {
  /** Rows (parameter sets). */
  rows: number;
  /** Columns of x. */
  cols: number;
  /** x, row-major, in the order of θ (rows of failed batches are NaN). */
  x: Float64Array;
  /** Dead-lettered batches (only with `allowFailures`). */
  failed: DeadLetter[];
}

/**
 * Simulate θ (rows = parameter sets, columns = `job.params`) in batches and
 * return x in the order of θ. Batch `k` covers rows `[k·batchSize,
 * (k+1)·batchSize)` and uses the seed `seed + k`, so a local and a
 * distributed run give the same rows.
 * @param job the simulation job
 * @param theta rows of parameters (`number[][]` or `{ rows, cols, data }`)
 * @param options executor, batch size, seed, run id, failure handling
 * @returns x
 * @throws {TypeError} θ with the wrong number of columns
 * @throws {BatchFailedError} batches that failed on every attempt
 */
export async function simulateBatches(
  job: SimulationJob,
  theta:
    | readonly (readonly number[])[]
    | { rows: number; cols: number; data: Float64Array },
  options: SimulateBatchesOptions = {},
): Promise<SimulatedBatches> {
  const m = Array.isArray(theta)
    ? {
      rows: theta.length,
      cols: theta[0]?.length ?? job.params.length,
      data: Float64Array.from((theta as number[][]).flat()),
    }
    : theta as { rows: number; cols: number; data: Float64Array };
  if (m.cols !== job.params.length || m.data.length !== m.rows * m.cols) {
    throw new TypeError(
      `theta has ${m.cols} columns, the job has ${job.params.length} parameters (${
        job.params.join(", ")
      })`,
    );
  }
  const size = options.batchSize ?? 1000;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${size}`);
  }
  const seed = options.seed ?? 0;
  const width = simulationWidth(job);
  const executor = options.executor ?? new LocalExecutor();
  function* batches(): Generator<TaggedMatrix> {
    for (let k = 0, s0 = 0; s0 < m.rows; k++, s0 += size) {
      const s1 = Math.min(m.rows, s0 + size);
      yield {
        rows: s1 - s0,
        cols: m.cols,
        tag: seed + k,
        data: m.data.slice(s0 * m.cols, s1 * m.cols),
      };
    }
  }
  const x = new Float64Array(m.rows * width).fill(NaN);
  const failed: DeadLetter[] = [];
  for await (
    const b of executor.runBatches(job, batches(), {
      ...options,
      onDeadLetter: (d) => {
        failed.push(d);
        options.onDeadLetter?.(d);
      },
    })
  ) {
    if (b.result.cols !== width) {
      throw new PayloadError(
        `batch ${b.batch} returned ${b.result.cols} columns, expected ${width}`,
      );
    }
    x.set(b.result.data, b.index * size * width);
  }
  return { rows: m.rows, cols: width, x, failed };
}
