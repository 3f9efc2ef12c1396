/**
 * The `OnlineTraceFitter` over recordings that do not fit in memory (made by
 * `OnlineTraceFitter.create` when an input or the output is a file or a
 * stream) — files read chunk by chunk in every round,
 * sockets and other one-shot streams buffered once to a temporary file.
 * Memory does not grow with the trace length: each round simulates all
 * parameter sets in lockstep with the data, one block of `blockSamples`
 * samples at a time, and accumulates the squared error per set inside the
 * kernel (the online error path of `Runner`'s `accumulate` option).
 *
 * How blocks are simulated: one `Runner` per round; each block is loaded
 * into it with `runner.continueWith` (its inputs and targets, its absolute
 * first step as `stepOrigin`, so `t` and the counter-based noise are those
 * of one long run), continuing from the exact final state of the previous
 * block (including `lastspike` and `not_refractory`), in the same compiled
 * kernel and memory where the backend allows it (else a new kernel from
 * that state). The per-block error sums and counts are added up. Every model the OnlineTraceFitter accepts streams
 * exactly: stochastic ones, ones that use `t`, refractory ones.
 *
 * Sources: a path (or a `fromRecording(path)` Observable) is counted once at
 * `create` and re-read in blocks every round; any other Observable or async
 * iterable (e.g. `fromSocket`) is drained once, at `create`, into a
 * temporary raw file that later rounds read (a dropped connection
 * therefore fails `create`, with the sample position). The file keeps the
 * stream's precision (float32 while every value is exactly a float32, as
 * from a binary socket; float64 otherwise), is limited to `maxBufferBytes`
 * (default 4 GiB), and is removed on an error, by `dispose()`, at the end of
 * a `using`/`await using` scope, and when the process exits normally or by
 * `Deno.exit()` (not on a signal or a crash). In-memory rows are
 * sliced.
 * @module
 */
import {
  OnlineTraceFitterBase,
  type OnlineTraceFitterOptions,
} from "./online_trace_base.ts";
import type { BatchErrors, BatchRun, GenerateOptions } from "./fitter.ts";
import type { MSEMetric } from "../metrics/mse.ts";
import { isTraceSource } from "./_util.ts";
import {
  type ChunkObserver,
  type RecordingFileSource,
  removeTemps,
  type Replay,
  type Subscribable,
  toReplay,
  type TraceSource,
} from "./trace_sources.ts";

export { isTraceSource };
export type { ChunkObserver, RecordingFileSource, Subscribable, TraceSource };
import type { RecordingChunk } from "../../io/chunks.ts";
import { removeTempFileSync } from "../../io/chunk_buffer.ts";
import { Runner, type RunnerBlock } from "../../simulation/runner.ts";
import type { RefineBlock } from "../refine/streamed_refine.ts";
import {
  ProgressCounter,
  type StreamProgress,
} from "../../_internal/stream_progress.ts";

/** Options of {@linkcode OnlineTraceFitter.create} with file or stream sources. */
export interface StreamedOnlineTraceFitterOptions
  extends Omit<OnlineTraceFitterOptions, "input" | "output"> {
  /** Input recordings per input variable (SI, one channel per trace), e.g. `{ I: "i.f32" }`. */
  input: Record<string, TraceSource>;
  /** Recording of exactly one output variable (SI), e.g. `{ v: fromRecording("v.f32", { format: "f32" }) }`. */
  output: Record<string, TraceSource>;
  /** Samples simulated per block (memory ∝ blockSamples × traces). Default 65536. */
  blockSamples?: number;
  /** Directory of the temporary files buffering one-shot streams. Default: the system's. */
  tempDir?: string;
  /**
   * Largest temporary file (bytes) one one-shot stream may fill; a longer
   * stream fails `create` with a RangeError and its file is removed.
   * Default {@linkcode MAX_BUFFER_BYTES} (4 GiB).
   */
  maxBufferBytes?: number;
  /** Receives progress reports (one per block, and one per finished round). */
  onProgress?: (p: StreamProgress) => void;
}

/** Default of {@linkcode StreamedOnlineTraceFitterOptions.maxBufferBytes}: 4 GiB. */
export const MAX_BUFFER_BYTES: number = 4 * 1024 ** 3;

/** One block of every recording. */
interface Block {
  start: number;
  samples: number;
  input: Record<string, Float64Array[]>;
  output: Float64Array[];
}

/** Open iterators of one round. */
interface RoundState {
  its: Map<string, AsyncGenerator<RecordingChunk, void, undefined>>;
  block: Block;
  params: Record<string, Float64Array>;
  startStep: number;
  weights: Float64Array | null;
  nSets: number;
}

const ROUND: unique symbol = Symbol("round");
type StreamBatch = BatchRun & { [ROUND]?: RoundState };

const TOKEN: unique symbol = Symbol("token");

/**
 * An online trace fitter over streamed recordings (see the module
 * documentation). Create it with {@linkcode OnlineTraceFitter.create};
 * `fit`, `results`, `bestParams` work as for `OnlineTraceFitter`. Errors
 * are those of `OnlineTraceFitter` up to floating-point summation order
 * (bit-identical when `blockSamples` ≥ the trace length), and identical
 * whatever the chunk sizes of the sources.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DifferentialEvolution } from "../optimizers/differential_evolution.ts";
 * import { OnlineTraceFitter } from "./online_trace_fitter.ts";
 * const v = Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0.01 : 0.02));
 * // a one-shot stream of chunks (e.g. from a socket): buffered to a temporary file
 * async function* chunks() {
 *   for (let a = 0; a < 100; a += 30) {
 *     yield { start: a, samples: Math.min(30, 100 - a), channels: [v.slice(a, a + 30)] };
 *   }
 * }
 * const fitter = await OnlineTraceFitter.create({
 *   model: "v = c + x : volt\nc : volt (constant)", inputUnits: { x: "volt" },
 *   input: { x: [new Float64Array(100)] }, output: { v: chunks() },
 *   dt: 1e-4, nSamples: 20, tStart: 5e-3, blockSamples: 32,
 * });
 * try {
 *   const { params } = await fitter.fit({
 *     optimizer: new DifferentialEvolution({ seed: 1 }), nRounds: 10, callback: null,
 *     params: { c: ["0 mV", "30 mV"] },
 *   });
 *   assert.ok(Math.abs(params.c - 0.02) < 1e-3);
 * } finally {
 *   await fitter.dispose();
 * }
 * ```
 */
export class StreamedOnlineTraceFitter extends OnlineTraceFitterBase {
  /** Samples simulated per block. */
  readonly blockSamples: number;
  /** How each recording is re-read per round: `"file"`, `"buffered"` (temporary file) or `"memory"`. */
  readonly sources: Readonly<Record<string, "file" | "buffered" | "memory">>;
  #replays: Replay[];
  #outputName: string;
  #listeners = new Set<ChunkObserver<StreamProgress>>();
  #closed = false;
  #onProgress: ((p: StreamProgress) => void) | undefined;

  /**
   * Use {@linkcode OnlineTraceFitter.create}.
   * @param token internal
   * @param options validated options with placeholder traces
   * @param replays the recordings
   * @param blockSamples samples per block
   */
  private constructor(
    token: typeof TOKEN,
    options: OnlineTraceFitterOptions & {
      onProgress?: (p: StreamProgress) => void;
    },
    replays: Replay[],
    blockSamples: number,
  ) {
    if (token !== TOKEN) {
      throw new TypeError("use await OnlineTraceFitter.create(options)");
    }
    super(options);
    const nSteps = replays[0].nSteps;
    // the base class saw 1-sample placeholders: set the real trace length
    Object.defineProperty(this, "nSteps", { value: nSteps });
    Object.defineProperty(this, "duration", { value: nSteps * this.dt });
    this.blockSamples = blockSamples;
    this.#replays = replays;
    this.#outputName = Object.keys(options.output)[0];
    this.#onProgress = options.onProgress;
    this.sources = Object.fromEntries(replays.map((r) => [r.name, r.kind]));
  }

  /**
   * Open the recordings (counting samples; one-shot streams such as sockets
   * are drained to a temporary file), check that all have the same number
   * of traces and samples, and build the fitter.
   * @param options as `OnlineTraceFitter`, with `input`/`output` as
   *   {@linkcode TraceSource}s, plus blockSamples (default 65536), tempDir,
   *   onProgress
   * @returns the fitter (call `dispose()` to delete temporary files)
   * @throws {TypeError} mismatched shapes, unknown formats, unsupported model
   * @throws {RangeError} bad values, empty recordings
   * @throws {StreamDroppedError} a socket dropped while buffering (with the sample position)
   * @throws {DataFormatError} malformed files (with the position)
   */
  static async open(
    options: StreamedOnlineTraceFitterOptions,
  ): Promise<StreamedOnlineTraceFitter> {
    if (options === null || typeof options !== "object") {
      throw new TypeError("OnlineTraceFitter needs an options object");
    }
    const blockSamples = options.blockSamples ?? 65536;
    if (!Number.isInteger(blockSamples) || blockSamples < 1) {
      throw new RangeError(
        `blockSamples must be a positive integer, got ${blockSamples}`,
      );
    }
    for (const k of ["input", "output"] as const) {
      const v = options[k];
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        throw new TypeError(
          `${k} must be an object { variable: recording }, e.g. { ${
            k === "input" ? "I" : "v"
          }: "trace.f32" }`,
        );
      }
    }
    const outNames = Object.keys(options.output);
    if (outNames.length !== 1) {
      throw new TypeError(
        `OnlineTraceFitter fits exactly one output variable, got ${outNames.length} (${
          outNames.join(", ")
        })`,
      );
    }
    const maxBytes = options.maxBufferBytes ?? MAX_BUFFER_BYTES;
    if (!(maxBytes > 0) || !Number.isFinite(maxBytes)) {
      throw new RangeError(
        `maxBufferBytes must be a positive number of bytes, got ${maxBytes}`,
      );
    }
    const replays: Replay[] = [];
    try {
      for (const [k, src] of Object.entries(options.input)) {
        replays.push(await toReplay(k, src, options.tempDir, maxBytes));
      }
      replays.push(
        await toReplay(
          outNames[0],
          options.output[outNames[0]],
          options.tempDir,
          maxBytes,
        ),
      );
      const r0 = replays[0];
      for (const r of replays) {
        if (r.nTraces !== r0.nTraces || r.nSteps !== r0.nSteps) {
          throw new TypeError(
            `recording '${r.name}' has ${r.nTraces} trace(s) × ${r.nSteps} samples, '${r0.name}' has ${r0.nTraces} × ${r0.nSteps}; all recordings need the same shape`,
          );
        }
      }
      // the base class gets one-sample placeholders holding the last sample
      // of each trace (what a penalty expression reads at the end)
      const placeholder = (r: Replay) =>
        Array.from({ length: r.nTraces }, (_, t) => Float64Array.of(r.last[t]));
      const {
        blockSamples: _b,
        tempDir: _t,
        maxBufferBytes: _m,
        ...rest
      } = options;
      return new StreamedOnlineTraceFitter(
        TOKEN,
        {
          ...rest,
          input: Object.fromEntries(
            replays.slice(0, -1).map((r) => [r.name, placeholder(r)]),
          ),
          output: { [outNames[0]]: placeholder(replays[replays.length - 1]) },
        },
        replays,
        blockSamples,
      );
    } catch (e) {
      await removeTemps(replays);
      throw e;
    }
  }

  /**
   * The same as {@linkcode StreamedOnlineTraceFitter.open} (the name the
   * class had when it inherited `OnlineTraceFitter.create`).
   * @param options see {@linkcode StreamedOnlineTraceFitter.open}
   * @returns the fitter
   */
  static create(
    options: StreamedOnlineTraceFitterOptions,
  ): Promise<StreamedOnlineTraceFitter> {
    return StreamedOnlineTraceFitter.open(options);
  }

  /** Progress reports: one per block (samples of the round so far, throughput) and one per finished round. */
  get progress(): Subscribable<StreamProgress> {
    const listeners = this.#listeners;
    const feed = {
      subscribe: (
        o: ChunkObserver<StreamProgress> | ((p: StreamProgress) => void),
      ) => {
        const obs = typeof o === "function" ? { next: o } : o;
        if (this.#closed) obs.complete?.();
        else listeners.add(obs);
        return { unsubscribe: () => void listeners.delete(obs) };
      },
      // interop: `from(fitter.progress)` of RxJS gives an Observable
      "@@observable": () => feed,
    };
    return feed;
  }

  /**
   * Delete temporary files and complete the progress stream.
   * @returns when done
   */
  override async dispose(): Promise<void> {
    this.#closed = true;
    for (const l of this.#listeners) l.complete?.();
    this.#listeners.clear();
    await removeTemps(this.#replays);
  }

  /**
   * `await using fitter = await OnlineTraceFitter.create(...)`: disposes
   * (deletes the temporary files) when the scope ends.
   * @returns when done
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * `using fitter = ...`: deletes the temporary files synchronously when the
   * scope ends.
   */
  [Symbol.dispose](): void {
    this.#closed = true;
    for (const l of this.#listeners) l.complete?.();
    this.#listeners.clear();
    for (const r of this.#replays) {
      if (r.tempFile) removeTempFileSync(r.tempFile);
    }
  }

  /**
   * Not available for streamed recordings (the traces are not in memory).
   * @param _options ignored
   * @returns never
   * @throws {TypeError} always
   */
  override generate(
    _options: GenerateOptions = {},
  ): Promise<Record<string, Float64Array[]>> {
    return Promise.reject(
      new TypeError(
        "generate/generateTraces is not available on a OnlineTraceFitter: simulate the best parameters with a Runner and fromRunner instead",
      ),
    );
  }

  /** Default samples per block of `refine`: `blockSamples`. */
  protected override get refineBlockSamples(): number {
    return this.blockSamples;
  }

  /**
   * The recordings block by block, re-read from their files (for `refine`).
   * @param n samples per block
   */
  protected override async *refineBlocks(
    n: number,
  ): AsyncGenerator<RefineBlock, void, undefined> {
    const its = new Map<
      string,
      AsyncGenerator<RecordingChunk, void, undefined>
    >();
    for (const r of this.#replays) its.set(r.name, r.open(n));
    const st = { its } as RoundState;
    try {
      while (true) {
        const b = await this.#readBlock(st);
        if (!b) return;
        yield b;
      }
    } finally {
      await closeAll(its);
    }
  }

  async #readBlock(st: RoundState): Promise<Block | null> {
    const got: { name: string; c: RecordingChunk | null }[] = [];
    for (const [name, it] of st.its) {
      const r = await it.next();
      got.push({ name, c: r.done ? null : r.value });
    }
    const ended = got.filter((g) => g.c === null).length;
    if (ended === got.length) return null;
    const ref = got.find((g) => g.c !== null)!;
    for (const g of got) {
      if (
        g.c === null || g.c.samples !== ref.c!.samples ||
        g.c.start !== ref.c!.start
      ) {
        throw new TypeError(
          `recording '${g.name}' changed since the fitter was created: at sample ${
            ref.c!.start
          } it has ${g.c ? g.c.samples : 0} samples, '${ref.name}' has ${
            ref.c!.samples
          }`,
        );
      }
    }
    const input: Record<string, Float64Array[]> = {};
    let output: Float64Array[] = [];
    for (const g of got) {
      if (g.name === this.#outputName) output = g.c!.channels;
      else input[g.name] = g.c!.channels;
    }
    return { start: ref.c!.start, samples: ref.c!.samples, input, output };
  }

  /** The current block as the next block of a runner. */
  #blockOf(st: RoundState): RunnerBlock {
    const b = st.block;
    return {
      input: b.input,
      targets: { [this.#outputName]: b.output },
      stepOrigin: b.start,
      accumulate: {
        startStep: Math.min(b.samples, Math.max(0, st.startStep - b.start)),
        weights: st.weights
          ? st.weights.subarray(b.start, b.start + b.samples)
          : undefined,
      },
    };
  }

  #blockRunner(
    st: RoundState,
    init: Record<string, number | string | Float64Array>,
  ): Promise<Runner> {
    const b = st.block;
    const rel = Math.min(b.samples, Math.max(0, st.startStep - b.start));
    return Runner.create(this.model, {
      dt: this.dt,
      nNeurons: st.nSets * this.nTraces,
      input: b.input,
      targets: { [this.#outputName]: b.output },
      params: st.params,
      init,
      record: [],
      device: this.device,
      seed: this.seed,
      stepOrigin: b.start,
      accumulate: {
        variable: this.#outputName,
        startStep: rel,
        weights: st.weights
          ? st.weights.subarray(b.start, b.start + b.samples)
          : undefined,
      },
    });
  }

  /**
   * Open the recordings for a round and build the runner of the first block.
   * @param params parameters per neuron
   * @param init initial values
   * @param nSets parameter sets
   * @param metrics the metric (an `MSEMetric`) of the output variable
   * @returns the batch
   */
  protected override async createBatch(
    params: Record<string, Float64Array>,
    init: Record<string, number | string | Float64Array>,
    nSets: number,
    metrics: Record<string, MSEMetric>,
  ): Promise<BatchRun> {
    const m = metrics[this.#outputName];
    if (m.tWeights && m.tWeights.length !== this.nSteps) {
      throw new TypeError(
        `MSEMetric: tWeights has ${m.tWeights.length} values but the recordings have ${this.nSteps} samples`,
      );
    }
    const startStep = m.startStep(this.dt);
    if (startStep >= this.activeSteps) {
      throw new RangeError(
        `tStart = ${m.tStart} s is at or after the end of the recordings (${this.activeSteps} samples of ${this.dt} s)`,
      );
    }
    const its = new Map<
      string,
      AsyncGenerator<RecordingChunk, void, undefined>
    >();
    for (const r of this.#replays) its.set(r.name, r.open(this.blockSamples));
    const st: RoundState = {
      its,
      block: null as unknown as Block,
      params,
      startStep,
      weights: m.tWeights,
      nSets,
    };
    try {
      const b = await this.#readBlock(st);
      if (!b) throw new RangeError("the recordings are empty");
      st.block = b;
      const runner = await this.#blockRunner(st, init);
      const run: StreamBatch = { runner, nSets, [ROUND]: st };
      return run;
    } catch (e) {
      await closeAll(its);
      throw e;
    }
  }

  /**
   * Simulate the round block by block and compute the errors.
   * @param run the batch from `createBatch`
   * @param metrics the metric of the output variable
   * @returns normalized and raw errors per parameter set
   */
  protected override async batchErrors(
    run: BatchRun,
    metrics: Record<string, MSEMetric>,
  ): Promise<BatchErrors> {
    const st = (run as StreamBatch)[ROUND]!;
    const N = st.nSets * this.nTraces;
    const sum = new Float64Array(N);
    const count = new Float64Array(N);
    const sink = (p: StreamProgress) => {
      for (const l of this.#listeners) l.next?.(p);
      this.#onProgress?.(p);
    };
    const counter = new ProgressCounter(sink, {
      operation: "fit",
      round: this.iteration,
      totalSamples: this.activeSteps,
      neurons: N,
    });
    // a windowed fit's stage simulates only a prefix (activeSteps samples)
    let left = this.activeSteps;
    try {
      while (true) {
        const steps = Math.min(st.block.samples, left);
        await run.runner.step(steps);
        const acc = await run.runner.accumulator();
        for (let n = 0; n < N; n++) {
          sum[n] += acc.sum[n];
          count[n] += acc.count[n];
        }
        counter.add(steps);
        left -= steps;
        if (left <= 0) break;
        const next = await this.#readBlock(st);
        if (!next) break;
        // continue from the exact final state (including lastspike and
        // not_refractory) in the same kernel: one kernel per round, not one
        // per block (a kernel per block left wasm memories and compiled
        // modules to the collector, and peak RSS grew with the length)
        st.block = next;
        await run.runner.continueWith(this.#blockOf(st));
      }
    } finally {
      await closeAll(st.its);
    }
    counter.report(true);
    // as OnlineTraceFitter.batchErrors
    const m = metrics[this.#outputName];
    const n2 = m.normalization * m.normalization;
    const normalized = new Float64Array(st.nSets);
    for (let s = 0; s < st.nSets; s++) {
      let e = 0;
      for (let t = 0; t < this.nTraces; t++) {
        const n = s * this.nTraces + t;
        e += sum[n] / count[n] / n2;
      }
      normalized[s] = e / this.nTraces;
    }
    return {
      normalized: { [this.#outputName]: normalized },
      raw: {
        [this.#outputName]: normalized.map((x) => m.revertNormalization(x)),
      },
    };
  }
}

async function closeAll(
  its: Map<string, AsyncGenerator<RecordingChunk, void, undefined>>,
): Promise<void> {
  for (const it of its.values()) await it.return().catch(() => {});
}
