/**
 * Mixed neural likelihood estimation, MNLE (Boelts, Lueckmann, Gao & Macke
 * 2022, "Flexible and efficient simulation-based inference for models of
 * decision-making", eLife 11:e77220; sbi's `MNLE`): NLE for data with
 * discrete and continuous columns, e.g. choices and reaction times of
 * drift-diffusion models. The likelihood q(x | θ) = P(choices | θ) ·
 * q(continuous | θ, choices) is a {@linkcode MixedDensityEstimator}
 * (categorical net + conditional spline flow, reaction times modelled on the
 * log scale), trained by maximum likelihood with sbi's defaults; the
 * posterior is sampled by MCMC on the potential
 * Σ_k log q(x_o^k | θ) + log p(θ) over iid trials x_o^1..x_o^K.
 *
 * Columns: by default the **last** column of x is the discrete one and all
 * others are continuous (sbi's convention: continuous first, discrete last).
 * Pass `discreteColumns` (0-based indices) for other layouts; x rows,
 * observations and samples always keep the user's column order.
 * @module
 */
import { SimulationStore, splitRows } from "./_simulations.ts";
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import {
  MixedDensityEstimator,
  type MixedEstimatorOptions,
} from "../estimators/mixed.ts";
import { activeBackend } from "../estimators/_backend.ts";
import {
  MCMCPosterior,
  type MCMCPosteriorOptions,
  type PotentialFactory,
} from "../posteriors/mcmc_posterior.ts";
import { iidPotential } from "../potentials/_iid.ts";
import type { Potential } from "../potentials/potential.ts";
import type { TrainingSummary } from "./npe.ts";
import type { NLETrainOptions } from "./nle.ts";

/** Options of {@linkcode MNLE}. */
export interface MNLEOptions {
  /** The prior. */
  prior: Prior | UserPrior;
  /**
   * 0-based indices of the discrete columns of x (integer values, e.g.
   * choices). Default: the last column only (sbi's convention).
   */
  discreteColumns?: number[];
  /**
   * Model the continuous columns on the log scale (they must then be > 0,
   * e.g. reaction times): one flag for all, or one per continuous column in
   * column order. Default true (sbi's MNLE `log_transform_x=True`).
   */
  logTransformX?: boolean | boolean[];
  /** Seed of initialisation, data split, shuffling and sampling. Default 0. */
  seed?: number;
  /** Hyper-parameters of the mixed estimator (flow, hidden units, transforms, bins, ...). */
  estimatorOptions?: Omit<MixedEstimatorOptions, "seed" | "categories">;
}

/** Options of {@linkcode MNLE.train} (defaults as in sbi). */
export type MNLETrainOptions = NLETrainOptions;

/** Mixed neural likelihood estimation with an MCMC posterior. */
export class MNLE {
  /** The prior. */
  readonly prior: Prior;
  #seed: number;
  #rng: Rng;
  #estOptions: Omit<MixedEstimatorOptions, "seed" | "categories">;
  #discreteOpt: number[] | undefined;
  #logT: boolean | boolean[];
  #sims: SimulationStore;
  /** internal column i = user column #perm[i] (continuous first, then discrete) */
  #perm: number[] = [];
  #numDiscrete = 0;
  #est: MixedDensityEstimator | null = null;

  /**
   * Creates the object from its options.
   * @param options see {@linkcode MNLEOptions}
   * @throws {TypeError} if the prior is not a prior or `discreteColumns` is not an array
   * @example
   * ```ts
   * import { MNLE } from "./mnle.ts";
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * const prior = new BoxUniform({ low: [-1], high: [1] });
   * const theta = prior.sample(400, 1);
   * // x = [reaction time, choice]: choice 1 more likely for larger θ
   * const x = theta.toArray().map(([v], i) => [
   *   0.3 + (i % 7) / 10,
   *   (i * 0.618) % 1 < 0.5 + v / 3 ? 1 : 0,
   * ]);
   * const mnle = new MNLE({ prior, seed: 1 });
   * mnle.appendSimulations(theta, x);
   * await mnle.train({ maxEpochs: 2, showProgress: false });
   * const posterior = mnle.buildPosterior({ warmupSteps: 10 });
   * const s = await posterior.sample(50, { x: [[0.5, 1], [0.4, 0]], seed: 2 });
   * console.log(s.rows); // 50
   * posterior.dispose();
   * mnle.dispose();
   * ```
   */
  constructor(options: MNLEOptions) {
    if (!options || typeof options !== "object") {
      throw new TypeError("MNLE needs an options object with a prior");
    }
    this.prior = asPrior(options.prior);
    this.#sims = new SimulationStore(this.prior.dim);
    if (
      options.discreteColumns !== undefined &&
      !Array.isArray(options.discreteColumns)
    ) {
      throw new TypeError(
        `discreteColumns must be an array of column indices, got ${
          JSON.stringify(options.discreteColumns)
        }`,
      );
    }
    this.#discreteOpt = options.discreteColumns?.slice();
    this.#logT = options.logTransformX ?? true;
    this.#seed = options.seed ?? 0;
    this.#rng = new Rng(this.#seed);
    this.#estOptions = options.estimatorOptions ?? {};
  }

  /** Number of valid simulations appended so far. */
  get nSimulations(): number {
    return this.#sims.n;
  }

  /** Number of simulations excluded for NaN/Inf values. */
  get nExcluded(): number {
    return this.#sims.nExcluded;
  }

  /** Indices of the discrete columns of x (known after the first `appendSimulations`). */
  get discreteColumns(): number[] {
    return this.#perm.slice(this.#perm.length - this.#numDiscrete);
  }

  /**
   * The trained mixed estimator (null before `train`). It sees x in its
   * internal column order: continuous columns, then discrete ones.
   */
  get estimator(): MixedDensityEstimator | null {
    return this.#est;
  }

  #setColumns(dx: number): void {
    const disc = this.#discreteOpt ?? [dx - 1];
    if (disc.length < 1) {
      throw new RangeError(
        "discreteColumns is empty; use NLE for continuous data",
      );
    }
    const seen = new Set<number>();
    for (const c of disc) {
      if (!Number.isInteger(c) || c < 0 || c >= dx) {
        throw new RangeError(
          `discreteColumns holds ${c}, not a column index of x (0..${dx - 1})`,
        );
      }
      if (seen.has(c)) {
        throw new RangeError(`discreteColumns lists column ${c} twice`);
      }
      seen.add(c);
    }
    if (disc.length >= dx) {
      throw new RangeError(
        `all ${dx} columns of x are discrete; MNLE needs at least one continuous column`,
      );
    }
    const cont = [...Array(dx).keys()].filter((j) => !seen.has(j));
    if (Array.isArray(this.#logT) && this.#logT.length !== cont.length) {
      throw new RangeError(
        `logTransformX has ${this.#logT.length} flags for ${cont.length} continuous columns (${cont})`,
      );
    }
    this.#perm = [...cont, ...disc];
    this.#numDiscrete = disc.length;
  }

  #logFlag(k: number): boolean {
    return Array.isArray(this.#logT) ? this.#logT[k] : this.#logT;
  }

  /**
   * Checks data rows (user column order) and returns them in internal order.
   * @param what "x" or "observation" (for messages)
   * @param allowNonFinite return rows with NaN/Inf as all-NaN rows instead of throwing
   */
  #reorder(
    m: Matrix,
    what: string,
    allowNonFinite: boolean,
  ): { data: Float32Array } {
    const dx = this.#sims.xDim;
    const nc = dx - this.#numDiscrete;
    const data = new Float32Array(m.rows * dx);
    for (let i = 0; i < m.rows; i++) {
      let finite = true;
      for (let j = 0; j < dx && finite; j++) {
        finite = Number.isFinite(m.data[i * dx + j]);
      }
      if (!finite) {
        if (!allowNonFinite) {
          throw new RangeError(
            `${what} row ${i} holds a non-finite value: [${
              Array.from(m.row(i))
            }]`,
          );
        }
        data.fill(NaN, i * dx, (i + 1) * dx); // excluded by finiteRows
        continue;
      }
      for (let k = 0; k < dx; k++) {
        const col = this.#perm[k];
        const v = m.data[i * dx + col];
        if (k >= nc && !Number.isInteger(v)) {
          throw new RangeError(
            `${what} column ${col} is discrete but row ${i} holds the non-integer value ${v}`,
          );
        }
        if (k < nc && this.#logFlag(k) && !(v > 0)) {
          throw new RangeError(
            `${what} column ${col} is log-transformed (logTransformX) but row ${i} holds ${v}; values must be > 0`,
          );
        }
        data[i * dx + k] = v;
      }
    }
    return { data };
  }

  /**
   * Adds simulations. Rows with NaN or infinite values are excluded and
   * counted; discrete columns must hold integers and log-transformed
   * continuous columns positive values.
   * @param theta parameters, rows = simulations
   * @param x simulated data, rows = simulations (user column order)
   * @returns this MNLE
   * @throws {TypeError} on mismatched rows or dimensions
   * @throws {RangeError} for a non-integer discrete value, a non-positive
   *   log-transformed value, or bad `discreteColumns`
   */
  appendSimulations(theta: MatrixLike, x: MatrixLike): this {
    const t = Matrix.of(theta);
    const xm = Matrix.of(x);
    if (t.rows !== xm.rows) {
      throw new TypeError(`theta has ${t.rows} rows but x has ${xm.rows}`);
    }
    if (t.rows === 0) return this;
    if (t.cols !== this.prior.dim) {
      throw new TypeError(
        `theta has ${t.cols} columns but the prior has dim ${this.prior.dim}`,
      );
    }
    if (this.#sims.xDim < 0) {
      if (xm.cols < 2) {
        throw new TypeError(
          `x has ${xm.cols} column; MNLE needs continuous and discrete columns`,
        );
      }
      this.#setColumns(xm.cols);
      this.#sims.xDim = xm.cols;
    } else if (xm.cols !== this.#sims.xDim) {
      throw new TypeError(
        `x has ${xm.cols} columns, expected ${this.#sims.xDim}`,
      );
    }
    // rows with a non-finite x come back as NaN rows: the store drops them
    const { data } = this.#reorder(xm, "x", true);
    this.#sims.append(t, new Matrix(xm.rows, xm.cols, data));
    return this;
  }

  /**
   * Trains q(x | θ) by maximum likelihood (sbi defaults: batch 200, Adam 5e-4,
   * 10% validation, patience 20, best weights restored, gradient clip 5). The
   * categories of the discrete columns are those seen in all simulations.
   * @param options see {@linkcode MNLETrainOptions}
   * @returns the training summary (`loss: "ml"`, `round: 0`)
   * @throws {RangeError} with fewer than 2 simulations or bad options
   */
  async train(options: MNLETrainOptions = {}): Promise<TrainingSummary> {
    const vf = options.validationFraction ?? 0.1;
    if (!(vf > 0 && vf < 1)) {
      throw new RangeError(`validationFraction must be in (0, 1), got ${vf}`);
    }
    const total = this.#sims.n;
    if (total < 2) {
      throw new RangeError(
        `need at least 2 valid simulations to train, got ${total}`,
      );
    }
    const dT = this.prior.dim, dX = this.#sims.xDim;
    const all = this.#sims.all();
    const allX = all.x;
    const rng = this.#rng.fork();
    const perm = rng.permutation(total);
    const nVal = Math.max(1, Math.floor(vf * total));
    // as in NLE the buffer's "theta" is the modelled x and its "x" the context θ
    const { tr, va } = splitRows(all, dT, dX, perm, nVal, true);
    if (!this.#est || options.retrainFromScratch) {
      this.#est?.dispose();
      this.#est = null;
      const nc = dX - this.#numDiscrete;
      const logT = [...Array(nc).keys()].map((k) => this.#logFlag(k));
      // categories from all rows; z-scoring from the training split (sbi)
      const categories: number[][] = [];
      for (let j = nc; j < dX; j++) {
        const set = new Set<number>();
        for (let i = 0; i < total; i++) set.add(allX[i * dX + j]);
        categories.push([...set]);
      }
      this.#est = await MixedDensityEstimator.create(
        tr.theta.subarray(0, tr.n * dX),
        tr.x.subarray(0, tr.n * dT),
        tr.n,
        this.#numDiscrete,
        logT,
        { ...this.#estOptions, categories, seed: this.#seed },
      );
    }
    const res = await this.#est.train(tr, va, {
      trainingBatchSize: options.trainingBatchSize,
      learningRate: options.learningRate,
      stopAfterEpochs: options.stopAfterEpochs,
      maxEpochs: options.maxEpochs,
      clipMaxNorm: options.clipMaxNorm,
      resumeTraining: options.resumeTraining,
      showProgress: options.showProgress,
      loss: "ml",
      seed: rng.nextU32(),
    });
    return {
      epochs: res.epochs,
      bestValidationLoss: res.bestValidationLoss,
      validationLosses: res.validationLosses,
      trainingTime: res.trainingTime,
      samplesPerSecond: res.samplesPerSecond,
      nSimulations: total,
      nExcluded: this.#sims.nExcluded,
      nTrain: tr.n,
      nValidation: va.n,
      round: 0,
      loss: "ml",
      converged: res.converged,
      steps: res.steps,
      skippedSteps: res.skippedSteps,
      backend: activeBackend(),
    };
  }

  /**
   * log q(x | θ) of data rows in the user's column order.
   * @param x data rows
   * @param theta one parameter vector (for all rows) or one row per data row
   * @returns one log-likelihood per row
   * @throws {RangeError} before `train` or for invalid rows
   */
  logLikelihood(x: MatrixLike, theta: MatrixLike): Float64Array {
    if (!this.#est) {
      throw new RangeError("MNLE.logLikelihood: call train() first");
    }
    const xm = Matrix.of(x);
    if (xm.cols !== this.#sims.xDim) {
      throw new TypeError(
        `x has ${xm.cols} columns, expected ${this.#sims.xDim}`,
      );
    }
    const t = Matrix.of(theta);
    const { data } = this.#reorder(xm, "x", false);
    return this.#est.logProb(data, t.data, xm.rows);
  }

  /**
   * Builds the MCMC posterior on Σ_k log q(x_o^k | θ) + log p(θ), the sum
   * running over iid trials (observation rows, user column order). The
   * posterior gets its own copy of the estimator.
   * @param options see {@linkcode MCMCPosteriorOptions}
   * @returns the posterior
   * @throws {RangeError} before `train`
   */
  buildPosterior(options: MCMCPosteriorOptions = {}): MCMCPosterior {
    if (!this.#est) {
      throw new RangeError("MNLE.buildPosterior: call train() first");
    }
    const est = this.#est.clone();
    const prior = this.prior;
    const dx = this.#sims.xDim;
    const factory: PotentialFactory = {
      xDim: dx,
      potential: (xo: Matrix): Potential => {
        const { data: X } = this.#reorder(xo, "observation", false);
        const cats = est.config.categories;
        const nc = dx - this.#numDiscrete;
        for (let k = 0; k < xo.rows; k++) {
          for (let j = 0; j < cats.length; j++) {
            const v = X[k * dx + nc + j];
            if (!cats[j].includes(v)) {
              throw new RangeError(
                `observation row ${k} column ${
                  this.#perm[nc + j]
                } holds the category ${v}, never seen in the simulations (categories ${
                  cats[j].join(", ")
                })`,
              );
            }
          }
        }
        return iidPotential(
          prior,
          new Matrix(xo.rows, dx, X),
          (th, xs, m) => est.logProb(xs, th, m),
        );
      },
      dispose: () => est.dispose(),
    };
    return new MCMCPosterior(factory, prior, {
      seed: this.#rng.nextU32(),
      ...options,
    });
  }

  /** Frees the estimator's tensors. */
  dispose(): void {
    this.#est?.dispose();
    this.#est = null;
  }
}
