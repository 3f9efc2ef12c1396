/**
 * `TraceFitter`: fit a model's recorded variables (membrane potential,
 * currents, gating variables…) to traces (reference: brian2modelfitting
 * `TraceFitter`, `fitter.py`).
 * @module
 */
import { Runner } from "../../simulation/runner.ts";
import type { Dimension } from "../../units/dimension.ts";
import { MSEMetric } from "../metrics/mse.ts";
import type { MetricSpec, TraceFitJob } from "../executor.ts";
import { TraceMetric } from "../metrics/metric.ts";
import {
  type RefineOptions,
  type RefineResult,
  refineTraceFitter,
} from "../refine/trace_refine.ts";
import {
  type BatchErrors,
  type BatchRun,
  Fitter,
  type FitterOptions,
  powDim,
  type TraceRows,
  type ValueWithUnit,
} from "./fitter.ts";
import { outputVariables, toRows } from "./_util.ts";

/** Options of {@linkcode TraceFitter}. */
export interface TraceFitterOptions extends FitterOptions {
  /** Recorded traces (SI) per output variable, same shape as the inputs, e.g. `{ v: voltages }`. Several keys = multi-objective. */
  output: Record<string, TraceRows>;
}

/**
 * Fit model parameters so that simulated traces match recorded ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TraceFitter } from "./trace_fitter.ts";
 * import { DifferentialEvolution } from "../optimizers/differential_evolution.ts";
 * // a passive membrane: v relaxes to El + R*I with time constant tau
 * const I = [new Float64Array(200).fill(0.1e-9), new Float64Array(200).fill(0.2e-9)];
 * const v = I.map((row) => row.map((x, k) => -0.07 + 1e8 * x * (1 - Math.exp(-k * 1e-4 / 0.01))));
 * const fitter = new TraceFitter({
 *   model: "dv/dt = (El - v + R*I)/tau : volt\nR : ohm (constant)\ntau : second (constant)",
 *   namespace: { El: "-70 mV" }, input: { I }, output: { v }, dt: 1e-4, nSamples: 30,
 *   paramInit: { v: "-70 mV" },
 * });
 * const { params, error } = await fitter.fit({
 *   optimizer: new DifferentialEvolution({ seed: 1 }), nRounds: 30, callback: null,
 *   params: { R: ["10 Mohm", "1 Gohm"], tau: ["1 ms", "100 ms"] },
 * });
 * assert.ok(error < 1e-7 && Math.abs(params.R / 1e8 - 1) < 0.1);
 * ```
 */
export class TraceFitter extends Fitter<TraceMetric> {
  /** Target traces per output variable (SI). */
  readonly output: Readonly<Record<string, Float64Array[]>>;

  /**
   * Create a trace fitter.
   * @param options model, input, output, dt, nSamples (default 60), method,
   *   threshold, reset, refractory, paramInit, penalty, namespace,
   *   inputUnits, device, seed
   * @throws {TypeError} bad shapes, unknown input/output names, output shape ≠ input shape
   * @throws {RangeError} NaN/infinite values in the data, bad dt or nSamples
   * @throws {EquationSyntaxError} malformed equations
   * @throws {DimensionMismatchError} inconsistent units in the model
   */
  constructor(options: TraceFitterOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("TraceFitter needs an options object");
    }
    const out = options.output;
    const vars = outputVariables(out);
    super(options, vars, vars, { nSamples: 60 });
    const rows: Record<string, Float64Array[]> = {};
    for (const v of vars) {
      const r = toRows(out[v], `output '${v}'`);
      if (r.length !== this.nTraces || r[0].length !== this.nSteps) {
        throw new TypeError(
          `output '${v}' has shape [${r.length}, ${
            r[0].length
          }] but the input has shape [${this.nTraces}, ${this.nSteps}]`,
        );
      }
      rows[v] = r;
    }
    this.output = rows;
  }

  /** The default metric of this fitter. */
  protected defaultMetric(): TraceMetric {
    return new MSEMetric();
  }

  /** Whether `m` is a metric this fitter accepts. */
  protected acceptsMetric(m: unknown): m is TraceMetric {
    return m instanceof TraceMetric;
  }

  /** Name of the accepted kind of metric (for error messages). */
  protected get metricKind(): string {
    return "TraceMetric (e.g. MSEMetric)";
  }

  /** The target traces given to the simulation as `<var>_target`. */
  protected override targetRows(): Record<string, Float64Array[]> {
    return this.output as Record<string, Float64Array[]>;
  }

  /** Dimension of the (unnormalized) total error. */
  protected errorDimension(metrics: Record<string, TraceMetric>): Dimension {
    const v = this.outputVars[0];
    return powDim(this.dimensionOf(v), metrics[v].errorUnitPower());
  }

  /**
   * The problem as plain data for `fit({ executor })`.
   * @param metrics metric per output variable (MSEMetric only)
   * @param penalty penalty variable or undefined
   * @returns the job
   * @throws {TypeError} a metric other than MSEMetric, a namespace quantity object
   */
  protected override executorJob(
    metrics: Record<string, TraceMetric>,
    penalty: string | undefined,
  ): TraceFitJob {
    const metric: Record<string, MetricSpec> = {};
    for (const v of this.outputVars) {
      const m = metrics[v];
      if (!(m instanceof MSEMetric) || m.constructor !== MSEMetric) {
        throw new TypeError(
          `the metric of '${v}' (${m.constructor.name}) cannot run on an executor yet; use MSEMetric`,
        );
      }
      metric[v] = {
        kind: "mse",
        tStart: m.tStart,
        normalization: m.normalization,
        tWeights: m.tWeights,
      };
    }
    return {
      ...this.executorJobBase(penalty),
      kind: "trace",
      output: { ...this.output } as Record<string, Float64Array[]>,
      metric,
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
      targets: this.output,
      params,
      init,
      record: [...this.outputVars],
      device: this.device,
      seed: this.seed,
    });
    return { runner, nSets };
  }

  /** Run a batch to the end and compute its errors. */
  protected async batchErrors(
    run: BatchRun,
    metrics: Record<string, TraceMetric>,
  ): Promise<BatchErrors> {
    const traces = await this.#simulate(run.runner);
    const normalized: Record<string, Float64Array> = {};
    const raw: Record<string, Float64Array> = {};
    for (const v of this.outputVars) {
      const m = metrics[v];
      const e = m.calc(traces[v], this.output[v], this.dt);
      normalized[v] = e;
      raw[v] = e.map((x) => m.revertNormalization(x));
    }
    return { normalized, raw };
  }

  /** Run to the end; rows per neuron per recorded variable. */
  async #simulate(runner: Runner): Promise<Record<string, Float64Array[]>> {
    const N = runner.nNeurons;
    const out: Record<string, Float64Array[]> = {};
    const chunk = Math.max(
      1,
      Math.min(
        this.nSteps,
        runner.device === "webgpu" ? 5000 : this.nSteps,
        Math.floor(2e7 / Math.max(1, N * runner.record.length)),
      ),
    );
    if (chunk >= this.nSteps) {
      const c = await runner.step(this.nSteps);
      for (const v of runner.record) {
        out[v] = Array.from(
          { length: N },
          (_, n) =>
            c.vars[v].subarray(
              n * c.samples,
              (n + 1) * c.samples,
            ) as Float64Array,
        );
      }
      return out;
    }
    for (const v of runner.record) {
      out[v] = Array.from({ length: N }, () => new Float64Array(this.nSteps));
    }
    let done = 0;
    while (done < this.nSteps) {
      const s = Math.min(chunk, this.nSteps - done);
      const c = await runner.step(s);
      for (const v of runner.record) {
        for (let n = 0; n < N; n++) {
          out[v][n].set(
            c.vars[v].subarray(n * c.samples, (n + 1) * c.samples),
            done,
          );
        }
      }
      done += s;
    }
    return out;
  }

  /**
   * Simulate the output variables with given or best parameters.
   * @param options params (default: best), paramInit (overrides the constructor's), iteration (default 1e9)
   * @returns rows per trace for every output variable
   * @throws {TypeError} no parameters and no fit yet
   */
  generateTraces(
    options: {
      params?: Record<string, ValueWithUnit>;
      paramInit?: Record<string, number | string>;
      iteration?: number;
    } = {},
  ): Promise<Record<string, Float64Array[]>> {
    return this.generate({ ...options, outputVar: [...this.outputVars] });
  }

  /**
   * Refine parameters with bounded nonlinear least squares (see
   * {@linkcode refineTraceFitter}): same objective as `fit` with MSE metrics,
   * finite-difference or sensitivity-equation Jacobian.
   * @param options start params, bounds, metric, calcGradient, maxEvaluations, tolerances, callback
   * @returns refined parameters, error, evaluations and the stopping message
   * @throws {TypeError} no start point, no bounds, a metric that is not an MSEMetric
   */
  refine(options: RefineOptions = {}): Promise<RefineResult> {
    return refineTraceFitter(this, options);
  }
}
