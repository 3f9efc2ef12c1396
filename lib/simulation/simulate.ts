/**
 * `simulate`: run a batch to the end and collect traces and spikes.
 * @module
 */
import type { NeuronModel } from "./neuron_model.ts";
import { Runner, type RunnerOptions } from "./runner.ts";

/** Options of {@linkcode simulate}: the runner options plus the duration. */
export interface SimulateOptions extends RunnerOptions {
  /** Duration in seconds; the run has `round(duration/dt)` steps. Give this or `steps`. */
  duration?: number;
  /** Number of steps (alternative to `duration`). */
  steps?: number;
  /** Steps per chunk (memory vs. overhead). Default 10000 (CPU) / 5000 (WebGPU). */
  chunkSteps?: number;
}

/** The result of {@linkcode simulate}. */
export interface SimulationResult {
  /** Recorded values per variable, one Float64Array per neuron (SI); sample k is the state at t_k before the update. */
  readonly traces: Record<string, Float64Array[]>;
  /** Spike times in seconds per neuron. */
  readonly spikes: Float64Array[];
  /** Spike steps per neuron (spike time = step * dt). */
  readonly spikeSteps: Int32Array[];
  /** Sample times (s). */
  readonly t: Float64Array;
  /** Integration method used. */
  readonly method: string;
  /** Device that ran the simulation. */
  readonly device: "cpu" | "webgpu";
  /**
   * Why that device. With `device: "auto"` it says why the CPU was chosen:
   * the WebGPU module was not imported, no adapter, the model is not
   * supported on WebGPU, or precision `"f64"` was asked for.
   */
  readonly deviceReason: string;
  /** Steps run. */
  readonly steps: number;
  /** Time step (s). */
  readonly dt: number;
}

/**
 * Simulate a batch of neurons to the end.
 * @param model the compiled model
 * @param options dt, duration (or steps), inputs, parameters, initial values, recording, device, seed
 * @returns traces, spikes, method and device
 * @throws {TypeError} bad shapes, missing inputs or parameters
 * @throws {RangeError} bad values
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NeuronModel } from "./neuron_model.ts";
 * import { simulate } from "./simulate.ts";
 * const m = new NeuronModel("dv/dt = (El - v)/tau : volt", { namespace: { El: "-70 mV", tau: "10 ms" } });
 * const r = await simulate(m, { dt: 1e-4, duration: 0.01, init: { v: "-60 mV" } });
 * assert.ok(r.traces.v[0].length === 100 && r.method === "exact");
 * ```
 */
export async function simulate(
  model: NeuronModel,
  options: SimulateOptions,
): Promise<SimulationResult> {
  const dt = options.dt;
  let steps: number;
  if (options.steps !== undefined) steps = options.steps;
  else if (options.duration !== undefined) {
    if (!(options.duration >= 0) || !Number.isFinite(options.duration)) {
      throw new RangeError(
        `duration must be a non-negative number of seconds, got ${options.duration}`,
      );
    }
    steps = Math.round(options.duration / dt);
  } else {throw new TypeError(
      "simulate needs a duration (seconds) or a number of steps",
    );}
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`steps must be a non-negative integer, got ${steps}`);
  }
  const runner = await Runner.create(model, options);
  try {
    const n = runner.nNeurons;
    const every = runner.recordEvery;
    const total = steps > 0 ? Math.floor((steps - 1) / every) + 1 : 0;
    const traces: Record<string, Float64Array[]> = {};
    for (const v of runner.record) {
      traces[v] = Array.from({ length: n }, () => new Float64Array(total));
    }
    const spikeLists: number[][] = Array.from({ length: n }, () => []);
    const chunk = options.chunkSteps ??
      (runner.device === "webgpu" ? 5000 : 10000);
    let done = 0;
    let filled = 0;
    while (done < steps) {
      const s = Math.min(chunk, steps - done);
      const c = await runner.step(s);
      for (const v of runner.record) {
        const src = c.vars[v];
        const dst = traces[v];
        for (let i = 0; i < n; i++) {
          dst[i].set(src.subarray(i * c.samples, (i + 1) * c.samples), filled);
        }
      }
      if (c.spikes.overflow.length > 0) {
        throw new RangeError(
          `spike buffer overflow for ${c.spikes.overflow.length} neuron(s) (first: neuron ${
            c.spikes.overflow[0]
          }); ` +
            `spikes were lost; use a smaller chunkSteps`,
        );
      }
      for (let j = 0; j < c.spikes.neuron.length; j++) {
        spikeLists[c.spikes.neuron[j]].push(c.spikes.step[j]);
      }
      filled += c.samples;
      done += s;
    }
    const t = new Float64Array(total);
    for (let j = 0; j < total; j++) t[j] = j * every * dt;
    const spikeSteps = spikeLists.map((l) => Int32Array.from(l));
    return {
      traces,
      spikes: spikeSteps.map((l) => Float64Array.from(l, (k) => k * dt)),
      spikeSteps,
      t,
      method: model.method,
      device: runner.device,
      deviceReason: runner.deviceReason,
      steps,
      dt,
    };
  } finally {
    runner.dispose();
  }
}
