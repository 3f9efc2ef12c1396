/**
 * A simulation worker: pulls batches from a Redis queue, simulates them on
 * this machine, computes errors or features here, and pushes the small
 * results back.
 *
 * ```sh
 * deno run -A distributed/worker.ts --redis redis://[user:pass@]host:6379 \
 *   [--queue neurofit] [--device auto] [--concurrency N] [--visibility-timeout 60]
 * ```
 *
 * Without `--redis`, the URL is read from `NEUROFIT_REDIS_URL` (keeps the
 * password out of process lists). The URL is printed with the password
 * masked.
 *
 * Run one process per core (`--concurrency N` runs N slots, each with its own
 * connection and simulation thread). CPU batches run on a Web Worker thread
 * (`_sim_thread.ts`) while the main thread extends the claim on the batch
 * (`XCLAIM … JUSTID` every third of the visibility timeout), so a batch that
 * takes longer than the timeout is not taken over while its worker lives.
 * See protocol.ts for the delivery guarantees.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Device } from "../lib/simulation/runner.ts";
import {
  decodeMatrix,
  decodeSpec,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SPEC_BYTES,
  encodeMatrix,
} from "./codec.ts";
import { type CompiledJob, compileJob, type Job, validateJob } from "./jobs.ts";
import type { ThreadReply, ThreadRequest } from "./_sim_thread.ts";
import {
  ensureGroup,
  type Entry,
  fetchSpec,
  GROUP,
  type QueueKeys,
  queueKeys,
  text,
  toEntry,
} from "./protocol.ts";
import {
  connectionError,
  connectRedis,
  redactUrl,
  type RedisClient,
} from "./redis.ts";
import { RedisConnectionError } from "./errors.ts";

/** Options of {@linkcode worker}. */
export interface WorkerOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Queue name. Default `"neurofit"`. */
  queue?: string;
  /** Batches in flight in this process (each on its own connection). Default 1. */
  concurrency?: number;
  /** Device override (default: the job's preference). */
  device?: Device;
  /** A batch idle this long in another worker's pending list is taken over (ms). Default 60000. */
  visibilityTimeoutMs?: number;
  /** Stop when this signal aborts (the batch in hand is finished first). */
  signal?: AbortSignal;
  /** Worker name (default `<hostname>-<pid>`); slot `k` is `<name>/<k>`. */
  name?: string;
  /** Where log lines go (default: stderr); `null` for silence. */
  log?: ((line: string) => void) | null;
  /** Log every batch start and end. Default false. */
  verbose?: boolean;
  /** Seconds between throughput lines. Default 10. */
  reportEverySeconds?: number;
  /** Cap of one batch payload (bytes). */
  maxPayloadBytes?: number;
  /** Cap of one job spec (bytes). */
  maxSpecBytes?: number;
  /** Time allowed to connect (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** After the connection is lost, how long to try to reconnect before stopping with a RedisConnectionError (ms). Default 60000. */
  reconnectForMs?: number;
  /** PEM certificate(s) of a private CA for `rediss://` (CLI: `--tls-ca FILE`). */
  tlsCa?: string;
  /**
   * Simulate CPU batches on a separate thread per slot, so the worker keeps
   * extending its claim on a long batch (CLI: `--no-threads` to turn off).
   * Default true. WebGPU batches always run on the main thread.
   */
  threads?: boolean;
}

/** What a worker did. */
export interface WorkerStats {
  /** Batches finished. */
  batches: number;
  /** Parameter sets simulated. */
  sets: number;
  /** Neurons simulated (sets × traces). */
  simulations: number;
  /** Batches that failed (retried or dead-lettered). */
  failures: number;
  /** Seconds spent simulating. */
  busySeconds: number;
}

const encoder = new TextEncoder();

function defaultName(): string {
  let host = "worker";
  try {
    host = Deno.hostname();
  } catch { /* no permission */ }
  return `${host}-${Deno.pid}`;
}

function errorText(e: unknown): string {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return m.length > 2000 ? `${m.slice(0, 2000)}…` : m;
}

/**
 * Run a worker until `signal` aborts (or the connection is lost for good).
 * @param options Redis URL, queue, concurrency, device, visibility timeout
 * @returns what it did
 * @throws {RedisConnectionError} unreachable server, refused credentials, connection lost
 */
export async function worker(options: WorkerOptions): Promise<WorkerStats> {
  const keys = queueKeys(options.queue ?? "neurofit");
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `concurrency must be an integer >= 1, got ${concurrency}`,
    );
  }
  const visibility = options.visibilityTimeoutMs ?? 60000;
  if (!(visibility > 0)) {
    throw new RangeError(
      `visibilityTimeoutMs must be > 0, got ${visibility}`,
    );
  }
  const log = options.log === undefined
    ? (l: string) => console.error(l)
    : options.log ?? (() => {});
  const name = options.name ?? defaultName();
  const maxPayload = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const maxSpec = options.maxSpecBytes ?? DEFAULT_MAX_SPEC_BYTES;
  const stats: WorkerStats = {
    batches: 0,
    sets: 0,
    simulations: 0,
    failures: 0,
    busySeconds: 0,
  };
  const cache = new Map<string, Promise<CompiledJob>>();
  const clients: RedisClient[] = [];
  const threads = new Map<RedisClient, SimThread>();
  const signal = options.signal;
  try {
    for (let k = 0; k < concurrency; k++) {
      clients.push(
        await connectRedis(options.redis, {
          connectTimeoutMs: options.connectTimeoutMs,
          reconnectForMs: options.reconnectForMs ?? 60000,
          tlsCa: options.tlsCa,
          name: `neurofit-worker`,
        }),
      );
    }
    await ensureGroup(clients[0], keys);
    log(
      `neurofit worker ${name} ready on ${
        redactUrl(options.redis)
      } queue ${keys.tasks} (concurrency ${concurrency}, device ${
        options.device ?? "per job"
      })`,
    );
    // spec bytes and decoded job per hash (fetched once per process)
    const specs = new Map<string, Promise<{ bytes: Uint8Array; job: Job }>>();
    const specOf = (r: RedisClient, hash: string) => {
      let p = specs.get(hash);
      if (!p) {
        p = (async () => {
          const bytes = await fetchSpec(r, keys, hash, maxSpec);
          return { bytes, job: validateJob(decodeSpec(bytes, maxSpec)) };
        })();
        specs.set(hash, p);
        // a spec missing because of a transient problem may be retried
        p.catch(() => {
          if (specs.get(hash) === p) specs.delete(hash);
        });
      }
      return p;
    };
    // jobs compiled on this thread (non-CPU devices, or threads off)
    const compiled = async (hash: string, job: Job): Promise<CompiledJob> => {
      let c = cache.get(hash);
      if (!c) {
        if ((options.device ?? job.device ?? "cpu") !== "cpu") {
          await import("../gpu/mod.ts"); // registers the WebGPU backend
        }
        c = Promise.resolve(compileJob(job, { device: options.device }));
        cache.set(hash, c);
        c.catch(() => cache.delete(hash));
      }
      return c;
    };
    const useThreads = options.threads ?? true;
    const t0 = performance.now();
    let lastReport = t0;
    const every = (options.reportEverySeconds ?? 10) * 1000;
    const report = () => {
      const now = performance.now();
      if (now - lastReport < every) return;
      lastReport = now;
      const s = (now - t0) / 1000;
      log(
        `neurofit worker ${name}: ${stats.batches} batches, ${stats.simulations} simulations, ${
          (stats.simulations / Math.max(1e-9, stats.busySeconds)).toFixed(0)
        } sims/s busy, ${(100 * stats.busySeconds / s).toFixed(0)}% busy`,
      );
    };
    const slot = async (r: RedisClient, consumer: string) => {
      let lastClaim = 0;
      while (!signal?.aborted) {
        let entry: Entry | null = null;
        let claimed = false;
        const now = Date.now();
        if (now - lastClaim >= Math.min(visibility / 2, 1000)) {
          lastClaim = now;
          const res = await r.callBuffer(
            "XAUTOCLAIM",
            keys.tasks,
            GROUP,
            consumer,
            String(Math.ceil(visibility)),
            "0-0",
            "COUNT",
            "1",
          ) as unknown[];
          const list = (res?.[1] ?? []) as unknown[];
          entry = toEntry(list[0]);
          claimed = entry !== null;
        }
        if (!entry) {
          const res = await r.callBuffer(
            "XREADGROUP",
            "GROUP",
            GROUP,
            consumer,
            "COUNT",
            "1",
            "BLOCK",
            "500",
            "STREAMS",
            keys.tasks,
            ">",
          ) as unknown[] | null;
          const stream = res?.[0] as unknown[] | undefined;
          const list = (stream?.[1] ?? []) as unknown[];
          entry = toEntry(list[0]);
        }
        if (!entry) continue;
        await handle(r, consumer, entry, claimed);
        report();
      }
    };
    const handle = async (
      r: RedisClient,
      consumer: string,
      e: Entry,
      claimed: boolean,
    ) => {
      let batch = "?", run = "?", spec = "?";
      let attempt = 0, max = 3;
      try {
        batch = text(e, "batch");
        run = text(e, "run");
        spec = text(e, "spec");
        attempt = Number(text(e, "attempt"));
        max = Number(text(e, "max"));
      } catch (err) {
        // not one of ours: drop it to the dead-letter stream
        await deadLetter(r, keys, e, consumer, errorText(err), 1, run);
        return;
      }
      if (claimed) {
        const p = await r.xpending(keys.tasks, GROUP, e.id, e.id, 1) as [
          string,
          string,
          number,
          number,
        ][];
        const deliveries = Number(p?.[0]?.[3] ?? 1);
        if (options.verbose) {
          log(`took over batch ${batch} (delivery ${deliveries})`);
        }
        if (deliveries > max) {
          stats.failures++;
          await deadLetter(
            r,
            keys,
            e,
            consumer,
            `delivered ${
              deliveries - 1
            } times without a result (the workers died or stalled on it)`,
            deliveries - 1,
            run,
          );
          return;
        }
      }
      try {
        const { bytes: specBytes, job: jobData } = await specOf(r, spec);
        const data = e.fields.get("data");
        if (!data) throw new TypeError(`batch ${batch} has no data`);
        const m = decodeMatrix(data, maxPayload);
        if (options.verbose) log(`started batch ${batch} (${m.rows} sets)`);
        const t = performance.now();
        // keep the claim while simulating (the simulation runs on its own
        // thread, so this timer fires): XCLAIM … JUSTID resets the idle time
        // without counting a delivery
        const beat = setInterval(() => {
          r.call("XCLAIM", keys.tasks, GROUP, consumer, "0", e.id, "JUSTID")
            .catch(() => {});
        }, Math.max(100, visibility / 3));
        let bytes: Uint8Array;
        let neuronsPerRow: number;
        try {
          const device = options.device ?? jobData.device ?? "cpu";
          if (useThreads && device === "cpu") {
            let th = threads.get(r);
            if (!th || th.failed) {
              // a thread that crashed is replaced for the next batch
              th?.terminate();
              threads.set(r, th = new SimThread());
            }
            const reply = await th.run({
              id: 0,
              hash: spec,
              spec: specBytes,
              data,
              device: options.device,
              maxPayload,
              maxSpec,
            });
            if (!reply.ok) {
              const err = new Error(reply.message);
              err.name = reply.name;
              throw err;
            }
            bytes = reply.data;
            neuronsPerRow = reply.neuronsPerRow;
          } else {
            const job = await compiled(spec, jobData);
            bytes = encodeMatrix(await job.run(m), maxPayload);
            neuronsPerRow = job.neuronsPerRow;
          }
        } finally {
          clearInterval(beat);
        }
        const ms = performance.now() - t;
        if (options.verbose) {
          log(`finished batch ${batch} in ${ms.toFixed(0)} ms`);
        }
        stats.batches++;
        stats.sets += m.rows;
        stats.simulations += m.rows * neuronsPerRow;
        stats.busySeconds += ms / 1000;
        await r.multi()
          .xadd(
            keys.results(run),
            "*",
            "batch",
            batch,
            "worker",
            consumer,
            "ms",
            ms.toFixed(3),
            "sims",
            String(m.rows * neuronsPerRow),
            "data",
            Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          )
          .xack(keys.tasks, GROUP, e.id)
          .xdel(keys.tasks, e.id)
          .hset(
            keys.workers,
            name,
            JSON.stringify({ ...stats, lastSeen: Date.now() }),
          )
          .exec();
      } catch (err) {
        if (err instanceof RedisConnectionError) throw err;
        const lost = connectionError(r, options.redis, err);
        if (lost !== err) throw lost;
        stats.failures++;
        const msg = errorText(err);
        log(`batch ${batch} failed (attempt ${attempt + 1} of ${max}): ${msg}`);
        if (attempt + 1 >= max) {
          await deadLetter(r, keys, e, consumer, msg, attempt + 1, run);
        } else {
          const data = e.fields.get("data") ?? new Uint8Array();
          await r.multi()
            .xadd(
              keys.tasks,
              "*",
              "batch",
              batch,
              "run",
              run,
              "spec",
              spec,
              "attempt",
              String(attempt + 1),
              "max",
              String(max),
              "data",
              Buffer.from(data.buffer, data.byteOffset, data.byteLength),
            )
            .xack(keys.tasks, GROUP, e.id)
            .xdel(keys.tasks, e.id)
            .exec();
        }
      }
    };
    await Promise.all(
      clients.map((r, k) =>
        slot(r, concurrency === 1 ? name : `${name}/${k}`).catch((e) => {
          throw connectionError(r, options.redis, e);
        })
      ),
    );
    return stats;
  } finally {
    for (const c of clients) c.disconnect();
    for (const t of threads.values()) t.terminate();
  }
}

/** One simulation thread (a Web Worker running _sim_thread.ts). */
class SimThread {
  readonly #w: Worker;
  #next = 1;
  readonly #pending = new Map<number, (r: ThreadReply) => void>();
  #failed: Error | null = null;

  constructor() {
    this.#w = new Worker(new URL("./_sim_thread.ts", import.meta.url).href, {
      type: "module",
    });
    this.#w.onmessage = (ev: MessageEvent<ThreadReply>) => {
      const done = this.#pending.get(ev.data.id);
      this.#pending.delete(ev.data.id);
      done?.(ev.data);
    };
    this.#w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#failed = new Error(`simulation thread failed: ${ev.message}`);
      for (const [id, done] of this.#pending) {
        done({ id, ok: false, name: "Error", message: this.#failed.message });
      }
      this.#pending.clear();
    };
  }

  /** Whether the thread died (its pending batches failed). */
  get failed(): boolean {
    return this.#failed !== null;
  }

  run(q: ThreadRequest): Promise<ThreadReply> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#w.postMessage({ ...q, id });
    });
  }

  terminate(): void {
    this.#w.terminate();
  }
}

async function deadLetter(
  r: RedisClient,
  keys: QueueKeys,
  e: Entry,
  consumer: string,
  error: string,
  attempts: number,
  run: string,
): Promise<void> {
  const batch = e.fields.get("batch") ?? encoder.encode("?");
  const spec = e.fields.get("spec") ?? encoder.encode("?");
  const m = r.multi()
    .xadd(
      keys.dead,
      "*",
      "batch",
      Buffer.from(batch),
      "run",
      run,
      "spec",
      Buffer.from(spec),
      "error",
      error,
      "attempts",
      String(attempts),
      "worker",
      consumer,
    );
  if (run !== "?") {
    m.xadd(
      keys.results(run),
      "*",
      "batch",
      Buffer.from(batch),
      "worker",
      consumer,
      "dead",
      error,
      "attempts",
      String(attempts),
    );
  }
  await m.xack(keys.tasks, GROUP, e.id).xdel(keys.tasks, e.id).exec();
}

function parseArgs(args: string[]): WorkerOptions {
  const opts: Partial<WorkerOptions> = {};
  const need = (i: number, flag: string) => {
    if (i >= args.length) throw new TypeError(`${flag} needs a value`);
    return args[i];
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.includes("=") ? a.split(/=(.*)/s, 2) : [a, null];
    const value = () => inline ?? need(++i, flag);
    switch (flag) {
      case "--redis":
        opts.redis = value();
        break;
      case "--queue":
        opts.queue = value();
        break;
      case "--device": {
        const d = value();
        if (d !== "cpu" && d !== "webgpu" && d !== "auto") {
          throw new TypeError(`--device must be cpu, webgpu or auto, got ${d}`);
        }
        opts.device = d;
        break;
      }
      case "--concurrency":
        opts.concurrency = Number(value());
        break;
      case "--visibility-timeout":
        opts.visibilityTimeoutMs = 1000 * Number(value());
        break;
      case "--reconnect-for":
        opts.reconnectForMs = 1000 * Number(value());
        break;
      case "--tls-ca":
        opts.tlsCa = Deno.readTextFileSync(value());
        break;
      case "--name":
        opts.name = value();
        break;
      case "--report-every":
        opts.reportEverySeconds = Number(value());
        break;
      case "--no-threads":
        opts.threads = false;
        break;
      case "--verbose":
        opts.verbose = true;
        break;
      case "--help":
      case "-h":
        console.log(
          "deno run -A distributed/worker.ts --redis redis://host:6379 [--queue neurofit] [--device cpu|webgpu|auto] [--concurrency N] [--visibility-timeout SECONDS] [--reconnect-for SECONDS] [--tls-ca FILE] [--no-threads] [--name NAME] [--verbose]",
        );
        Deno.exit(0);
        break;
      default:
        throw new TypeError(`unknown argument ${a} (see --help)`);
    }
  }
  if (!opts.redis) {
    // the environment keeps a password out of process lists
    opts.redis = Deno.env.get("NEUROFIT_REDIS_URL");
  }
  if (!opts.redis) {
    throw new TypeError(
      "--redis redis://host:6379 (or the NEUROFIT_REDIS_URL environment variable) is required",
    );
  }
  return opts as WorkerOptions;
}

if (import.meta.main) {
  let opts: WorkerOptions;
  try {
    opts = parseArgs(Deno.args);
  } catch (e) {
    console.error(`neurofit worker: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const ac = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => ac.abort());
  }
  try {
    const s = await worker({ ...opts, signal: ac.signal });
    console.error(
      `neurofit worker stopped: ${s.batches} batches, ${s.simulations} simulations, ${s.failures} failures`,
    );
    Deno.exit(0);
  } catch (e) {
    console.error(`neurofit worker: ${errorText(e)}`);
    Deno.exit(1);
  }
}
