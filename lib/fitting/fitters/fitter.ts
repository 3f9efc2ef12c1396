/**
 * The abstract `Fitter`: what `TraceFitter`, `SpikeFitter` and
 * `OnlineTraceFitter` share (reference: brian2modelfitting `fitter.py`,
 * class `Fitter`). It builds the model (adding the shared round counter
 * `iteration : integer (constant, shared)` and `<var>_target` look-ups of the
 * recorded outputs), validates inputs, runs the ask → simulate → error → tell
 * loop over `nSamples × nTraces` neurons in one batch (neuron index
 * `sample * nTraces + trace`), and keeps every evaluated parameter set.
 *
 * Deliberate differences from the reference (REFERENCE_NOTES, "Bugs and
 * quirks"): the best parameters and the best error come from one NaN-aware
 * choice (non-finite errors never win); `generate({ paramInit })` honours its
 * argument and returns every requested variable; per-neuron penalties work
 * with several traces (averaged over traces); several input variables are
 * supported; a parameter can be fixed by giving a value instead of bounds.
 * @module
 */
import { NeuronModel } from "../../simulation/neuron_model.ts";
import {
  htmlTable,
  type JUPYTER_DISPLAY,
  type MediaBundle,
  textTable,
  withDisplay,
} from "../../display.ts";
import { type Device, Runner } from "../../simulation/runner.ts";
import type { NamespaceValue } from "../../equations/model.ts";
import { describeModel } from "../../equations/model.ts";
import { Dimension, DimensionMismatchError } from "../../units/dimension.ts";
import { isOptimizer, type Optimizer } from "../optimizers/optimizer.ts";
import { CMAES } from "../optimizers/cmaes.ts";
import {
  type EvaluatedSets,
  type FitExecutor,
  type FitJob,
  type FitJobBase,
  isFitExecutor,
} from "../executor.ts";
import type { Metric } from "../metrics/metric.ts";
import {
  callbackSetup,
  type FitCallback,
  type FitCallbackInfo,
} from "../callbacks.ts";
import {
  evaluateAtEnd,
  siValue,
  toRows,
  type TraceRows,
  type ValueWithUnit,
} from "./_util.ts";

export type { TraceRows, ValueWithUnit };

/** Options shared by every fitter's constructor. */
export interface FitterOptions {
  /** Equations (Brian 2 syntax) or a compiled `NeuronModel` (its equations and options are reused). */
  model: string | NeuronModel;
  /** Input traces (SI) per input variable, one row per trace, e.g. `{ I: currents }`. */
  input: Record<string, TraceRows>;
  /** Time step of the recordings and the simulation (s). */
  dt: number;
  /** Parameter sets simulated per round (the optimizer may change it). Default 60 (TraceFitter), 30 (others). */
  nSamples?: number;
  /** Integration method. Default: Brian's choice (TraceFitter, OnlineTraceFitter), `exponential_euler` (SpikeFitter). */
  method?: string;
  /** Spike condition, e.g. `"v > -50*mV"`. */
  threshold?: string;
  /** Reset statements. */
  reset?: string;
  /** Refractory period (s), time expression or condition. */
  refractory?: number | string | false;
  /** Initial values of state variables (number SI, string with units, or expression such as `"E_L"`); values for parameters fix them. */
  paramInit?: Record<string, number | string>;
  /** Name of a model variable whose value at the end of each run is added to the error (per neuron, averaged over traces). */
  penalty?: string;
  /** Constants used by the equations. */
  namespace?: Record<string, NamespaceValue>;
  /** Units of input variables (otherwise inferred from the equations). */
  inputUnits?: Record<string, string>;
  /** Where to simulate: `"cpu"` (default), `"webgpu"` or `"auto"`. */
  device?: Device;
  /** Seed of the default optimizer and of noise in the model. Default 0. */
  seed?: number;
}

/** Bounds `[lower, upper]` or a fixed value per parameter (SI numbers or strings with units). */
export type ParamBounds = Record<
  string,
  readonly [ValueWithUnit, ValueWithUnit] | ValueWithUnit
>;

/** Options of `fit`. */
export interface FitOptions<M> {
  /**
   * The optimizer. Default `new CMAES({ seed })` (CMA-ES with the population
   * `nSamples`, parameters whose bounds `0 < lo` span more than two decades
   * searched on the log scale). On the HH tutorial fit (100 samples x 10
   * rounds, seeds 0-9) it reached a median best error of 1.08e-6 V² (worst
   * 1.60e-6); `DifferentialEvolution`, the default before, 2.1e-6 (worst
   * 2.9e-6) with the same log scales and 2.4e-6 (worst 3.6e-6) without
   * (bench/optimizer_bench.ts).
   */
  optimizer?: Optimizer;
  /** The metric, or one metric per output variable. Default: the fitter's default metric. */
  metric?: M | Record<string, M>;
  /** Rounds to run. Default 1. */
  nRounds?: number;
  /** `"text"` (default), `"progressbar"`, `null` or a function returning `true` to stop. */
  callback?: FitCallback;
  /** Start a new optimization (re-initialize the optimizer, reset the round counter and the history). Default false. */
  restart?: boolean;
  /** Value of the round counter for the first round of this call. */
  startIteration?: number;
  /** Penalty variable for this call (overrides the constructor's). */
  penalty?: string;
  /** Bounds `[lo, hi]` or fixed values for every model parameter. Required on the first call and after a restart. */
  params?: ParamBounds;
  /**
   * Where to evaluate each round's parameter sets (e.g. the Redis executor
   * of `neurofit/distributed`). Default: in this process.
   */
  executor?: FitExecutor;
}

/** Result of `fit`. */
export interface FitResult {
  /** Best parameters (SI), fitted and fixed. */
  params: Record<string, number>;
  /** Best error (normalized, penalty included). */
  error: number;
  /**
   * Notebook display (`deno jupyter`): the parameters and the error as an
   * HTML table (non-enumerable; set on the results of `fit`).
   */
  readonly [JUPYTER_DISPLAY]?: () => MediaBundle;
}

/** One evaluated parameter set of `results({ format: "list" })`. */
export interface ResultEntry {
  /** Fitted parameter values (SI). */
  params: Record<string, number>;
  /** Total error (NaN when the simulation diverged). */
  error: number;
  /** Per output variable: errors in output units (normalization undone). */
  objectiveErrors: Record<string, number>;
  /** Per output variable: normalized errors. */
  objectiveErrorsNormalized: Record<string, number>;
  /** Round counter value of the round that evaluated it. */
  iteration: number;
}

/** `results({ format: "dict" })`: one array per column. */
export interface ResultColumns {
  /** Values per fitted parameter. */
  params: Record<string, Float64Array>;
  /** Total errors. */
  error: Float64Array;
  /** Per output variable, errors in output units. */
  objectiveErrors: Record<string, Float64Array>;
  /** Per output variable, normalized errors. */
  objectiveErrorsNormalized: Record<string, Float64Array>;
}

/** `results({ format: "table" })`: column names and rows of numbers. */
export interface ResultTable {
  /** Column names: parameters, `error`, then `error_<var>` and `normalized_error_<var>` with several outputs. */
  columns: string[];
  /** One row per evaluated set. */
  rows: number[][];
  /**
   * Notebook display (`deno jupyter`): an HTML table of the 50 best sets,
   * sorted by error (non-enumerable; set by `results({ format: "table" })`).
   */
  readonly [JUPYTER_DISPLAY]?: () => MediaBundle;
}

/**
 * Gives a fit result its notebook display (an HTML table of the parameters).
 * @param r the result
 * @returns `r`
 */
export function displayFitResult(r: FitResult): FitResult {
  return withDisplay(r, () => {
    const rows: [string, number][] = [
      ...Object.entries(r.params),
      ["error", r.error],
    ];
    return {
      "text/html": htmlTable(["parameter", "value (SI)"], rows, {
        caption: "Best fit",
      }),
      "text/plain": textTable(["parameter", "value (SI)"], rows),
    };
  });
}

/**
 * Gives a result table its notebook display (the best 50 sets by error).
 * @param t the table
 * @returns `t`
 */
export function displayResultTable(t: ResultTable): ResultTable {
  return withDisplay(t, () => {
    const e = t.columns.indexOf("error");
    const key = (r: number[]) => (Number.isNaN(r[e]) ? Infinity : r[e]);
    const sorted = [...t.rows].sort((a, b) => key(a) - key(b));
    return {
      "text/html": htmlTable(t.columns, sorted, {
        caption: `${t.rows.length} evaluated parameter sets, sorted by error`,
      }),
      "text/plain": textTable(t.columns, sorted),
    };
  });
}

/** Options of `generate`. */
export interface GenerateOptions {
  /** Variables to record: a name, several names, or `"spikes"`. Default: the output variables. */
  outputVar?: string | readonly string[];
  /** Parameters (SI or strings with units). Default: the best parameters. */
  params?: Record<string, ValueWithUnit>;
  /** Initial values (override the constructor's `paramInit`). */
  paramInit?: Record<string, number | string>;
  /** Value of `iteration`. Default 1e9 (as the reference). */
  iteration?: number;
}

/** What a concrete fitter computes from one batch simulation. */
export interface BatchErrors {
  /** Per output variable: normalized errors per sample. */
  normalized: Record<string, Float64Array>;
  /** Per output variable: errors in output units per sample. */
  raw: Record<string, Float64Array>;
}

/** Internal description of one batch simulation. */
export interface BatchRun {
  /** The runner (created with `record`/`accumulate` as the fitter asked). */
  runner: Runner;
  /** Number of parameter sets. */
  nSets: number;
}

/**
 * The base class of the fitters. Not used directly: see `TraceFitter`,
 * `SpikeFitter` and `OnlineTraceFitter`.
 */
export abstract class Fitter<M extends Metric = Metric> {
  /** The model actually simulated (with `iteration` and `<var>_target`). */
  readonly model: NeuronModel;
  /** Equations of {@linkcode Fitter.model}. */
  readonly equations: string;
  /** Time step (s). */
  readonly dt: number;
  /** Number of traces (rows of the inputs). */
  readonly nTraces: number;
  /** Samples per trace. */
  readonly nSteps: number;
  /** Duration of a trace (s): `nSteps · dt`. */
  readonly duration: number;
  /** Input rows per input variable (SI). */
  readonly input: Readonly<Record<string, Float64Array[]>>;
  /** Fitted-parameter candidates: every model parameter except `iteration`. */
  readonly parameterNames: readonly string[];
  /** Output variable names (`["spikes"]` for the SpikeFitter). */
  readonly outputVars: readonly string[];
  /** Requested samples per round. */
  readonly requestedSamples: number;
  /** Device of the simulations. */
  readonly device: Device;
  /** Seed. */
  readonly seed: number;
  /** Constructor's `paramInit`. */
  readonly paramInit: Readonly<Record<string, number | string>>;
  /** Constructor's penalty. */
  readonly penalty: string | undefined;
  /** Options the model was built with (used to rebuild it with sensitivity equations). */
  readonly modelOptions: {
    threshold?: string;
    reset?: string;
    refractory?: number | string | false;
    method?: string;
    namespace?: Record<string, NamespaceValue>;
    inputUnits?: Record<string, string>;
    targets: string[];
  };

  #optimizer: Optimizer | null = null;
  #metric: Record<string, M> | null = null;
  #metricArg: unknown = undefined;
  #nSamples = 0;
  #iteration = 0;
  #lastIteration = -1;
  #bounds: Record<string, [number, number]> | null = null;
  #fixed: Record<string, number> = {};
  #fitted: string[] = [];
  #history: ResultEntry[] = [];
  #best = -1;

  /**
   * Validate the inputs and build the model (called by the concrete fitters).
   * @param options see {@linkcode FitterOptions}
   * @param outputVars names of the recorded outputs (model variables)
   * @param targets outputs whose `<var>_target` the model may reference
   * @param defaults default samples and method of the concrete fitter
   */
  protected constructor(
    options: FitterOptions,
    outputVars: string[],
    targets: string[],
    defaults: { nSamples: number; method?: string },
  ) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "the fitter needs an options object { model, input, output, dt, ... }",
      );
    }
    const m = options.model;
    let eqs: string;
    let base: Partial<FitterOptions> = {};
    if (m instanceof NeuronModel) {
      eqs = m.equations;
      base = { ...m.options } as Partial<FitterOptions>;
    } else if (typeof m === "string") eqs = m;
    else {throw new TypeError(
        `model must be an equation string or a NeuronModel, got ${typeof m}`,
      );}
    const dt = options.dt;
    if (typeof dt !== "number" || !Number.isFinite(dt) || !(dt > 0)) {
      throw new RangeError(
        `dt must be a positive number of seconds, got ${dt}`,
      );
    }
    this.dt = dt;
    const nSamples = options.nSamples ?? defaults.nSamples;
    if (!Number.isInteger(nSamples) || nSamples < 1) {
      throw new RangeError(`nSamples must be an integer >= 1, got ${nSamples}`);
    }
    this.requestedSamples = nSamples;
    this.device = options.device ?? "cpu";
    this.seed = options.seed ?? 0;
    if (!Number.isFinite(this.seed)) {
      throw new RangeError(`seed must be finite, got ${this.seed}`);
    }
    // inputs
    if (
      options.input === null || typeof options.input !== "object" ||
      Array.isArray(options.input)
    ) {
      throw new TypeError(
        "input must be an object { name: traces }, e.g. { I: currents }",
      );
    }
    const names = Object.keys(options.input);
    if (names.length === 0) {
      throw new TypeError(
        "input must name at least one input variable, e.g. { I: currents }",
      );
    }
    const input: Record<string, Float64Array[]> = {};
    let nTraces = -1;
    let nSteps = -1;
    for (const k of names) {
      const rows = toRows(options.input[k], `input '${k}'`);
      if (nTraces < 0) {
        nTraces = rows.length;
        nSteps = rows[0].length;
      } else if (rows.length !== nTraces || rows[0].length !== nSteps) {
        throw new TypeError(
          `input '${k}' has shape [${rows.length}, ${rows[0].length}], input '${
            names[0]
          }' has [${nTraces}, ${nSteps}]; all inputs need the same shape`,
        );
      }
      input[k] = rows;
    }
    this.input = input;
    this.nTraces = nTraces;
    this.nSteps = nSteps;
    this.duration = nSteps * dt;
    // model: add the round counter unless the user defined it
    const namespace = options.namespace ?? base.namespace;
    const inputUnits = options.inputUnits ?? base.inputUnits;
    const pre = describeModel(eqs, { namespace, inputUnits });
    if (
      !pre.variables.has("iteration") ||
      pre.variables.get("iteration")!.kind === "input"
    ) {
      eqs = `${eqs}\niteration : integer (constant, shared)\n`;
    }
    for (const v of targets) {
      const info = pre.variables.get(v);
      if (
        !info ||
        (info.kind !== "state" && info.kind !== "subexpression" &&
          info.kind !== "parameter")
      ) {
        throw new TypeError(
          `output variable '${v}' is not a variable of the model (states: ${
            pre.states.join(", ") || "none"
          }; subexpressions: ${pre.subexpressions.join(", ") || "none"})`,
        );
      }
    }
    this.modelOptions = {
      threshold: options.threshold ?? base.threshold,
      reset: options.reset ?? base.reset,
      refractory: options.refractory ?? base.refractory,
      method: options.method ?? base.method ?? defaults.method,
      namespace,
      inputUnits,
      targets,
    };
    this.equations = eqs;
    this.model = new NeuronModel(eqs, this.modelOptions);
    const modelInputs = this.model.inputs;
    for (const k of names) {
      if (!modelInputs.includes(k)) {
        const v = this.model.description.variables.get(k);
        throw new TypeError(
          v
            ? `'${k}' is a ${v.kind} of the model, not an input; inputs are names used but not defined (${
              modelInputs.join(", ") || "none"
            })`
            : `input '${k}' is not used by the model (inputs: ${
              modelInputs.join(", ") || "none"
            })`,
        );
      }
    }
    for (const k of modelInputs) {
      if (!(k in input)) {
        throw new TypeError(
          `the model uses the input '${k}' but input has no '${k}' traces`,
        );
      }
    }
    this.parameterNames = this.model.parameters.filter((p) =>
      p !== "iteration"
    );
    this.outputVars = outputVars;
    // paramInit: states or parameters
    const init = options.paramInit ?? {};
    if (init === null || typeof init !== "object") {
      throw new TypeError("paramInit must be an object { variable: value }");
    }
    for (const [k, v] of Object.entries(init)) {
      if (!this.model.states.includes(k) && !this.parameterNames.includes(k)) {
        throw new TypeError(
          `paramInit names '${k}', which is not a state variable or parameter of the model (states: ${
            this.model.states.join(", ")
          }; parameters: ${this.parameterNames.join(", ")})`,
        );
      }
      if (typeof v !== "number" && typeof v !== "string") {
        throw new TypeError(
          `paramInit '${k}' must be a number or a string, got ${typeof v}`,
        );
      }
    }
    this.paramInit = { ...init };
    this.penalty = options.penalty;
    if (this.penalty !== undefined) this.#checkPenaltyName(this.penalty);
  }

  // ---------------------------------------------------------------- abstract

  /** The default metric. */
  protected abstract defaultMetric(): M;
  /** Whether `m` is a metric this fitter accepts. */
  protected abstract acceptsMetric(m: unknown): m is M;
  /** Name of the accepted metric kind (for messages). */
  protected abstract get metricKind(): string;
  /** Create the runner of a batch of `nSets` parameter sets. */
  protected abstract createBatch(
    params: Record<string, Float64Array>,
    init: Record<string, number | string | Float64Array>,
    nSets: number,
    metrics: Record<string, M>,
  ): Promise<BatchRun>;
  /** Run the batch to the end and compute the errors. */
  protected abstract batchErrors(
    run: BatchRun,
    metrics: Record<string, M>,
  ): Promise<BatchErrors>;
  /** Dimension (power of the output unit) of the total error, for labels and the penalty check. */
  protected abstract errorDimension(metrics: Record<string, M>): Dimension;

  /**
   * The fitting problem as plain data, for `fit({ executor })`. Fitters that
   * cannot be described as data yet throw.
   * @param _metrics metric per output variable
   * @param _penalty penalty variable or undefined
   * @returns the job
   * @throws {TypeError} always, unless the concrete fitter overrides it
   */
  protected executorJob(
    _metrics: Record<string, M>,
    _penalty: string | undefined,
  ): FitJob {
    throw new TypeError(
      `${this.constructor.name} cannot run on an executor yet; fit it without the executor option`,
    );
  }

  /**
   * The part of an executor job every fitter shares.
   * @param penalty penalty variable or undefined
   * @returns model, options, inputs and settings as plain data
   * @throws {TypeError} a namespace value given as a quantity object
   */
  protected executorJobBase(penalty: string | undefined): FitJobBase {
    const o = this.modelOptions;
    let namespace: Record<string, number | string> | undefined;
    if (o.namespace) {
      namespace = {};
      for (const [k, val] of Object.entries(o.namespace)) {
        if (typeof val !== "number" && typeof val !== "string") {
          throw new TypeError(
            `namespace value '${k}' is a quantity object; give it as a number or a string with units to run on an executor`,
          );
        }
        namespace[k] = val;
      }
    }
    return {
      equations: this.equations,
      threshold: o.threshold,
      reset: o.reset,
      refractory: o.refractory,
      method: o.method,
      namespace,
      inputUnits: o.inputUnits,
      dt: this.dt,
      input: { ...this.input } as Record<string, Float64Array[]>,
      paramInit: { ...this.paramInit },
      device: this.device,
      seed: this.seed,
      penalty,
      parameters: [...this.parameterNames],
    };
  }

  // ---------------------------------------------------------------- state

  /** The optimizer of the current fit series (null before `fit`). */
  get optimizer(): Optimizer | null {
    return this.#optimizer;
  }

  /** The metric per output variable of the current fit series (null before `fit`). */
  get metric(): Readonly<Record<string, M>> | null {
    return this.#metric;
  }

  /** Parameter sets per round in the current fit series (0 before `fit`). */
  get nSamples(): number {
    return this.#nSamples;
  }

  /** Neurons simulated per round: `nSamples · nTraces`. */
  get nNeurons(): number {
    return this.#nSamples * this.nTraces;
  }

  /** The round counter of the next round. */
  get iteration(): number {
    return this.#iteration;
  }

  /** The value of `iteration` the model saw in the last round (-1 before any round). */
  get lastIteration(): number {
    return this.#lastIteration;
  }

  /** Bounds of the fitted parameters in the current series (SI). */
  get bounds(): Readonly<Record<string, [number, number]>> | null {
    return this.#bounds;
  }

  /** Fixed parameters in the current series (SI). */
  get fixedParams(): Readonly<Record<string, number>> {
    return this.#fixed;
  }

  /** Names of the fitted parameters of the current series. */
  get fittedParams(): readonly string[] {
    return this.#fitted;
  }

  /** Best parameters so far (SI; fitted and fixed), or null. */
  get bestParams(): Record<string, number> | null {
    if (this.#best < 0) return null;
    return { ...this.#history[this.#best].params, ...this.#fixed };
  }

  /** Best (smallest finite) total error so far, or null. */
  get bestError(): number | null {
    return this.#best < 0 ? null : this.#history[this.#best].error;
  }

  /** Normalized errors per output variable of the best set, or null. */
  get bestObjectiveErrors(): Record<string, number> | null {
    return this.#best < 0
      ? null
      : { ...this.#history[this.#best].objectiveErrorsNormalized };
  }

  /** Errors in output units per output variable of the best set, or null. */
  get bestObjectiveErrorsRaw(): Record<string, number> | null {
    return this.#best < 0
      ? null
      : { ...this.#history[this.#best].objectiveErrors };
  }

  /** Dimension of a parameter or variable of the model. */
  dimensionOf(name: string): Dimension {
    const v = this.model.description.variables.get(name);
    if (!v) throw new TypeError(`'${name}' is not a variable of the model`);
    return v.dim;
  }

  // ---------------------------------------------------------------- fit

  /**
   * Run `nRounds` rounds of the optimizer (continuing the previous series
   * unless `restart`).
   * @param options optimizer, metric, nRounds, callback, restart,
   *   startIteration, penalty, params (bounds or fixed values)
   * @returns the best parameters (SI) and the best error
   * @throws {TypeError} not an optimizer, wrong metric type, missing bounds
   * @throws {RangeError} inverted bounds, unknown parameters, bad nRounds
   * @throws {DimensionMismatchError} a bound with units of the wrong dimension, a penalty of the wrong dimension
   * @throws {Error} a different optimizer or metric without `restart: true`
   */
  async fit(options: FitOptions<M> = {}): Promise<FitResult> {
    const nRounds = options.nRounds ?? 1;
    if (!Number.isInteger(nRounds) || nRounds < 0) {
      throw new RangeError(`nRounds must be an integer >= 0, got ${nRounds}`);
    }
    const first = this.#optimizer === null || options.restart === true;
    let optimizer = options.optimizer;
    if (optimizer === undefined || optimizer === null) {
      optimizer = first ? new CMAES({ seed: this.seed }) : this.#optimizer!;
    }
    if (!isOptimizer(optimizer)) {
      throw new TypeError(
        "optimizer must have the methods initialize, ask, tell and recommend (e.g. new DifferentialEvolution())",
      );
    }
    const metricArg = options.metric;
    const metrics = metricArg === undefined && !first
      ? this.#metric!
      : this.#resolveMetric(metricArg);
    if (!first) {
      if (optimizer !== this.#optimizer) {
        throw new Error(
          "fit() was called with a different optimizer than the previous call; pass restart: true to start a new optimization",
        );
      }
      const changed = metricArg !== undefined &&
        metricArg !== this.#metricArg &&
        this.outputVars.some((v) => metrics[v] !== this.#metric![v]);
      if (changed) {
        throw new Error(
          "fit() was called with a different metric than the previous call; pass restart: true to start a new optimization",
        );
      }
    }
    const penalty = options.penalty ?? this.penalty;
    if (penalty !== undefined) {
      this.#checkPenaltyName(penalty);
      this.#checkPenaltyDimension(penalty, metrics);
    }
    if (first) {
      if (!options.params) {
        throw new TypeError(
          `fit() needs params: bounds [lower, upper] or a fixed value for every parameter (${
            this.parameterNames.join(", ")
          })`,
        );
      }
      const { bounds, fixed } = this.parseBounds(options.params);
      const fitted = Object.keys(bounds);
      if (fitted.length === 0) {
        throw new TypeError(
          "fit() needs at least one parameter with bounds [lower, upper]",
        );
      }
      const n = optimizer.initialize(
        fitted,
        this.requestedSamples,
        Math.max(1, nRounds),
        bounds,
      );
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(
          `the optimizer's initialize() returned an invalid population size ${n}`,
        );
      }
      this.#optimizer = optimizer;
      this.#metric = metrics;
      this.#metricArg = metricArg;
      this.#nSamples = n;
      this.#bounds = bounds;
      this.#fixed = fixed;
      this.#fitted = fitted;
      this.#history = [];
      this.#best = -1;
      this.#iteration = options.startIteration ?? 0;
    } else {
      if (options.params) {
        const { bounds, fixed } = this.parseBounds(options.params);
        const same = Object.keys(bounds).length === this.#fitted.length &&
          this.#fitted.every((k) =>
            bounds[k] && bounds[k][0] === this.#bounds![k][0] &&
            bounds[k][1] === this.#bounds![k][1]
          );
        if (!same) {
          throw new Error(
            "fit() was called with different bounds than the previous call; pass restart: true to start a new optimization",
          );
        }
        this.#fixed = fixed;
      }
      if (options.startIteration !== undefined) {
        this.#iteration = options.startIteration;
      }
    }
    if (!Number.isInteger(this.#iteration)) {
      throw new RangeError(
        `startIteration must be an integer, got ${this.#iteration}`,
      );
    }
    const executor = options.executor;
    if (executor !== undefined && !isFitExecutor(executor)) {
      throw new TypeError(
        "executor must have an evaluate(job, sets, iteration) method (e.g. await redisExecutor({ url }))",
      );
    }
    const job = executor ? this.executorJob(metrics, penalty) : null;
    const cb = callbackSetup(
      options.callback === undefined ? "text" : options.callback,
      nRounds,
    );
    const errorUnit = this.errorDimension(metrics).toString();
    const dims: Record<string, Dimension> = {};
    for (const p of this.parameterNames) dims[p] = this.dimensionOf(p);
    for (let round = 0; round < nRounds; round++) {
      const asked = optimizer.ask(this.#nSamples);
      if (!Array.isArray(asked) || asked.length !== this.#nSamples) {
        throw new TypeError(
          `the optimizer's ask(${this.#nSamples}) returned ${
            Array.isArray(asked) ? asked.length : typeof asked
          } parameter sets`,
        );
      }
      const sets = asked.map((p) => ({ ...p, ...this.#fixed }));
      const it = this.#iteration;
      const { total, normalized, raw } = executor && job
        ? checkEvaluated(
          await executor.evaluate(job, sets, it),
          sets.length,
          this.outputVars,
        )
        : await this.evaluateSets(sets, metrics, penalty, it);
      optimizer.tell(asked, total);
      this.#lastIteration = it;
      for (let s = 0; s < sets.length; s++) {
        const entry: ResultEntry = {
          params: Object.fromEntries(this.#fitted.map((k) => [k, sets[s][k]])),
          error: total[s],
          objectiveErrors: Object.fromEntries(
            this.outputVars.map((v) => [v, raw[v][s]]),
          ),
          objectiveErrorsNormalized: Object.fromEntries(
            this.outputVars.map((v) => [v, normalized[v][s]]),
          ),
          iteration: it,
        };
        this.#history.push(entry);
        const e = total[s];
        if (
          Number.isFinite(e) &&
          (this.#best < 0 || e < this.#history[this.#best].error)
        ) {
          this.#best = this.#history.length - 1;
        }
      }
      this.#iteration++;
      if (this.#best < 0) continue;
      const info: FitCallbackInfo = {
        params: sets,
        errors: total,
        bestParams: this.bestParams!,
        bestError: this.bestError!,
        index: round,
        iteration: it,
        nRounds,
        objectiveErrors: raw,
        objectiveErrorsNormalized: normalized,
        bestObjectiveErrors: this.bestObjectiveErrors!,
        bestObjectiveErrorsRaw: this.bestObjectiveErrorsRaw!,
        outputVars: this.outputVars,
        dimensions: dims,
        errorUnit,
      };
      if ((await cb(info)) === true) break;
    }
    if (this.#best < 0) {
      if (nRounds === 0) return displayFitResult({ params: {}, error: NaN });
      throw new RangeError(
        "every evaluated parameter set gave a non-finite error (the simulations diverged); check the bounds and the model",
      );
    }
    return displayFitResult({
      params: this.bestParams!,
      error: this.bestError!,
    });
  }

  /**
   * Evaluate parameter sets (each a full dictionary of parameters, SI) in one
   * batch simulation.
   * @param sets the parameter sets
   * @param metrics metric per output variable
   * @param penalty penalty variable or undefined
   * @param iteration value of `iteration`
   * @returns total errors and per-variable errors
   */
  protected async evaluateSets(
    sets: readonly Record<string, number>[],
    metrics: Record<string, M>,
    penalty: string | undefined,
    iteration: number,
  ): Promise<
    {
      total: Float64Array;
      normalized: Record<string, Float64Array>;
      raw: Record<string, Float64Array>;
    }
  > {
    const nSets = sets.length;
    const N = nSets * this.nTraces;
    const params: Record<string, Float64Array> = {};
    const init: Record<string, number | string | Float64Array> = {};
    for (const [k, v] of Object.entries(this.paramInit)) {
      if (this.model.states.includes(k)) init[k] = v;
    }
    for (const p of this.model.parameters) {
      const arr = new Float64Array(N);
      if (p === "iteration") arr.fill(iteration);
      else {
        for (let s = 0; s < nSets; s++) {
          let v = sets[s][p];
          if (v === undefined) {
            const pi = this.paramInit[p];
            if (pi === undefined) {
              throw new TypeError(
                `parameter '${p}' has neither bounds nor a fixed value`,
              );
            }
            v = siValue(pi, this.dimensionOf(p), `paramInit '${p}'`);
          }
          arr.fill(v, s * this.nTraces, (s + 1) * this.nTraces);
        }
      }
      params[p] = arr;
    }
    const run = await this.createBatch(params, init, nSets, metrics);
    try {
      const { normalized, raw } = await this.batchErrors(run, metrics);
      const total = new Float64Array(nSets);
      for (const v of this.outputVars) {
        for (let s = 0; s < nSets; s++) total[s] += normalized[v][s];
      }
      if (penalty !== undefined) {
        const pen = await this.#penaltyValues(run.runner, penalty, params);
        for (let s = 0; s < nSets; s++) {
          let sum = 0;
          for (let t = 0; t < this.nTraces; t++) {
            sum += pen[s * this.nTraces + t];
          }
          total[s] += sum / this.nTraces;
        }
      }
      return { total, normalized, raw };
    } finally {
      run.runner.dispose();
    }
  }

  /**
   * Parse bounds / fixed values given to `fit` or `refine`.
   * @param params `{ name: [lo, hi] | value }`
   * @returns bounds of the fitted parameters and values of the fixed ones (SI)
   * @throws {RangeError} unknown parameter, inverted or empty bounds
   * @throws {TypeError} a parameter without bounds or value, malformed bounds
   * @throws {DimensionMismatchError} units of the wrong dimension
   */
  parseBounds(
    params: ParamBounds,
  ): {
    bounds: Record<string, [number, number]>;
    fixed: Record<string, number>;
  } {
    if (
      params === null || typeof params !== "object" || Array.isArray(params)
    ) {
      throw new TypeError(
        "params must be an object { name: [lower, upper] | value }",
      );
    }
    for (const k of Object.keys(params)) {
      if (!this.parameterNames.includes(k)) {
        throw new RangeError(
          `'${k}' is not a parameter of the model (parameters: ${
            this.parameterNames.join(", ")
          })`,
        );
      }
    }
    const bounds: Record<string, [number, number]> = {};
    const fixed: Record<string, number> = {};
    for (const p of this.parameterNames) {
      const b = params[p];
      const d = this.dimensionOf(p);
      if (b === undefined) {
        const pi = this.paramInit[p];
        if (pi !== undefined) {
          fixed[p] = siValue(pi, d, `paramInit '${p}'`);
          continue;
        }
        throw new TypeError(
          `bounds must be set for parameter '${p}': give params: { ${p}: [lower, upper] } or a fixed value`,
        );
      }
      if (Array.isArray(b)) {
        if (b.length !== 2) {
          throw new TypeError(
            `bounds of '${p}' must be [lower, upper], got ${JSON.stringify(b)}`,
          );
        }
        const lo = siValue(b[0], d, `lower bound of '${p}'`);
        const hi = siValue(b[1], d, `upper bound of '${p}'`);
        if (!(lo < hi)) {
          throw new RangeError(
            `bounds of '${p}' must satisfy lower < upper, got [${lo}, ${hi}]`,
          );
        }
        bounds[p] = [lo, hi];
      } else {
        fixed[p] = siValue(b as ValueWithUnit, d, `value of '${p}'`);
      }
    }
    return { bounds, fixed };
  }

  /**
   * Every evaluated parameter set with its errors, in evaluation order.
   * @param options format: `"list"` (default), `"dict"` or `"table"`
   * @returns the history in the requested shape
   * @throws {RangeError} unknown format
   */
  results(options?: { format?: "list" }): ResultEntry[];
  /**
   * Every evaluated parameter set as columns.
   * @param options format `"dict"`
   * @returns one array per parameter and error column
   */
  results(options: { format: "dict" }): ResultColumns;
  /**
   * Every evaluated parameter set as a table.
   * @param options format `"table"`
   * @returns column names and rows
   */
  results(options: { format: "table" }): ResultTable;
  results(
    options: { format?: "list" | "dict" | "table" } = {},
  ): ResultEntry[] | ResultColumns | ResultTable {
    const format = options.format ?? "list";
    const h = this.#history;
    if (format === "list") {
      return h.map((e) => ({
        params: { ...e.params },
        error: e.error,
        objectiveErrors: { ...e.objectiveErrors },
        objectiveErrorsNormalized: { ...e.objectiveErrorsNormalized },
        iteration: e.iteration,
      }));
    }
    if (format === "dict") {
      const col = (f: (e: ResultEntry) => number) => Float64Array.from(h, f);
      return {
        params: Object.fromEntries(
          this.#fitted.map((p) => [p, col((e) => e.params[p])]),
        ),
        error: col((e) => e.error),
        objectiveErrors: Object.fromEntries(
          this.outputVars.map((v) => [v, col((e) => e.objectiveErrors[v])]),
        ),
        objectiveErrorsNormalized: Object.fromEntries(
          this.outputVars.map((
            v,
          ) => [v, col((e) => e.objectiveErrorsNormalized[v])]),
        ),
      };
    }
    if (format === "table") {
      const multi = this.outputVars.length > 1;
      const columns = [...this.#fitted, "error"];
      if (multi) {
        for (const v of this.outputVars) columns.push(`error_${v}`);
        for (const v of this.outputVars) columns.push(`normalized_error_${v}`);
      }
      const rows = h.map((e) => {
        const r = [...this.#fitted.map((p) => e.params[p]), e.error];
        if (multi) {
          for (const v of this.outputVars) r.push(e.objectiveErrors[v]);
          for (const v of this.outputVars) {
            r.push(e.objectiveErrorsNormalized[v]);
          }
        }
        return r;
      });
      return displayResultTable({ columns, rows });
    }
    throw new RangeError(
      `format must be "list", "dict" or "table", got ${JSON.stringify(format)}`,
    );
  }

  // ---------------------------------------------------------------- generate

  /**
   * Simulate the traces (one neuron per trace) with given or best parameters.
   * @param options outputVar (name(s), `"spikes"` for spike times), params,
   *   paramInit (honoured; overrides the constructor's), iteration
   * @returns one entry per requested variable: rows of values per trace
   *   (SI), or spike times (s) per trace for `"spikes"`
   * @throws {TypeError} no parameters and no fit yet, unknown variables
   */
  async generate(
    options: GenerateOptions = {},
  ): Promise<Record<string, Float64Array[]>> {
    const vars = options.outputVar === undefined
      ? [...this.outputVars]
      : typeof options.outputVar === "string"
      ? [options.outputVar]
      : [...options.outputVar];
    const record = vars.filter((v) => v !== "spikes");
    for (const v of record) {
      if (!this.model.program.recordable.has(v)) {
        throw new TypeError(
          `cannot record '${v}': not a state variable, subexpression or parameter of the model`,
        );
      }
    }
    const p = this.#generateParams(options.params);
    for (const [k, v] of Object.entries(options.paramInit ?? {})) {
      if (this.parameterNames.includes(k)) {
        p[k] = siValue(v, this.dimensionOf(k), `paramInit '${k}'`);
      }
    }
    const init = this.#initFor(options.paramInit);
    const params: Record<string, number> = {
      ...p,
      iteration: options.iteration ?? 1e9,
    };
    const runner = await Runner.create(this.model, {
      dt: this.dt,
      nNeurons: this.nTraces,
      input: this.input,
      targets: this.#targetRows(),
      params,
      init,
      record,
      device: this.device,
      seed: this.seed,
    });
    try {
      const c = await runner.step(this.nSteps);
      const out: Record<string, Float64Array[]> = {};
      for (const v of record) {
        out[v] = Array.from(
          { length: this.nTraces },
          (_, t) =>
            Float64Array.from(
              c.vars[v].subarray(t * c.samples, (t + 1) * c.samples),
            ),
        );
      }
      if (vars.includes("spikes")) {
        const lists: number[][] = Array.from(
          { length: this.nTraces },
          () => [],
        );
        for (let j = 0; j < c.spikes.neuron.length; j++) {
          lists[c.spikes.neuron[j]].push(c.spikes.step[j] * this.dt);
        }
        out.spikes = lists.map((l) => Float64Array.from(l));
      }
      return out;
    } finally {
      runner.dispose();
    }
  }

  /** Rows of `<var>_target` given to the runner (none by default). */
  protected targetRows(): Record<string, Float64Array[]> {
    return {};
  }

  #targetRows(): Record<string, Float64Array[]> {
    return this.targetRows();
  }

  /**
   * Initial values of the state variables: the constructor's `paramInit`
   * overridden by `override`.
   * @param override values that replace the constructor's
   * @returns initial values per state variable
   * @throws {TypeError} a name that is not a state variable or parameter
   */
  initValues(
    override?: Record<string, number | string>,
  ): Record<string, number | string> {
    return this.#initFor(override);
  }

  #initFor(
    override?: Record<string, number | string>,
  ): Record<string, number | string> {
    const merged = { ...this.paramInit, ...(override ?? {}) };
    const init: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(merged)) {
      if (this.model.states.includes(k)) init[k] = v;
      else if (!this.parameterNames.includes(k)) {
        throw new TypeError(
          `paramInit names '${k}', which is not a state variable or parameter of the model`,
        );
      }
    }
    return init;
  }

  /**
   * A full parameter dictionary (SI): the given values, else the best ones,
   * else values from `paramInit`.
   * @param given values (SI numbers or strings with units)
   * @returns a value for every parameter
   * @throws {TypeError} a parameter without any value
   * @throws {RangeError} an unknown parameter
   */
  generateParams(
    given?: Record<string, ValueWithUnit>,
  ): Record<string, number> {
    return this.#generateParams(given);
  }

  #generateParams(
    given?: Record<string, ValueWithUnit>,
  ): Record<string, number> {
    const out: Record<string, number> = {};
    const best = this.bestParams ?? {};
    for (const p of this.parameterNames) {
      const g = given?.[p];
      if (g !== undefined) {
        out[p] = siValue(g, this.dimensionOf(p), `value of '${p}'`);
      } else if (best[p] !== undefined) out[p] = best[p];
      else if (this.paramInit[p] !== undefined) {
        out[p] = siValue(
          this.paramInit[p],
          this.dimensionOf(p),
          `paramInit '${p}'`,
        );
      } else {
        throw new TypeError(
          given
            ? `no value for parameter '${p}': give params: { ${p}: ... }`
            : "no parameters given and no fit done yet: call fit() first or pass params",
        );
      }
    }
    for (const k of Object.keys(given ?? {})) {
      if (!this.parameterNames.includes(k)) {
        throw new RangeError(
          `'${k}' is not a parameter of the model (parameters: ${
            this.parameterNames.join(", ")
          })`,
        );
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- internals

  #resolveMetric(arg: unknown): Record<string, M> {
    if (arg === undefined || arg === null) {
      return Object.fromEntries(
        this.outputVars.map((v) => [v, this.defaultMetric()]),
      );
    }
    if (this.acceptsMetric(arg)) {
      return Object.fromEntries(this.outputVars.map((v) => [v, arg]));
    }
    if (
      typeof arg === "object" && !Array.isArray(arg) &&
      Object.getPrototypeOf(arg) === Object.prototype
    ) {
      const d = arg as Record<string, unknown>;
      for (const k of Object.keys(d)) {
        if (!this.outputVars.includes(k)) {
          throw new TypeError(
            `metric given for '${k}', which is not an output variable (${
              this.outputVars.join(", ")
            })`,
          );
        }
      }
      const out: Record<string, M> = {};
      for (const v of this.outputVars) {
        const m = d[v];
        if (m === undefined) {
          throw new TypeError(`no metric given for the output variable '${v}'`);
        }
        if (!this.acceptsMetric(m)) {
          throw new TypeError(
            `the metric for '${v}' must be a ${this.metricKind}, got ${
              describe(m)
            }`,
          );
        }
        out[v] = m;
      }
      return out;
    }
    throw new TypeError(
      `metric must be a ${this.metricKind} (or one per output variable), got ${
        describe(arg)
      }`,
    );
  }

  #checkPenaltyName(name: string): void {
    if (typeof name !== "string" || !this.model.program.recordable.has(name)) {
      throw new TypeError(
        `penalty '${name}' is not a variable of the model (state variable, parameter or subexpression)`,
      );
    }
  }

  #checkPenaltyDimension(name: string, metrics: Record<string, M>): void {
    const d = this.dimensionOf(name);
    const want = this.errorDimension(metrics);
    const normalized = Object.values(metrics).some((m) =>
      m.normalization !== 1
    );
    if (!d.equals(want) && !(normalized && d.isDimensionless)) {
      throw new DimensionMismatchError(
        `the penalty '${name}' has dimension ${d}, but the errors have dimension ${want}`,
        d,
        want,
      );
    }
  }

  async #penaltyValues(
    runner: Runner,
    name: string,
    params: Record<string, Float64Array>,
  ): Promise<Float64Array> {
    const state = await runner.state();
    const N = runner.nNeurons;
    const expr = this.model.program.recordable.get(name)!;
    const tEnd = this.nSteps * this.dt;
    const targets = this.#targetRows();
    return evaluateAtEnd(expr, N, (nm, n) => {
      if (nm in state) return state[nm][n];
      if (nm in params) return params[nm][n];
      if (nm === "t") return tEnd;
      if (nm === "dt") return this.dt;
      if (nm === "i") return n;
      if (nm === "N") return N;
      const rows = this.input[nm] ??
        (nm.endsWith("_target") ? targets[nm.slice(0, -7)] : undefined);
      if (rows) {
        const r = rows[n % rows.length];
        return r[r.length - 1];
      }
      throw new TypeError(`cannot evaluate '${nm}' in the penalty '${name}'`);
    });
  }
}

function checkEvaluated(
  r: EvaluatedSets,
  n: number,
  vars: readonly string[],
): EvaluatedSets {
  const ok = (a: unknown) => a instanceof Float64Array && a.length === n;
  if (!r || !ok(r.total)) {
    throw new TypeError(
      `the executor returned ${
        r?.total?.length ?? "no"
      } errors for ${n} parameter sets`,
    );
  }
  for (const v of vars) {
    if (!ok(r.normalized?.[v]) || !ok(r.raw?.[v])) {
      throw new TypeError(
        `the executor returned no ${n} errors for the output variable '${v}'`,
      );
    }
  }
  return r;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return (x as object).constructor?.name ?? "object";
  return typeof x;
}

/** Dimension helper: `d^p`. */
export function powDim(d: Dimension, p: number): Dimension {
  return p === 0 ? Dimension.NONE : d.pow(p);
}
