/**
 * `Inferencer`: simulation-based inference on a neuron model, the
 * counterpart of brian2modelfitting's `Inferencer` (`inferencer.py`) in
 * camelCase. It turns bounds into a box prior, simulates all parameter sets
 * as one batch (CPU or WebGPU), extracts summary features per trace, trains
 * NPE, NLE or NRE and samples the posterior given the observed recording
 * (directly for NPE, by MCMC for NLE and NRE). `inferencerPairplot`,
 * `inferencerConditionalPairplot` and `inferencerConditionalCorrcoeff` of
 * `@neurofit/neurofit/plot` draw its posterior as SVG (this module loads no
 * plotting code).
 *
 * Differences from the reference (its bugs, see REFERENCE_NOTES): `paramInit`
 * given to {@linkcode Inferencer.generateTraces} is honoured, and several
 * output variables are all returned.
 * @module
 */
import { NeuronModel } from "../simulation/neuron_model.ts";
import type { Device, TraceMatrix } from "../simulation/runner.ts";
import { simulate } from "../simulation/simulate.ts";
import type { NamespaceValue } from "../equations/model.ts";
import { parseQuantity } from "../units/quantity.ts";
import { DimensionMismatchError } from "../units/dimension.ts";
import { Rng } from "../_internal/random.ts";
import { Matrix, type MatrixLike } from "./matrix.ts";
import { BoxUniform } from "./priors/box_uniform.ts";
import type { Prior } from "./priors/prior.ts";
import {
  NPE,
  type NPETrainOptions,
  type TrainingSummary,
} from "./methods/npe.ts";
import { NLE } from "./methods/nle.ts";
import {
  BNRE,
  NRE,
  NRE_A,
  NRE_C,
  type NRETrainingSummary,
} from "./methods/nre.ts";
import { DirectPosterior } from "./posteriors/direct_posterior.ts";
import type {
  MCMCPosterior,
  MCMCPosteriorOptions,
} from "./posteriors/mcmc_posterior.ts";
import { posteriorFromBytes, savePosterior } from "./posteriors/file.ts";
import type { DensityEstimatorKind } from "./estimators/density_estimator.ts";
import type { RatioClassifierKind } from "./estimators/ratio_classifier.ts";
import { readNpz, writeNpz } from "../io/npz.ts";
import { loadTraces, type RecordingFormat } from "../io/recordings.ts";
import { type PathLike, readFileBytes } from "../io/files.ts";
import { JUPYTER_DISPLAY, type MediaBundle } from "../display.ts";
import { DISPLAY_SAMPLES, marginalsSvg } from "./posteriors/_display.ts";

/**
 * Inference methods: `"NPE"` (sbi's NPE-C / APT), `"NLE"` (NLE-A, MCMC),
 * `"NRE"` (NRE-B, contrastive), `"NRE_A"`, `"NRE_C"`, `"BNRE"`; the
 * reference's names `"SNPE"`, `"SNLE"`, `"SNRE"` are accepted.
 */
export type InferenceMethod =
  | "NPE"
  | "NLE"
  | "NRE"
  | "NRE_A"
  | "NRE_B"
  | "NRE_C"
  | "BNRE"
  | "SNPE"
  | "SNLE"
  | "SNRE";

/** The object that learns from simulations: NPE, NLE or one of the NRE variants. */
export type InferenceObject = NPE | NLE | NRE | NRE_A | NRE_C | BNRE;

/** A posterior of any method: direct (NPE) or MCMC-sampled (NLE, NRE). */
export type AnyPosterior = DirectPosterior | MCMCPosterior;

/**
 * Method names (and the reference's aliases) to methods. A Map, not an
 * object literal: a name such as "constructor" or "toString" must not find
 * `Object.prototype`'s members.
 */
const METHOD_ALIASES: ReadonlyMap<string, string> = new Map([
  ["NPE", "NPE"],
  ["SNPE", "NPE"],
  ["NLE", "NLE"],
  ["SNLE", "NLE"],
  ["NRE", "NRE"],
  ["SNRE", "NRE"],
  ["NRE_B", "NRE"],
  ["NRE_A", "NRE_A"],
  ["NRE_C", "NRE_C"],
  ["BNRE", "BNRE"],
]);

/** A positive integer option, or a RangeError naming it. */
function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(
      `${name} must be a positive integer, got ${
        typeof v === "number" ? v : JSON.stringify(v)
      }`,
    );
  }
  return v;
}

/** A feature: one number from one trace (SI values) or one spike train (seconds). */
export type Feature = (values: Float64Array) => number;

/** Options of {@linkcode Inferencer}. */
export interface InferencerOptions {
  /** Time step of the recordings (s). */
  dt: number;
  /** Equations (string) or a compiled model. */
  model: string | NeuronModel;
  /** Input traces per input variable (SI), one row per trace. */
  input: Record<string, TraceMatrix>;
  /**
   * Observed output: traces per variable (SI), and/or `spikes`: one array of
   * spike times (s) per trace.
   */
  output: Record<string, TraceMatrix | readonly ArrayLike<number>[]>;
  /**
   * Features per output variable, applied to every trace (`{ v: [max, mean],
   * spikes: [count] }`). Without features, the raw traces are the data (use an
   * embedding net; spikes need features).
   */
  features?: Record<string, Feature[]>;
  /** Integration method (default: Brian's choice). */
  method?: string;
  /** Threshold condition (needed for spikes). */
  threshold?: string;
  /** Reset statements. */
  reset?: string;
  /** Refractory period or condition. */
  refractory?: number | string | false;
  /** Initial values of state variables (numbers, strings, expressions). */
  paramInit?: Record<string, number | string>;
  /** Constants of the equations. */
  namespace?: Record<string, NamespaceValue>;
  /** Units of input variables when they cannot be inferred. */
  inputUnits?: Record<string, string>;
  /** Simulation device. Default `"cpu"`. */
  device?: Device;
  /** Seed of prior draws, training and sampling. Default 0. */
  seed?: number;
  /**
   * CPU precision of the simulations. Default `"f64"`. With `"f32"` (and on
   * WebGPU, which is always f32) features that vary less across parameters
   * than f32 rounding (~6e-8 relative; e.g. a resting potential) become noise
   * and can bias the posterior: measured on the SBI tutorial, f32 simulations
   * moved the posterior of g_Na from 32 to 41 uS.
   */
  precision?: "f64" | "f32";
  /** Maximum number of recorded values held at once while extracting features. Default 2e7. */
  maxBatchValues?: number;
}

/**
 * An ABF or NWB recording in place of in-memory traces (read whole with
 * `loadTraces`, SI units), for {@linkcode Inferencer.create}.
 */
export interface InferencerRecording {
  /** The file (`.abf`, `.nwb`). */
  path: PathLike;
  /** `"abf"` or `"nwb"`; default from the extension. */
  format?: RecordingFormat;
  /** Sweeps (ABF: numbers from 0; NWB: `sweep_number`s). Default: every sweep. */
  sweeps?: readonly number[];
  /**
   * Which trace. For an output variable: `loadTraces`'s `output` (ABF: a
   * channel name or position, default the first channel; NWB: a series type
   * or name, default every `CurrentClampSeries`). For an input variable:
   * ABF: `loadTraces`'s `input` (`"stimulus"`, the default, `"DAC n"`, a DAC
   * name or a recorded channel); NWB: the response series (type or name)
   * whose stimulus series is taken (default every `CurrentClampSeries`).
   */
  channel?: string | number;
}

/** Traces, a recording path, or a recording with options. */
export type InferencerTraces = TraceMatrix | string | URL | InferencerRecording;

/**
 * Options of {@linkcode Inferencer.create}: those of the constructor, with
 * any input or output variable given as a recording file. `dt` defaults to
 * the files' sampling interval.
 */
export interface InferencerCreateOptions
  extends Omit<InferencerOptions, "input" | "output" | "dt"> {
  /** Time step (s); default the recordings'. When given, it must equal theirs. */
  dt?: number;
  /** Input traces or recordings per input variable. */
  input?: Record<string, InferencerTraces>;
  /** Observed traces or recordings per output variable (`spikes`: spike times in memory only). */
  output: Record<string, InferencerTraces | readonly ArrayLike<number>[]>;
}

/** SI unit symbols of `loadTraces` and the unit names of equations. */
const SI_NAMES: Record<string, string> = {
  V: "volt",
  A: "amp",
  S: "siemens",
  F: "farad",
  s: "second",
  Hz: "hertz",
  ohm: "ohm",
};

function isRecording(
  x: unknown,
): x is string | URL | InferencerRecording {
  return typeof x === "string" || x instanceof URL ||
    (typeof x === "object" && x !== null && !Array.isArray(x) &&
      !ArrayBuffer.isView(x) && "path" in x);
}

/** Options of {@linkcode Inferencer.infer}. */
export interface InferOptions {
  /** Simulations per round (drawn from the prior, then from the posterior). */
  nSamples?: number;
  /** Precomputed parameters (rows) for the first round, with `x`. */
  theta?: MatrixLike;
  /** Precomputed data (rows) for the first round, with `theta`. */
  x?: MatrixLike;
  /** Rounds (round 2+ draws parameters from the posterior given the observation). Default 1. */
  nRounds?: number;
  /** `"NPE"` (default), `"NLE"`, `"NRE"` (NRE-B), `"NRE_A"`, `"NRE_C"`, `"BNRE"` (or the reference's `"SNPE"`, `"SNLE"`, `"SNRE"`). */
  inferenceMethod?: InferenceMethod;
  /** NPE / NLE: `"maf"` (default), `"nsf"`, `"mdn"`, `"made"`. */
  densityEstimator?: DensityEstimatorKind;
  /** NRE: `"resnet"` (default), `"mlp"`, `"linear"`. */
  classifier?: RatioClassifierKind;
  /** NLE / NRE: MCMC options of the posterior (sbi's defaults: slice sampling, 20 chains). */
  mcmcOptions?: MCMCPosteriorOptions;
  /** Training options (sbi defaults otherwise). */
  trainOptions?: NPETrainOptions;
  /** Start from scratch (new prior, new NPE). Default false. */
  restart?: boolean;
  /** Bounds of every model parameter, `{ g_Na: [1e-6, 1e-4] }` (SI numbers or strings with units). */
  params?: Record<string, readonly [number | string, number | string]>;
}

/** Simulation-based inference on a neuron model. */
export class Inferencer {
  /** The compiled model. */
  readonly model: NeuronModel;
  /** Parameter names, sorted (the order of theta's columns, as the reference). */
  readonly paramNames: readonly string[];
  /** Number of traces. */
  readonly nTraces: number;
  /** Samples per trace. */
  readonly nSteps: number;
  /** Time step (s). */
  readonly dt: number;
  /** The observation x_o (features of the recorded output). */
  readonly xo: Float32Array;
  #opts: InferencerOptions;
  #outputVars: string[];
  #spikes: boolean;
  #rng: Rng;
  #prior: Prior | null = null;
  #npe: InferenceObject | null = null;
  #posterior: AnyPosterior | null = null;
  #mcmcOptions: MCMCPosteriorOptions = {};
  #round = 0;
  /** Training summaries of every round. */
  readonly summaries: (TrainingSummary | NRETrainingSummary)[] = [];

  /**
   * An inferencer for a model, its inputs, the observed outputs and the features.
   * @param options see {@linkcode InferencerOptions}
   * @throws {TypeError} inconsistent inputs, outputs or features
   * @example
   * ```ts
   * import { Inferencer } from "./inferencer.ts";
   * const t = Array.from({ length: 200 }, (_, k) => k * 1e-4);
   * const I = [t.map((x) => (x > 0.005 ? 1e-9 : 0))];
   * const inf = new Inferencer({
   *   dt: 1e-4,
   *   model: "dv/dt = (El - v + R*I)/tau : volt\ntau : second",
   *   namespace: { El: "-70 mV", R: "100 Mohm" },
   *   input: { I },
   *   output: { v: [t.map(() => -0.07)] },
   *   features: { v: [(v) => Math.max(...v)] },
   *   paramInit: { v: "-70 mV" },
   * });
   * const prior = inf.initPrior({ tau: ["5 ms", "50 ms"] });
   * const theta = inf.generateTrainingData(10, prior);
   * const x = await inf.extractSummaryStatistics(theta);
   * console.log(theta.rows, x.cols); // 10 1
   * ```
   */
  constructor(options: InferencerOptions) {
    if (!options || typeof options !== "object") {
      throw new TypeError("Inferencer needs an options object");
    }
    if (!(options.dt > 0)) {
      throw new RangeError(
        `dt must be a positive number of seconds, got ${options.dt}`,
      );
    }
    this.#opts = options;
    this.dt = options.dt;
    this.#rng = new Rng(options.seed ?? 0);
    const outKeys = Object.keys(options.output ?? {});
    if (outKeys.length === 0) {
      throw new TypeError(
        "output must name at least one variable, e.g. { v: traces }",
      );
    }
    this.#spikes = outKeys.includes("spikes");
    this.#outputVars = outKeys.filter((k) => k !== "spikes");
    this.model = typeof options.model === "string"
      ? new NeuronModel(options.model, {
        method: options.method,
        threshold: options.threshold,
        reset: options.reset,
        refractory: options.refractory,
        namespace: options.namespace,
        inputUnits: options.inputUnits,
      })
      : options.model;
    if (this.#spikes && !this.model.program.threshold) {
      throw new TypeError("output 'spikes' needs a threshold in the model");
    }
    for (const v of this.#outputVars) {
      if (!this.model.program.recordable.has(v)) {
        throw new TypeError(
          `output '${v}' is not a variable of the model (states: ${
            this.model.states.join(", ")
          })`,
        );
      }
    }
    this.paramNames = [...this.model.parameters].sort();
    const inputs = Object.entries(options.input ?? {});
    if (inputs.length === 0 && this.model.inputs.length > 0) {
      throw new TypeError(
        `the model needs inputs: ${this.model.inputs.join(", ")}`,
      );
    }
    const first = inputs.length
      ? rowsOf(inputs[0][1])
      : rowsOf(options.output[this.#outputVars[0]] as TraceMatrix);
    this.nTraces = first.length;
    this.nSteps = first[0].length;
    for (const [k, m] of inputs) {
      const r = rowsOf(m);
      if (
        r.length !== this.nTraces || r.some((x) => x.length !== this.nSteps)
      ) {
        throw new TypeError(
          `input '${k}' must have ${this.nTraces} rows of ${this.nSteps} samples`,
        );
      }
    }
    const features = options.features;
    if (this.#spikes && !features?.spikes) {
      throw new TypeError("output 'spikes' needs features: { spikes: [...] }");
    }
    if (features) {
      for (const k of Object.keys(features)) {
        if (!outKeys.includes(k)) {
          throw new TypeError(
            `features given for '${k}', which is not an output (${
              outKeys.join(", ")
            })`,
          );
        }
      }
    }
    // observation
    const xo: number[] = [];
    for (const k of outKeys) {
      const rows = k === "spikes"
        ? (options.output.spikes as readonly ArrayLike<number>[]).map((r) =>
          Float64Array.from(r)
        )
        : rowsOf(options.output[k] as TraceMatrix);
      if (rows.length !== this.nTraces) {
        throw new TypeError(
          `output '${k}' has ${rows.length} rows, expected ${this.nTraces} (one per input trace)`,
        );
      }
      for (const r of rows) {
        if (features?.[k]) { for (const f of features[k]) xo.push(f(r)); }
        else for (const v of r) xo.push(v);
      }
    }
    this.xo = Float32Array.from(xo);
    if (!this.xo.every(Number.isFinite)) {
      throw new RangeError(
        `the observed features contain NaN or infinite values: [${
          Array.from(this.xo).join(", ")
        }]`,
      );
    }
  }

  /**
   * Build an Inferencer whose inputs and/or observed outputs are read from
   * ABF or NWB recordings (rows = sweeps, SI units): a path takes the
   * defaults of `loadTraces` (ABF: the first channel as output and the
   * command waveform as input; NWB: every `CurrentClampSeries` and its
   * stimulus), `{ path, sweeps, channel }` selects. The units of each loaded
   * trace are checked against the model variable, and `dt` against the
   * files'.
   *
   * @example
   * ```ts ignore
   * const inf = await Inferencer.create({
   *   model: "dv/dt = (gl*(El - v) + I)/C : volt\ngl : siemens\nC : farad\nEl : volt",
   *   input: { I: { path: "cell.abf", sweeps: [0, 1, 2] } },
   *   output: { v: { path: "cell.abf", sweeps: [0, 1, 2], channel: "IN 0" } },
   *   features: { v: [mean, max] },
   *   paramInit: { v: "El" },
   * });
   * ```
   * @param options as the constructor's, with recordings allowed for input
   *   and output variables and `dt` optional
   * @returns the Inferencer
   * @throws {RangeError} a sweep, channel or series not in a file (the
   *   message lists what it has), a `dt` different from the files', files
   *   sampled at different rates
   * @throws {DimensionMismatchError} a trace whose unit is not the model
   *   variable's (e.g. a voltage-clamp current as `v`)
   * @throws {DataFormatError} a malformed file
   * @throws {TypeError} as the constructor
   */
  static async create(options: InferencerCreateOptions): Promise<Inferencer> {
    if (!options || typeof options !== "object") {
      throw new TypeError("Inferencer.create needs an options object");
    }
    const model = typeof options.model === "string"
      ? new NeuronModel(options.model, {
        method: options.method,
        threshold: options.threshold,
        reset: options.reset,
        refractory: options.refractory,
        namespace: options.namespace,
        inputUnits: options.inputUnits,
      })
      : options.model;
    let dt: number | undefined;
    let dtFrom = "";
    const load = async (
      kind: "input" | "output",
      name: string,
      src: string | URL | InferencerRecording,
    ): Promise<Float64Array[]> => {
      if (name === "spikes") {
        throw new TypeError(
          "output 'spikes' takes spike times in memory, not a recording file",
        );
      }
      const rec: InferencerRecording = typeof src === "string" ||
          src instanceof URL
        ? { path: src }
        : src;
      const format = rec.format ??
        (String(rec.path instanceof URL ? rec.path.pathname : rec.path)
            .toLowerCase().endsWith(".abf")
          ? "abf"
          : undefined);
      const isAbf = format === "abf";
      const loaded = await loadTraces(rec.path, {
        format: rec.format,
        sweeps: rec.sweeps,
        output: kind === "output" || !isAbf ? rec.channel : undefined,
        input: kind === "output"
          ? null
          : isAbf
          ? (rec.channel ?? "stimulus")
          : "stimulus",
      });
      const file = String(rec.path);
      const unit = kind === "output" ? loaded.units.output : loaded.units.input;
      const v = model.description.variables.get(name);
      if (unit && SI_NAMES[unit] && v) {
        const got = parseQuantity(`1 ${SI_NAMES[unit]}`).dim;
        if (!got.equals(v.dim)) {
          throw new DimensionMismatchError(
            `${kind} '${name}' read from ${file} is in ${unit} (${got}), but the model's '${name}' is in ${v.dim}`,
            got,
            v.dim,
          );
        }
      }
      if (dt === undefined) {
        dt = loaded.dt;
        dtFrom = file;
      } else if (Math.abs(loaded.dt - dt) > 1e-9 * dt) {
        throw new RangeError(
          `${kind} '${name}': ${file} is sampled every ${loaded.dt} s, ${dtFrom} every ${dt} s`,
        );
      }
      return kind === "output" ? loaded.output : loaded.input;
    };
    const input: Record<string, TraceMatrix> = {};
    for (const [k, m] of Object.entries(options.input ?? {})) {
      input[k] = isRecording(m) ? await load("input", k, m) : m;
    }
    const output: Record<string, TraceMatrix | readonly ArrayLike<number>[]> =
      {};
    for (const [k, m] of Object.entries(options.output ?? {})) {
      output[k] = isRecording(m) ? await load("output", k, m) : m;
    }
    if (options.dt !== undefined && dt !== undefined) {
      if (!(Math.abs(options.dt - dt) <= 1e-9 * dt)) {
        throw new RangeError(
          `dt = ${options.dt} s, but ${dtFrom} is sampled every ${dt} s`,
        );
      }
    }
    const step = options.dt ?? dt;
    if (step === undefined) {
      throw new TypeError(
        "Inferencer.create: give dt (no input or output is a recording file)",
      );
    }
    return new Inferencer({ ...options, model, dt: step, input, output });
  }

  /**
   * Box-uniform prior from bounds, in sorted-parameter order.
   * @param bounds `[low, high]` per parameter (SI numbers or strings with units)
   * @returns the prior
   * @throws {TypeError} missing or unknown parameter
   * @throws {RangeError} inverted bounds
   */
  initPrior(
    bounds: Record<string, readonly [number | string, number | string]>,
  ): BoxUniform {
    const low: number[] = [];
    const high: number[] = [];
    for (const k of Object.keys(bounds)) {
      if (!this.paramNames.includes(k)) {
        throw new TypeError(
          `'${k}' is not a parameter of the model (parameters: ${
            this.paramNames.join(", ")
          })`,
        );
      }
    }
    for (const p of this.paramNames) {
      const b = bounds[p];
      if (!b) throw new TypeError(`bounds must be set for parameter '${p}'`);
      const dim = this.model.description.variables.get(p)!.dim;
      const val = (x: number | string) => {
        if (typeof x === "number") return x;
        const q = parseQuantity(x);
        if (!q.dim.equals(dim)) {
          throw new DimensionMismatchError(
            `bound "${x}" of '${p}' has dimension ${q.dim}, expected ${dim}`,
            q.dim,
            dim,
          );
        }
        return q.value;
      };
      const lo = val(b[0]);
      const hi = val(b[1]);
      if (!(lo < hi)) {
        throw new RangeError(
          `bounds of '${p}' must satisfy low < high, got [${lo}, ${hi}]`,
        );
      }
      low.push(lo);
      high.push(hi);
    }
    const prior = new BoxUniform({ low, high });
    this.#prior = prior;
    return prior;
  }

  /**
   * Draw parameter sets from a prior (or posterior).
   * @param n number of sets
   * @param prior a prior (default: the one from {@linkcode initPrior})
   * @returns theta, rows = sets, columns = sorted parameters
   */
  generateTrainingData(n: number, prior?: Prior): Matrix {
    const p = prior ?? this.#prior;
    if (!p) {
      throw new TypeError(
        "no prior: call initPrior(bounds) first or pass a prior",
      );
    }
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`n must be a positive integer, got ${n}`);
    }
    return p.sample(n, this.#rng.fork());
  }

  /**
   * Simulate every parameter set on every trace (one batch per chunk of sets)
   * and compute the features.
   * @param theta parameter sets (rows), sorted-parameter columns
   * @returns x, rows = sets, in the layout of {@linkcode xo}
   */
  async extractSummaryStatistics(theta: MatrixLike): Promise<Matrix> {
    const th = Matrix.of(theta);
    if (th.cols !== this.paramNames.length) {
      throw new TypeError(
        `theta has ${th.cols} columns, expected ${this.paramNames.length} (${
          this.paramNames.join(", ")
        })`,
      );
    }
    const outKeys = Object.keys(this.#opts.output);
    const perSet = outKeys.reduce(
      (a, k) =>
        a +
        this.nTraces *
          (this.#opts.features?.[k]?.length ??
            (k === "spikes" ? 0 : this.nSteps)),
      0,
    );
    const x = new Matrix(th.rows, perSet);
    const maxValues = this.#opts.maxBatchValues ?? 2e7;
    const batch = Math.max(
      1,
      Math.floor(
        maxValues /
          Math.max(
            1,
            this.nTraces * this.nSteps * Math.max(1, this.#outputVars.length),
          ),
      ),
    );
    for (let s0 = 0; s0 < th.rows; s0 += batch) {
      const s1 = Math.min(th.rows, s0 + batch);
      const r = await this.#simulate(th.sliceRows(s0, s1), this.#outputVars);
      for (let s = s0; s < s1; s++) {
        let c = 0;
        const row = x.data.subarray(s * perSet, (s + 1) * perSet);
        for (const k of outKeys) {
          for (let tr = 0; tr < this.nTraces; tr++) {
            const neuron = (s - s0) * this.nTraces + tr;
            const values = k === "spikes"
              ? r.spikes[neuron]
              : r.traces[k][neuron];
            const fs = this.#opts.features?.[k];
            if (fs) { for (const f of fs) row[c++] = f(values); }
            else for (let j = 0; j < values.length; j++) row[c++] = values[j];
          }
        }
      }
    }
    return x;
  }

  async #simulate(
    theta: Matrix,
    record: string[],
    paramInit?: Record<string, number | string>,
  ) {
    const nS = theta.rows;
    const params: Record<string, Float64Array> = {};
    this.paramNames.forEach((p, j) => {
      const a = new Float64Array(nS * this.nTraces);
      for (let s = 0; s < nS; s++) {
        a.fill(
          theta.data[s * theta.cols + j],
          s * this.nTraces,
          (s + 1) * this.nTraces,
        );
      }
      params[p] = a;
    });
    return await simulate(this.model, {
      dt: this.dt,
      steps: this.nSteps,
      nNeurons: nS * this.nTraces,
      input: this.#opts.input,
      params,
      init: paramInit ?? this.#opts.paramInit,
      record,
      device: this.#opts.device ?? "cpu",
      precision: this.#opts.precision,
      seed: this.#opts.seed ?? 0,
    });
  }

  /**
   * Save simulations to an `.npz` file with keys `theta` and `x` (readable by numpy).
   * @param path destination
   * @param theta parameters
   * @param x data
   */
  async saveSummaryStatistics(
    path: string | URL,
    theta: MatrixLike,
    x: MatrixLike,
  ): Promise<void> {
    const t = Matrix.of(theta);
    const xm = Matrix.of(x);
    await writeNpz(path, {
      theta: { data: t.data, shape: [t.rows, t.cols] },
      x: { data: xm.data, shape: [xm.rows, xm.cols] },
    });
  }

  /**
   * Load simulations saved by {@linkcode saveSummaryStatistics} (or numpy's `savez`).
   * @param path source
   * @returns theta and x
   */
  async loadSummaryStatistics(
    path: string | URL,
  ): Promise<{ theta: Matrix; x: Matrix }> {
    const z = await readNpz(path);
    if (!z.theta || !z.x) {
      throw new TypeError(
        `${path} must contain arrays 'theta' and 'x', found: ${
          Object.keys(z).join(", ")
        }`,
      );
    }
    const m = (a: { data: ArrayLike<number>; shape: readonly number[] }) =>
      new Matrix(
        a.shape[0],
        a.shape.length > 1 ? a.shape[1] : 1,
        Float32Array.from(a.data),
      );
    return { theta: m(z.theta), x: m(z.x) };
  }

  /**
   * Create the inference object.
   * @param options method, density estimator (NPE, NLE) or classifier (NRE), prior
   * @returns an NPE, NLE or NRE object
   * @throws {RangeError} an unknown method or estimator
   */
  initInference(
    options: {
      densityEstimator?: DensityEstimatorKind;
      classifier?: RatioClassifierKind;
      prior?: Prior;
      inferenceMethod?: InferenceMethod;
    } = {},
  ): InferenceObject {
    const given = options.inferenceMethod ?? "NPE";
    const method = typeof given === "string"
      ? METHOD_ALIASES.get(given)
      : undefined;
    if (!method) {
      throw new RangeError(
        `unknown inference method ${JSON.stringify(given)}; available: ${
          [...METHOD_ALIASES.keys()].map((k) => `"${k}"`).join(", ")
        }`,
      );
    }
    const prior = options.prior ?? this.#prior;
    if (!prior) throw new TypeError("no prior: call initPrior(bounds) first");
    const seed = this.#opts.seed ?? 0;
    if (method === "NPE" || method === "NLE") {
      if (options.classifier !== undefined) {
        throw new TypeError(
          `classifier applies to NRE methods, not ${given}; use densityEstimator`,
        );
      }
      const densityEstimator = options.densityEstimator ?? "maf";
      if (method === "NPE") return new NPE({ prior, densityEstimator, seed });
      if (densityEstimator === "made") {
        throw new RangeError(
          `NLE supports densityEstimator "maf", "nsf" or "mdn", got "made"`,
        );
      }
      return new NLE({ prior, densityEstimator, seed });
    }
    if (options.densityEstimator !== undefined) {
      throw new TypeError(
        `densityEstimator applies to NPE and NLE, not ${given}; use classifier ("resnet", "mlp", "linear")`,
      );
    }
    const o = { prior, classifier: options.classifier ?? "resnet", seed };
    switch (method) {
      case "NRE":
        return new NRE(o);
      case "NRE_A":
        return new NRE_A(o);
      case "NRE_C":
        return new NRE_C(o);
      default:
        return new BNRE(o);
    }
  }

  /**
   * One round: simulate (unless theta and x are given), append, train, build the posterior.
   * @param options proposal, inference object, data, training and MCMC options
   * @returns the posterior (default x = the observation)
   */
  async inferStep(options: {
    inference: InferenceObject;
    proposal?: Prior | AnyPosterior;
    nSamples?: number;
    theta?: MatrixLike;
    x?: MatrixLike;
    trainOptions?: NPETrainOptions;
    mcmcOptions?: MCMCPosteriorOptions;
  }): Promise<AnyPosterior> {
    let theta: Matrix;
    let x: Matrix;
    if (!options.theta !== !options.x) {
      throw new TypeError(
        `precomputed simulations need both theta and x, got only ${
          options.theta ? "theta" : "x"
        }`,
      );
    }
    if (options.theta && options.x) {
      theta = Matrix.of(options.theta);
      x = Matrix.of(options.x);
    } else {
      if (options.nSamples === undefined) {
        throw new TypeError("inferStep needs nSamples or theta and x");
      }
      const n = positiveInteger("nSamples", options.nSamples);
      const proposal = options.proposal ?? this.#prior!;
      theta = "setDefaultX" in proposal
        ? await proposal.sample(n, { x: this.xo, seed: this.#rng.nextU32() })
        : proposal.sample(n, this.#rng.fork());
      x = await this.extractSummaryStatistics(theta);
    }
    const inf = options.inference;
    let posterior: AnyPosterior;
    if (inf instanceof NPE) {
      // NPE corrects for the proposal (atomic loss); NLE and NRE need no correction
      const proposal = options.proposal instanceof DirectPosterior
        ? options.proposal
        : undefined;
      if (options.proposal && "setDefaultX" in options.proposal && !proposal) {
        throw new TypeError(
          "NPE rounds after the first need an NPE (direct) posterior as proposal",
        );
      }
      inf.appendSimulations(theta, x, { proposal });
      this.summaries.push(await inf.train(options.trainOptions ?? {}));
      posterior = inf.buildPosterior();
    } else {
      inf.appendSimulations(theta, x);
      const train = inf.train.bind(inf) as (
        o: NPETrainOptions,
      ) => Promise<TrainingSummary | NRETrainingSummary>;
      this.summaries.push(await train(options.trainOptions ?? {}));
      posterior = inf.buildPosterior(options.mcmcOptions ?? this.#mcmcOptions);
    }
    posterior.setDefaultX(this.xo);
    return posterior;
  }

  /**
   * Run (multi-round) NPE, NLE or NRE; calling again without `restart`
   * continues with more rounds, proposing from the current posterior.
   * @param options see {@linkcode InferOptions}
   * @returns the posterior with the observation as default x
   */
  async infer(options: InferOptions = {}): Promise<AnyPosterior> {
    // degenerate options fail before any simulation or training
    const rounds = positiveInteger("nRounds", options.nRounds ?? 1);
    if (options.nSamples !== undefined) {
      positiveInteger("nSamples", options.nSamples);
    }
    if (!options.theta !== !options.x) {
      throw new TypeError(
        `precomputed simulations need both theta and x, got only ${
          options.theta ? "theta" : "x"
        }`,
      );
    }
    const fresh = options.restart || !this.#npe;
    const precomputed = fresh || this.#round === 0
      ? (options.theta ? 1 : 0)
      : 0;
    if (options.nSamples === undefined && rounds > precomputed) {
      throw new TypeError(
        precomputed
          ? `nRounds ${rounds} needs nSamples: only the first round can use the given theta and x`
          : "infer needs nSamples (simulations per round) or theta and x",
      );
    }
    if (options.restart || !this.#npe) {
      if (!options.params && !this.#prior) {
        throw new TypeError("infer needs params: bounds of every parameter");
      }
      if (options.params) this.initPrior(options.params);
      this.#npe?.dispose();
      this.#npe = this.initInference({
        densityEstimator: options.densityEstimator,
        classifier: options.classifier,
        inferenceMethod: options.inferenceMethod,
      });
      this.#mcmcOptions = options.mcmcOptions ?? {};
      this.#posterior = null;
      this.#round = 0;
    }
    for (let r = 0; r < rounds; r++) {
      const first = this.#round === 0;
      const posterior = await this.inferStep({
        inference: this.#npe!,
        proposal: this.#posterior ?? this.#prior!,
        nSamples: options.nSamples,
        theta: first ? options.theta : undefined,
        x: first ? options.x : undefined,
        trainOptions: options.trainOptions,
        mcmcOptions: options.mcmcOptions,
      });
      this.#posterior = posterior;
      this.#round++;
    }
    return this.#posterior!;
  }

  /** The current posterior. */
  get posterior(): AnyPosterior | null {
    return this.#posterior;
  }

  /**
   * Samples from the posterior given the observation.
   * @param n number of samples
   * @param options seed
   * @returns rows = samples, sorted-parameter columns
   */
  sample(n: number, options: { seed?: number } = {}): Promise<Matrix> {
    if (!this.#posterior) {
      throw new TypeError("no posterior yet: call infer() first");
    }
    return this.#posterior.sample(n, {
      x: this.xo,
      seed: options.seed ?? this.#rng.nextU32(),
    });
  }

  /**
   * Traces of the model at the mean of `nSamples` posterior samples, for every
   * input trace. `paramInit` is honoured; every requested variable is returned.
   * @param options number of posterior samples averaged, output variables, initial values
   * @returns traces per variable (rows = input traces) and spike times
   */
  async generateTraces(options: {
    nSamples?: number;
    posterior?: AnyPosterior;
    outputVar?: string | string[];
    paramInit?: Record<string, number | string>;
    params?: Record<string, number>;
  } = {}): Promise<
    {
      traces: Record<string, Float64Array[]>;
      spikes: Float64Array[];
      params: Record<string, number>;
    }
  > {
    let mean: number[];
    if (options.params) {
      mean = this.paramNames.map((p) => {
        if (!(p in options.params!)) {
          throw new TypeError(`params is missing '${p}'`);
        }
        return options.params![p];
      });
    } else {
      const post = options.posterior ?? this.#posterior;
      if (!post) {
        throw new TypeError(
          "no posterior yet: call infer() first or pass params",
        );
      }
      const s = await post.sample(options.nSamples ?? 1, {
        x: this.xo,
        seed: this.#rng.nextU32(),
      });
      mean = this.paramNames.map((_, j) => {
        let a = 0;
        for (let i = 0; i < s.rows; i++) a += s.data[i * s.cols + j];
        return a / s.rows;
      });
    }
    const vars = options.outputVar === undefined
      ? this.#outputVars
      : (Array.isArray(options.outputVar)
        ? options.outputVar
        : [options.outputVar]).filter((v) => v !== "spikes");
    const r = await this.#simulate(
      new Matrix(1, mean.length, Float32Array.from(mean)),
      vars,
      options.paramInit,
    );
    return {
      traces: r.traces,
      spikes: r.spikes,
      params: Object.fromEntries(this.paramNames.map((p, j) => [p, mean[j]])),
    };
  }

  /**
   * Save the posterior to a versioned file.
   * @param path destination
   */
  async savePosterior(path: string | URL): Promise<void> {
    const p = this.#posterior;
    if (!p) {
      throw new TypeError("no posterior to save: call infer() first");
    }
    await savePosterior(p, path);
  }

  /**
   * Load a posterior saved by {@linkcode savePosterior} (NPE, NLE or NRE); it
   * becomes the current one.
   * @param path source
   * @returns the posterior
   */
  async loadPosterior(path: string | URL): Promise<AnyPosterior> {
    const bytes = await readFileBytes(path);
    const prior = this.#prior ?? undefined;
    // the file's kind tag picks the loader (NPE, NLE or NRE), so the error
    // of a damaged file is that loader's
    const p: AnyPosterior = await posteriorFromBytes(bytes, { prior });
    p.setDefaultX(this.xo);
    this.#posterior?.dispose();
    this.#posterior = p;
    return p;
  }

  #requirePosterior(what: string): AnyPosterior {
    if (!this.#posterior) {
      throw new TypeError(`${what}: no posterior yet: call infer() first`);
    }
    return this.#posterior;
  }

  /**
   * The bounds of the box prior, one `[low, high]` per parameter in
   * {@linkcode Inferencer.paramNames} order (the plots' default limits).
   * @returns the bounds
   * @throws {TypeError} when the prior is not a box (`initPrior` not called)
   */
  priorLimits(): [number, number][] {
    const prior = this.#prior;
    if (prior instanceof BoxUniform) {
      return Array.from(
        { length: prior.dim },
        (_, j) => [prior.low[j], prior.high[j]] as [number, number],
      );
    }
    throw new TypeError(
      "no box prior: call initPrior(bounds) or infer() first",
    );
  }

  /**
   * Log-density of the posterior given the observation (the function that
   * `inferencerConditionalPairplot` of `@neurofit/neurofit/plot` slices).
   * @param thetas parameter vectors, sorted-parameter columns
   * @returns one log-density per row
   * @throws {TypeError} before `infer()`
   */
  logProb(thetas: number[][]): Promise<ArrayLike<number>> {
    return this.#requirePosterior("logProb").logProb(thetas, { x: this.xo });
  }

  /**
   * Mean of `nSamples` posterior samples given the observation.
   * @param nSamples number of samples (default 1,000)
   * @returns one value per parameter
   * @throws {TypeError} before `infer()`
   */
  async posteriorMean(nSamples = 1000): Promise<number[]> {
    const s = await this.#requirePosterior("posterior mean").sample(nSamples, {
      x: this.xo,
      seed: this.#rng.nextU32(),
    });
    return Array.from({ length: s.cols }, (_, j) => {
      let a = 0;
      for (let i = 0; i < s.rows; i++) a += s.data[i * s.cols + j];
      return a / s.rows;
    });
  }

  /**
   * What `deno jupyter` shows for an inferencer: after `infer()`, marginal
   * histograms (SVG) of 1,000 posterior samples (seed 0) at the observation,
   * labelled with the parameter names; before, a text summary.
   * @returns the media bundle
   */
  async [JUPYTER_DISPLAY](): Promise<MediaBundle> {
    const what = `Inferencer: ${this.paramNames.length} parameters (${
      this.paramNames.join(", ")
    }), ${this.xo.length} features`;
    if (!this.#posterior) {
      return { "text/plain": `${what}; no posterior yet (call infer())` };
    }
    const s = await this.sample(DISPLAY_SAMPLES, { seed: 0 });
    return {
      "image/svg+xml": marginalsSvg(s, this.paramNames),
      "text/plain": `${what}; posterior marginals of ${s.rows} samples`,
    };
  }

  /** Free the networks. */
  dispose(): void {
    this.#posterior?.dispose();
    this.#npe?.dispose();
    this.#posterior = null;
    this.#npe = null;
  }
}

function rowsOf(m: TraceMatrix | readonly ArrayLike<number>[]): Float64Array[] {
  if (m instanceof Float64Array || m instanceof Float32Array) {
    return [Float64Array.from(m)];
  }
  const a = m as ArrayLike<number>[];
  if (a.length > 0 && typeof (a as unknown as number[])[0] === "number") {
    return [Float64Array.from(a as unknown as number[])];
  }
  return Array.from(a, (r) => Float64Array.from(r));
}
