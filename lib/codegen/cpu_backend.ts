/**
 * The CPU backend: renders the IR to JavaScript, compiles it once per model
 * and precision (cached), and runs the batch in the calling thread or split
 * over Web Workers that share the state through SharedArrayBuffers; or runs
 * the SIMD wasm kernel, in the calling thread or one instance per worker on
 * a range of neurons (`_wasm_worker.ts`). Results depend neither on the
 * number of threads nor on the engine (neurons are independent, the noise is
 * counter-based, and the JavaScript kernel computes exp and constant powers
 * as the wasm kernel does when both could run the program).
 * @module
 */
import type {
  Backend,
  ChunkData,
  Kernel,
  KernelBlock,
  KernelSpec,
} from "./backend.ts";
import { registerBackend } from "./backend.ts";
import { renderJsKernel } from "./js_renderer.ts";
import { makeRuntime } from "./_cpu_runtime.ts";
import type { Program } from "./program.ts";
import { type Expr, identifiers } from "../equations/ast.ts";
import { WasmKernel } from "./_wasm_kernel.ts";
import { renderWasmKernel, WasmUnsupported } from "./wasm_renderer.ts";

type Run = (
  n0: number,
  n1: number,
  k0: number,
  steps: number,
  io: Record<string, unknown>,
) => void;

const sourceCache = new WeakMap<Program, Map<string, string>>();

function kernelSource(spec: KernelSpec): string {
  let m = sourceCache.get(spec.program);
  if (!m) {
    m = new Map();
    sourceCache.set(spec.program, m);
  }
  const acc = spec.accumulate
    ? {
      variable: spec.accumulate.variable,
      weighted: !!spec.accumulate.weights,
    }
    : null;
  const key = JSON.stringify([spec.precision, spec.record, acc]);
  let src = m.get(key);
  if (!src) {
    src = renderJsKernel(spec.program, spec.precision, {
      record: spec.record,
      accumulate: acc,
      wasmExp: spec.precision === "f64" && wasmCanRun(spec),
    });
    m.set(key, src);
  }
  return src;
}

/**
 * Whether the wasm kernel supports this program, recording and accumulation
 * (then small batches run on wasm, and the JavaScript kernel of large batches
 * must compute as wasm does).
 */
function wasmCanRun(spec: KernelSpec): boolean {
  const inputs: Record<string, { rows: number; length: number }> = {};
  for (const [k, v] of Object.entries(spec.inputs)) {
    inputs[k] = { rows: v.rows, length: v.length };
  }
  try {
    renderWasmKernel(spec.program, {
      precision: spec.precision,
      nNeurons: 2,
      dt: spec.dt,
      record: spec.record,
      inputs,
      accumulate: spec.accumulate
        ? {
          variable: spec.accumulate.variable,
          weighted: !!spec.accumulate.weights,
          weightsLength: spec.accumulate.weights?.length ?? 0,
        }
        : null,
      spikeCapacity: 1,
    });
    return true;
  } catch (e) {
    if (e instanceof WasmUnsupported) return false;
    throw e;
  }
}

function shared(len: number, f32: boolean): Float64Array | Float32Array {
  const bytes = (f32 ? 4 : 8) * Math.max(1, len);
  const buf = new SharedArrayBuffer(bytes);
  return f32 ? new Float32Array(buf, 0, len) : new Float64Array(buf, 0, len);
}

function sharedCopy(a: Float64Array, f32 = false): Float64Array | Float32Array {
  const s = shared(a.length, f32);
  s.set(a);
  return s;
}

/** Default number of worker threads for a batch. */
export function defaultThreads(nNeurons: number): number {
  const hw = (globalThis.navigator?.hardwareConcurrency ?? 1) | 0;
  return nNeurons >= 4096 ? Math.max(1, Math.min(hw, 8)) : 1;
}

class CpuKernel implements Kernel {
  readonly device = "cpu" as const;
  #spec: KernelSpec;
  #run: Run | null = null;
  #io: Record<string, unknown>;
  #step = 0;
  #workers: Worker[] = [];
  #threads: number;
  #ready: Promise<void>;
  #disposed = false;

  constructor(spec: KernelSpec) {
    this.#spec = spec;
    const f32 = spec.precision === "f32";
    const n = spec.nNeurons;
    const threads = Math.max(1, Math.min(spec.threads ?? defaultThreads(n), n));
    this.#threads = threads;
    const mt = threads > 1;
    const mk = (
      a: Float64Array,
      f = false,
    ) => (mt
      ? sharedCopy(a, f)
      : (f ? Float32Array.from(a) : Float64Array.from(a)));
    const state: Record<string, Float64Array | Float32Array> = {};
    for (const s of spec.program.states) state[s] = mk(spec.init[s], f32);
    const params: Record<string, Float64Array | Float32Array> = {};
    for (const p of spec.program.parameters) {
      const v = spec.params[p];
      params[p] = mk(v, f32);
    }
    const inputs: Record<
      string,
      { data: Float64Array | Float32Array; rows: number; length: number }
    > = {};
    for (const [k, v] of Object.entries(spec.inputs)) {
      inputs[k] = {
        data: mt
          ? sharedCopy(v.data, f32)
          : (f32 ? Float32Array.from(v.data) : v.data),
        rows: v.rows,
        length: v.length,
      };
    }
    const lastspike = mt
      ? shared(n, false) as Float64Array
      : new Float64Array(n);
    lastspike.fill(spec.init.lastspike ? 0 : -1e4);
    if (spec.init.lastspike) lastspike.set(spec.init.lastspike);
    const notRefractory = mt
      ? new Uint8Array(new SharedArrayBuffer(n))
      : new Uint8Array(n);
    notRefractory.fill(1);
    if (spec.init.not_refractory) notRefractory.set(spec.init.not_refractory);
    this.#io = {
      dt: spec.dt,
      nNeurons: n,
      recordEvery: spec.recordEvery,
      state,
      params,
      inputs,
      lastspike,
      notRefractory,
      accum: spec.accumulate
        ? (mt ? shared(n, false) : new Float64Array(n))
        : null,
      accumCount: spec.accumulate
        ? (mt ? shared(n, false) : new Float64Array(n))
        : null,
      accumStart: spec.accumulate?.startStep ?? 0,
      stepOrigin: spec.stepOrigin ?? 0,
      accumWeights: spec.accumulate?.weights
        ? (mt ? sharedCopy(spec.accumulate.weights) : spec.accumulate.weights)
        : null,
    };
    const src = kernelSource(spec);
    if (!mt) {
      this.#run = new Function("rt", src)(
        makeRuntime(spec.seed, spec.program.nRandom),
      ) as Run;
      this.#ready = Promise.resolve();
    } else {
      const inits: Promise<void>[] = [];
      for (let w = 0; w < threads; w++) {
        const worker = new Worker(
          new URL("./_cpu_worker.ts", import.meta.url).href,
          { type: "module" },
        );
        this.#workers.push(worker);
        inits.push(
          new Promise((resolve, reject) => {
            worker.onmessage = (ev) => {
              if (ev.data.type === "ready") resolve();
              else {reject(
                  new Error(`CPU worker failed to start: ${ev.data.message}`),
                );}
            };
            worker.onerror = (e) => {
              e.preventDefault();
              reject(new Error(`CPU worker failed: ${e.message}`));
            };
          }),
        );
        worker.postMessage({
          type: "init",
          src,
          seed: spec.seed,
          nRandom: spec.program.nRandom,
          io: this.#io,
        });
      }
      this.#ready = Promise.all(inits).then(() => {});
    }
  }

  get step(): number {
    return this.#step;
  }

  async run(steps: number): Promise<ChunkData> {
    if (this.#disposed) throw new Error("kernel was disposed");
    if (!Number.isInteger(steps) || steps < 0) {
      throw new RangeError(
        `steps must be a non-negative integer, got ${steps}`,
      );
    }
    await this.#ready;
    const spec = this.#spec;
    const k0 = this.#step;
    const every = spec.recordEvery;
    const recordStart = Math.ceil(k0 / every) * every;
    const recordCount = recordStart < k0 + steps
      ? Math.floor((k0 + steps - 1 - recordStart) / every) + 1
      : 0;
    const n = spec.nNeurons;
    const mt = this.#workers.length > 0;
    const f32 = spec.precision === "f32";
    const rec: Record<string, Float64Array | Float32Array> = {};
    for (const v of spec.record) {
      rec[v] = mt
        ? shared(n * recordCount, f32)
        : (f32
          ? new Float32Array(n * recordCount)
          : new Float64Array(n * recordCount));
    }
    let spN: Int32Array;
    let spK: Int32Array;
    if (!mt) {
      const sN: number[] = [];
      const sK: number[] = [];
      this.#run!(0, n, k0, steps, {
        ...this.#io,
        rec,
        recordStart,
        recordCount,
        spikeNeuron: sN,
        spikeStep: sK,
      });
      spN = Int32Array.from(sN);
      spK = Int32Array.from(sK);
    } else {
      const per = Math.ceil(n / this.#workers.length);
      const parts = await Promise.all(
        this.#workers.map((w, idx) =>
          new Promise<{ spN: Int32Array; spK: Int32Array }>(
            (resolve, reject) => {
              w.onmessage = (ev) => {
                if (ev.data.type === "done") resolve(ev.data);
                else reject(new Error(`CPU worker failed: ${ev.data.message}`));
              };
              w.postMessage({
                type: "run",
                n0: Math.min(n, idx * per),
                n1: Math.min(n, (idx + 1) * per),
                k0,
                steps,
                rec,
                recordStart,
                recordCount,
              });
            },
          )
        ),
      );
      spN = new Int32Array(parts.reduce((a, p) => a + p.spN.length, 0));
      spK = new Int32Array(spN.length);
      let o = 0;
      for (const p of parts) {
        spN.set(p.spN, o);
        spK.set(p.spK, o);
        o += p.spN.length;
      }
    }
    // order spikes by step, then neuron (Brian's SpikeMonitor order)
    const order = Array.from(spN.keys()).sort((a, b) =>
      spK[a] - spK[b] || spN[a] - spN[b]
    );
    const sn = Int32Array.from(order, (i) => spN[i]);
    const sk = Int32Array.from(order, (i) => spK[i]);
    this.#step += steps;
    return {
      startStep: k0,
      steps,
      recordStart,
      recordCount,
      vars: rec,
      spikeNeuron: sn,
      spikeStep: sk,
      spikeOverflow: new Int32Array(0),
    };
  }

  readState(): Promise<Record<string, Float64Array>> {
    const out: Record<string, Float64Array> = {};
    const st = this.#io.state as Record<string, Float64Array | Float32Array>;
    for (const [k, v] of Object.entries(st)) out[k] = Float64Array.from(v);
    out.lastspike = Float64Array.from(this.#io.lastspike as Float64Array);
    out.not_refractory = Float64Array.from(
      this.#io.notRefractory as Uint8Array,
    );
    return Promise.resolve(out);
  }

  #own = new Map<string, Float64Array | Float32Array>();

  load(block: KernelBlock): boolean {
    // worker threads hold their own view of the inputs: compile anew
    if (this.#workers.length > 0 || this.#disposed) return false;
    const spec = this.#spec;
    const names = Object.keys(block.inputs);
    const inputs = this.#io.inputs as Record<
      string,
      { data: Float64Array | Float32Array; rows: number; length: number }
    >;
    if (names.length !== Object.keys(inputs).length) return false;
    for (const k of names) {
      if (!inputs[k] || inputs[k].rows !== block.inputs[k].rows) return false;
    }
    const acc = spec.accumulate;
    if (!acc !== (block.accumulateStart === undefined)) return false;
    if (!!acc?.weights !== !!block.weights) return false;
    if (!Number.isInteger(block.stepOrigin) || block.stepOrigin < 0) {
      throw new RangeError(
        `stepOrigin must be a non-negative integer, got ${block.stepOrigin}`,
      );
    }
    const f32 = spec.precision === "f32";
    for (const k of names) {
      // copied into the kernel's own buffer (reused while it is long
      // enough): the caller may reuse the block's arrays after load
      const v = block.inputs[k];
      const n = v.rows * v.length;
      let own = this.#own.get(k);
      if (!own || own.length < n) {
        own = f32 ? new Float32Array(n) : new Float64Array(n);
        this.#own.set(k, own);
      }
      own.set(v.data.subarray(0, n));
      inputs[k] = { data: own.subarray(0, n), rows: v.rows, length: v.length };
    }
    this.#io.stepOrigin = block.stepOrigin;
    if (acc) {
      (this.#io.accum as Float64Array).fill(0);
      (this.#io.accumCount as Float64Array).fill(0);
      this.#io.accumStart = block.accumulateStart;
      this.#io.accumWeights = block.weights ?? null;
    }
    this.#step = 0;
    return true;
  }

  readAccumulator(): Promise<{ sum: Float64Array; count: Float64Array }> {
    const a = this.#io.accum as Float64Array | null;
    const c = this.#io.accumCount as Float64Array | null;
    if (!a || !c) {
      throw new Error("this kernel was compiled without an error accumulator");
    }
    return Promise.resolve({
      sum: Float64Array.from(a),
      count: Float64Array.from(c),
    });
  }

  dispose(): void {
    this.#disposed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Neuron ranges for the threaded wasm engine, or null when it cannot split
 * the batch: the program reads the neuron index (`i`, `N`), or the input rows
 * do not allow ranges that start at a multiple of every row count (neuron n
 * reads row n % rows, so a range starting at such a multiple can keep the
 * inputs as they are).
 */
function wasmRanges(
  spec: KernelSpec,
  threads: number,
): [number, number][] | null {
  const p = spec.program;
  const usesIndex = (e: Expr): boolean => {
    const ids = identifiers(e);
    return ids.has("i") || ids.has("N");
  };
  const stmts = [...p.preStep, ...p.refractory, ...p.update, ...p.reset];
  if (
    stmts.some((st) => usesIndex(st.expr)) ||
    (p.threshold && usesIndex(p.threshold)) ||
    spec.record.some((v) => {
      const e = p.recordable.get(v);
      return e !== undefined && usesIndex(e);
    }) ||
    (spec.accumulate && usesIndex(p.recordable.get(spec.accumulate.variable)!))
  ) return null;
  let step = 1;
  for (const v of Object.values(spec.inputs)) {
    step = step / gcd(step, v.rows) * v.rows;
  }
  const n = spec.nNeurons;
  const per = Math.ceil(Math.ceil(n / threads) / step) * step;
  if (per >= n) return null;
  const out: [number, number][] = [];
  for (let n0 = 0; n0 < n; n0 += per) out.push([n0, Math.min(n, n0 + per)]);
  return out.length > 1 ? out : null;
}

/** A message from `_wasm_worker.ts`. */
interface WasmWorkerReply {
  type: string;
  message?: string;
  chunk?: ChunkData;
  value?: Record<string, Float64Array>;
}

/**
 * The wasm kernel on worker threads, one contiguous range of neurons each:
 * the same arithmetic as the one-thread wasm engine (lanes are independent),
 * so results do not depend on the batch size or the thread count.
 */
class ThreadedWasmKernel implements Kernel {
  readonly device = "cpu" as const;
  #spec: KernelSpec;
  #ranges: [number, number][];
  #workers: Worker[] = [];
  #step = 0;
  #disposed = false;

  private constructor(spec: KernelSpec, ranges: [number, number][]) {
    this.#spec = spec;
    this.#ranges = ranges;
  }

  /** Start the workers (each compiles its wasm module). */
  static async create(
    spec: KernelSpec,
    ranges: [number, number][],
  ): Promise<ThreadedWasmKernel> {
    const k = new ThreadedWasmKernel(spec, ranges);
    const slice = (a: ArrayLike<number>, n0: number, n1: number) =>
      Float64Array.from(Array.prototype.slice.call(a, n0, n1) as number[]);
    try {
      await Promise.all(ranges.map(([n0, n1]) => {
        const sub: KernelSpec = {
          ...spec,
          nNeurons: n1 - n0,
          params: Object.fromEntries(
            Object.entries(spec.params).map(([q, v]) => [q, slice(v, n0, n1)]),
          ),
          init: Object.fromEntries(
            Object.entries(spec.init).map(([q, v]) => [q, slice(v, n0, n1)]),
          ),
          threads: 1,
          engine: "wasm",
        };
        const w = new Worker(
          new URL("./_wasm_worker.ts", import.meta.url).href,
          { type: "module" },
        );
        k.#workers.push(w);
        return k.#ask(w, { type: "init", spec: sub }, "ready");
      }));
    } catch (e) {
      k.dispose();
      throw e;
    }
    return k;
  }

  #ask(w: Worker, msg: unknown, want: string): Promise<WasmWorkerReply> {
    return new Promise((resolve, reject) => {
      w.onmessage = (ev) => {
        if (ev.data.type === want) resolve(ev.data);
        else reject(new Error(`CPU wasm worker failed: ${ev.data.message}`));
      };
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`CPU wasm worker failed: ${e.message}`));
      };
      w.postMessage(msg);
    });
  }

  get step(): number {
    return this.#step;
  }

  async run(steps: number): Promise<ChunkData> {
    if (this.#disposed) throw new Error("kernel was disposed");
    if (!Number.isInteger(steps) || steps < 0) {
      throw new RangeError(
        `steps must be a non-negative integer, got ${steps}`,
      );
    }
    const parts: ChunkData[] = (await Promise.all(
      this.#workers.map((w) => this.#ask(w, { type: "run", steps }, "done")),
    )).map((m) => m.chunk!);
    const spec = this.#spec;
    const n = spec.nNeurons;
    const { recordStart, recordCount, startStep } = parts[0];
    const f32 = spec.precision === "f32";
    const vars: Record<string, Float64Array | Float32Array> = {};
    for (const v of spec.record) {
      const a = f32
        ? new Float32Array(n * recordCount)
        : new Float64Array(n * recordCount);
      parts.forEach((c, t) =>
        a.set(c.vars[v], this.#ranges[t][0] * recordCount)
      );
      vars[v] = a;
    }
    let total = 0;
    for (const c of parts) total += c.spikeNeuron.length;
    const spN = new Int32Array(total);
    const spK = new Int32Array(total);
    let o = 0;
    parts.forEach((c, t) => {
      for (let j = 0; j < c.spikeNeuron.length; j++, o++) {
        spN[o] = c.spikeNeuron[j] + this.#ranges[t][0];
        spK[o] = c.spikeStep[j];
      }
    });
    const order = Array.from(spN.keys()).sort((a, b) =>
      spK[a] - spK[b] || spN[a] - spN[b]
    );
    this.#step += steps;
    return {
      startStep,
      steps,
      recordStart,
      recordCount,
      vars,
      spikeNeuron: Int32Array.from(order, (i) => spN[i]),
      spikeStep: Int32Array.from(order, (i) => spK[i]),
      spikeOverflow: new Int32Array(0),
    };
  }

  async #gather(type: string): Promise<Record<string, Float64Array>> {
    const parts: Record<string, Float64Array>[] = (await Promise.all(
      this.#workers.map((w) => this.#ask(w, { type }, "value")),
    )).map((m) => m.value!);
    const out: Record<string, Float64Array> = {};
    for (const k of Object.keys(parts[0])) {
      const a = new Float64Array(this.#spec.nNeurons);
      parts.forEach((p, t) => a.set(p[k], this.#ranges[t][0]));
      out[k] = a;
    }
    return out;
  }

  readState(): Promise<Record<string, Float64Array>> {
    return this.#gather("state");
  }

  async readAccumulator(): Promise<{ sum: Float64Array; count: Float64Array }> {
    if (!this.#spec.accumulate) {
      throw new Error("this kernel was compiled without an error accumulator");
    }
    const r = await this.#gather("accumulator");
    return { sum: r.sum, count: r.count };
  }

  dispose(): void {
    this.#disposed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/** The CPU backend (always available). */
export const cpuBackend: Backend = {
  name: "cpu",
  available: () => Promise.resolve(true),
  compile: async (spec: KernelSpec) => {
    const engine = spec.engine ?? "auto";
    const threads = spec.threads ?? defaultThreads(spec.nNeurons);
    if (engine === "wasm" || engine === "auto") {
      // several threads: wasm on workers when it can run the program and
      // split the batch (same results as one thread), else JavaScript
      const ranges = threads > 1 && wasmCanRun(spec)
        ? wasmRanges(spec, threads)
        : null;
      if (ranges) return await ThreadedWasmKernel.create(spec, ranges);
      if (engine === "wasm" || threads <= 1) {
        try {
          return new WasmKernel(spec);
        } catch (e) {
          if (!(e instanceof WasmUnsupported) || engine === "wasm") throw e;
        }
      }
    }
    return new CpuKernel(spec);
  },
};

registerBackend(cpuBackend);
