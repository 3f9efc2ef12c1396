/**
 * Progress reports of long streamed operations (rounds, samples, throughput)
 * and the counter that produces them. No RxJS here: `streams/progress.ts`
 * re-exports these and adds the operator and the progress bar.
 * @module
 */

/** One progress report. */
export interface StreamProgress {
  /** What is running, e.g. `"stream"` or `"fit"`. */
  readonly operation: string;
  /** Current round (0-based; 0 for a single pass). */
  readonly round: number;
  /** Total rounds when known. */
  readonly rounds?: number;
  /** Samples (time steps of the recording) processed in this round so far. */
  readonly samples: number;
  /** Samples per round when known. */
  readonly totalSamples?: number;
  /** Chunks processed in this round so far. */
  readonly chunks: number;
  /** Seconds since the round started. */
  readonly elapsedSeconds: number;
  /** Samples per second in this round. */
  readonly samplesPerSecond: number;
  /** Neuron-steps simulated in this round (samples × neurons), when simulating. */
  readonly neuronSteps?: number;
  /** Neuron-steps per second, when simulating. */
  readonly neuronStepsPerSecond?: number;
  /** Whether the round is finished. */
  readonly done: boolean;
}

/** Where progress goes: a callback or an observer (e.g. a `Subject`). */
export type ProgressSink =
  | ((p: StreamProgress) => void)
  | { next(p: StreamProgress): void };

/**
 * Tracks samples and throughput of a progress counter (used by the operator
 * and the streaming fitter).
 */
export class ProgressCounter {
  #sink: ProgressSink | null;
  #t0 = performance.now();
  #samples = 0;
  #chunks = 0;

  /**
   * A counter reporting to `sink`.
   * @param sink where reports go (null: none)
   * @param info operation, round, rounds, totalSamples, neurons
   */
  constructor(
    sink: ProgressSink | null,
    readonly info: {
      operation: string;
      round: number;
      rounds?: number;
      totalSamples?: number;
      neurons?: number;
    },
  ) {
    this.#sink = sink;
  }

  /** Samples counted so far. */
  get samples(): number {
    return this.#samples;
  }

  /**
   * Count `samples` more and report.
   * @param samples samples of the chunk
   * @param done whether this is the last report of the round
   * @returns the report
   */
  add(samples: number, done = false): StreamProgress {
    this.#samples += samples;
    if (samples > 0) this.#chunks++;
    return this.report(done);
  }

  /**
   * Report the current state.
   * @param done whether the round is finished
   * @returns the report
   */
  report(done: boolean): StreamProgress {
    const el = (performance.now() - this.#t0) / 1000;
    const n = this.info.neurons;
    const p: StreamProgress = {
      operation: this.info.operation,
      round: this.info.round,
      ...(this.info.rounds !== undefined ? { rounds: this.info.rounds } : {}),
      samples: this.#samples,
      ...(this.info.totalSamples !== undefined
        ? { totalSamples: this.info.totalSamples }
        : {}),
      chunks: this.#chunks,
      elapsedSeconds: el,
      samplesPerSecond: el > 0 ? this.#samples / el : 0,
      ...(n !== undefined
        ? {
          neuronSteps: this.#samples * n,
          neuronStepsPerSecond: el > 0 ? (this.#samples * n) / el : 0,
        }
        : {}),
      done,
    };
    const s = this.#sink;
    if (s) typeof s === "function" ? s(p) : s.next(p);
    return p;
  }
}
