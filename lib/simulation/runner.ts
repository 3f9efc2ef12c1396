/**
 * `Runner`: a batch simulation advanced chunk by chunk (`step(n) -> Chunk`),
 * on the CPU or on a registered GPU backend.
 * @module
 */
import type {
  Backend,
  ChunkData,
  Kernel,
  TimedInput,
} from "../codegen/backend.ts";
import { getBackend, GpuUnavailableError } from "../codegen/backend.ts";
import type { Program } from "../codegen/program.ts";
import { cpuBackend } from "../codegen/cpu_backend.ts";
import { parseExpression } from "../equations/expression.ts";
import { identifiers } from "../equations/ast.ts";
import { parseQuantity } from "../units/quantity.ts";
import { DimensionMismatchError } from "../units/dimension.ts";
import { suggest } from "../equations/model.ts";
import { UndefinedNameError } from "../equations/errors.ts";
import { evaluate } from "./evaluate.ts";
import type { NeuronModel } from "./neuron_model.ts";

/** Rows of values: `number[][]`, typed arrays per row, or one row. */
export type TraceMatrix =
  | ArrayLike<number>[]
  | readonly (readonly number[])[]
  | Float64Array
  | Float32Array
  | number[];

/** A device choice. */
export type Device = "cpu" | "webgpu" | "auto";

/** Options of {@linkcode Runner} and `simulate`. */
export interface RunnerOptions {
  /** Time step in seconds (e.g. `0.01 * ms`). Required. */
  dt: number;
  /** Number of neurons. Default: the largest row count among inputs and per-neuron arrays, else 1. */
  nNeurons?: number;
  /** Input arrays per input variable (SI), one row per trace; neuron n reads row `n % rows`. */
  input?: Record<string, TraceMatrix>;
  /** Target arrays for `<var>_target` variables, same layout as inputs. */
  targets?: Record<string, TraceMatrix>;
  /** Parameter values: one value (number in SI or string with units) or one per neuron. */
  params?: Record<string, number | string | ArrayLike<number>>;
  /** Initial values: number, string expression, or one value per neuron. Default 0 (as Brian). */
  init?: Record<string, number | string | ArrayLike<number>>;
  /** Variables to record (default: every state variable); `[]` records nothing. */
  record?: readonly string[];
  /** Record every k-th step. Default 1. */
  recordEvery?: number;
  /** `"cpu"`, `"webgpu"` or `"auto"` (WebGPU when available, else CPU). Default `"cpu"`. */
  device?: Device;
  /** Seed of the noise (`xi`, `rand()`, `randn()`). Default 0. */
  seed?: number;
  /**
   * Arithmetic precision. Default `"f64"` on the CPU; WebGPU is always
   * `"f32"`, so an explicit `"f64"` with `device: "webgpu"` is a RangeError
   * and keeps `device: "auto"` on the CPU.
   */
  precision?: "f64" | "f32";
  /** CPU worker threads. Default: 1 for small batches, all cores for ≥ 4096 neurons. */
  threads?: number;
  /** Spike-buffer capacity per neuron and chunk on the GPU (overflow is reported, never silent). Default: max(64, steps/10). */
  spikeCapacity?: number;
  /**
   * Absolute step at which this runner starts (default 0): `t` and the noise
   * use `stepOrigin + step`, inputs are read from their first sample. With
   * `init` set to the final `state()` of a previous runner (it includes
   * `lastspike` and `not_refractory`), a simulation continued block by block
   * equals one run.
   */
  stepOrigin?: number;
  /**
   * CPU engine: `"auto"` (SIMD WebAssembly when it supports the model, on
   * worker threads for large batches; else JavaScript), `"wasm"` or `"js"`.
   * The engines give the same f64 results. Default `"auto"`.
   */
  engine?: "auto" | "wasm" | "js";
  /** Online squared-error accumulation against `<variable>_target` (fitters). */
  accumulate?:
    | { variable: string; startStep: number; weights?: Float64Array }
    | null;
}

/** The next block of a simulation continued by {@linkcode Runner.continueWith}. */
export interface RunnerBlock {
  /** Input arrays of the block per input variable (SI), as in `create`. */
  input?: Record<string, TraceMatrix>;
  /** Target arrays of the block. */
  targets?: Record<string, TraceMatrix>;
  /** Absolute step of the block's first step. */
  stepOrigin: number;
  /** Accumulation of the block (runners created with `accumulate`): first step relative to the block, weights per step. */
  accumulate?: { startStep: number; weights?: Float64Array };
}

/** One chunk of a running simulation. */
export interface Chunk {
  /** Time of the first step of the chunk (s). */
  readonly t0: number;
  /** Time step (s). */
  readonly dt: number;
  /** First step index. */
  readonly startStep: number;
  /** Steps in the chunk. */
  readonly steps: number;
  /** Number of neurons. */
  readonly batch: number;
  /** Samples per neuron in `vars` (steps / recordEvery, rounded). */
  readonly samples: number;
  /** First recorded absolute step. */
  readonly recordStart: number;
  /** Recorded variables, neuron-major: `vars[name][n * samples + j]` (SI). */
  readonly vars: Record<string, Float64Array | Float32Array>;
  /** Spikes in this chunk: neuron and step of each, ordered by step. */
  readonly spikes: {
    readonly neuron: Int32Array;
    readonly step: Int32Array;
    readonly overflow: Int32Array;
  };
}

export { GpuUnavailableError };

/** Normalise a matrix argument to `TimedInput`. */
export function toTimedInput(
  name: string,
  m: TraceMatrix,
  what = "input",
): TimedInput {
  let rows: ArrayLike<number>[];
  if (
    m instanceof Float64Array || m instanceof Float32Array ||
    (Array.isArray(m) && (m.length === 0 || typeof m[0] === "number"))
  ) {
    rows = [m as ArrayLike<number>];
  } else if (Array.isArray(m)) {
    rows = m as ArrayLike<number>[];
  } else {
    throw new TypeError(
      `${what} '${name}' must be an array of rows (number[][] or typed arrays), got ${typeof m}`,
    );
  }
  if (rows.length === 0) throw new RangeError(`${what} '${name}' has no rows`);
  const length = rows[0].length;
  if (length === 0) throw new RangeError(`${what} '${name}' has empty rows`);
  const data = new Float64Array(rows.length * length);
  rows.forEach((r, i) => {
    if (!r || typeof r.length !== "number") {
      throw new TypeError(`${what} '${name}' row ${i} is not an array`);
    }
    if (r.length !== length) {
      throw new RangeError(
        `${what} '${name}' rows must have equal lengths: row 0 has ${length} values, row ${i} has ${r.length}`,
      );
    }
    for (let k = 0; k < length; k++) {
      const v = r[k];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(
          `${what} '${name}' has a non-finite value ${v} at row ${i}, sample ${k}`,
        );
      }
      data[i * length + k] = v;
    }
  });
  return { data, rows: rows.length, length };
}

/** Inputs, targets and the accumulated target as `TimedInput`s, checked against `n` neurons. */
function timedInputs(
  model: NeuronModel,
  input: Record<string, TraceMatrix>,
  targets: Record<string, TraceMatrix>,
  accumulate: RunnerOptions["accumulate"],
  n: number,
  scratch?: Map<string, Float64Array>,
): Record<string, TimedInput> {
  const toTimed = scratch
    ? (name: string, m: TraceMatrix, what?: string) =>
      toTimedInputReusing(name, m, scratch, what)
    : toTimedInput;
  const timed: Record<string, TimedInput> = {};
  for (const [k, m] of Object.entries(input)) {
    const ti = toTimed(k, m);
    if (n % ti.rows !== 0) {
      throw new RangeError(
        `input '${k}' has ${ti.rows} rows, but ${n} neurons need 1, ${n} or a divisor of ${n} rows (neuron i reads row i % rows)`,
      );
    }
    timed[k] = ti;
  }
  for (const t of model.program.targets) {
    const m = targets[t];
    if (!m) {
      throw new TypeError(
        `the model references '${t}_target' but no target for '${t}' was given`,
      );
    }
    const ti = toTimed(`${t}_target`, m, "target");
    if (n % ti.rows !== 0) {
      throw new RangeError(
        `target '${t}' has ${ti.rows} rows, incompatible with ${n} neurons`,
      );
    }
    timed[`${t}_target`] = ti;
  }
  if (accumulate && !timed[`${accumulate.variable}_target`]) {
    const a = accumulate.variable;
    const m = targets[a];
    if (!m) {
      throw new TypeError(
        `error accumulation on '${a}' needs targets: { ${a}: ... }`,
      );
    }
    timed[`${a}_target`] = toTimed(`${a}_target`, m, "target");
  }
  return timed;
}

/**
 * As {@linkcode toTimedInput}, without allocating in steady state: one
 * Float64Array row is used in place, several rows are concatenated into a
 * buffer kept in `scratch` (valid until the next call with that name).
 */
function toTimedInputReusing(
  name: string,
  m: TraceMatrix,
  scratch: Map<string, Float64Array>,
  what = "input",
): TimedInput {
  const rows: ArrayLike<number>[] | null = m instanceof Float64Array
    ? [m]
    : Array.isArray(m) && m.length > 0 &&
        m.every((r) => r instanceof Float64Array)
    ? m as Float64Array[]
    : null;
  if (!rows) return toTimedInput(name, m, what);
  const length = rows[0].length;
  if (length === 0) throw new RangeError(`${what} '${name}' has empty rows`);
  rows.forEach((r, i) => {
    if (r.length !== length) {
      throw new RangeError(
        `${what} '${name}' rows must have equal lengths: row 0 has ${length} values, row ${i} has ${r.length}`,
      );
    }
    for (let k = 0; k < length; k++) {
      if (!Number.isFinite(r[k])) {
        throw new RangeError(
          `${what} '${name}' has a non-finite value ${
            r[k]
          } at row ${i}, sample ${k}`,
        );
      }
    }
  });
  if (rows.length === 1) {
    return { data: rows[0] as Float64Array, rows: 1, length };
  }
  let data = scratch.get(name);
  if (!data || data.length !== rows.length * length) {
    data = new Float64Array(rows.length * length);
    scratch.set(name, data);
  }
  rows.forEach((r, i) => data!.set(r as Float64Array, i * length));
  return { data, rows: rows.length, length };
}

function rowCount(m: TraceMatrix): number {
  if (m instanceof Float64Array || m instanceof Float32Array) return 1;
  if (Array.isArray(m) && m.length > 0 && typeof m[0] !== "number") {
    return m.length;
  }
  return 1;
}

/** The backend chosen for a device option, and why. */
export interface DeviceChoice {
  /** The backend that will run the simulation. */
  readonly backend: Backend;
  /**
   * Why this device: the device asked for, or, for `"auto"`, why the CPU
   * was chosen (WebGPU module not imported, no adapter, model unsupported,
   * f64 precision asked for).
   */
  readonly reason: string;
}

/**
 * Resolve the backend for a device choice, with the reason.
 * @param device `"cpu"`, `"webgpu"` or `"auto"`
 * @param program the model's program (`"auto"` checks that WebGPU can run it)
 * @param precision the precision asked for (`"f64"` keeps `"auto"` on the CPU)
 * @returns the backend and why
 * @throws {GpuUnavailableError} `"webgpu"` without the module or an adapter
 * @throws {RangeError} an unknown device, or `"webgpu"` with precision `"f64"`
 */
export async function chooseBackend(
  device: Device,
  program?: Program,
  precision?: "f64" | "f32",
): Promise<DeviceChoice> {
  if (device === "cpu") {
    return { backend: cpuBackend, reason: 'device "cpu" requested' };
  }
  const gpu = getBackend("webgpu");
  if (device === "webgpu") {
    if (precision === "f64") {
      throw new RangeError(
        'precision "f64" cannot run on device "webgpu": WebGPU computes in f32; use precision "f32" or device "cpu"',
      );
    }
    if (!gpu) {
      throw new GpuUnavailableError(
        'device "webgpu" requested but the WebGPU backend is not loaded; import "@neurofit/neurofit/gpu" first',
      );
    }
    if (!(await gpu.available())) {
      const why = (await gpu.unavailableReason?.()) ??
        "no WebGPU adapter is available";
      throw new GpuUnavailableError(`device "webgpu" requested but ${why}`);
    }
    return { backend: gpu, reason: 'device "webgpu" requested' };
  }
  if (device === "auto") {
    const cpu = (why: string): DeviceChoice => ({
      backend: cpuBackend,
      reason: `device "auto" chose the CPU: ${why}`,
    });
    if (precision === "f64") {
      return cpu('precision "f64" was asked for and WebGPU computes in f32');
    }
    if (!gpu) {
      return cpu(
        'the WebGPU backend is not loaded (import "@neurofit/neurofit/gpu" to use it)',
      );
    }
    if (!(await gpu.available())) {
      return cpu(
        (await gpu.unavailableReason?.()) ?? "no WebGPU adapter is available",
      );
    }
    const unsupported = program ? gpu.unsupportedReason?.(program) : null;
    if (unsupported) {
      return cpu(`the WebGPU backend cannot run this model: ${unsupported}`);
    }
    return {
      backend: gpu,
      reason: 'device "auto" chose WebGPU: an adapter is available',
    };
  }
  throw new RangeError(
    `device must be "cpu", "webgpu" or "auto", got ${JSON.stringify(device)}`,
  );
}

/**
 * Resolve the backend for a device choice.
 * @param device `"cpu"`, `"webgpu"` or `"auto"`
 * @returns the backend
 */
export async function selectBackend(device: Device): Promise<Backend> {
  return (await chooseBackend(device)).backend;
}

/**
 * A batch simulation that runs chunk by chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NeuronModel } from "./neuron_model.ts";
 * import { Runner } from "./runner.ts";
 * const m = new NeuronModel("dv/dt = -v/tau : volt", { namespace: { tau: "10 ms" } });
 * const r = await Runner.create(m, { dt: 1e-4, nNeurons: 2, init: { v: [0.01, 0.02] } });
 * const c = await r.step(100);
 * assert.ok(c.samples === 100 && c.vars.v.length === 200);
 * r.dispose();
 * ```
 */
export class Runner {
  /** The model. */
  readonly model: NeuronModel;
  /** Time step (s). */
  readonly dt: number;
  /** Batch size. */
  readonly nNeurons: number;
  /** Recorded variables. */
  readonly record: readonly string[];
  /** Recording interval in steps. */
  readonly recordEvery: number;
  /** The device that runs the simulation. */
  readonly device: "cpu" | "webgpu";
  /** Why that device (for `device: "auto"`: why the CPU, when it was chosen). */
  readonly deviceReason: string;
  #kernel: Kernel;
  #options: RunnerOptions;
  #scratch = new Map<string, Float64Array>();

  private constructor(
    model: NeuronModel,
    dt: number,
    n: number,
    record: string[],
    every: number,
    kernel: Kernel,
    deviceReason: string,
    options: RunnerOptions,
  ) {
    this.#options = options;
    this.model = model;
    this.dt = dt;
    this.nNeurons = n;
    this.record = record;
    this.recordEvery = every;
    this.#kernel = kernel;
    this.device = kernel.device;
    this.deviceReason = deviceReason;
  }

  /**
   * Validate options, build the initial state and compile the kernel.
   * @param model the model
   * @param options see {@linkcode RunnerOptions}
   * @returns a ready runner
   * @throws {TypeError} bad shapes or missing inputs
   * @throws {RangeError} bad values
   * @throws {DimensionMismatchError} values with wrong units
   */
  static async create(
    model: NeuronModel,
    options: RunnerOptions,
  ): Promise<Runner> {
    const dt = options.dt;
    if (typeof dt !== "number" || !(dt > 0) || !Number.isFinite(dt)) {
      throw new RangeError(
        `dt must be a positive number of seconds, got ${dt}`,
      );
    }
    const desc = model.description;
    const input = options.input ?? {};
    const targets = options.targets ?? {};
    // inputs: every input of the model must be given; no unknown names
    for (const k of Object.keys(input)) {
      if (!desc.inputs.includes(k)) {
        const v = desc.variables.get(k);
        throw new TypeError(
          v
            ? `'${k}' is a ${v.kind} of the model, not an input (inputs are names used but not defined: ${
              desc.inputs.join(", ") || "none"
            })`
            : `input '${k}' is not used by the model${
              suggest(k, [...desc.inputs])
            } (inputs: ${desc.inputs.join(", ") || "none"})`,
        );
      }
    }
    for (const k of desc.inputs) {
      if (!(k in input)) {
        const v = desc.variables.get(k)!;
        const known = [...desc.variables.values()].filter((x) =>
          x.kind !== "input"
        ).map((x) => x.name);
        const hint = suggest(k, known);
        throw new UndefinedNameError(
          hint
            ? `'${k}' is not defined in the model, the namespace or the inputs${hint}`
            : `the model uses the input '${k}' (${v.dim}) but no input '${k}' was given`,
          k,
          desc.source,
          v.offset >= 0 ? v.offset : 0,
        );
      }
    }
    let n = options.nNeurons ?? 0;
    if (!options.nNeurons) {
      for (const m of Object.values(input)) n = Math.max(n, rowCount(m));
      for (const m of Object.values(targets)) n = Math.max(n, rowCount(m));
      for (
        const v of [
          ...Object.values(options.params ?? {}),
          ...Object.values(options.init ?? {}),
        ]
      ) {
        if (typeof v !== "number" && typeof v !== "string") {
          n = Math.max(n, v.length);
        }
      }
      n = Math.max(n, 1);
    }
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `nNeurons must be a positive integer, got ${options.nNeurons}`,
      );
    }
    const timed = timedInputs(model, input, targets, options.accumulate, n);
    // parameters
    const params: Record<string, Float64Array> = {};
    for (const k of Object.keys(options.params ?? {})) {
      if (!desc.parameters.includes(k)) {
        throw new TypeError(
          `'${k}' is not a parameter of the model${
            suggest(k, [...desc.parameters])
          } (parameters: ${desc.parameters.join(", ") || "none"})`,
        );
      }
    }
    for (const p of desc.parameters) {
      const v = options.params?.[p];
      if (v === undefined) {
        throw new TypeError(
          `parameter '${p}' has no value; give params: { ${p}: ... } (${
            desc.variables.get(p)!.dim
          })`,
        );
      }
      params[p] = perNeuron(p, v, n, desc.variables.get(p)!.dim, "parameter");
    }
    // initial values (Brian: 0 unless set); strings may use params, constants and other states
    const init: Record<string, Float64Array> = {};
    for (const s of desc.states) init[s] = new Float64Array(n);
    const initOpts = options.init ?? {};
    const SPECIAL = ["lastspike", "not_refractory"];
    for (const k of Object.keys(initOpts)) {
      if (SPECIAL.includes(k)) continue;
      if (!desc.states.includes(k)) {
        const v = desc.variables.get(k);
        throw new TypeError(
          v?.kind === "parameter"
            ? `'${k}' is a parameter; set it with params, not init`
            : `'${k}' is not a state variable of the model${
              suggest(k, [...desc.states])
            } (states: ${desc.states.join(", ")})`,
        );
      }
    }
    const strInits: [string, string][] = [];
    for (const [k, v] of Object.entries(initOpts)) {
      if (SPECIAL.includes(k)) {
        // carried over from a previous runner's state(): plain numbers
        // (lastspike in seconds, not_refractory 0/1)
        if (typeof v === "string" || typeof v === "number") {
          throw new TypeError(
            `init '${k}' must be one value per neuron (from a previous runner's state()), got ${
              JSON.stringify(v)
            }`,
          );
        }
        if (v.length !== n) {
          throw new RangeError(
            `init '${k}' has ${v.length} values for ${n} neurons`,
          );
        }
        init[k] = Float64Array.from(v);
        continue;
      }
      if (typeof v === "string" && !looksLikeQuantity(v)) strInits.push([k, v]);
      else {init[k] = perNeuron(
          k,
          v,
          n,
          desc.variables.get(k)!.dim,
          "initial value",
        );}
    }
    for (const [k, text] of strInits) {
      init[k] = evalInit(model, k, text, n, params, init, timed);
    }
    // recording
    const record = options.record ? [...options.record] : [...desc.states];
    for (const r of record) {
      if (!model.program.recordable.has(r)) {
        throw new TypeError(
          `cannot record '${r}': not a state variable, subexpression or parameter${
            suggest(r, [...model.program.recordable.keys()])
          }`,
        );
      }
    }
    const every = options.recordEvery ?? 1;
    if (!Number.isInteger(every) || every < 1) {
      throw new RangeError(
        `recordEvery must be a positive integer, got ${every}`,
      );
    }
    const { backend, reason } = await chooseBackend(
      options.device ?? "cpu",
      model.program,
      options.precision,
    );
    const seed = options.seed ?? 0;
    if (!Number.isFinite(seed)) {
      throw new RangeError(`seed must be a finite number, got ${seed}`);
    }
    const stepOrigin = options.stepOrigin ?? 0;
    if (!Number.isInteger(stepOrigin) || stepOrigin < 0) {
      throw new RangeError(
        `stepOrigin must be a non-negative integer, got ${stepOrigin}`,
      );
    }
    const kernel = await backend.compile({
      program: model.program,
      stepOrigin,
      nNeurons: n,
      dt,
      seed,
      precision: backend.name === "webgpu" ? "f32" : options.precision ?? "f64",
      params,
      inputs: timed,
      init,
      record,
      recordEvery: every,
      accumulate: options.accumulate ?? null,
      threads: options.threads,
      engine: options.engine,
      spikeCapacity: options.spikeCapacity,
    });
    return new Runner(model, dt, n, record, every, kernel, reason, options);
  }

  /** Steps run so far. */
  get stepIndex(): number {
    return this.#kernel.step;
  }

  /** Current time (s). */
  get t(): number {
    return this.#kernel.step * this.dt;
  }

  /**
   * Advance the whole batch by `steps` steps.
   * @param steps number of steps
   * @returns the chunk of recorded values and spikes
   */
  async step(steps: number): Promise<Chunk> {
    const c: ChunkData = await this.#kernel.run(steps);
    return {
      t0: c.startStep * this.dt,
      dt: this.dt,
      startStep: c.startStep,
      steps: c.steps,
      batch: this.nNeurons,
      samples: c.recordCount,
      recordStart: c.recordStart,
      vars: c.vars,
      spikes: {
        neuron: c.spikeNeuron,
        step: c.spikeStep,
        overflow: c.spikeOverflow,
      },
    };
  }

  /** Current state (SI) per variable, one value per neuron (plus `lastspike`). */
  state(): Promise<Record<string, Float64Array>> {
    return this.#kernel.readState();
  }

  /** Accumulated squared errors and counts per neuron (when `accumulate` was given). */
  accumulator(): Promise<{ sum: Float64Array; count: Float64Array }> {
    return this.#kernel.readAccumulator();
  }

  /**
   * Continue the simulation from its current state with the inputs and
   * targets of the next block: the same as replacing this runner by
   * `Runner.create(model, { ...options, input, targets, init: await
   * this.state(), stepOrigin, accumulate })` (the step index restarts at 0,
   * `t` and the noise at `stepOrigin`, the accumulator at 0), but reusing the
   * compiled kernel and its memory where the block fits it (same inputs and
   * rows, no more samples than the first block; the CPU backend in one
   * thread). A long recording simulated block by block then allocates one
   * kernel, not one per block.
   * @param block the next block's inputs and targets (SI, rows as in
   *   `create`), its absolute first step, and the accumulation start
   *   (relative to the block) and weights
   * @returns when the runner is ready for `step`
   * @throws {TypeError} bad shapes or missing inputs (as `create`)
   * @throws {RangeError} bad values
   */
  async continueWith(block: RunnerBlock): Promise<void> {
    const o = this.#options;
    const input = block.input ?? {};
    const targets = block.targets ?? {};
    const acc = o.accumulate
      ? {
        variable: o.accumulate.variable,
        startStep: block.accumulate?.startStep ?? 0,
        weights: block.accumulate?.weights,
      }
      : null;
    if (block.accumulate && !acc) {
      throw new TypeError(
        "continueWith: accumulate given but the runner was created without accumulate",
      );
    }
    if (acc && (!Number.isInteger(acc.startStep) || acc.startStep < 0)) {
      throw new RangeError(
        `accumulate.startStep must be a non-negative integer, got ${acc.startStep}`,
      );
    }
    // the kernels copy the block into their own memory at load: rows are
    // read in place (validated), not concatenated into new arrays
    const timed = timedInputs(
      this.model,
      input,
      targets,
      acc,
      this.nNeurons,
      this.#scratch,
    );
    if (
      this.#kernel.load?.({
        inputs: timed,
        stepOrigin: block.stepOrigin,
        accumulateStart: acc ? acc.startStep : undefined,
        weights: acc?.weights,
      })
    ) {
      return;
    }
    const next = await Runner.create(this.model, {
      ...o,
      nNeurons: this.nNeurons,
      input,
      targets,
      init: await this.state(),
      stepOrigin: block.stepOrigin,
      accumulate: acc,
    });
    this.#kernel.dispose();
    this.#kernel = next.#kernel;
    this.#options = next.#options;
  }

  /** Free the kernel's buffers and workers. */
  dispose(): void {
    this.#kernel.dispose();
  }
}

function looksLikeQuantity(s: string): boolean {
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

function perNeuron(
  name: string,
  v: number | string | ArrayLike<number>,
  n: number,
  dim: import("../units/dimension.ts").Dimension,
  what: string,
): Float64Array {
  const out = new Float64Array(n);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new RangeError(`${what} '${name}' must be finite, got ${v}`);
    }
    out.fill(v);
    return out;
  }
  if (typeof v === "string") {
    const q = parseQuantity(v);
    if (!q.dim.equals(dim)) {
      throw new DimensionMismatchError(
        `${what} '${name}' = "${v}" has dimension ${q.dim}, expected ${dim}`,
        q.dim,
        dim,
      );
    }
    out.fill(q.value);
    return out;
  }
  if (v.length !== n) {
    throw new RangeError(
      `${what} '${name}' has ${v.length} values, expected 1 or ${n} (one per neuron)`,
    );
  }
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new RangeError(
        `${what} '${name}' has a non-finite value ${x} for neuron ${i}`,
      );
    }
    out[i] = x;
  }
  return out;
}

function evalInit(
  model: NeuronModel,
  target: string,
  text: string,
  n: number,
  params: Record<string, Float64Array>,
  init: Record<string, Float64Array>,
  inputs: Record<string, TimedInput>,
): Float64Array {
  const desc = model.description;
  const expr = parseExpression(text);
  const ns = model.options.namespace ?? {};
  const out = new Float64Array(n);
  const rec = model.program.recordable;
  for (const id of identifiers(expr)) {
    const v = desc.variables.get(id);
    if (
      !v && !(id in ns) && !["t", "i", "N", "dt"].includes(id) &&
      !looksLikeQuantity(id)
    ) {
      throw new ReferenceError(
        `unknown name '${id}' in the initial value of '${target}': "${text}"${
          suggest(id, [...desc.variables.keys()])
        }`,
      );
    }
  }
  for (let i = 0; i < n; i++) {
    const lookup = (nm: string): number => {
      if (nm in params) return params[nm][i];
      if (nm in init) return init[nm][i];
      if (nm === "i") return i;
      if (nm === "N") return n;
      if (nm === "t") return 0;
      if (inputs[nm]) {
        return inputs[nm].data[(i % inputs[nm].rows) * inputs[nm].length];
      }
      const v = desc.variables.get(nm);
      if (v?.kind === "subexpression") {
        const e = rec.get(nm)!;
        return evaluate(e, (x) => (x === "__at" ? NaN : lookup(x)));
      }
      if (v?.value !== undefined) return v.value;
      if (nm in ns) {
        const raw = ns[nm];
        return typeof raw === "number"
          ? raw
          : typeof raw === "string"
          ? parseQuantity(raw).value
          : raw.value;
      }
      return parseQuantity(nm).value;
    };
    const x = evaluate(expr, lookup);
    if (!Number.isFinite(x)) {
      throw new RangeError(
        `initial value of '${target}' = "${text}" is ${x} for neuron ${i}`,
      );
    }
    out[i] = x;
  }
  return out;
}
