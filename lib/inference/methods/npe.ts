/**
 * Neural posterior estimation, NPE-C / APT (Greenberg, Nonnenmacher & Macke
 * 2019, "Automatic Posterior Transformation for Likelihood-free Inference";
 * sbi's `NPE`). Round 1 (simulations from the prior) trains q(theta | x) by
 * maximum likelihood; later rounds (simulations from a posterior proposal) use
 * the atomic loss with `numAtoms` atoms.
 * @module
 */
import { Rng } from "../../_internal/random.ts";
import { Matrix, type MatrixLike } from "../matrix.ts";
import { asPrior, type Prior, type UserPrior } from "../priors/prior.ts";
import {
  DensityEstimator,
  type DensityEstimatorKind,
  type DensityEstimatorOptions,
  type EmbeddingNetSpec,
  zScoreStats,
} from "../estimators/density_estimator.ts";
import { SimulationBuffer } from "../estimators/simulation_buffer.ts";
import { activeBackend } from "../estimators/_backend.ts";
import { DirectPosterior } from "../posteriors/direct_posterior.ts";

/** Options of {@linkcode NPE}. */
export interface NPEOptions {
  /** The prior (built-in or any object with `sample(n, rng)` and `logProb(theta)`). */
  prior: Prior | UserPrior;
  /** `"maf"` (default, as sbi), `"nsf"`, `"mdn"` or `"made"`. */
  densityEstimator?: DensityEstimatorKind;
  /** Seed of initialisation, data split, shuffling and sampling. Default 0. */
  seed?: number;
  /** Embedding net for x (see {@linkcode EmbeddingNetSpec}). */
  embeddingNet?: EmbeddingNetSpec;
  /** Hyper-parameters of the estimator (hidden units, transforms, bins, ...). */
  estimatorOptions?: Omit<DensityEstimatorOptions, "embeddingNet" | "seed">;
  /**
   * What to do with simulations whose x has NaN or infinite features (sbi's
   * `handle_invalid_x`): `"exclude"` (default) drops them; `"impute"` keeps them
   * and learns, jointly with the estimator, one imputation value per feature in
   * z-scored space (Lueckmann et al. 2017, "Flexible statistical inference for
   * mechanistic models of neural dynamics"); z-scoring uses the finite values
   * only, and a NaN feature of the observation is imputed the same way at
   * sampling time. Rows with a non-finite theta are always dropped.
   */
  handleInvalidX?: "exclude" | "impute";
  /** With `handleInvalidX: "impute"`, also feed a 0/1 missing-indicator per feature. Default false. */
  missingIndicator?: boolean;
}

/** Options of {@linkcode NPE.appendSimulations}. */
export interface AppendOptions {
  /** The proposal the thetas were drawn from: the prior (default) or a posterior of an earlier round. */
  proposal?: DirectPosterior | Prior;
  /** Drop rows with NaN or infinite values (counted in the summary). Default true. */
  excludeInvalid?: boolean;
}

/** One chunk of a streamed training source. */
export interface SimulationChunk {
  /** Parameters, rows = simulations. */
  theta: MatrixLike;
  /** Data, rows = simulations. */
  x: MatrixLike;
}

/** A stream of chunks: an async iterable, or an Observable-like object with `subscribe`. */
export type SimulationSource =
  | AsyncIterable<SimulationChunk>
  | Iterable<SimulationChunk>
  | {
    subscribe(observer: {
      next: (c: SimulationChunk) => void;
      error: (e: unknown) => void;
      complete: () => void;
    }): unknown;
  };

/** Options of {@linkcode NPE.train} (defaults as in sbi). */
export interface NPETrainOptions {
  /** Minibatch size. Default 200. */
  trainingBatchSize?: number;
  /** Adam learning rate. Default 5e-4. */
  learningRate?: number;
  /** Fraction of simulations held out for validation. Default 0.1. */
  validationFraction?: number;
  /** Epochs without validation improvement before stopping. Default 20. */
  stopAfterEpochs?: number;
  /** Maximum number of epochs. Default 2^31 - 1. */
  maxEpochs?: number;
  /** Total gradient-norm clip. Default 5. */
  clipMaxNorm?: number;
  /** Atoms of the atomic loss (later rounds). Default 10. */
  numAtoms?: number;
  /** In later rounds, ignore simulations drawn from the prior. Default false. */
  discardPriorSamples?: boolean;
  /** Continue with the previous optimizer state. Default false. */
  resumeTraining?: boolean;
  /** Build a fresh network (and new z-scoring) before training. Default false. */
  retrainFromScratch?: boolean;
  /** Progress bar on stderr (drawn only on a terminal). Default true. */
  showProgress?: boolean;
  /**
   * Stream of `{ theta, x }` chunks (prior simulations): training starts on the first
   * chunk and continues while more arrive; early stopping only counts once the
   * stream has completed.
   */
  source?: SimulationSource;
  /** Cap on buffered streamed simulations (reservoir sampling beyond it). Default unlimited. */
  maxBufferSize?: number;
}

/** What {@linkcode NPE.train} returns. */
export interface TrainingSummary {
  /** Epochs run. */
  epochs: number;
  /** Best validation loss. */
  bestValidationLoss: number;
  /** Validation loss per epoch. */
  validationLosses: number[];
  /** Training wall time in seconds. */
  trainingTime: number;
  /** Training rows processed per second. */
  samplesPerSecond: number;
  /** Valid simulations available to this training run. */
  nSimulations: number;
  /** Simulations excluded because of NaN/Inf values (all rounds and streams). */
  nExcluded: number;
  /** Simulations kept with NaN/Inf features imputed (NPE with `handleInvalidX: "impute"`; NPE always sets it). */
  nImputed?: number;
  /** Rows used for training / validation. */
  nTrain: number;
  /** Rows used for validation. */
  nValidation: number;
  /** Round index (0 = prior simulations only). */
  round: number;
  /** Loss used: maximum likelihood or APT's atomic loss. */
  loss: "ml" | "atomic";
  /** True when stopped by the patience criterion (not maxEpochs). */
  converged: boolean;
  /** Optimisation steps (minibatches) of this training run. */
  steps: number;
  /**
   * Steps skipped for a non-finite gradient (weights unchanged); above 1% of
   * the steps training prints a warning.
   */
  skippedSteps: number;
  /** tfjs backend used. */
  backend: string;
}

interface DataSet {
  theta: Float32Array;
  x: Float32Array;
  n: number;
  round: number;
}

/** Neural posterior estimation (NPE-C / APT). */
export class NPE {
  /** The prior. */
  readonly prior: Prior;
  /** Density estimator kind. */
  readonly densityEstimator: DensityEstimatorKind;
  #seed: number;
  #rng: Rng;
  #embedding?: EmbeddingNetSpec;
  #estOptions: Omit<DensityEstimatorOptions, "embeddingNet" | "seed">;
  #data: DataSet[] = [];
  #nExcluded = 0;
  #nImputed = 0;
  #impute = false;
  #indicator = false;
  #round = 0;
  #est: DensityEstimator | null = null;
  #xDim = -1;

  /**
   * Creates the object from its options.
   * @param options see {@linkcode NPEOptions}
   * @throws {TypeError} if the prior is not a prior
   * @throws {RangeError} for an unknown density estimator
   * @example
   * ```ts
   * import { NPE } from "./npe.ts";
   * import { BoxUniform } from "../priors/box_uniform.ts";
   * const prior = new BoxUniform({ low: [-2, -2], high: [2, 2] });
   * const theta = prior.sample(500, 1);
   * const x = theta.toArray().map(([a, b]) => [a + 0.1 * Math.sin(b), b]);
   * const npe = new NPE({ prior, densityEstimator: "nsf", seed: 1 });
   * npe.appendSimulations(theta, x);
   * const summary = await npe.train({ maxEpochs: 2, showProgress: false });
   * const posterior = npe.buildPosterior();
   * const s = await posterior.sample(1000, { x: [0.5, -0.5] });
   * const lp = await posterior.logProb(s, { x: [0.5, -0.5] });
   * console.log(summary.epochs, s.rows, lp.length); // 2 1000 1000
   * posterior.dispose();
   * npe.dispose();
   * ```
   */
  constructor(options: NPEOptions) {
    if (!options || typeof options !== "object") {
      throw new TypeError("NPE needs an options object with a prior");
    }
    this.prior = asPrior(options.prior);
    const kind = options.densityEstimator ?? "maf";
    if (!["maf", "nsf", "mdn", "made"].includes(kind)) {
      throw new RangeError(
        `unknown densityEstimator ${
          JSON.stringify(kind)
        }; use "maf", "nsf", "mdn" or "made"`,
      );
    }
    this.densityEstimator = kind;
    this.#seed = options.seed ?? 0;
    this.#rng = new Rng(this.#seed);
    this.#embedding = options.embeddingNet;
    this.#estOptions = options.estimatorOptions ?? {};
    const hx = options.handleInvalidX ?? "exclude";
    if (hx !== "exclude" && hx !== "impute") {
      throw new RangeError(
        `handleInvalidX must be "exclude" or "impute", got ${
          JSON.stringify(hx)
        }`,
      );
    }
    this.#impute = hx === "impute";
    this.#indicator = options.missingIndicator === true;
  }

  /** Number of valid simulations appended so far. */
  get nSimulations(): number {
    return this.#data.reduce((a, d) => a + d.n, 0);
  }

  /** Number of simulations excluded for NaN/Inf values. */
  get nExcluded(): number {
    return this.#nExcluded;
  }

  /** Number of simulations kept with NaN/Inf x features to impute. */
  get nImputed(): number {
    return this.#nImputed;
  }

  /** The trained estimator (null before `train`). */
  get estimator(): DensityEstimator | null {
    return this.#est;
  }

  /**
   * Adds simulations. Rows with NaN or infinite values are excluded and counted.
   * @param theta parameters, rows = simulations
   * @param x simulated data, rows = simulations
   * @param options `{ proposal }` (a posterior from an earlier round for sequential NPE)
   * @returns this NPE (for chaining)
   * @throws {TypeError} on mismatched rows or dimensions
   */
  appendSimulations(
    theta: MatrixLike,
    x: MatrixLike,
    options: AppendOptions = {},
  ): this {
    const t = Matrix.of(theta);
    const xm = Matrix.of(x);
    if (t.rows !== xm.rows) {
      throw new TypeError(`theta has ${t.rows} rows but x has ${xm.rows}`);
    }
    if (t.rows > 0 && t.cols !== this.prior.dim) {
      throw new TypeError(
        `theta has ${t.cols} columns but the prior has dim ${this.prior.dim}`,
      );
    }
    if (t.rows === 0) return this;
    this.#checkXDim(xm.cols);
    const isPrior = options.proposal === undefined ||
      options.proposal === this.prior ||
      !(options.proposal instanceof DirectPosterior);
    const round = isPrior
      ? 0
      : Math.max(0, ...this.#data.map((d) => d.round)) + 1;
    const { theta: vt, x: vx, n, excluded, imputed } = filterValid(
      t,
      xm,
      options.excludeInvalid !== false,
      this.#impute,
    );
    this.#nExcluded += excluded;
    this.#nImputed += imputed;
    if (n > 0) this.#data.push({ theta: vt, x: vx, n, round });
    this.#round = Math.max(this.#round, round);
    return this;
  }

  #checkXDim(d: number): void {
    if (this.#xDim < 0) this.#xDim = d;
    else if (d !== this.#xDim) {
      throw new TypeError(
        `x has ${d} columns, expected ${this.#xDim} as before`,
      );
    }
  }

  /**
   * Trains the density estimator (sbi defaults: batch 200, Adam 5e-4, 10% validation,
   * patience 20, best weights restored, gradient clip 5).
   * @param options see {@linkcode NPETrainOptions}
   * @returns the training summary
   * @throws {RangeError} without simulations or with bad options
   */
  async train(options: NPETrainOptions = {}): Promise<TrainingSummary> {
    const vf = options.validationFraction ?? 0.1;
    if (!(vf > 0 && vf < 1)) {
      throw new RangeError(`validationFraction must be in (0, 1), got ${vf}`);
    }
    const atomic = this.#round > 0 && !options.source;
    const rng = this.#rng.fork();
    const sets = this.#data.filter((d) =>
      !(options.discardPriorSamples && this.#round > 0 && d.round === 0)
    );
    const dT = this.prior.dim;
    if (options.source) return await this.#trainStream(options, sets, vf, rng);
    const total = sets.reduce((a, d) => a + d.n, 0);
    if (total < 2) {
      throw new RangeError(
        `need at least 2 valid simulations to train, got ${total}`,
      );
    }
    const dX = this.#xDim;
    const perm = rng.permutation(total);
    const nVal = Math.max(1, Math.floor(vf * total));
    const tr = new SimulationBuffer(dT, dX, Infinity, total - nVal);
    const va = new SimulationBuffer(dT, dX, Infinity, nVal);
    const all = concatSets(sets, dT, dX);
    const lpAll = atomic
      ? this.prior.logProb(new Matrix(total, dT, all.theta))
      : null;
    for (let k = 0; k < total; k++) {
      const i = perm[k];
      const lp = lpAll ? lpAll[i] : 0;
      if (lpAll && !Number.isFinite(lp)) continue; // atoms need a finite prior density
      (k < nVal ? va : tr).push(
        all.theta.subarray(i * dT, (i + 1) * dT),
        all.x.subarray(i * dX, (i + 1) * dX),
        lp,
        null,
      );
    }
    await this.#ensureEstimator(tr, options.retrainFromScratch === true);
    const res = await this.#est!.train(tr, va, {
      ...options,
      loss: atomic ? "atomic" : "ml",
      seed: rng.nextU32(),
    });
    return this.#summary(res, tr.n + va.n, tr.n, va.n, atomic);
  }

  async #ensureEstimator(
    tr: SimulationBuffer,
    scratch: boolean,
  ): Promise<void> {
    if (this.#est && !scratch) return;
    this.#est?.dispose();
    const z = zScoreStats(
      tr.theta.subarray(0, tr.n * tr.dTheta),
      tr.x.subarray(0, tr.n * tr.dX),
      tr.n,
    );
    this.#est = await DensityEstimator.create(this.densityEstimator, z, {
      ...this.#estOptions,
      ...(this.#impute
        ? { imputeMissingX: true, missingIndicator: this.#indicator }
        : {}),
      embeddingNet: this.#embedding,
      seed: this.#seed,
    });
  }

  #summary(
    res: Awaited<ReturnType<DensityEstimator["train"]>>,
    nSim: number,
    nTrain: number,
    nVal: number,
    atomic: boolean,
  ): TrainingSummary {
    return {
      epochs: res.epochs,
      bestValidationLoss: res.bestValidationLoss,
      validationLosses: res.validationLosses,
      trainingTime: res.trainingTime,
      samplesPerSecond: res.samplesPerSecond,
      nSimulations: nSim,
      nExcluded: this.#nExcluded,
      nImputed: this.#nImputed,
      nTrain,
      nValidation: nVal,
      round: this.#round,
      loss: atomic ? "atomic" : "ml",
      converged: res.converged,
      steps: res.steps,
      skippedSteps: res.skippedSteps,
      backend: activeBackend(),
    };
  }

  async #trainStream(
    options: NPETrainOptions,
    sets: DataSet[],
    vf: number,
    rng: Rng,
  ): Promise<TrainingSummary> {
    if (this.#round > 0) {
      throw new RangeError(
        "streamed training supports prior simulations (round 1) only",
      );
    }
    const dT = this.prior.dim;
    const cap = options.maxBufferSize ?? Infinity;
    if (!(cap >= 2)) {
      throw new RangeError(`maxBufferSize must be >= 2, got ${cap}`);
    }
    const queue: SimulationChunk[] = [];
    let finished = false;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    startPump(options.source!, (c) => {
      queue.push(c);
      notify();
    }, (e) => {
      failure = e;
      finished = true;
      notify();
    }, () => {
      finished = true;
      notify();
    });
    let tr: SimulationBuffer | null = null;
    let va: SimulationBuffer | null = null;
    const resRng = rng.fork();
    let nSim = 0;
    const ingest = (t: Float32Array, x: Float32Array, n: number) => {
      const dX = this.#xDim;
      tr ??= new SimulationBuffer(
        dT,
        dX,
        Math.max(1, Math.floor(cap * (1 - vf))),
      );
      va ??= new SimulationBuffer(dT, dX, Math.max(1, Math.ceil(cap * vf)));
      for (let i = 0; i < n; i++) {
        const toVal = va.seen === 0 || (tr.seen > 0 && rng.random() < vf);
        (toVal ? va : tr).push(
          t.subarray(i * dT, (i + 1) * dT),
          x.subarray(i * dX, (i + 1) * dX),
          0,
          resRng,
        );
      }
      nSim += n;
    };
    for (const s of sets) {
      this.#checkXDim(s.x.length / s.n);
      ingest(s.theta, s.x, s.n);
    }
    const drain = async (block: boolean): Promise<boolean> => {
      while (block && queue.length === 0 && !finished) {
        await new Promise<void>((r) => (wake = r));
      }
      while (queue.length) {
        const c = queue.shift()!;
        const t = Matrix.of(c.theta);
        const xm = Matrix.of(c.x);
        if (t.rows !== xm.rows) {
          throw new TypeError(
            `stream chunk: theta has ${t.rows} rows but x has ${xm.rows}`,
          );
        }
        if (t.rows === 0) continue;
        if (t.cols !== dT) {
          throw new TypeError(
            `stream chunk: theta has ${t.cols} columns, prior dim ${dT}`,
          );
        }
        this.#checkXDim(xm.cols);
        const v = filterValid(t, xm, true, this.#impute);
        this.#nExcluded += v.excluded;
        this.#nImputed += v.imputed;
        ingest(v.theta, v.x, v.n);
      }
      if (failure) throw failure;
      return finished && queue.length === 0;
    };
    // wait for enough rows to z-score and to hold out a validation row
    let done = await drain(true);
    while (!done && ((tr as SimulationBuffer | null)?.n ?? 0) < 2) {
      done = await drain(true);
    }
    if (!tr || !va || (tr as SimulationBuffer).n < 1) {
      throw new RangeError(
        "the stream delivered fewer than 2 valid simulations",
      );
    }
    await this.#ensureEstimator(tr, options.retrainFromScratch === true);
    let first = true;
    const res = await this.#est!.train(tr, va, {
      ...options,
      loss: "ml",
      seed: rng.nextU32(),
      feed: async () => {
        if (first) {
          first = false;
          return done;
        }
        return await drain(false);
      },
    });
    const t = tr as SimulationBuffer;
    const v = va as SimulationBuffer;
    return this.#summary(res, nSim, t.n, v.n, false);
  }

  /**
   * Builds a posterior from (a copy of) the trained estimator.
   * @param options `{ prior }` to override the prior (default the NPE prior)
   * @returns a DirectPosterior (dispose it when done)
   * @throws {TypeError} if `train` has not been called
   */
  buildPosterior(options: { prior?: Prior | UserPrior } = {}): DirectPosterior {
    if (!this.#est) throw new TypeError("call train() before buildPosterior()");
    return new DirectPosterior(this.#est.clone(), options.prior ?? this.prior, {
      seed: this.#rng.nextU32(),
    });
  }

  /** Frees the estimator's tensors (posteriors built from it stay valid). */
  dispose(): void {
    this.#est?.dispose();
    this.#est = null;
  }
}

function filterValid(
  t: Matrix,
  x: Matrix,
  exclude: boolean,
  impute = false,
) {
  const keep: number[] = [];
  let imputed = 0;
  for (let i = 0; i < t.rows; i++) {
    let ok = true;
    for (const v of t.row(i)) if (!Number.isFinite(v)) ok = false;
    let xOk = true;
    for (const v of x.row(i)) if (!Number.isFinite(v)) xOk = false;
    if (impute && ok && !xOk) {
      imputed++; // missing features, imputed by the estimator
    } else if (!xOk) ok = false;
    if (ok || !exclude) keep.push(i);
  }
  // +-Inf features to impute are stored as NaN (the estimator's missing marker)
  const nanify = (a: Float32Array) => {
    if (impute) {
      for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j])) a[j] = NaN;
    }
    return a;
  };
  if (!exclude || keep.length === t.rows) {
    return {
      theta: t.data.slice(),
      x: nanify(x.data.slice()),
      n: t.rows,
      excluded: 0,
      imputed,
    };
  }
  const vt = new Float32Array(keep.length * t.cols);
  const vx = new Float32Array(keep.length * x.cols);
  keep.forEach((r, i) => {
    vt.set(t.row(r), i * t.cols);
    vx.set(x.row(r), i * x.cols);
  });
  return {
    theta: vt,
    x: nanify(vx),
    n: keep.length,
    excluded: t.rows - keep.length,
    imputed,
  };
}

function concatSets(sets: DataSet[], dT: number, dX: number) {
  const n = sets.reduce((a, d) => a + d.n, 0);
  const theta = new Float32Array(n * dT);
  const x = new Float32Array(n * dX);
  let o = 0;
  for (const s of sets) {
    theta.set(s.theta, o * dT);
    x.set(s.x, o * dX);
    o += s.n;
  }
  return { theta, x };
}

function startPump(
  source: SimulationSource,
  next: (c: SimulationChunk) => void,
  error: (e: unknown) => void,
  complete: () => void,
): void {
  const s = source as Record<PropertyKey, unknown>;
  if (
    typeof s[Symbol.asyncIterator] === "function" ||
    typeof s[Symbol.iterator] === "function"
  ) {
    (async () => {
      try {
        for await (const c of source as AsyncIterable<SimulationChunk>) next(c);
        complete();
      } catch (e) {
        error(e);
      }
    })();
  } else if (typeof s.subscribe === "function") {
    (source as { subscribe: (o: unknown) => unknown }).subscribe({
      next,
      error,
      complete,
    });
  } else {
    throw new TypeError(
      "source must be an async iterable, an iterable or an Observable of { theta, x } chunks",
    );
  }
}
