/**
 * `fromRunner`: a running simulation as an RxJS `Observable` of chunks.
 * @module
 */
import { Observable } from "./_deps.ts";
import type { Chunk } from "../lib/simulation/runner.ts";
import { EventLoopYield } from "./_yield.ts";

/** What {@linkcode fromRunner} drives: a `Runner` or anything with `step` and `dispose`. */
export interface SteppableRunner {
  /**
   * Advance by `steps` steps.
   * @param steps number of steps
   * @returns the chunk of recorded values
   */
  step(steps: number): Promise<Chunk>;
  /** Free the simulation's buffers. */
  dispose(): void;
}

/** Options of {@linkcode fromRunner}. */
export interface FromRunnerOptions {
  /** Steps per chunk. Default 1000. */
  chunkSteps?: number;
  /** Total steps to run; the last chunk is shorter when needed. Default: unbounded (use `take`). */
  totalSteps?: number;
  /** Dispose the runner when the stream completes, fails or is unsubscribed. Default true. */
  dispose?: boolean;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/**
 * Chunks of a running simulation. The simulation is driven by the
 * subscriber: the next `runner.step` starts only after the previous chunk
 * was delivered (its `next` handler returned), so a slow synchronous
 * consumer slows the simulation down instead of queueing chunks. (RxJS has
 * no demand signal: an asynchronous operator downstream, e.g. `concatMap`
 * with a promise, queues chunks in its own buffer.) Unsubscribing stops
 * the simulation after the step in flight; unless `dispose: false`, the
 * runner is disposed when the stream completes, fails or is unsubscribed
 * (exactly once). The Observable is single-use: a runner cannot be rewound,
 * so a second subscription errors.
 *
 * @param runner the simulation (a `Runner`)
 * @param options chunkSteps (default 1000), totalSteps (default unbounded),
 *   dispose (default true)
 * @returns a cold, single-subscription Observable of chunks
 * @throws {RangeError} (synchronously) on a bad chunkSteps or totalSteps
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom, toArray } from "npm:rxjs@7.8.2";
 * import { NeuronModel } from "../lib/simulation/neuron_model.ts";
 * import { Runner } from "../lib/simulation/runner.ts";
 * import { fromRunner } from "./from_runner.ts";
 * const model = new NeuronModel("dv/dt = -v/tau : volt", { namespace: { tau: "10 ms" } });
 * const runner = await Runner.create(model, { dt: 1e-4, init: { v: 0.01 } });
 * const chunks = await lastValueFrom(fromRunner(runner, { chunkSteps: 40, totalSteps: 100 }).pipe(toArray()));
 * assert.deepEqual(chunks.map((c) => c.steps), [40, 40, 20]);
 * ```
 */
export function fromRunner(
  runner: SteppableRunner,
  options: FromRunnerOptions = {},
): Observable<Chunk> {
  const chunkSteps = positiveInt("chunkSteps", options.chunkSteps ?? 1000);
  const total = options.totalSteps ?? Infinity;
  if (total !== Infinity && (!Number.isInteger(total) || total < 0)) {
    throw new RangeError(
      `totalSteps must be a non-negative integer, got ${total}`,
    );
  }
  const dispose = options.dispose ?? true;
  let used = false;
  let disposed = false;
  const release = () => {
    if (dispose && !disposed) {
      disposed = true;
      runner.dispose();
    }
  };
  return new Observable<Chunk>((subscriber) => {
    if (used) {
      subscriber.error(
        new Error(
          "fromRunner: this Observable was already subscribed; a runner cannot be rewound (create a new runner)",
        ),
      );
      return;
    }
    used = true;
    let done = 0;
    const pause = new EventLoopYield();
    (async () => {
      try {
        while (!subscriber.closed && done < total) {
          await pause.maybe();
          if (subscriber.closed) break;
          const n = Math.min(chunkSteps, total - done);
          const chunk = await runner.step(n);
          done += n;
          if (subscriber.closed) break;
          subscriber.next(chunk);
        }
        release();
        subscriber.complete();
      } catch (e) {
        release();
        subscriber.error(e);
      }
    })();
    // Unsubscribing closes the subscriber: the loop stops (and disposes)
    // as soon as the step in flight, if any, has finished.
  });
}
