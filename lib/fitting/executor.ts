/**
 * Where a fitter's parameter sets are evaluated. By default `fit` simulates
 * them in this process (today's behaviour); `fit({ executor })` hands each
 * round to an {@linkcode FitExecutor} instead, e.g. the Redis executor of
 * `neurofit/distributed`, which ships the round to worker processes.
 *
 * An executor receives a {@linkcode TraceFitJob}: the whole fitting problem
 * as plain data (equations as text, numbers, `Float64Array`s, metric
 * descriptions), never code, so that it can be serialized, hashed and
 * rebuilt elsewhere by the same parser and code generator. This module only
 * declares types; it imports nothing, so `lib/` does not depend on any
 * executor implementation.
 * @module
 */

/** A metric as data: `MSEMetric` (`"mse"`) or `GammaFactor` (`"gamma"`). */
export type MetricSpec =
  | {
    /** `MSEMetric`. */
    kind: "mse";
    /** Start of the compared window (s). */
    tStart: number;
    /** Normalization. */
    normalization: number;
    /** Time weights as given to the metric (already rescaled to mean 1), or null. */
    tWeights: Float64Array | null;
  }
  | {
    /** `GammaFactor`. */
    kind: "gamma";
    /** Start of the compared window (s). */
    tStart: number;
    /** Normalization. */
    normalization: number;
    /** Coincidence window (s). */
    delta: number;
    /** Total duration (s). */
    time: number;
    /** Rate correction on/off. */
    rateCorrection: boolean;
  };

/** What every fitting job holds: the model, the inputs and the settings. */
export interface FitJobBase {
  /** Equations of the fitter's model (with the `iteration` counter). */
  equations: string;
  /** Spike condition. */
  threshold?: string;
  /** Reset statements. */
  reset?: string;
  /** Refractory period or condition. */
  refractory?: number | string | false;
  /** Integration method. */
  method?: string;
  /** Constants used by the equations (SI numbers or strings with units). */
  namespace?: Record<string, number | string>;
  /** Units of input variables. */
  inputUnits?: Record<string, string>;
  /** Time step (s). */
  dt: number;
  /** Input rows per input variable (SI). */
  input: Record<string, Float64Array[]>;
  /** Initial values (the fitter's `paramInit`). */
  paramInit: Record<string, number | string>;
  /** Device preference. */
  device: "cpu" | "webgpu" | "auto";
  /** Seed of noise in the model. */
  seed: number;
  /** Penalty variable, if any. */
  penalty?: string;
  /** Every model parameter except `iteration`: the columns of a parameter set. */
  parameters: string[];
}

/** A `SpikeFitter` problem as plain data. */
export interface SpikeFitJob extends FitJobBase {
  /** The kind of fitter. */
  kind: "spike";
  /** Recorded spike times (s), one array per trace. */
  output: Float64Array[];
  /** The metric of the output `spikes`. */
  metric: { spikes: MetricSpec };
}

/** Any fitting job. */
export type FitJob = TraceFitJob | SpikeFitJob;

/** A `TraceFitter` problem as plain data. */
export interface TraceFitJob extends FitJobBase {
  /** The kind of fitter. */
  kind: "trace";
  /** Target rows per output variable (SI). */
  output: Record<string, Float64Array[]>;
  /** Metric per output variable. */
  metric: Record<string, MetricSpec>;
}

/** Errors of evaluated parameter sets, in the order of the sets. */
export interface EvaluatedSets {
  /** Total (normalized) error per set, penalty included. */
  total: Float64Array;
  /** Per output variable: normalized errors per set. */
  normalized: Record<string, Float64Array>;
  /** Per output variable: errors in output units per set. */
  raw: Record<string, Float64Array>;
}

/**
 * Output variables of a job, in the order of the errors.
 * @param job the job
 * @returns `["spikes"]` for a spike job, the output keys otherwise
 */
export function fitJobOutputs(job: FitJob): string[] {
  return job.kind === "spike" ? ["spikes"] : Object.keys(job.output);
}

/** Something that evaluates parameter sets of a fitting job. */
export interface FitExecutor {
  /**
   * Evaluate parameter sets.
   * @param job the problem (the same object for every round of one `fit` call)
   * @param sets full parameter dictionaries (SI), one per set
   * @param iteration value of the model's `iteration` counter
   * @returns errors per set, in the order of `sets`
   */
  evaluate(
    job: FitJob,
    sets: readonly Record<string, number>[],
    iteration: number,
  ): Promise<EvaluatedSets>;
}

/**
 * Whether `x` looks like a {@linkcode FitExecutor}.
 * @param x anything
 * @returns true when `x` has an `evaluate` method
 */
export function isFitExecutor(x: unknown): x is FitExecutor {
  return typeof x === "object" && x !== null &&
    typeof (x as { evaluate?: unknown }).evaluate === "function";
}
