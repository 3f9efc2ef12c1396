/**
 * The CPU backend: renders the IR to JavaScript, compiles it once per model
 * and precision (cached), and runs the batch in the calling thread or split
 * over Web Workers that share the state through SharedArrayBuffers. Results
 * do not depend on the number of threads (neurons are independent and the
 * noise is counter-based).
 * @module
 */
import type { Backend, ChunkData, Kernel, KernelSpec } from "./backend.ts";
import { registerBackend } from "./backend.ts";
import { renderJsKernel } from "./js_renderer.ts";
import { makeRuntime } from "./_cpu_runtime.ts";
import type { Program } from "./program.ts";
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
          startStep: spec.accumulate.startStep,
          weighted: !!spec.accumulate.weights,
          weightsLength: spec.accumulate.weights?.length ?? 0,
        }
        : null,
      spikeCapacity: 1,
      stepOrigin: spec.stepOrigin ?? 0,
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

/** The CPU backend (always available). */
export const cpuBackend: Backend = {
  name: "cpu",
  available: () => Promise.resolve(true),
  compile: (spec: KernelSpec) => {
    const engine = spec.engine ?? "auto";
    const threads = spec.threads ?? defaultThreads(spec.nNeurons);
    if (engine === "wasm" || (engine === "auto" && threads <= 1)) {
      try {
        return Promise.resolve(new WasmKernel(spec));
      } catch (e) {
        if (!(e instanceof WasmUnsupported) || engine === "wasm") throw e;
      }
    }
    return Promise.resolve(new CpuKernel(spec));
  },
};

registerBackend(cpuBackend);
