/**
 * The simulation thread of a worker process (a Web Worker): compiles job
 * specs (cached by hash) and runs batches, so that the worker's main thread
 * stays free to extend its claim on the batch (`XCLAIM … JUSTID`) while a
 * long simulation runs. Messages carry bytes only (the codec formats).
 * @module
 */
import { decodeMatrix, decodeSpec, encodeMatrix } from "./codec.ts";
import { type CompiledJob, compileJob, validateJob } from "./jobs.ts";
import type { Device } from "../lib/simulation/runner.ts";

/** A request to the thread. */
export interface ThreadRequest {
  /** Request id. */
  id: number;
  /** Spec hash. */
  hash: string;
  /** Spec bytes (sent with every request; the thread keeps the compiled job). */
  spec: Uint8Array;
  /** Batch payload. */
  data: Uint8Array;
  /** Device override. */
  device?: Device;
  /** Payload cap. */
  maxPayload: number;
  /** Spec cap. */
  maxSpec: number;
}

/** The thread's answer. */
export type ThreadReply =
  | {
    id: number;
    ok: true;
    data: Uint8Array;
    rows: number;
    neuronsPerRow: number;
  }
  | { id: number; ok: false; name: string; message: string };

const cache = new Map<string, CompiledJob>();

self.onmessage = async (ev: MessageEvent<ThreadRequest>) => {
  const q = ev.data;
  try {
    let job = cache.get(q.hash);
    if (!job) {
      job = compileJob(validateJob(decodeSpec(q.spec, q.maxSpec)), {
        device: q.device,
      });
      cache.set(q.hash, job);
    }
    const m = decodeMatrix(q.data, q.maxPayload);
    const out = await job.run(m);
    const data = encodeMatrix(out, q.maxPayload);
    const reply: ThreadReply = {
      id: q.id,
      ok: true,
      data,
      rows: m.rows,
      neuronsPerRow: job.neuronsPerRow,
    };
    self.postMessage(reply, [data.buffer]);
  } catch (e) {
    const reply: ThreadReply = {
      id: q.id,
      ok: false,
      name: e instanceof Error ? e.name : "Error",
      message: e instanceof Error ? e.message : String(e),
    };
    self.postMessage(reply);
  }
};
