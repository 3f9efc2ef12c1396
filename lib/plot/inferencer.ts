/**
 * Plots of an `Inferencer`'s posterior given its observation (the
 * reference's `Inferencer.pairplot`, `conditional_pairplot` and
 * `conditional_corrcoeff`). They live here, not on the `Inferencer`, so that
 * `@neurofit/neurofit/inference` loads no plotting code; the inferencer is
 * typed structurally ({@linkcode PlottableInferencer}).
 * @module
 */
import {
  pairplot,
  type PairplotOptions,
  type SampleTable,
} from "./pairplot.ts";
import {
  conditionalCorrcoeff,
  conditionalPairplot,
  type ConditionalPairplotOptions,
} from "./conditional.ts";

/** What the plots need of an `Inferencer` (after `infer()`). */
export interface PlottableInferencer {
  /** Parameter names, in column order. */
  readonly paramNames: readonly string[];
  /**
   * Bounds of the box prior, one `[low, high]` per parameter.
   * @returns the bounds
   */
  priorLimits(): [number, number][];
  /**
   * Posterior samples given the observation.
   * @param n number of samples
   * @param options seed
   * @returns rows = samples
   */
  sample(n: number, options?: { seed?: number }): Promise<SampleTable>;
  /**
   * Posterior log-density given the observation.
   * @param thetas parameter vectors
   * @returns one log-density per row
   */
  logProb(thetas: number[][]): Promise<ArrayLike<number>>;
  /**
   * Mean of posterior samples.
   * @returns one value per parameter
   */
  posteriorMean(): Promise<number[]>;
}

/** Options of {@linkcode inferencerPairplot}. */
export interface InferencerPairplotOptions extends PairplotOptions {
  /** Number of posterior samples drawn. Default 10,000. */
  nSamples?: number;
  /** Samples to plot instead of drawing new ones. */
  samples?: SampleTable;
  /** Seed of the draw. Default: the inferencer's generator. */
  seed?: number;
}

/**
 * Pair plot of the posterior given the observation: parameter names as
 * labels, the prior bounds as limits unless given.
 * @param inf an `Inferencer` after `infer()`
 * @param options number of samples (default 10,000), samples to reuse,
 *   seed, and any {@linkcode PairplotOptions} (e.g. `points` for the ground
 *   truth)
 * @returns the SVG text
 */
export async function inferencerPairplot(
  inf: PlottableInferencer,
  options: InferencerPairplotOptions = {},
): Promise<string> {
  const { nSamples, samples, seed, ...plot } = options;
  const s = samples ??
    await inf.sample(
      nSamples ?? 10_000,
      seed === undefined ? {} : { seed },
    );
  return pairplot(s, {
    labels: [...inf.paramNames],
    limits: inf.priorLimits(),
    ...plot,
  });
}

/**
 * Two-dimensional slices of the posterior density through a condition point
 * (the reference's `conditional_pairplot`), as SVG.
 * @param inf an `Inferencer` after `infer()`
 * @param options `condition` (a parameter vector; default: the mean of
 *   1,000 posterior samples), limits (default: the prior bounds),
 *   resolution, labels, points
 * @returns the SVG text
 */
export async function inferencerConditionalPairplot(
  inf: PlottableInferencer,
  options: Partial<ConditionalPairplotOptions> = {},
): Promise<string> {
  const condition = options.condition ?? await inf.posteriorMean();
  return conditionalPairplot((t) => inf.logProb(t), {
    labels: [...inf.paramNames],
    ...options,
    limits: options.limits ?? inf.priorLimits(),
    condition,
  });
}

/**
 * Correlation matrix of the conditional posterior slices through a condition
 * point (the reference's `conditional_corrcoeff`).
 * @param inf an `Inferencer` after `infer()`
 * @param options `condition` (default: the posterior mean), limits
 *   (default: the prior bounds), resolution (default 50)
 * @returns a d × d matrix
 */
export async function inferencerConditionalCorrcoeff(
  inf: PlottableInferencer,
  options: {
    condition?: ArrayLike<number>;
    limits?: [number, number][] | [number, number];
    resolution?: number;
  } = {},
): Promise<number[][]> {
  const condition = options.condition ?? await inf.posteriorMean();
  return conditionalCorrcoeff((t) => inf.logProb(t), {
    condition,
    limits: options.limits ?? inf.priorLimits(),
    resolution: options.resolution,
  });
}
