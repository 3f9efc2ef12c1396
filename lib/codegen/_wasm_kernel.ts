// The SIMD WebAssembly kernel behind the CPU backend (single thread per
// instance). Memory layout and code come from wasm_renderer.ts.
import { expTableBytes } from "./_exp_table.ts";
import type { ChunkData, Kernel, KernelBlock, KernelSpec } from "./backend.ts";
import { renderWasmKernel, type WasmLayout } from "./wasm_renderer.ts";

const SPIKE_CAPACITY = 1 << 20;

/** A kernel running the wasm module; throws WasmUnsupported at construction when the program is not supported. */
export class WasmKernel implements Kernel {
  readonly device = "cpu" as const;
  #spec: KernelSpec;
  #mem: WebAssembly.Memory;
  #run: (
    k0: number,
    steps: number,
    recStart: number,
    recCount: number,
    every: number,
    recBase: number,
  ) => number;
  #layout: WasmLayout;
  #step = 0;

  constructor(spec: KernelSpec) {
    this.#spec = spec;
    const inputs: Record<string, { rows: number; length: number }> = {};
    for (const [k, v] of Object.entries(spec.inputs)) {
      inputs[k] = { rows: v.rows, length: v.length };
    }
    const acc = spec.accumulate
      ? {
        variable: spec.accumulate.variable,
        weighted: !!spec.accumulate.weights,
        weightsLength: spec.accumulate.weights?.length ?? 0,
      }
      : null;
    const { bytes, layout, pages } = renderWasmKernel(spec.program, {
      precision: spec.precision,
      nNeurons: spec.nNeurons,
      dt: spec.dt,
      record: spec.record,
      inputs,
      accumulate: acc,
      spikeCapacity: SPIKE_CAPACITY,
    });
    this.#layout = layout;
    this.#mem = new WebAssembly.Memory({ initial: pages });
    const mod = new WebAssembly.Module(bytes as BufferSource);
    const inst = new WebAssembly.Instance(mod, { env: { memory: this.#mem } });
    if (spec.precision === "f64") {
      new Uint8Array(this.#mem.buffer).set(expTableBytes(), layout.expTable);
    }
    this.#run = inst.exports.run as (
      k0: number,
      steps: number,
      recStart: number,
      recCount: number,
      every: number,
      recBase: number,
    ) => number;
    // fill memory
    const n = spec.nNeurons;
    const L = layout;
    const arr = (off: number, len: number) =>
      L.elem === 8
        ? new Float64Array(this.#mem.buffer, off, len)
        : new Float32Array(this.#mem.buffer, off, len);
    const padCopy = (off: number, src: ArrayLike<number>) => {
      const a = arr(off, L.nPad);
      a.set(src);
      for (let i = n; i < L.nPad; i++) a[i] = src[n - 1];
    };
    for (const s of spec.program.states) padCopy(L.state[s], spec.init[s]);
    for (const q of spec.program.parameters) {
      padCopy(L.params[q], spec.params[q]);
    }
    arr(L.lastspike, L.nPad).fill(-1e4);
    if (spec.init.lastspike) padCopy(L.lastspike, spec.init.lastspike);
    arr(L.notRefractory, L.nPad).fill(1);
    if (spec.init.not_refractory) {
      padCopy(L.notRefractory, spec.init.not_refractory);
    }
    for (const [k, v] of Object.entries(spec.inputs)) {
      const li = L.inputs[k];
      arr(li.data, v.rows * v.length).set(v.data);
      const base = new Int32Array(this.#mem.buffer, li.base, L.nPad);
      for (let i = 0; i < L.nPad; i++) {
        base[i] = (Math.min(i, n - 1) % v.rows) * v.length;
      }
      this.#rows[k] = v.rows;
    }
    if (spec.accumulate?.weights) {
      arr(L.accumWeights, spec.accumulate.weights.length).set(
        spec.accumulate.weights,
      );
    }
    this.#weightsLength = spec.accumulate?.weights?.length ?? 0;
    const scalars = new Int32Array(this.#mem.buffer);
    scalars[L.stepOrigin >> 2] = spec.stepOrigin ?? 0;
    scalars[L.accumStart >> 2] = spec.accumulate?.startStep ?? 0;
  }

  #rows: Record<string, number> = {};
  #weightsLength = 0;

  load(block: KernelBlock): boolean {
    const L = this.#layout;
    const spec = this.#spec;
    const names = Object.keys(block.inputs);
    if (names.length !== Object.keys(L.inputs).length) return false;
    for (const k of names) {
      const v = block.inputs[k];
      const li = L.inputs[k];
      if (!li || v.rows !== this.#rows[k] || v.length > li.length) {
        return false;
      }
    }
    const acc = spec.accumulate;
    if (!acc !== (block.accumulateStart === undefined)) return false;
    if (!!acc?.weights !== !!block.weights) return false;
    if (block.weights && block.weights.length > this.#weightsLength) {
      return false;
    }
    if (!Number.isInteger(block.stepOrigin) || block.stepOrigin < 0) {
      throw new RangeError(
        `stepOrigin must be a non-negative integer, got ${block.stepOrigin}`,
      );
    }
    const arr = (off: number, len: number) =>
      L.elem === 8
        ? new Float64Array(this.#mem.buffer, off, len)
        : new Float32Array(this.#mem.buffer, off, len);
    for (const k of names) {
      const v = block.inputs[k];
      const li = L.inputs[k];
      // rows keep the compiled stride; a shorter block holds its last sample
      // to the compiled end, which the clipped index then reads as it would
      // the block's last sample
      for (let r = 0; r < v.rows; r++) {
        const row = arr(li.data + r * li.length * L.elem, li.length);
        row.set(v.data.subarray(r * v.length, (r + 1) * v.length));
        row.fill(v.data[(r + 1) * v.length - 1], v.length);
      }
    }
    if (block.weights) {
      const w = arr(L.accumWeights, this.#weightsLength);
      w.set(block.weights);
      w.fill(0, block.weights.length);
    }
    if (acc) {
      arr(L.accum, L.nPad).fill(0);
      arr(L.accumCount, L.nPad).fill(0);
    }
    const scalars = new Int32Array(this.#mem.buffer);
    scalars[L.stepOrigin >> 2] = block.stepOrigin;
    scalars[L.accumStart >> 2] = block.accumulateStart ?? 0;
    this.#step = 0;
    return true;
  }

  get step(): number {
    return this.#step;
  }

  run(steps: number): Promise<ChunkData> {
    if (!Number.isInteger(steps) || steps < 0) {
      throw new RangeError(
        `steps must be a non-negative integer, got ${steps}`,
      );
    }
    const spec = this.#spec;
    const L = this.#layout;
    const k0 = this.#step;
    const every = spec.recordEvery;
    const recordStart = Math.ceil(k0 / every) * every;
    const recordCount = recordStart < k0 + steps
      ? Math.floor((k0 + steps - 1 - recordStart) / every) + 1
      : 0;
    const recBytes = spec.record.length * L.nPad * recordCount * L.elem;
    const recBase = L.end;
    const need = recBase + recBytes;
    if (need > this.#mem.buffer.byteLength) {
      this.#mem.grow(Math.ceil((need - this.#mem.buffer.byteLength) / 65536));
    }
    const spN: number[] = [];
    const spK: number[] = [];
    // sub-chunks small enough that the spike buffer cannot overflow (≤ one spike per neuron and step)
    const sub = spec.program.threshold
      ? Math.max(1, Math.floor(L.spikeCapacity / L.nPad))
      : steps;
    for (let done = 0; done < steps;) {
      const s = Math.min(sub, steps - done);
      new Int32Array(this.#mem.buffer, L.spikeCount, 1)[0] = 0;
      const count = this.#run(
        k0 + done,
        s,
        recordStart,
        recordCount,
        every,
        recBase,
      );
      if (count > 0) {
        const sp = new Int32Array(this.#mem.buffer, L.spikes, 2 * count);
        for (let i = 0; i < count; i++) {
          spN.push(sp[2 * i]);
          spK.push(sp[2 * i + 1]);
        }
      }
      done += s;
    }
    const vars: Record<string, Float64Array | Float32Array> = {};
    const n = spec.nNeurons;
    spec.record.forEach((name, ri) => {
      const off = recBase + ri * L.nPad * recordCount * L.elem;
      const src = L.elem === 8
        ? new Float64Array(this.#mem.buffer, off, n * recordCount)
        : new Float32Array(this.#mem.buffer, off, n * recordCount);
      vars[name] = src.slice();
    });
    const order = Array.from(spN.keys()).sort((a, b) =>
      spK[a] - spK[b] || spN[a] - spN[b]
    );
    this.#step += steps;
    return Promise.resolve({
      startStep: k0,
      steps,
      recordStart,
      recordCount,
      vars,
      spikeNeuron: Int32Array.from(order, (i) => spN[i]),
      spikeStep: Int32Array.from(order, (i) => spK[i]),
      spikeOverflow: new Int32Array(0),
    });
  }

  readState(): Promise<Record<string, Float64Array>> {
    const L = this.#layout;
    const n = this.#spec.nNeurons;
    const get = (off: number) =>
      Float64Array.from(
        L.elem === 8
          ? new Float64Array(this.#mem.buffer, off, n)
          : new Float32Array(this.#mem.buffer, off, n),
      );
    const out: Record<string, Float64Array> = {};
    for (const s of this.#spec.program.states) out[s] = get(L.state[s]);
    out.lastspike = get(L.lastspike);
    out.not_refractory = get(L.notRefractory);
    return Promise.resolve(out);
  }

  readAccumulator(): Promise<{ sum: Float64Array; count: Float64Array }> {
    if (!this.#spec.accumulate) {
      throw new Error("this kernel was compiled without an error accumulator");
    }
    const L = this.#layout;
    const n = this.#spec.nNeurons;
    const get = (off: number) =>
      Float64Array.from(
        L.elem === 8
          ? new Float64Array(this.#mem.buffer, off, n)
          : new Float32Array(this.#mem.buffer, off, n),
      );
    return Promise.resolve({ sum: get(L.accum), count: get(L.accumCount) });
  }

  dispose(): void {
    // memory is garbage-collected with the instance
  }
}
