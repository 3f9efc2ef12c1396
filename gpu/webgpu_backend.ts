/**
 * The WebGPU backend: runs the WGSL batch kernel of a {@linkcode Program}
 * (f32) on the shared device. A `run(steps)` call is split into dispatches
 * (each loops over many steps per neuron with the state in registers) that
 * are submitted back to back; the host waits once per run (plus once more
 * when spikes occurred) to read recordings, spikes and error sums.
 *
 * Layout on the device:
 * - state buffer: per-neuron arrays of states, parameters, `lastspike`
 *   (integer step, bitcast) and `not_refractory`;
 * - data buffer: inputs and `<var>_target` arrays (row-major, TimedArray
 *   semantics) and the accumulation weights;
 * - recording buffer of one dispatch: `rec[(var * n + neuron) * rc + j]`;
 * - spike ring buffers (`spikeCapacity` per neuron and run) with counts, and
 *   a compaction pass into (neuron, step) pairs; overflowing neurons are
 *   reported in `ChunkData.spikeOverflow`, never silently dropped;
 * - per-dispatch squared-error partial sums, added on the host in f64.
 *
 * One invocation simulates `lanes` neurons (4 on CPU adapters such as
 * lavapipe, 1 on GPUs; see {@linkcode kernelOptions}).
 * @module
 */
import type {
  Backend,
  ChunkData,
  Kernel,
  KernelSpec,
} from "../lib/codegen/backend.ts";
import type { Program } from "../lib/codegen/program.ts";
import { GpuUnavailableError } from "../lib/codegen/backend.ts";
import { createTrackedBuffer, destroyTrackedBuffer } from "./buffers.ts";
import { type GpuContext, gpuContext } from "./device.ts";
import { getPipelines, type KernelPipelines } from "./pipeline_cache.ts";
import {
  BINDING,
  KERNEL_LANES,
  NO_SPIKE_STEP,
  programUsesTime,
  renderWgslKernel,
  stateLayout,
  UNIFORM,
  UNIFORM_FIXED_WORDS,
  type UniformLayout,
  uniformLayout,
  WORKGROUP_SIZE,
} from "./wgsl_renderer.ts";

/**
 * Smallest capacity of each neuron's spike ring buffer per `run()` call when
 * `spikeCapacity` is not given: the capacity is then `max(64, steps / 10)`
 * (one spike every 10 steps: 1 kHz at dt = 0.1 ms), at most `steps` and at
 * most 256 MB (or one storage binding) for the whole batch.
 */
export const DEFAULT_SPIKE_CAPACITY = 64;

/** Largest spike ring memory of a batch when the capacity is automatic (bytes). */
const AUTO_RING_BYTES = 256 * 2 ** 20;

/**
 * Code-generation choices of the kernels compiled from now on (tuning knobs,
 * part of the pipeline cache key). `lanes`: neurons per invocation, `"auto"`
 * (default) = {@linkcode KERNEL_LANES} on CPU adapters (lavapipe, where
 * independent instruction streams hide latency) and 1 on GPUs (occupancy).
 * `nativeExp`: use the driver's built-in exp (default false; faster on
 * lavapipe, ~1.6x on the HH, but several ulps off, see
 * `WgslKernelOptions.nativeExp`).
 */
export const kernelOptions: { lanes: number | "auto"; nativeExp: boolean } = {
  lanes: "auto",
  nativeExp: false,
};

/**
 * How `run(steps)` is split into dispatches and read-backs. A dispatch runs
 * at most `workPerDispatch` neuron-steps (at least 64 steps) and at most
 * `maxSteps` steps (`maxAccumulateSteps` when accumulating an error, to
 * bound the f32 rounding of each partial sum, which the host adds in f64);
 * recordings of one dispatch fit one storage binding; the host waits once
 * per `stageBytes` of read-back. Exposed for tests and tuning.
 */
export const dispatchLimits: {
  workPerDispatch: number;
  maxSteps: number;
  maxAccumulateSteps: number;
  stageBytes: number;
} = {
  workPerDispatch: 2 ** 27,
  maxSteps: 16384,
  maxAccumulateSteps: 2048,
  stageBytes: 512 * 2 ** 20,
};

const U = GPUBufferUsage;

interface Segment {
  k0: number;
  steps: number;
  recordStart: number;
  rc: number;
  /** Sample index of the segment's first record within the run. */
  j0: number;
  recOffset: number;
  accOffset: number;
}

function recordWindow(
  k0: number,
  steps: number,
  every: number,
): { start: number; count: number } {
  const start = Math.ceil(k0 / every) * every;
  const count = start < k0 + steps
    ? Math.floor((k0 + steps - 1 - start) / every) + 1
    : 0;
  return { start, count };
}

class GpuKernel implements Kernel {
  readonly device = "webgpu" as const;
  #ctx: GpuContext;
  #dev: GPUDevice;
  #spec: KernelSpec;
  #pipes: KernelPipelines;
  #layout: UniformLayout;
  #n: number;
  #lanes: number;
  #gyCompact: number;
  #step = 0;
  #disposed = false;
  #useT: boolean;
  #ringCap: number;
  #ringAuto: boolean;
  #ringMax: number;
  #compactCap: number;
  #buffers: Record<string, GPUBuffer> = {};
  #uniform: Uint32Array;
  #accSum: Float64Array | null;
  #accCount: Float64Array | null;
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #gx: number;
  #gy: number;

  constructor(ctx: GpuContext, spec: KernelSpec, pipes: KernelPipelines) {
    this.#ctx = ctx;
    this.#dev = ctx.device;
    this.#spec = spec;
    this.#pipes = pipes;
    const P = spec.program;
    const n = spec.nNeurons;
    this.#n = n;
    this.#layout = uniformLayout(P, spec.accumulate?.variable);
    const vars = stateLayout(P);
    this.#lanes = pipes.lanes;
    this.#useT = programUsesTime(P, {
      record: spec.record,
      accumulate: spec.accumulate
        ? {
          variable: spec.accumulate.variable,
          weighted: !!spec.accumulate.weights,
        }
        : null,
    });
    const stride = Math.ceil(n / this.#lanes);
    const groups = Math.ceil(stride / WORKGROUP_SIZE);
    this.#gx = Math.min(groups, ctx.maxGroups);
    this.#gy = Math.ceil(groups / this.#gx);
    this.#gyCompact = Math.ceil(Math.ceil(n / WORKGROUP_SIZE) / this.#gx);
    if (this.#gyCompact > ctx.maxGroups) {
      throw new RangeError(
        `nNeurons = ${n} is too large for one WebGPU dispatch`,
      );
    }
    const fits = (bytes: number, what: string) => {
      if (bytes > ctx.maxBinding) {
        throw new RangeError(
          `the ${what} needs ${bytes} bytes, more than the device's largest storage binding (${ctx.maxBinding} bytes); ` +
            `use fewer neurons per simulation`,
        );
      }
    };
    // state
    const stBytes = 4 * vars.length * n;
    fits(stBytes, "state buffer");
    const st = new ArrayBuffer(stBytes);
    const stF = new Float32Array(st);
    const stI = new Int32Array(st);
    [...P.states, ...P.parameters].forEach((name, s) => {
      const src = P.states.includes(name) ? spec.init[name] : spec.params[name];
      if (!src || src.length !== n) {
        throw new TypeError(`'${name}' needs ${n} values, got ${src?.length}`);
      }
      stF.set(src, s * n);
    });
    const origin = spec.stepOrigin ?? 0;
    const lsSlot = vars.indexOf("lastspike");
    const ls0 = spec.init.lastspike;
    for (let i = 0; i < n; i++) {
      const x = ls0 ? ls0[i] : -1e4;
      stI[lsSlot * n + i] = x <= -1e3
        ? NO_SPIKE_STEP
        : Math.round(x / spec.dt) - origin;
    }
    const nrSlot = vars.indexOf("not_refractory");
    const nr0 = spec.init.not_refractory;
    for (let i = 0; i < n; i++) {
      stF[nrSlot * n + i] = nr0 ? (nr0[i] ? 1 : 0) : 1;
    }
    this.#buffers.state = this.#create(
      stBytes,
      U.STORAGE | U.COPY_SRC | U.COPY_DST,
      "state",
    );
    this.#dev.queue.writeBuffer(this.#buffers.state, 0, st);
    // data: timed arrays then weights
    const offsets: number[] = [];
    let total = 0;
    for (const name of this.#layout.timed) {
      const ti = spec.inputs[name];
      if (!ti) {
        throw new TypeError(`the kernel needs the timed array '${name}'`);
      }
      if (n % ti.rows !== 0 && ti.rows !== 1) {
        throw new RangeError(
          `'${name}' has ${ti.rows} rows, incompatible with ${n} neurons`,
        );
      }
      offsets.push(total);
      total += ti.rows * ti.length;
    }
    const w = spec.accumulate?.weights;
    const wOff = total;
    if (w) total += w.length;
    fits(4 * total, "input data");
    const data = new Float32Array(Math.max(4, total));
    this.#layout.timed.forEach((name, j) =>
      data.set(spec.inputs[name].data, offsets[j])
    );
    if (w) data.set(w, wOff);
    this.#buffers.data = this.#create(
      4 * data.length,
      U.STORAGE | U.COPY_DST,
      "data",
    );
    this.#dev.queue.writeBuffer(this.#buffers.data, 0, data);
    // uniforms (constant fields now, per-dispatch fields in run())
    const uni = new Uint32Array(this.#layout.words);
    const uf = new Float32Array(uni.buffer);
    uni[UNIFORM.n] = n;
    uni[UNIFORM.every] = spec.recordEvery;
    uni[UNIFORM.accStart] = spec.accumulate?.startStep ?? 0;
    uf[UNIFORM.dt] = spec.dt;
    uni[UNIFORM.seed] = spec.seed >>> 0;
    uni[UNIFORM.gx] = this.#gx;
    uni[UNIFORM.wOff] = wOff;
    uni[UNIFORM.wLen] = Math.max(1, w?.length ?? 1);
    uni[UNIFORM.stride] = stride;
    uni[UNIFORM.origin] = (spec.stepOrigin ?? 0) | 0;
    this.#layout.timed.forEach((name, j) => {
      const ti = spec.inputs[name];
      uni[UNIFORM_FIXED_WORDS + 4 * j] = offsets[j];
      uni[UNIFORM_FIXED_WORDS + 4 * j + 1] = ti.length;
      uni[UNIFORM_FIXED_WORDS + 4 * j + 2] = ti.rows;
    });
    this.#uniform = uni;
    this.#buffers.uniform = this.#create(
      4 * uni.length,
      U.UNIFORM | U.COPY_DST,
      "uniforms",
    );
    // spikes
    const hasSpikes = P.threshold !== null;
    const wanted = spec.spikeCapacity ?? DEFAULT_SPIKE_CAPACITY;
    if (!Number.isInteger(wanted) || wanted < 1) {
      throw new RangeError(
        `spikeCapacity must be a positive integer, got ${wanted}`,
      );
    }
    this.#ringAuto = spec.spikeCapacity === undefined;
    this.#ringMax = Math.max(
      1,
      Math.floor(
        (this.#ringAuto
          ? Math.min(ctx.maxBinding, AUTO_RING_BYTES)
          : ctx.maxBinding) / (4 * n),
      ),
    );
    this.#ringCap = Math.min(wanted, this.#ringMax);
    this.#compactCap = hasSpikes
      ? Math.min(Math.max(1024, n), Math.floor((ctx.maxBinding - 16) / 8))
      : 1;
    uni[UNIFORM.ringCap] = this.#ringCap;
    uni[UNIFORM.cap] = this.#compactCap;
    this.#buffers.ring = this.#create(
      hasSpikes ? 4 * n * this.#ringCap : 16,
      U.STORAGE,
      "spike rings",
    );
    this.#buffers.counts = this.#create(
      hasSpikes ? 4 * n : 16,
      U.STORAGE,
      "spike counts",
    );
    this.#buffers.compact = this.#create(
      16 + 8 * this.#compactCap,
      U.STORAGE | U.COPY_SRC | U.COPY_DST,
      "spikes",
    );
    // accumulation
    this.#buffers.accum = this.#create(
      spec.accumulate ? 4 * n : 16,
      U.STORAGE | U.COPY_SRC,
      "error sums",
    );
    this.#accSum = spec.accumulate ? new Float64Array(n) : null;
    this.#accCount = spec.accumulate ? new Float64Array(n) : null;
    this.#buffers.rec = this.#create(16, U.STORAGE | U.COPY_SRC, "recording");
    this.#buffers.time = this.#create(16, U.STORAGE | U.COPY_DST, "time");
    this.#buffers.stage = this.#create(16, U.MAP_READ | U.COPY_DST, "staging");
  }

  #create(bytes: number, usage: number, label: string): GPUBuffer {
    return createTrackedBuffer(this.#dev, bytes, usage, `neurofit ${label}`);
  }

  /** Make sure a buffer slot holds at least `bytes` bytes (recreated when too small). */
  #ensure(slot: string, bytes: number, usage: number): GPUBuffer {
    const b = this.#buffers[slot];
    if (b.size >= bytes) return b;
    destroyTrackedBuffer(b);
    const nb = this.#create(
      Math.max(bytes, Math.min(2 * b.size, this.#ctx.maxBuffer)),
      usage,
      slot,
    );
    this.#buffers[slot] = nb;
    return nb;
  }

  get step(): number {
    return this.#step;
  }

  #mainGroup(): GPUBindGroup {
    const b = this.#buffers;
    const e = (binding: number, buffer: GPUBuffer) => ({
      binding,
      resource: { buffer },
    });
    return this.#dev.createBindGroup({
      layout: this.#pipes.mainLayout,
      entries: [
        e(BINDING.uniforms, b.uniform),
        e(BINDING.state, b.state),
        e(BINDING.data, b.data),
        e(BINDING.rec, b.rec),
        e(BINDING.ring, b.ring),
        e(BINDING.counts, b.counts),
        e(BINDING.accum, b.accum),
        e(BINDING.time, b.time),
      ],
    });
  }

  #compactGroup(): GPUBindGroup {
    const b = this.#buffers;
    const e = (binding: number, buffer: GPUBuffer) => ({
      binding,
      resource: { buffer },
    });
    return this.#dev.createBindGroup({
      layout: this.#pipes.compactLayout,
      entries: [
        e(BINDING.uniforms, b.uniform),
        e(BINDING.ring, b.ring),
        e(BINDING.counts, b.counts),
        e(BINDING.compact, b.compact),
      ],
    });
  }

  #dispatch(
    pass: GPUComputePassEncoder,
    pipeline: GPUComputePipeline,
    group: GPUBindGroup,
  ): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    // the batch kernel runs `lanes` neurons per invocation, the compaction one
    pass.dispatchWorkgroups(
      this.#gx,
      pipeline === this.#pipes.main ? this.#gy : this.#gyCompact,
    );
  }

  /** Copy `size` bytes of a buffer to the host (one wait). */
  async #readBack(
    src: GPUBuffer,
    offset: number,
    size: number,
  ): Promise<ArrayBuffer> {
    const stage = this.#ensure("stage", size, U.MAP_READ | U.COPY_DST);
    const enc = this.#dev.createCommandEncoder();
    enc.copyBufferToBuffer(src, offset, stage, 0, size);
    this.#dev.queue.submit([enc.finish()]);
    await stage.mapAsync(GPUMapMode.READ, 0, size);
    const out = stage.getMappedRange(0, size).slice(0);
    stage.unmap();
    return out;
  }

  /** Serialise device work of this kernel (runs and reads never interleave). */
  #enqueue<T>(f: () => Promise<T>): Promise<T> {
    // work requested before dispose() still runs; the buffers are freed after it
    if (this.#disposed) return Promise.reject(new Error("kernel was disposed"));
    this.#busy++;
    const p = this.#queue.then(f).finally(() => {
      this.#busy--;
      if (this.#busy === 0 && this.#disposed) this.#free();
    });
    this.#queue = p.catch(() => {});
    return p;
  }

  run(steps: number): Promise<ChunkData> {
    return this.#enqueue(() => this.#run(steps));
  }

  async #run(steps: number): Promise<ChunkData> {
    if (!Number.isInteger(steps) || steps < 0) {
      throw new RangeError(
        `steps must be a non-negative integer, got ${steps}`,
      );
    }
    const spec = this.#spec;
    const n = this.#n;
    const dev = this.#dev;
    const every = spec.recordEvery;
    const k0 = this.#step;
    const nRec = spec.record.length;
    const win = recordWindow(k0, steps, every);
    const vars: Record<string, Float32Array> = {};
    for (const v of spec.record) vars[v] = new Float32Array(n * win.count);
    const hasSpikes = spec.program.threshold !== null;
    const acc = !!spec.accumulate;
    if (hasSpikes && this.#ringAuto) {
      // automatic capacity: grow the ring buffers for long runs
      const want = Math.min(
        Math.max(DEFAULT_SPIKE_CAPACITY, Math.ceil(steps / 10)),
        Math.max(steps, DEFAULT_SPIKE_CAPACITY),
        this.#ringMax,
      );
      if (want > this.#ringCap) {
        destroyTrackedBuffer(this.#buffers.ring);
        this.#ringCap = want;
        this.#buffers.ring = this.#create(
          4 * n * want,
          U.STORAGE,
          "spike rings",
        );
        this.#uniform[UNIFORM.ringCap] = want;
      }
    }
    // plan the dispatches
    const lim = dispatchLimits;
    let segMax = Math.min(
      acc ? lim.maxAccumulateSteps : lim.maxSteps,
      Math.max(64, Math.floor(lim.workPerDispatch / n)),
    );
    if (nRec > 0) {
      const rcMax = Math.floor(this.#ctx.maxBinding / (4 * nRec * n));
      if (rcMax < 1) {
        throw new RangeError(
          `recording ${nRec} variable(s) of ${n} neurons does not fit in one WebGPU storage binding`,
        );
      }
      segMax = Math.min(segMax, rcMax * every);
    }
    const segs: Segment[] = [];
    for (let k = k0, j0 = 0; k < k0 + steps;) {
      const s = Math.min(segMax, k0 + steps - k);
      const w = recordWindow(k, s, every);
      segs.push({
        k0: k,
        steps: s,
        recordStart: w.start,
        rc: w.count,
        j0,
        recOffset: 0,
        accOffset: 0,
      });
      j0 += w.count;
      k += s;
    }
    if (segs.length === 0) {
      return {
        startStep: k0,
        steps: 0,
        recordStart: win.start,
        recordCount: 0,
        vars,
        spikeNeuron: new Int32Array(0),
        spikeStep: new Int32Array(0),
        spikeOverflow: new Int32Array(0),
      };
    }
    const maxRc = Math.max(...segs.map((s) => s.rc));
    if (nRec > 0 && maxRc > 0) {
      this.#ensure("rec", 4 * nRec * n * maxRc, U.STORAGE | U.COPY_SRC);
    }
    if (this.#useT) {
      this.#ensure(
        "time",
        4 * Math.max(...segs.map((s) => s.steps)),
        U.STORAGE | U.COPY_DST,
      );
    }
    // group dispatches into read-back batches
    const batches: Segment[][] = [];
    let cur: Segment[] = [];
    let bytes = 16;
    for (const s of segs) {
      const need = 4 * nRec * n * s.rc + (acc ? 4 * n : 0);
      if (
        cur.length > 0 && bytes + need > Math.max(lim.stageBytes, need + 16)
      ) {
        batches.push(cur);
        cur = [];
        bytes = 16;
      }
      s.recOffset = bytes;
      bytes += 4 * nRec * n * s.rc;
      s.accOffset = bytes;
      bytes += acc ? 4 * n : 0;
      cur.push(s);
    }
    batches.push(cur);
    const mainGroup = this.#mainGroup();
    const uni = this.#uniform;
    let spikeTotal = 0;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b];
      const last = b === batches.length - 1;
      const size = batch[batch.length - 1].accOffset + (acc ? 4 * n : 0);
      const stage = this.#ensure("stage", size, U.MAP_READ | U.COPY_DST);
      for (let si = 0; si < batch.length; si++) {
        const s = batch[si];
        uni[UNIFORM.k0] = s.k0;
        uni[UNIFORM.steps] = s.steps;
        uni[UNIFORM.first] = s.k0 === k0 ? 1 : 0;
        uni[UNIFORM.rc] = s.rc;
        uni[UNIFORM.recStart] = s.recordStart;
        uni[UNIFORM.cap] = this.#compactCap;
        dev.queue.writeBuffer(this.#buffers.uniform, 0, uni);
        if (this.#useT) {
          const tt = new Float32Array(s.steps);
          const o = spec.stepOrigin ?? 0;
          for (let j = 0; j < s.steps; j++) tt[j] = (o + s.k0 + j) * spec.dt;
          dev.queue.writeBuffer(this.#buffers.time, 0, tt);
        }
        const enc = dev.createCommandEncoder();
        const pass = enc.beginComputePass();
        this.#dispatch(pass, this.#pipes.main, mainGroup);
        pass.end();
        if (nRec > 0 && s.rc > 0) {
          enc.copyBufferToBuffer(
            this.#buffers.rec,
            0,
            stage,
            s.recOffset,
            4 * nRec * n * s.rc,
          );
        }
        if (acc) {
          enc.copyBufferToBuffer(
            this.#buffers.accum,
            0,
            stage,
            s.accOffset,
            4 * n,
          );
        }
        if (last && si === batch.length - 1 && hasSpikes) {
          dev.queue.writeBuffer(this.#buffers.compact, 0, new Uint32Array(4));
          const cp = enc.beginComputePass();
          this.#dispatch(cp, this.#pipes.compact, this.#compactGroup());
          cp.end();
          enc.copyBufferToBuffer(this.#buffers.compact, 0, stage, 0, 16);
        }
        dev.queue.submit([enc.finish()]);
      }
      await stage.mapAsync(GPUMapMode.READ, 0, size);
      const mapped = stage.getMappedRange(0, size);
      if (last && hasSpikes) spikeTotal = new Uint32Array(mapped, 0, 1)[0];
      for (const s of batch) {
        if (nRec > 0 && s.rc > 0) {
          const block = new Float32Array(mapped, s.recOffset, nRec * n * s.rc);
          spec.record.forEach((v, vi) => {
            const dst = vars[v];
            if (s.rc === win.count) {
              dst.set(block.subarray(vi * n * s.rc, (vi + 1) * n * s.rc));
            } else {
              for (let i = 0; i < n; i++) {
                const o = (vi * n + i) * s.rc;
                dst.set(block.subarray(o, o + s.rc), i * win.count + s.j0);
              }
            }
          });
        }
        if (acc) {
          const part = new Float32Array(mapped, s.accOffset, n);
          const sum = this.#accSum!;
          for (let i = 0; i < n; i++) sum[i] += part[i];
          const counted = Math.max(
            0,
            s.k0 + s.steps - Math.max(s.k0, spec.accumulate!.startStep),
          );
          this.#accCount!.fill(this.#accCount![0] + counted);
        }
      }
      stage.unmap();
    }
    this.#step = k0 + steps;
    // spikes
    let spN = new Int32Array(0);
    let spK = new Int32Array(0);
    const overflow: number[] = [];
    if (spikeTotal > 0) {
      if (spikeTotal > this.#compactCap) {
        // grow the pair buffer and compact again (the ring buffers are intact)
        this.#compactCap = spikeTotal;
        destroyTrackedBuffer(this.#buffers.compact);
        this.#buffers.compact = this.#create(
          16 + 8 * spikeTotal,
          U.STORAGE | U.COPY_SRC | U.COPY_DST,
          "spikes",
        );
        uni[UNIFORM.cap] = this.#compactCap;
        dev.queue.writeBuffer(this.#buffers.uniform, 0, uni);
        dev.queue.writeBuffer(this.#buffers.compact, 0, new Uint32Array(4));
        const enc = dev.createCommandEncoder();
        const cp = enc.beginComputePass();
        this.#dispatch(cp, this.#pipes.compact, this.#compactGroup());
        cp.end();
        dev.queue.submit([enc.finish()]);
      }
      const pairs = new Uint32Array(
        await this.#readBack(this.#buffers.compact, 16, 8 * spikeTotal),
      );
      const nn: number[] = [];
      const kk: number[] = [];
      for (let p = 0; p < spikeTotal; p++) {
        const i = pairs[2 * p];
        const k = pairs[2 * p + 1];
        if (k === 0xffffffff) overflow.push(i);
        else {
          nn.push(i);
          kk.push(k);
        }
      }
      // order by step, then neuron (Brian's SpikeMonitor order)
      const order = Array.from(nn.keys()).sort((a, b) =>
        kk[a] - kk[b] || nn[a] - nn[b]
      );
      spN = Int32Array.from(order, (o) => nn[o]);
      spK = Int32Array.from(order, (o) => kk[o]);
      overflow.sort((a, b) => a - b);
    }
    return {
      startStep: k0,
      steps,
      recordStart: win.start,
      recordCount: win.count,
      vars,
      spikeNeuron: spN,
      spikeStep: spK,
      spikeOverflow: Int32Array.from(overflow),
    };
  }

  readState(): Promise<Record<string, Float64Array>> {
    return this.#enqueue(async () => {
      const n = this.#n;
      const P = this.#spec.program;
      const vars = stateLayout(P);
      const buf = await this.#readBack(
        this.#buffers.state,
        0,
        4 * vars.length * n,
      );
      const f = new Float32Array(buf);
      const iv = new Int32Array(buf);
      const out: Record<string, Float64Array> = {};
      P.states.forEach((
        s,
      ) => (out[s] = Float64Array.from(
        f.subarray(vars.indexOf(s) * n, (vars.indexOf(s) + 1) * n),
      )));
      const ls = vars.indexOf("lastspike");
      out.lastspike = Float64Array.from(
        iv.subarray(ls * n, (ls + 1) * n),
        (k) =>
          k === NO_SPIKE_STEP
            ? -1e4
            : (k + (this.#spec.stepOrigin ?? 0)) * this.#spec.dt,
      );
      const nr = vars.indexOf("not_refractory");
      out.not_refractory = Float64Array.from(f.subarray(nr * n, (nr + 1) * n));
      return out;
    });
  }

  readAccumulator(): Promise<{ sum: Float64Array; count: Float64Array }> {
    if (!this.#accSum || !this.#accCount) {
      return Promise.reject(
        new Error("this kernel was compiled without an error accumulator"),
      );
    }
    return this.#enqueue(() =>
      Promise.resolve({
        sum: Float64Array.from(this.#accSum!),
        count: Float64Array.from(this.#accCount!),
      })
    );
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    // buffers in use by a pending run are freed when it finishes
    if (this.#busy === 0) this.#free();
  }

  #free(): void {
    for (const b of Object.values(this.#buffers)) destroyTrackedBuffer(b);
    this.#buffers = {};
  }
}

/**
 * The WebGPU backend (f32). Importing `gpu/mod.ts` registers it so that
 * `device: "webgpu"` and `device: "auto"` can select it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webgpuBackend } from "./webgpu_backend.ts";
 * assert.ok(webgpuBackend.name === "webgpu");
 * ```
 */
export const webgpuBackend: Backend = {
  name: "webgpu",
  available: async (): Promise<boolean> =>
    typeof (await gpuContext()) !== "string",
  unavailableReason: async (): Promise<string | null> => {
    const c = await gpuContext();
    return typeof c === "string" ? c : null;
  },
  unsupportedReason: (program: Program): string | null => {
    try {
      renderWgslKernel(program, { record: [], accumulate: null });
      return null;
    } catch (e) {
      if (e instanceof TypeError) return e.message;
      throw e;
    }
  },
  compile: async (spec: KernelSpec): Promise<Kernel> => {
    const ctx = await gpuContext();
    if (typeof ctx === "string") throw new GpuUnavailableError(ctx);
    for (const v of spec.record) {
      if (!spec.program.recordable.has(v)) {
        throw new TypeError(`cannot record '${v}': not a recordable variable`);
      }
    }
    const accumulate = spec.accumulate
      ? {
        variable: spec.accumulate.variable,
        weighted: !!spec.accumulate.weights,
      }
      : null;
    const pipes = await getPipelines(ctx.device, spec.program, {
      record: spec.record,
      accumulate,
      lanes: kernelOptions.lanes === "auto"
        ? (ctx.isCpu ? KERNEL_LANES : 1)
        : kernelOptions.lanes,
      nativeExp: kernelOptions.nativeExp,
    });
    return new GpuKernel(ctx, spec, pipes);
  },
};
