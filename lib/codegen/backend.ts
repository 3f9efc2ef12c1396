/**
 * The backend interface: a backend compiles a {@linkcode Program} with its
 * data into a {@linkcode Kernel} that advances the whole batch by chunks of
 * steps. The CPU backend lives in `lib/codegen/cpu_backend.ts`; the WebGPU
 * backend in `gpu/` implements the same interface, and is registered with
 * {@linkcode registerBackend} so `lib/` never imports `gpu/`.
 * @module
 */
import type { Program } from "./program.ts";

/** Per-trace arrays with TimedArray semantics: neuron n reads row `n % rows`. */
export interface TimedInput {
  /** Row-major values, `rows * length`, SI units. */
  readonly data: Float64Array;
  /** Number of rows (traces). */
  readonly rows: number;
  /** Samples per row (the last one is held after the end). */
  readonly length: number;
}

/** Online accumulation of a squared error against `<variable>_target`. */
export interface AccumulateSpec {
  /** Recorded variable compared with its target. */
  readonly variable: string;
  /** First step included (t_start in steps). */
  readonly startStep: number;
  /** Optional weight per step (length ≥ number of steps run). */
  readonly weights?: Float64Array;
}

/** Everything a backend needs to build a kernel. */
export interface KernelSpec {
  /** The IR. */
  readonly program: Program;
  /** Number of neurons in the batch. */
  readonly nNeurons: number;
  /** Time step in seconds. */
  readonly dt: number;
  /** Seed of the counter-based noise. */
  readonly seed: number;
  /** Arithmetic precision (the WebGPU backend is always f32). */
  readonly precision: "f64" | "f32";
  /** Parameter values per neuron. */
  readonly params: Readonly<Record<string, Float64Array>>;
  /** Inputs and `<var>_target` arrays. */
  readonly inputs: Readonly<Record<string, TimedInput>>;
  /** Initial state per neuron. */
  readonly init: Readonly<Record<string, Float64Array>>;
  /** Recorded variables. */
  readonly record: readonly string[];
  /** Record every k-th step (absolute step index multiple of k). */
  readonly recordEvery: number;
  /** Optional online squared-error accumulation. */
  readonly accumulate?: AccumulateSpec | null;
  /** Worker threads for the CPU backend (1 = in the calling thread). */
  readonly threads?: number;
  /**
   * CPU engine: `"wasm"` (SIMD WebAssembly kernel, on worker threads when
   * `threads` > 1 and the batch can be split), `"js"` (JavaScript kernel) or
   * `"auto"` (wasm when the model only uses what the wasm kernel supports,
   * else js). The engines give bit-identical f64 results. Default `"auto"`.
   */
  readonly engine?: "auto" | "wasm" | "js";
  /** Capacity of the per-neuron spike buffers per chunk (GPU backends). */
  readonly spikeCapacity?: number;
  /**
   * Absolute step of the kernel's step 0 (default 0). The time `t` and the
   * counter-based noise use the absolute step `stepOrigin + k`, so a long
   * simulation can be continued block by block by new kernels (started from
   * the previous state, including `lastspike` and `not_refractory`) with the
   * same result as one kernel. Inputs, targets, weights, recording, spike
   * steps and the accumulation start stay relative to the kernel's step 0.
   */
  readonly stepOrigin?: number;
}

/** Output of one chunk of steps. */
export interface ChunkData {
  /** First step of the chunk. */
  readonly startStep: number;
  /** Steps run. */
  readonly steps: number;
  /** First recorded absolute step. */
  readonly recordStart: number;
  /** Samples per neuron in this chunk. */
  readonly recordCount: number;
  /** Recorded values, neuron-major: `vars[name][n * recordCount + j]`. */
  readonly vars: Record<string, Float64Array | Float32Array>;
  /** Spiking neuron of each spike, ordered by step, then neuron. */
  readonly spikeNeuron: Int32Array;
  /** Step of each spike (spike time = step * dt). */
  readonly spikeStep: Int32Array;
  /** Neurons whose spike buffer overflowed in this chunk (spikes lost); empty on the CPU. */
  readonly spikeOverflow: Int32Array;
}

/** The next block of a long simulation, for {@linkcode Kernel.load}. */
export interface KernelBlock {
  /** Inputs and `<var>_target` arrays of the block: the compiled names and rows. */
  readonly inputs: Readonly<Record<string, TimedInput>>;
  /** Absolute step of the block's step 0. */
  readonly stepOrigin: number;
  /** First accumulated step, relative to the block's step 0 (kernels with accumulation). */
  readonly accumulateStart?: number;
  /** Weight per step of the block (kernels compiled with weights). */
  readonly weights?: Float64Array;
}

/** A compiled batch simulation. */
export interface Kernel {
  /** Which device runs it. */
  readonly device: "cpu" | "webgpu";
  /** Current step index. */
  readonly step: number;
  /**
   * Advance by `steps` steps.
   * @param steps number of steps
   * @returns the recorded chunk
   */
  run(steps: number): Promise<ChunkData>;
  /** Current values of the state variables (and `lastspike`). */
  readState(): Promise<Record<string, Float64Array>>;
  /** Accumulated squared errors and sample counts per neuron. */
  readAccumulator(): Promise<{ sum: Float64Array; count: Float64Array }>;
  /**
   * Continue from the current state (including `lastspike` and
   * `not_refractory`) with the inputs of the next block, as a new kernel
   * compiled with that block and `init` = the current state would: the step
   * index restarts at 0, `t` and the noise at `block.stepOrigin`, the
   * accumulator at 0. Optional; returns false, changing nothing, when the
   * block does not fit what was compiled (other names or rows, more samples
   * or weights than compiled, worker threads): the caller compiles a new
   * kernel instead. Reusing one kernel keeps a long streamed simulation from
   * allocating (and leaving to the collector) a kernel per block. The kernel
   * copies the block: it keeps no reference to `block.inputs` after
   * returning (weights excepted).
   * @param block the next block
   * @returns whether the kernel took the block
   */
  load?(block: KernelBlock): boolean;
  /** Free buffers and workers. */
  dispose(): void;
}

/** A way to compile kernels. */
export interface Backend {
  /** Name. */
  readonly name: "cpu" | "webgpu";
  /** Whether this backend can run here (e.g. a GPU adapter exists). */
  available(): Promise<boolean>;
  /** Why the backend cannot run here (null when it can). Optional. */
  unavailableReason?(): Promise<string | null>;
  /**
   * Why the backend cannot run this program (null when it can), without
   * compiling on a device. Optional; `device: "auto"` then falls back to the
   * CPU with this reason.
   */
  unsupportedReason?(program: Program): string | null;
  /** Compile. */
  compile(spec: KernelSpec): Promise<Kernel>;
}

/** Thrown when `device: "webgpu"` is requested but WebGPU cannot be used; the message says why. */
export class GpuUnavailableError extends Error {
  /**
   * Create the error.
   * @param message the reason
   */
  constructor(message: string) {
    super(message);
    this.name = "GpuUnavailableError";
  }
}

const registry = new Map<string, Backend>();

/**
 * Register a backend (the WebGPU backend registers itself when `gpu/` is imported).
 * @param backend the backend
 */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/**
 * A registered backend by name.
 * @param name `"cpu"` or `"webgpu"`
 * @returns the backend or undefined
 */
export function getBackend(name: string): Backend | undefined {
  return registry.get(name);
}
