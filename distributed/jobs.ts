/**
 * Jobs a worker can run, as data, and how a worker compiles and runs them.
 *
 * - {@linkcode TraceFitJob} and {@linkcode SpikeFitJob} (from `lib/fitting`): a batch is `nSets` full
 *   parameter sets (columns = `job.parameters`), the tag is the round
 *   counter; the result has one row per set: total error, then normalized
 *   errors per output variable, then raw errors per output variable (in the
 *   order of `job.output`). The worker evaluates it with the same
 *   `TraceFitter` code as a local fit.
 * - {@linkcode SimulationJob}: a batch is `nSets` rows of θ (columns =
 *   `job.params`), the tag is the seed of the batch; the result is one row
 *   of x per set: per output key, per trace, the named features (or the raw
 *   samples without features), the layout of `Inferencer`.
 *
 * Equations only ever go through neurofit's parser and code generator
 * (`NeuronModel`); a spec carries no code.
 * @module
 */
import { NeuronModel } from "../lib/simulation/neuron_model.ts";
import { simulate } from "../lib/simulation/simulate.ts";
import type { Device } from "../lib/simulation/runner.ts";
import { TraceFitter } from "../lib/fitting/fitters/trace_fitter.ts";
import { SpikeFitter } from "../lib/fitting/fitters/spike_fitter.ts";
import { MSEMetric } from "../lib/fitting/metrics/mse.ts";
import { GammaFactor } from "../lib/fitting/metrics/gamma_factor.ts";
import type {
  SpikeMetric,
  TraceMetric,
} from "../lib/fitting/metrics/metric.ts";
import {
  type EvaluatedSets,
  type FitJob,
  fitJobOutputs,
  type MetricSpec,
  type SpikeFitJob,
  type TraceFitJob,
} from "../lib/fitting/executor.ts";
import { PayloadError } from "./errors.ts";
import type { TaggedMatrix } from "./codec.ts";

export type { FitJob, SpikeFitJob, TraceFitJob };

/** Features computed on the worker from one recorded trace. */
export type TraceFeature = "mean" | "std" | "min" | "max" | "last";
/** Features computed on the worker from one neuron's spike times. */
export type SpikeFeature = "count" | "rate" | "first";

const TRACE_FEATURES: readonly string[] = ["mean", "std", "min", "max", "last"];
const SPIKE_FEATURES: readonly string[] = ["count", "rate", "first"];

/** A batch simulation problem as data (for `simulateBatches`). */
export interface SimulationJob {
  /** The kind of job. */
  kind: "simulate";
  /** Equations (Brian 2 syntax). */
  equations: string;
  /** Spike condition. */
  threshold?: string;
  /** Reset statements. */
  reset?: string;
  /** Refractory period or condition. */
  refractory?: number | string | false;
  /** Integration method. */
  method?: string;
  /** Constants (SI numbers or strings with units). */
  namespace?: Record<string, number | string>;
  /** Units of input variables. */
  inputUnits?: Record<string, string>;
  /** Time step (s). */
  dt: number;
  /** Steps per simulation. */
  steps: number;
  /** Input rows per input variable (one row per trace). */
  input?: Record<string, Float64Array[]>;
  /** Traces per parameter set (default: rows of the inputs, else 1). */
  nTraces?: number;
  /** Names of the parameters given per set (the columns of θ). */
  params: string[];
  /** Parameters fixed for every set. */
  fixed?: Record<string, number | string>;
  /** Initial values of state variables. */
  init?: Record<string, number | string>;
  /** Outputs: recorded variables, or `"spikes"`. */
  output: string[];
  /** Features per output (without: raw samples of traces; spikes need features). */
  features?: Record<string, string[]>;
  /** Device preference. */
  device?: Device;
}

/** Any job. */
export type Job = FitJob | SimulationJob;

/** A compiled job, cached by a worker. */
export interface CompiledJob {
  /** The job. */
  readonly job: Job;
  /** Simulated neurons per row of a batch (for throughput). */
  readonly neuronsPerRow: number;
  /** Columns of a batch. */
  readonly inputCols: number;
  /**
   * Run one batch.
   * @param batch the decoded batch
   * @returns the result matrix
   */
  run(batch: TaggedMatrix): Promise<TaggedMatrix>;
}

function fail(msg: string): never {
  throw new PayloadError(`job spec: ${msg}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x) &&
    !(x instanceof Float64Array);
}

function checkStringOpt(o: Record<string, unknown>, k: string): void {
  if (o[k] !== undefined && typeof o[k] !== "string") {
    fail(`'${k}' must be a string, got ${typeof o[k]}`);
  }
}

function checkRows(x: unknown, what: string): void {
  if (!isRecord(x)) fail(`'${what}' must be an object of rows`);
  for (const [k, v] of Object.entries(x)) {
    if (!Array.isArray(v) || !v.every((r) => r instanceof Float64Array)) {
      fail(`'${what}.${k}' must be a list of f64 rows`);
    }
  }
}

function checkScalars(x: unknown, what: string): void {
  if (x === undefined) return;
  if (!isRecord(x)) fail(`'${what}' must be an object`);
  for (const [k, v] of Object.entries(x)) {
    if (typeof v !== "number" && typeof v !== "string") {
      fail(`'${what}.${k}' must be a number or a string, got ${typeof v}`);
    }
  }
}

function checkNames(x: unknown, what: string): void {
  if (!Array.isArray(x) || !x.every((s) => typeof s === "string")) {
    fail(`'${what}' must be a list of names`);
  }
}

/**
 * Check that decoded data has the shape of a job (types only; the model's
 * own checks run when it is compiled).
 * @param x decoded spec
 * @returns the job
 * @throws {PayloadError} a field of the wrong type, an unknown kind
 */
export function validateJob(x: unknown): Job {
  if (!isRecord(x)) fail("not an object");
  if (typeof x.equations !== "string") fail("'equations' must be a string");
  for (const k of ["threshold", "reset", "method"]) checkStringOpt(x, k);
  if (
    x.refractory !== undefined && x.refractory !== false &&
    typeof x.refractory !== "number" && typeof x.refractory !== "string"
  ) fail("'refractory' must be a number, a string or false");
  checkScalars(x.namespace, "namespace");
  checkScalars(x.inputUnits, "inputUnits");
  if (typeof x.dt !== "number" || !(x.dt > 0)) {
    fail(`'dt' must be a positive number, got ${x.dt}`);
  }
  if (
    x.device !== undefined && x.device !== "cpu" && x.device !== "webgpu" &&
    x.device !== "auto"
  ) fail(`'device' must be cpu, webgpu or auto, got ${String(x.device)}`);
  if (x.kind === "trace" || x.kind === "spike") {
    checkRows(x.input, "input");
    if (x.kind === "trace") checkRows(x.output, "output");
    else if (
      !Array.isArray(x.output) ||
      !x.output.every((r) => r instanceof Float64Array)
    ) fail("'output' must be a list of f64 spike-time rows");
    checkScalars(x.paramInit, "paramInit");
    checkNames(x.parameters, "parameters");
    if (typeof x.seed !== "number") fail("'seed' must be a number");
    checkStringOpt(x, "penalty");
    if (!isRecord(x.metric)) fail("'metric' must be an object");
    for (const [k, m] of Object.entries(x.metric)) {
      const common = isRecord(m) && typeof m.tStart === "number" &&
        typeof m.normalization === "number";
      const mse = common && m.kind === "mse" &&
        (m.tWeights === null || m.tWeights instanceof Float64Array);
      const gamma = common && m.kind === "gamma" &&
        typeof m.delta === "number" && typeof m.time === "number" &&
        typeof m.rateCorrection === "boolean";
      if (x.kind === "trace" ? !mse : !(gamma && k === "spikes")) {
        fail(
          `'metric.${k}' is not a${
            x.kind === "trace" ? "n MSE" : " GammaFactor"
          } metric description`,
        );
      }
    }
    return x as unknown as FitJob;
  }
  if (x.kind === "simulate") {
    if (!Number.isInteger(x.steps) || (x.steps as number) < 1) {
      fail(`'steps' must be an integer >= 1, got ${x.steps}`);
    }
    if (x.input !== undefined) checkRows(x.input, "input");
    if (
      x.nTraces !== undefined &&
      (!Number.isInteger(x.nTraces) || (x.nTraces as number) < 1)
    ) fail(`'nTraces' must be an integer >= 1, got ${x.nTraces}`);
    checkNames(x.params, "params");
    checkNames(x.output, "output");
    checkScalars(x.fixed, "fixed");
    checkScalars(x.init, "init");
    if (x.features !== undefined) {
      if (!isRecord(x.features)) fail("'features' must be an object");
      for (const [k, fs] of Object.entries(x.features)) {
        checkNames(fs, `features.${k}`);
        const allowed = k === "spikes" ? SPIKE_FEATURES : TRACE_FEATURES;
        for (const f of fs as string[]) {
          if (!allowed.includes(f)) {
            fail(
              `unknown feature '${f}' for '${k}' (known: ${
                allowed.join(", ")
              })`,
            );
          }
        }
      }
    }
    return x as unknown as SimulationJob;
  }
  return fail(`unknown kind ${JSON.stringify(x.kind)} (trace or simulate)`);
}

/** Evaluates parameter sets of a spike-fit job with the fitter's own code. */
class JobSpikeFitter extends SpikeFitter {
  readonly #metrics: Record<string, SpikeMetric>;
  readonly #penalty: string | undefined;

  constructor(job: SpikeFitJob, device: Device | undefined) {
    super({
      model: job.equations,
      threshold: job.threshold ?? fail("a spike job needs a threshold"),
      reset: job.reset,
      refractory: job.refractory,
      method: job.method,
      namespace: job.namespace,
      inputUnits: job.inputUnits,
      dt: job.dt,
      input: job.input,
      output: job.output,
      paramInit: job.paramInit,
      device: device ?? job.device,
      seed: job.seed,
      nSamples: 1,
    });
    const m = job.metric.spikes as Extract<MetricSpec, { kind: "gamma" }>;
    this.#metrics = {
      spikes: new GammaFactor({
        delta: m.delta,
        time: m.time,
        rateCorrection: m.rateCorrection,
        tStart: m.tStart,
        normalization: m.normalization,
      }),
    };
    this.#penalty = job.penalty;
  }

  evaluate(
    sets: Record<string, number>[],
    iteration: number,
  ): Promise<EvaluatedSets> {
    return this.evaluateSets(sets, this.#metrics, this.#penalty, iteration);
  }
}

/** Evaluates parameter sets of a trace-fit job with the fitter's own code. */
class JobTraceFitter extends TraceFitter {
  readonly #metrics: Record<string, TraceMetric>;
  readonly #penalty: string | undefined;

  constructor(job: TraceFitJob, device: Device | undefined) {
    super({
      model: job.equations,
      threshold: job.threshold,
      reset: job.reset,
      refractory: job.refractory,
      method: job.method,
      namespace: job.namespace,
      inputUnits: job.inputUnits,
      dt: job.dt,
      input: job.input,
      output: job.output,
      paramInit: job.paramInit,
      device: device ?? job.device,
      seed: job.seed,
      nSamples: 1,
    });
    this.#metrics = {};
    for (const v of this.outputVars) {
      const m = job.metric[v] as Extract<MetricSpec, { kind: "mse" }>;
      if (!m) fail(`no metric for the output '${v}'`);
      this.#metrics[v] = new MSEMetric({
        tStart: m.tWeights ? undefined : m.tStart,
        normalization: m.normalization,
        tWeights: m.tWeights ?? undefined,
      });
    }
    this.#penalty = job.penalty;
  }

  evaluate(
    sets: Record<string, number>[],
    iteration: number,
  ): Promise<EvaluatedSets> {
    return this.evaluateSets(sets, this.#metrics, this.#penalty, iteration);
  }
}

/**
 * Compile a job (parse the equations, generate code) for repeated batches.
 * @param job a validated job
 * @param options device override of the worker
 * @returns the compiled job
 * @throws {EquationSyntaxError} malformed equations
 * @throws {TypeError} inconsistent job
 */
export function compileJob(
  job: Job,
  options: { device?: Device } = {},
): CompiledJob {
  if (job.kind === "trace") {
    return compileFitJob(job, new JobTraceFitter(job, options.device));
  }
  if (job.kind === "spike") {
    return compileFitJob(job, new JobSpikeFitter(job, options.device));
  }
  return compileSimulationJob(job, options.device);
}

function compileFitJob(
  job: FitJob,
  fitter: JobTraceFitter | JobSpikeFitter,
): CompiledJob {
  const names = job.parameters;
  const vars = fitJobOutputs(job);
  return {
    job,
    neuronsPerRow: fitter.nTraces,
    inputCols: names.length,
    async run(batch: TaggedMatrix): Promise<TaggedMatrix> {
      if (batch.cols !== names.length) {
        throw new PayloadError(
          `batch has ${batch.cols} columns, the job has ${names.length} parameters`,
        );
      }
      const sets: Record<string, number>[] = [];
      for (let r = 0; r < batch.rows; r++) {
        const s: Record<string, number> = {};
        names.forEach((n, j) => s[n] = batch.data[r * batch.cols + j]);
        sets.push(s);
      }
      const ev = await fitter.evaluate(sets, batch.tag);
      return encodeEvaluated(ev, vars, batch.rows, batch.tag);
    },
  };
}

/**
 * Lay out evaluated errors as a result matrix.
 * @param ev the errors
 * @param vars output variables in order
 * @param n number of sets
 * @param tag tag to carry
 * @returns rows of [total, normalized…, raw…]
 */
export function encodeEvaluated(
  ev: EvaluatedSets,
  vars: readonly string[],
  n: number,
  tag: number,
): TaggedMatrix {
  const cols = 1 + 2 * vars.length;
  const data = new Float64Array(n * cols);
  for (let s = 0; s < n; s++) {
    data[s * cols] = ev.total[s];
    vars.forEach((v, j) => {
      data[s * cols + 1 + j] = ev.normalized[v][s];
      data[s * cols + 1 + vars.length + j] = ev.raw[v][s];
    });
  }
  return { rows: n, cols, tag, data };
}

/**
 * The inverse of {@linkcode encodeEvaluated}.
 * @param m result matrix
 * @param vars output variables in order
 * @returns the errors
 * @throws {PayloadError} wrong number of columns
 */
export function decodeEvaluated(
  m: TaggedMatrix,
  vars: readonly string[],
): EvaluatedSets {
  const cols = 1 + 2 * vars.length;
  if (m.cols !== cols) {
    throw new PayloadError(
      `a fit result has ${m.cols} columns, expected ${cols} for outputs ${
        vars.join(", ")
      }`,
    );
  }
  const total = new Float64Array(m.rows);
  const normalized: Record<string, Float64Array> = {};
  const raw: Record<string, Float64Array> = {};
  for (const v of vars) {
    normalized[v] = new Float64Array(m.rows);
    raw[v] = new Float64Array(m.rows);
  }
  for (let s = 0; s < m.rows; s++) {
    total[s] = m.data[s * cols];
    vars.forEach((v, j) => {
      normalized[v][s] = m.data[s * cols + 1 + j];
      raw[v][s] = m.data[s * cols + 1 + vars.length + j];
    });
  }
  return { total, normalized, raw };
}

/**
 * Columns of x per parameter set of a simulation job.
 * @param job the job
 * @returns the width of a result row
 */
export function simulationWidth(job: SimulationJob): number {
  const nTraces = tracesOf(job);
  let w = 0;
  for (const k of job.output) {
    const f = job.features?.[k];
    if (f) w += nTraces * f.length;
    else if (k === "spikes") {
      throw new TypeError("output 'spikes' needs features, e.g. ['count']");
    } else w += nTraces * job.steps;
  }
  return w;
}

function tracesOf(job: SimulationJob): number {
  if (job.nTraces !== undefined) return job.nTraces;
  const first = job.input ? Object.values(job.input)[0] : undefined;
  return first ? first.length : 1;
}

function traceFeature(f: string, v: Float64Array): number {
  const n = v.length;
  switch (f) {
    case "mean": {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i];
      return s / n;
    }
    case "std": {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i];
      const m = s / n;
      let q = 0;
      for (let i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
      return Math.sqrt(q / n);
    }
    case "min": {
      let m = Infinity;
      for (let i = 0; i < n; i++) if (v[i] < m) m = v[i];
      return m;
    }
    case "max": {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if (v[i] > m) m = v[i];
      return m;
    }
    case "last":
      return n > 0 ? v[n - 1] : NaN;
  }
  throw new TypeError(`unknown trace feature '${f}'`);
}

function spikeFeature(f: string, s: Float64Array, duration: number): number {
  switch (f) {
    case "count":
      return s.length;
    case "rate":
      return s.length / duration;
    case "first":
      return s.length > 0 ? s[0] : duration;
  }
  throw new TypeError(`unknown spike feature '${f}'`);
}

function compileSimulationJob(
  job: SimulationJob,
  device: Device | undefined,
): CompiledJob {
  const model = new NeuronModel(job.equations, {
    threshold: job.threshold,
    reset: job.reset,
    refractory: job.refractory,
    method: job.method,
    namespace: job.namespace,
    inputUnits: job.inputUnits,
  });
  for (const p of job.params) {
    if (!model.parameters.includes(p)) {
      throw new TypeError(
        `'${p}' is not a parameter of the model (parameters: ${
          model.parameters.join(", ")
        })`,
      );
    }
  }
  const nTraces = tracesOf(job);
  const width = simulationWidth(job);
  const record = job.output.filter((k) => k !== "spikes");
  return {
    job,
    neuronsPerRow: nTraces,
    inputCols: job.params.length,
    async run(batch: TaggedMatrix): Promise<TaggedMatrix> {
      if (batch.cols !== job.params.length) {
        throw new PayloadError(
          `batch has ${batch.cols} columns, the job has ${job.params.length} parameters`,
        );
      }
      const nS = batch.rows;
      const params: Record<string, number | string | Float64Array> = {
        ...(job.fixed ?? {}),
      };
      job.params.forEach((p, j) => {
        const a = new Float64Array(nS * nTraces);
        for (let s = 0; s < nS; s++) {
          a.fill(
            batch.data[s * batch.cols + j],
            s * nTraces,
            (s + 1) * nTraces,
          );
        }
        params[p] = a;
      });
      const r = await simulate(model, {
        dt: job.dt,
        steps: job.steps,
        nNeurons: nS * nTraces,
        input: job.input,
        params,
        init: job.init,
        record,
        device: device ?? job.device ?? "cpu",
        seed: batch.tag,
      });
      const duration = job.steps * job.dt;
      const data = new Float64Array(nS * width);
      for (let s = 0; s < nS; s++) {
        let c = s * width;
        for (const k of job.output) {
          const fs = job.features?.[k];
          for (let tr = 0; tr < nTraces; tr++) {
            const neuron = s * nTraces + tr;
            if (k === "spikes") {
              for (const f of fs!) {
                data[c++] = spikeFeature(f, r.spikes[neuron], duration);
              }
            } else {
              const v = r.traces[k][neuron];
              if (fs) {
                for (const f of fs) data[c++] = traceFeature(f, v);
              } else {
                data.set(v, c);
                c += v.length;
              }
            }
          }
        }
      }
      return { rows: nS, cols: width, tag: batch.tag, data };
    },
  };
}
