/**
 * `OnlineTraceFitter`: like `TraceFitter` with a mean squared error, but the
 * squared error is accumulated inside the simulation kernel step by step
 * against `<var>_target`, so no trace is stored (reference:
 * brian2modelfitting `OnlineTraceFitter`). Memory does not grow with the
 * number of samples × steps.
 *
 * Difference from the reference (REFERENCE_NOTES, "Bugs and quirks"): the
 * reference adds `(v - v_target)**2` in the `end` slot, i.e. it compares the
 * value after the update, v(t_{k+1}), with target sample k (a one-step lag),
 * and divides by `(duration - t_start)/defaultclock.dt` instead of the number
 * of compared samples. Here sample k (the state at t_k before the update,
 * what TraceFitter records) is compared with target sample k, and the sum is
 * divided by the number of compared samples, so both fitters report the same
 * MSE for the same parameters (verified in the tests on the tutorial data).
 *
 * This module holds the implementation, {@linkcode OnlineTraceFitterBase};
 * `online_trace_fitter.ts` adds `OnlineTraceFitter.create` on top of it, and
 * the streamed fitter (`streamed_online_fitter.ts`) extends it, so no module
 * imports one that imports it back.
 * @module
 */
import { Runner } from "../../simulation/runner.ts";
import type { Dimension } from "../../units/dimension.ts";
import { MSEMetric } from "../metrics/mse.ts";
import {
  type BatchErrors,
  type BatchRun,
  type FitOptions,
  type FitResult,
  Fitter,
  type FitterOptions,
  powDim,
  type TraceRows,
} from "./fitter.ts";
import { CMAES } from "../optimizers/cmaes.ts";
import { isTraceSource, outputVariables, toRows } from "./_util.ts";
import {
  type RefineBlock,
  streamedRefine,
  type StreamedRefineOptions,
  type StreamedRefineResult,
} from "../refine/streamed_refine.ts";

/** Options of `OnlineTraceFitter` (in-memory traces). */
export interface OnlineTraceFitterOptions extends FitterOptions {
  /** Recorded traces (SI) of exactly one output variable, same shape as the inputs, e.g. `{ v: voltages }`. */
  output: Record<string, TraceRows>;
  /** Samples before this time (s) are not compared. Default 0. */
  tStart?: number;
}

/**
 * Options of `OnlineTraceFitter.fit`: those of every fitter plus the
 * windowed (curriculum) search.
 */
export interface OnlineFitOptions extends FitOptions<MSEMetric> {
  /**
   * Windowed global search: the ends (s) of growing prefixes of the
   * recordings, e.g. `[1, 4, 16]`; the whole recording is always the last
   * stage (appended when the last end is shorter). Each stage is a new
   * CMA-ES search on its prefix (streamed like any fit), the first from the
   * centre of the bounds, every later one with its mean at the previous
   * stage's best parameters and step size `windowSigma`. `nRounds` is the
   * total: the later stages get `⌊nRounds / (2·(stages − 1))⌋` each
   * (at least 1), the first (the global search) the rest, about half,
   * so the number of evaluated parameter sets equals that of a plain fit.
   * `"auto"`: {@linkcode defaultWindows}. A windowed fit always starts a new
   * optimization (as `restart: true`); it cannot take `optimizer` or
   * `executor`. The history and best parameters afterwards are those of the
   * last (whole-recording) stage; {@linkcode OnlineTraceFitterBase.windowStages}
   * lists every stage.
   */
  windows?: readonly number[] | "auto";
  /** CMA-ES step size (relative to the box, in (0, 1]) of the stages after the first. Default 0.02 (0.1 let the later stages drift out of the basin the first found on HH, see windowed_fit_test.ts). */
  windowSigma?: number;
}

/** One stage of a windowed fit (see `OnlineFitOptions.windows`). */
export interface WindowStage {
  /** Samples of the prefix simulated in this stage. */
  samples: number;
  /** Rounds run. */
  rounds: number;
  /** Parameter sets evaluated. */
  evaluations: number;
  /** The CMA-ES mean at the start (SI), null for the first stage (centre of the bounds). */
  x0: Record<string, number> | null;
  /** Best parameters of the stage (SI, fitted ones). */
  params: Record<string, number>;
  /** Best error of the stage (on its prefix). */
  error: number;
}

/**
 * The default schedule of windowed fits: prefixes of 1 s, 4 s, 16 s, ...
 * (×4) shorter than the recording, then the whole recording; none (a plain
 * fit) for recordings of 2 s or less. Why: over a long trace a small
 * parameter error desynchronises the spikes, so the MSE of a spiking model
 * is a narrow basin in a plateau where a silent neuron scores about as well
 * as a slightly wrong spiking one; on a prefix of about a second (a few
 * spikes) the basin is wide enough for a global search to find, and each
 * ×4 lengthening narrows it by a factor the warm-started search (step
 * `windowSigma`) can follow. Short stages are also cheap: at the same
 * number of evaluated sets a windowed fit simulates fewer neuron-steps.
 * What matters is a first window of a few spikes: for fast-spiking cells
 * pass a shorter one (tests/fitting/fitters/windowed_fit_test.ts, HH at
 * ~65 spikes/s: a first window of 0.05 s found the basin on 2 of 3 seeds,
 * 0.1 s and 0.5 s on none).
 * @param duration length of the recording (s)
 * @returns the ends of the stages (s), the whole recording last
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultWindows } from "./online_trace_base.ts";
 * assert.deepEqual(defaultWindows(60), [1, 4, 16, 60]);
 * assert.deepEqual(defaultWindows(2), [2]);
 * ```
 */
export function defaultWindows(duration: number): number[] {
  if (!(duration > 2)) return [duration];
  const w: number[] = [];
  for (let t = 1; t < duration; t *= 4) w.push(t);
  w.push(duration);
  return w;
}

/**
 * A trace fitter whose mean squared error is accumulated during the
 * simulation: the implementation shared by `OnlineTraceFitter`
 * (in-memory traces) and `StreamedOnlineTraceFitter` (files and streams).
 * Use `OnlineTraceFitter`; this class only exists so that the streamed
 * fitter can extend it without an import cycle.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnlineTraceFitter } from "./online_trace_fitter.ts";
 * import { DifferentialEvolution } from "../optimizers/differential_evolution.ts";
 * const x = [new Float64Array(100)];
 * const v = [Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0.01 : 0.02))];
 * const fitter = new OnlineTraceFitter({
 *   model: "v = c + x : volt\nc : volt (constant)", input: { x }, inputUnits: { x: "volt" },
 *   output: { v }, dt: 1e-4, nSamples: 20, tStart: 5e-3,
 * });
 * const { params } = await fitter.fit({
 *   optimizer: new DifferentialEvolution({ seed: 1 }), nRounds: 10, callback: null,
 *   params: { c: ["0 mV", "30 mV"] },
 * });
 * assert.ok(Math.abs(params.c - 0.02) < 1e-3);
 * ```
 */
export class OnlineTraceFitterBase extends Fitter<MSEMetric> {
  /** Target traces of the output variable (SI). */
  readonly output: Readonly<Record<string, Float64Array[]>>;
  /** Start of the compared window (s). */
  readonly tStart: number;

  /**
   * Create an online trace fitter.
   * @param options model, input, output (one variable), dt, nSamples (default 30),
   *   tStart, method, threshold, reset, refractory, paramInit, penalty,
   *   namespace, inputUnits, device, seed
   * @throws {TypeError} bad shapes, several output variables, unknown names
   * @throws {RangeError} NaN/infinite data, bad dt, nSamples or tStart
   */
  constructor(options: OnlineTraceFitterOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("OnlineTraceFitter needs an options object");
    }
    for (const k of ["input", "output"] as const) {
      for (const [name, v] of Object.entries(options[k] ?? {})) {
        if (isTraceSource(v)) {
          throw new TypeError(
            `${k} '${name}' is a file or a stream, not in-memory traces: use \`await OnlineTraceFitter.create(options)\`, which reads it in blocks every round`,
          );
        }
      }
    }
    const out = options.output;
    const vars = outputVariables(out);
    if (vars.length !== 1) {
      throw new TypeError(
        `OnlineTraceFitter fits exactly one output variable, got ${vars.length} (${
          vars.join(", ")
        })`,
      );
    }
    super(options, vars, vars, { nSamples: 30 });
    const tStart = options.tStart ?? 0;
    if (typeof tStart !== "number" || !Number.isFinite(tStart) || tStart < 0) {
      throw new RangeError(
        `tStart must be a finite number >= 0 (seconds), got ${tStart}`,
      );
    }
    this.tStart = tStart;
    const r = toRows(out[vars[0]], `output '${vars[0]}'`);
    if (r.length !== this.nTraces || r[0].length !== this.nSteps) {
      throw new TypeError(
        `output '${vars[0]}' has shape [${r.length}, ${
          r[0].length
        }] but the input has shape [${this.nTraces}, ${this.nSteps}]`,
      );
    }
    this.output = { [vars[0]]: r };
  }

  #window: number | null = null;
  #stages: WindowStage[] = [];

  /**
   * Samples simulated per evaluation: the current stage's prefix during a
   * windowed fit, else every sample.
   */
  protected get activeSteps(): number {
    return this.#window ?? this.nSteps;
  }

  /** The stages of the last windowed fit (empty before one). */
  get windowStages(): readonly WindowStage[] {
    return this.#stages;
  }

  /**
   * Fit (see `Fitter.fit`); with `windows`, a windowed global search:
   * CMA-ES on growing prefixes of the recordings, each stage warm-started
   * at the previous stage's best (see {@linkcode OnlineFitOptions}).
   * @param options as `Fitter.fit`, plus `windows` and `windowSigma`
   * @returns the best parameters and error (on the whole recording)
   * @throws {TypeError} `windows` with `optimizer` or `executor`
   * @throws {RangeError} bad windows, fewer rounds than stages
   */
  override async fit(options: OnlineFitOptions = {}): Promise<FitResult> {
    const { windows, windowSigma, ...rest } = options;
    if (windows === undefined) return await super.fit(rest);
    if (rest.optimizer !== undefined || rest.executor !== undefined) {
      throw new TypeError(
        "fit({ windows }) runs its own CMA-ES per stage: it cannot take optimizer or executor",
      );
    }
    const sigma = windowSigma ?? 0.02;
    if (!(sigma > 0 && sigma <= 1)) {
      throw new RangeError(`windowSigma must be in (0, 1], got ${sigma}`);
    }
    const ends = windows === "auto"
      ? defaultWindows(this.duration)
      : [...windows];
    const steps: number[] = [];
    for (const t of ends) {
      if (typeof t !== "number" || !(t > 0) || !Number.isFinite(t)) {
        throw new RangeError(
          `windows must be positive durations (s), got ${t}`,
        );
      }
      const n = Math.min(this.nSteps, Math.round(t / this.dt));
      if (n < 1 || (steps.length > 0 && n <= steps[steps.length - 1])) {
        throw new RangeError(
          `windows must increase (by at least one sample of ${this.dt} s), got ${
            ends.join(", ")
          }`,
        );
      }
      steps.push(n);
    }
    if (steps[steps.length - 1] < this.nSteps) steps.push(this.nSteps);
    const nRounds = rest.nRounds ?? steps.length;
    if (!Number.isInteger(nRounds) || nRounds < steps.length) {
      throw new RangeError(
        `fit({ windows }) needs nRounds >= the number of stages (${steps.length}), got ${nRounds}`,
      );
    }
    // half the rounds to the first (global) stage, the rest split evenly
    // over the later (local, warm-started) ones
    const S = steps.length;
    const per = S === 1
      ? nRounds
      : Math.max(1, Math.floor(nRounds / (2 * (S - 1))));
    const stages: WindowStage[] = [];
    let x0: Record<string, number> | null = null;
    let result: FitResult | null = null;
    try {
      for (let k = 0; k < steps.length; k++) {
        const rounds = k === 0 ? nRounds - per * (S - 1) : per;
        this.#window = steps[k] === this.nSteps ? null : steps[k];
        const optimizer: CMAES = x0 === null
          ? new CMAES({ seed: this.seed })
          : new CMAES({ seed: this.seed + k, x0, sigma0: sigma });
        result = await super.fit({
          ...rest,
          optimizer,
          nRounds: rounds,
          restart: true,
        });
        const best = Object.fromEntries(
          Object.keys(this.bounds!).map((p) => [p, result!.params[p]]),
        );
        stages.push({
          samples: steps[k],
          rounds,
          evaluations: rounds * this.nSamples,
          x0,
          params: best,
          error: result.error,
        });
        x0 = best;
      }
    } finally {
      this.#window = null;
      this.#stages = stages;
    }
    return result!;
  }

  /**
   * Release resources (temporary files of streamed fitters; nothing for
   * in-memory traces).
   * @returns when done
   */
  dispose(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Local refinement by streamed Levenberg–Marquardt: every pass simulates
   * one parameter set with its forward sensitivity equations, block by
   * block, and accumulates `JᵀJ` and `Jᵀr`, so memory is O(p²) plus one
   * block, whatever the length of the recordings (files are re-read every
   * pass). The objective is `fit`'s (MSE after `tStart`, weights,
   * normalization); bounds and fixed values as in `fit` (default: the last
   * fit's), parameters scaled to their bounds. Sensitivities are exact for
   * models without resets; they are not carried through threshold
   * crossings (no saltation), so on spiking models with resets the Jacobian
   * is approximate.
   * @param options start point (default the best parameters), bounds,
   *   metric, maxPasses (default 20), ftol, xtol, paramInit, blockSamples,
   *   callback
   * @returns the refined parameters, their error, passes over the data
   * @throws {TypeError} no start point or bounds, a non-MSE metric
   * @throws {RangeError} bad options, a non-finite error at the start
   */
  refine(options: StreamedRefineOptions = {}): Promise<StreamedRefineResult> {
    return streamedRefine({
      fitter: this,
      blocks: (n) => this.refineBlocks(n),
      blockSamples: this.refineBlockSamples,
    }, options);
  }

  /** Default samples per block of `refine`. */
  protected get refineBlockSamples(): number {
    return 65536;
  }

  /**
   * The recordings block by block (for `refine`).
   * @param n samples per block
   */
  protected async *refineBlocks(
    n: number,
  ): AsyncGenerator<RefineBlock, void, undefined> {
    const out = this.output[this.outputVars[0]];
    for (let a = 0; a < this.nSteps; a += n) {
      const b = Math.min(this.nSteps, a + n);
      const input: Record<string, Float64Array[]> = {};
      for (const [k, rows] of Object.entries(this.input)) {
        input[k] = rows.map((r) => r.subarray(a, b));
      }
      yield {
        start: a,
        samples: b - a,
        input,
        output: out.map((r) => r.subarray(a, b)),
      };
    }
  }

  /** The default metric of this fitter. */
  protected defaultMetric(): MSEMetric {
    return new MSEMetric({ tStart: this.tStart });
  }

  /** Whether `m` is a metric this fitter accepts. */
  protected acceptsMetric(m: unknown): m is MSEMetric {
    return m instanceof MSEMetric;
  }

  /** Name of the accepted kind of metric (for error messages). */
  protected get metricKind(): string {
    return "MSEMetric (the online fitter accumulates squared errors)";
  }

  /** The target traces given to the simulation as `<var>_target`. */
  protected override targetRows(): Record<string, Float64Array[]> {
    return this.output as Record<string, Float64Array[]>;
  }

  /** Dimension of the (unnormalized) total error. */
  protected errorDimension(): Dimension {
    return powDim(this.dimensionOf(this.outputVars[0]), 2);
  }

  /** Build the runner of one batch of parameter sets. */
  protected async createBatch(
    params: Record<string, Float64Array>,
    init: Record<string, number | string | Float64Array>,
    nSets: number,
    metrics: Record<string, MSEMetric>,
  ): Promise<BatchRun> {
    const v = this.outputVars[0];
    const m = metrics[v];
    if (m.tWeights && m.tWeights.length !== this.nSteps) {
      throw new TypeError(
        `MSEMetric: tWeights has ${m.tWeights.length} values but the traces have ${this.nSteps} steps`,
      );
    }
    const startStep = m.startStep(this.dt);
    if (startStep >= this.activeSteps) {
      throw new RangeError(
        `tStart = ${m.tStart} s is at or after the end of the traces (${this.activeSteps} steps of ${this.dt} s)`,
      );
    }
    const runner = await Runner.create(this.model, {
      dt: this.dt,
      nNeurons: nSets * this.nTraces,
      input: this.input,
      targets: this.output,
      params,
      init,
      record: [],
      device: this.device,
      seed: this.seed,
      accumulate: { variable: v, startStep, weights: m.tWeights ?? undefined },
    });
    return { runner, nSets };
  }

  /** Run a batch to the end and compute its errors. */
  protected async batchErrors(
    run: BatchRun,
    metrics: Record<string, MSEMetric>,
  ): Promise<BatchErrors> {
    const v = this.outputVars[0];
    const m = metrics[v];
    await run.runner.step(this.activeSteps);
    const { sum, count } = await run.runner.accumulator();
    const n2 = m.normalization * m.normalization;
    const normalized = new Float64Array(run.nSets);
    for (let s = 0; s < run.nSets; s++) {
      let e = 0;
      for (let t = 0; t < this.nTraces; t++) {
        const n = s * this.nTraces + t;
        e += sum[n] / count[n] / n2;
      }
      normalized[s] = e / this.nTraces;
    }
    return {
      normalized: { [v]: normalized },
      raw: { [v]: normalized.map((x) => m.revertNormalization(x)) },
    };
  }

  /**
   * Simulate the output variable with given or best parameters.
   * @param options params (default: best), paramInit (overrides the constructor's), iteration (default 1e9)
   * @returns rows per trace of the output variable
   * @throws {TypeError} no parameters and no fit yet
   */
  generateTraces(
    options: {
      params?: Record<string, number | string>;
      paramInit?: Record<string, number | string>;
      iteration?: number;
    } = {},
  ): Promise<Record<string, Float64Array[]>> {
    return this.generate({ ...options, outputVar: [...this.outputVars] });
  }
}
