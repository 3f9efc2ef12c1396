/**
 * The queue protocol on Redis Streams, shared by the coordinator and the
 * workers. Keys of queue `q` (prefix `nf:q:`):
 *
 * | key            | type   | content                                                    |
 * | -------------- | ------ | ---------------------------------------------------------- |
 * | `spec:<sha>`   | string | a job spec (codec.ts), stored once under its SHA-256       |
 * | `tasks`        | stream | one entry per batch; consumer group `workers`              |
 * | `results:<run>`| stream | one entry per finished or dead batch of run `<run>`        |
 * | `dead`         | stream | dead-lettered batches with their last error                |
 * | `workers`      | hash   | per worker: JSON with simulations, busy seconds, last seen |
 *
 * A task entry has the fields `batch` (id), `run`, `spec` (sha), `attempt`
 * (0-based), `max` (attempts before dead-letter) and `data` (a matrix).
 * A worker reads with `XREADGROUP`, and after its visibility timeout also
 * takes over entries idle in other consumers' pending lists with
 * `XAUTOCLAIM` (a worker that died mid-batch). It answers with one
 * `MULTI`: `XADD results:<run>` + `XACK` + `XDEL`, so a result is never lost
 * and a task never finished twice by the same delivery. A batch may still be
 * answered twice (a slow worker whose batch was reclaimed): the coordinator
 * ingests each batch id once.
 * @module
 */
import type { RedisClient } from "./redis.ts";
import { PayloadError } from "./errors.ts";
import { DEFAULT_MAX_SPEC_BYTES } from "./codec.ts";

/** Consumer group of the workers. */
export const GROUP = "workers";

/** Key names of a queue. */
export interface QueueKeys {
  /** Task stream. */
  tasks: string;
  /** Dead-letter stream. */
  dead: string;
  /** Worker stats hash. */
  workers: string;
  /** Spec key of a hash. */
  spec(hash: string): string;
  /** Result stream of a run. */
  results(run: string): string;
}

/**
 * Key names of a queue.
 * @param queue queue name (letters, digits, `_ - . :`)
 * @returns the keys
 * @throws {TypeError} a bad queue name
 */
export function queueKeys(queue: string): QueueKeys {
  if (typeof queue !== "string" || !/^[A-Za-z0-9_.:-]{1,100}$/.test(queue)) {
    throw new TypeError(
      `queue name must be 1-100 letters, digits or _ . : -, got ${
        JSON.stringify(queue)
      }`,
    );
  }
  const p = `nf:${queue}:`;
  return {
    tasks: `${p}tasks`,
    dead: `${p}dead`,
    workers: `${p}workers`,
    spec: (h) => `${p}spec:${h}`,
    results: (r) => `${p}results:${r}`,
  };
}

/**
 * Create the consumer group (and the stream) if missing.
 * @param r client
 * @param keys queue keys
 */
export async function ensureGroup(
  r: RedisClient,
  keys: QueueKeys,
): Promise<void> {
  try {
    await r.xgroup("CREATE", keys.tasks, GROUP, "0", "MKSTREAM");
  } catch (e) {
    if (!/BUSYGROUP/.test((e as Error).message)) throw e;
  }
}

/** A stream entry with its fields as bytes. */
export interface Entry {
  /** Stream entry id. */
  id: string;
  /** Fields. */
  fields: Map<string, Uint8Array>;
}

/**
 * Turn a raw `[id, [k, v, k, v…]]` reply (buffers) into an entry.
 * @param raw reply element
 * @returns the entry, or null for a deleted entry (XAUTOCLAIM nil)
 */
export function toEntry(raw: unknown): Entry | null {
  if (!Array.isArray(raw) || raw.length < 2 || !Array.isArray(raw[1])) {
    return null;
  }
  const id = String(raw[0]);
  const kv = raw[1] as Uint8Array[];
  const fields = new Map<string, Uint8Array>();
  for (let i = 0; i + 1 < kv.length; i += 2) {
    fields.set(new TextDecoder().decode(kv[i]), kv[i + 1]);
  }
  return { id, fields };
}

/**
 * A text field of an entry.
 * @param e entry
 * @param k field
 * @returns the text
 * @throws {PayloadError} missing field
 */
export function text(e: Entry, k: string): string {
  const v = e.fields.get(k);
  if (v === undefined) {
    throw new PayloadError(`stream entry ${e.id} has no field '${k}'`);
  }
  return new TextDecoder().decode(v);
}

/**
 * Read a spec by hash, checking its size before fetching it.
 * @param r client
 * @param keys queue keys
 * @param hash the spec's SHA-256
 * @param maxBytes cap
 * @returns the bytes
 * @throws {PayloadError} missing or too large
 */
export async function fetchSpec(
  r: RedisClient,
  keys: QueueKeys,
  hash: string,
  maxBytes: number = DEFAULT_MAX_SPEC_BYTES,
): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new PayloadError(`bad spec hash ${JSON.stringify(hash)}`);
  }
  const key = keys.spec(hash);
  const len = await r.strlen(key);
  if (len === 0) throw new PayloadError(`job spec ${hash} is not in Redis`);
  if (len > maxBytes) {
    throw new PayloadError(
      `job spec ${hash} has ${len} bytes, over the cap of ${maxBytes} bytes`,
    );
  }
  const b = await r.getBuffer(key);
  if (!b) throw new PayloadError(`job spec ${hash} is not in Redis`);
  return b;
}
