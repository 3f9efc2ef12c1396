/**
 * Progress of long streamed operations: rounds, samples processed and
 * throughput, as plain objects pushed to an observer (an RxJS `Subject`, a
 * callback, or {@linkcode progressBar}).
 * @module
 */
import { type MonoTypeOperatorFunction, Observable } from "./_deps.ts";
import { ProgressBar } from "../lib/_internal/progress.ts";
import {
  ProgressCounter,
  type ProgressSink,
  type StreamProgress,
} from "../lib/_internal/stream_progress.ts";

export { ProgressCounter, type ProgressSink, type StreamProgress };

/** Options of {@linkcode trackProgress}. */
export interface TrackProgressOptions<T> {
  /** Name of the operation. Default `"stream"`. */
  operation?: string;
  /** Round number reported. Default 0. */
  round?: number;
  /** Total rounds reported. */
  rounds?: number;
  /** Expected samples, when known. */
  totalSamples?: number;
  /** Neurons simulated per sample, to report neuron-steps. */
  neurons?: number;
  /** Samples in an item. Default: `item.samples`, else `item.steps`, else the length of `item.data[0]`. */
  count?: (item: T) => number;
}

function defaultCount(item: unknown): number {
  const o = item as {
    samples?: number;
    steps?: number;
    data?: ArrayLike<number>[];
  };
  if (typeof o.samples === "number") return o.samples;
  if (typeof o.steps === "number") return o.steps;
  if (o.data && o.data.length > 0) return o.data[0].length;
  return 1;
}

/**
 * An operator that passes items through unchanged and reports progress
 * after each one (and a final report with `done: true` on completion).
 *
 * @param sink a callback or an observer such as a `Subject<StreamProgress>`
 * @param options operation, round, rounds, totalSamples, neurons, count
 * @returns the operator
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastValueFrom } from "npm:rxjs@7.8.2";
 * import { fromRecording } from "./from_recording.ts";
 * import { type StreamProgress, trackProgress } from "./progress.ts";
 * const reports: StreamProgress[] = [];
 * const bytes = new TextEncoder().encode("1\n2\n3\n");
 * await lastValueFrom(fromRecording(bytes, { format: "csv", chunkSamples: 2 }).pipe(trackProgress((p) => reports.push(p))));
 * assert.deepEqual(reports.map((p) => [p.samples, p.done]), [[2, false], [3, false], [3, true]]);
 * ```
 */
export function trackProgress<T>(
  sink: ProgressSink,
  options: TrackProgressOptions<T> = {},
): MonoTypeOperatorFunction<T> {
  const count = options.count ?? defaultCount;
  return (source: Observable<T>) =>
    new Observable<T>((subscriber) => {
      const counter = new ProgressCounter(sink, {
        operation: options.operation ?? "stream",
        round: options.round ?? 0,
        rounds: options.rounds,
        totalSamples: options.totalSamples,
        neurons: options.neurons,
      });
      return source.subscribe({
        next: (x) => {
          subscriber.next(x);
          counter.add(count(x));
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          counter.report(true);
          subscriber.complete();
        },
      });
    });
}

/**
 * A progress sink drawing a terminal progress bar on stderr (silent when
 * stderr is not a terminal unless `force`). The bar counts samples of all
 * rounds (`rounds × totalSamples`).
 *
 * @param options label, force (draw even without a TTY)
 * @returns a sink for {@linkcode trackProgress} or the streaming fitter
 */
export function progressBar(
  options: { label?: string; force?: boolean } = {},
): (p: StreamProgress) => void {
  let bar: ProgressBar | null = null;
  let last = 0;
  let round = -1;
  return (p) => {
    if (!bar) {
      const total = (p.totalSamples ?? 0) * (p.rounds ?? 1);
      bar = new ProgressBar(total > 0 ? total : Infinity, {
        label: options.label ?? p.operation,
        unit: "samples",
        force: options.force,
      });
    }
    if (p.round !== round) {
      round = p.round;
      last = 0;
    }
    const extra = p.neuronStepsPerSecond
      ? `${(p.neuronStepsPerSecond / 1e6).toFixed(1)} M neuron-steps/s`
      : "";
    bar.tick(p.samples - last, extra);
    last = p.samples;
  };
}
