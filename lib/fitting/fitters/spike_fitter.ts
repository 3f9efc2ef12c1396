/**
 * `SpikeFitter`: fit a spiking model to recorded spike times (reference:
 * brian2modelfitting `SpikeFitter`). Default metric: `GammaFactor` with a
 * 2 ms coincidence window over the whole duration; default integration
 * method `exponential_euler` (as the reference).
 * @module
 */
import { Runner } from "../../simulation/runner.ts";
import { Dimension } from "../../units/dimension.ts";
import { GammaFactor } from "../metrics/gamma_factor.ts";
import { SpikeMetric } from "../metrics/metric.ts";
import type { SpikeFitJob } from "../executor.ts";
import {
  type BatchErrors,
  type BatchRun,
  Fitter,
  type FitterOptions,
  type ValueWithUnit,
} from "./fitter.ts";

/** Options of {@linkcode SpikeFitter}. */
export interface SpikeFitterOptions extends FitterOptions {
  /** Recorded spike times (s), one array per input trace. */
  output: readonly ArrayLike<number>[];
  /** Spike condition (required), e.g. `"v > -50*mV"`. */
  threshold: string;
}

/**
 * Fit model parameters so that simulated spike trains match recorded ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SpikeFitter } from "./spike_fitter.ts";
 * import { DifferentialEvolution } from "../optimizers/differential_evolution.ts";
 * const I = [Float64Array.from({ length: 600 }, (_, k) => (k >= 50 && k < 300 ? 5e-9 : 0))];
 * const spikes = [[9.2e-3, 13.5e-3, 17.8e-3, 22.1e-3, 26.4e-3]];
 * const fitter = new SpikeFitter({
 *   model: "dv/dt = (gL*(EL-v)+gL*DeltaT*exp((v-VT)/DeltaT) + I)/C : volt\ngL : siemens (constant)\nC : farad (constant)",
 *   namespace: { EL: "-70 mV", VT: "-50 mV", DeltaT: "2 mV" },
 *   input: { I }, output: spikes, dt: 1e-4, threshold: "v > -50*mV", reset: "v = -70*mV",
 *   paramInit: { v: "-70 mV" }, nSamples: 30,
 * });
 * const { error } = await fitter.fit({
 *   optimizer: new DifferentialEvolution({ seed: 2 }), nRounds: 5, callback: null,
 *   params: { gL: ["10 nS", "100 nS"], C: ["0.3 nF", "3 nF"] },
 * });
 * assert.ok(error < 1);
 * ```
 */
export class SpikeFitter extends Fitter<SpikeMetric> {
  /** Recorded spike times per trace (s). */
  readonly output: readonly Float64Array[];

  /**
   * Create a spike fitter.
   * @param options model, input, output (spike times per trace), dt,
   *   threshold (required), reset, refractory, nSamples (default 30), method
   *   (default exponential_euler), paramInit, penalty, namespace, inputUnits,
   *   device, seed
   * @throws {TypeError} no threshold, output not one array per trace, unknown names
   * @throws {RangeError} NaN/infinite spike times or inputs, bad dt or nSamples
   */
  constructor(options: SpikeFitterOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("SpikeFitter needs an options object");
    }
    if (
      typeof options.threshold !== "string" || options.threshold.trim() === ""
    ) {
      throw new TypeError(
        'SpikeFitter needs a threshold condition, e.g. threshold: "v > -50*mV"',
      );
    }
    const out = options.output;
    if (!Array.isArray(out)) {
      throw new TypeError(
        "output must be an array with one array of spike times (s) per trace",
      );
    }
    super(options, ["spikes"], [], {
      nSamples: 30,
      method: "exponential_euler",
    });
    if (out.length !== this.nTraces) {
      throw new TypeError(
        `output has ${out.length} spike trains but the input has ${this.nTraces} traces`,
      );
    }
    this.output = out.map((row, i) => {
      if (
        row === null || typeof row !== "object" ||
        typeof row.length !== "number"
      ) {
        throw new TypeError(`output[${i}] must be an array of spike times (s)`);
      }
      const r = Float64Array.from(row as ArrayLike<number>);
      for (let k = 0; k < r.length; k++) {
        if (!Number.isFinite(r[k])) {
          throw new RangeError(
            `output[${i}] has a non-finite spike time ${r[k]}`,
          );
        }
        if (k > 0 && r[k] < r[k - 1]) {
          throw new RangeError(`output[${i}] spike times must be sorted`);
        }
      }
      return r;
    });
  }

  /** The default metric of this fitter. */
  protected defaultMetric(): SpikeMetric {
    return new GammaFactor({ delta: 2e-3, time: this.duration });
  }

  /** Whether `m` is a metric this fitter accepts. */
  protected acceptsMetric(m: unknown): m is SpikeMetric {
    return m instanceof SpikeMetric;
  }

  /** Name of the accepted kind of metric (for error messages). */
  protected get metricKind(): string {
    return "SpikeMetric (e.g. GammaFactor)";
  }

  /** Dimension of the (unnormalized) total error. */
  protected errorDimension(): Dimension {
    return Dimension.NONE;
  }

  /**
   * The problem as plain data for `fit({ executor })`.
   * @param metrics the metric of `spikes` (GammaFactor only)
   * @param penalty penalty variable or undefined
   * @returns the job
   * @throws {TypeError} a metric other than GammaFactor, a namespace quantity object
   */
  protected override executorJob(
    metrics: Record<string, SpikeMetric>,
    penalty: string | undefined,
  ): SpikeFitJob {
    const m = metrics.spikes;
    if (!(m instanceof GammaFactor) || m.constructor !== GammaFactor) {
      throw new TypeError(
        `the metric (${m.constructor.name}) cannot run on an executor yet; use GammaFactor`,
      );
    }
    return {
      ...this.executorJobBase(penalty),
      kind: "spike",
      output: this.output.map((r) => Float64Array.from(r)),
      metric: {
        spikes: {
          kind: "gamma",
          tStart: m.tStart,
          normalization: m.normalization,
          delta: m.delta,
          time: m.time,
          rateCorrection: m.rateCorrection,
        },
      },
    };
  }

  /** Build the runner of one batch of parameter sets. */
  protected async createBatch(
    params: Record<string, Float64Array>,
    init: Record<string, number | string | Float64Array>,
    nSets: number,
  ): Promise<BatchRun> {
    const runner = await Runner.create(this.model, {
      dt: this.dt,
      nNeurons: nSets * this.nTraces,
      input: this.input,
      params,
      init,
      record: [],
      device: this.device,
      seed: this.seed,
    });
    return { runner, nSets };
  }

  /** Run a batch to the end and compute its errors. */
  protected async batchErrors(
    run: BatchRun,
    metrics: Record<string, SpikeMetric>,
  ): Promise<BatchErrors> {
    const N = run.runner.nNeurons;
    const lists: number[][] = Array.from({ length: N }, () => []);
    const chunk = run.runner.device === "webgpu" ? 1000 : 5000;
    const overflowed = new Set<number>();
    let done = 0;
    while (done < this.nSteps) {
      const s = Math.min(chunk, this.nSteps - done);
      const c = await run.runner.step(s);
      // a neuron whose spike buffer overflowed (GPU backends: it fired in
      // almost every step) is treated as a diverged run: its set gets NaN
      for (const n of c.spikes.overflow) {
        overflowed.add(Math.floor(n / this.nTraces));
      }
      for (let j = 0; j < c.spikes.neuron.length; j++) {
        lists[c.spikes.neuron[j]].push(c.spikes.step[j] * this.dt);
      }
      done += s;
    }
    const m = metrics.spikes;
    const e = m.calc(
      lists.map((l) => Float64Array.from(l)),
      this.output as Float64Array[],
      this.dt,
    );
    for (const set of overflowed) e[set] = NaN;
    return {
      normalized: { spikes: e },
      raw: { spikes: e.map((x) => m.revertNormalization(x)) },
    };
  }

  /**
   * Simulate spike trains with given or best parameters.
   * @param options params (default: best), paramInit (overrides the constructor's), iteration (default 1e9)
   * @returns spike times (s) per trace
   * @throws {TypeError} no parameters and no fit yet
   */
  async generateSpikes(
    options: {
      params?: Record<string, ValueWithUnit>;
      paramInit?: Record<string, number | string>;
      iteration?: number;
    } = {},
  ): Promise<Float64Array[]> {
    const r = await this.generate({ ...options, outputVar: "spikes" });
    return r.spikes;
  }
}
