/**
 * Mixed density estimator of MNLE (Boelts, Lueckmann, Gao & Macke 2022,
 * "Flexible and efficient simulation-based inference for models of
 * decision-making", eLife 11:e77220; sbi's `MixedDensityEstimator` built by
 * `build_mnle`): a likelihood q(x | θ) for data rows
 * `x = [continuous columns..., discrete columns...]` factorised as
 *
 *     q(x | θ) = P(d | θ) · q(c | θ, d),
 *
 * where the discrete part `d` is modelled by a categorical net (a sigmoid MLP
 * on the z-scored θ with a softmax over the observed categories, sbi's
 * `CategoricalNet`; with several discrete columns, autoregressively: column j
 * gets its own net conditioned on θ and the one-hot codes of columns < j, so
 * P(d | θ) = Π_j P(d_j | θ, d_<j)), and the continuous part `c` by a
 * conditional flow (NSF by default, or MAF; the builders of `nsf.ts` and
 * `maf.ts`) on the z-scored, optionally log-transformed continuous columns
 * conditioned on the z-scored [θ, d]. With `log_transform_x` (sbi's MNLE
 * default) a positive column c (e.g. a reaction time) is modelled as log c and
 * the density gets the Jacobian −log c. Defaults follow sbi's `build_mnle`:
 * 2 spline transforms, 5 bins, tail bound 10, 50 hidden units, 2 hidden
 * layers. Training uses the shared sbi loop of `density_estimator.ts`.
 * Only typed arrays cross this API.
 * @module
 */
import * as tf from "./_deps.ts";
import { Rng } from "../../_internal/random.ts";
import type { RandomSource } from "../priors/prior.ts";
import { ensureBackend } from "./_backend.ts";
import type { SimulationBuffer } from "./simulation_buffer.ts";
import type { ConditionalModel } from "./_flow.ts";
import { Maf } from "./maf.ts";
import { dense, type Linear, Params } from "./_nn.ts";
import { Nsf } from "./nsf.ts";
import {
  type Adam,
  type EstimatorTrainOptions,
  type EstimatorTrainResult,
  gradientStep,
  trainLoop,
} from "./density_estimator.ts";

/** Hyper-parameters of {@linkcode MixedDensityEstimator} (defaults of sbi's `build_mnle`). */
export interface MixedEstimatorOptions {
  /** Flow of the continuous part: `"nsf"` (default, as sbi) or `"maf"`. */
  flow?: "nsf" | "maf";
  /** Hidden units of the flow and of the categorical net. Default 50. */
  hiddenFeatures?: number;
  /** Flow transforms. Default 2. */
  numTransforms?: number;
  /** Spline bins (nsf). Default 5. */
  numBins?: number;
  /** Spline tail bound in z-scored space (nsf). Default 10. */
  tailBound?: number;
  /** Residual blocks (nsf) or masked hidden layers (maf) per transform. Default 2. */
  numBlocks?: number;
  /** Hidden layers of the categorical net after its input layer. Default 2. */
  categoricalHiddenLayers?: number;
  /** Seed of the weight initialisation. Default 0. */
  seed?: number;
  /**
   * Category values of each discrete column. Default: the values seen in the
   * rows given to `create` (every category must occur there then).
   */
  categories?: number[][];
}

/** Serializable configuration of a {@linkcode MixedDensityEstimator} (all but the weights). */
export interface MixedEstimatorConfig {
  /** Parameter (context) dimension. */
  thetaDim: number;
  /** Data dimension (continuous + discrete columns). */
  xDim: number;
  /** Number of discrete columns (the last ones). */
  numDiscrete: number;
  /** Sorted category values of each discrete column. */
  categories: number[][];
  /** Per continuous column: modelled on the log scale. */
  logTransform: boolean[];
  /** Flow of the continuous part. */
  flow: "nsf" | "maf";
  /** Hidden units. */
  hiddenFeatures: number;
  /** Flow transforms. */
  numTransforms: number;
  /** Spline bins. */
  numBins: number;
  /** Spline tail bound. */
  tailBound: number;
  /** Blocks per transform. */
  numBlocks: number;
  /** Hidden layers of the categorical net. */
  categoricalHiddenLayers: number;
  /** Initialisation seed. */
  seed: number;
  /** z-scoring of θ, of the (log-)continuous columns and of the discrete values (flow context). */
  zscore: {
    thetaMean: number[];
    thetaStd: number[];
    contMean: number[];
    contStd: number[];
    discMean: number[];
    discStd: number[];
  };
  /** Weight shapes in storage order. */
  weightShapes: number[][];
}

interface CatNet {
  layers: Linear[];
  out: Linear;
}

interface Prepared {
  theta: Float32Array;
  cont: Float32Array;
  disc: Float32Array;
  onehot: Float32Array;
  jac: Float32Array;
  bad: Uint8Array;
}

function meanStd(a: Float32Array, n: number, d: number, j: number) {
  let m = 0;
  for (let i = 0; i < n; i++) m += a[i * d + j];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (a[i * d + j] - m) ** 2;
  let s = Math.sqrt(v / Math.max(1, n - 1));
  if (!(s > 1e-14)) s = 1; // sbi: constant columns are not scaled
  return [Math.fround(m), Math.fround(s)];
}

/** Mixed (discrete + continuous) conditional density estimator q(x | θ) of MNLE. */
export class MixedDensityEstimator {
  /** The configuration (dimensions, categories, z-scoring, hyper-parameters). */
  readonly config: MixedEstimatorConfig;
  #flow: ConditionalModel;
  #cat: Params;
  #nets: CatNet[] = [];
  #vars: tf.Variable[];
  #masks: (Float32Array | null)[];
  #offsets: number[] = [];
  #sumK: number;
  #adam: Adam | null = null;
  #disposed = false;

  private constructor(cfg: MixedEstimatorConfig) {
    this.config = cfg;
    const dt = cfg.thetaDim;
    const nd = cfg.numDiscrete;
    const dc = cfg.xDim - nd;
    const h = cfg.hiddenFeatures;
    this.#cat = new Params(cfg.seed + 15485863);
    let off = 0;
    for (let j = 0; j < nd; j++) {
      this.#offsets.push(off);
      const layers = [this.#cat.linear(`cat${j}.in`, dt + off, h)];
      for (let l = 0; l < cfg.categoricalHiddenLayers; l++) {
        layers.push(this.#cat.linear(`cat${j}.hidden${l}`, h, h));
      }
      const k = cfg.categories[j].length;
      this.#nets.push({ layers, out: this.#cat.linear(`cat${j}.out`, h, k) });
      off += k;
    }
    this.#sumK = off;
    this.#flow = cfg.flow === "nsf"
      ? new Nsf(dc, dt + nd, cfg, cfg.seed)
      : new Maf(dc, dt + nd, cfg, cfg.seed);
    this.#vars = [...this.#cat.vars, ...this.#flow.params.vars];
    this.#masks = [...this.#cat.masks, ...this.#flow.params.masks];
    cfg.weightShapes = this.#vars.map((v) => v.shape.slice());
  }

  /**
   * Builds an untrained estimator from training rows: the categories of each
   * discrete column and the z-scoring statistics come from these rows.
   * @param x data rows, `n * xDim`, continuous columns first, then `numDiscrete` discrete ones
   * @param theta parameter rows, `n * thetaDim`
   * @param n number of rows
   * @param numDiscrete number of discrete (last) columns, >= 1
   * @param logTransform per continuous column (or one flag for all): model log x. Default true (sbi's MNLE)
   * @param options hyper-parameters
   * @returns the estimator
   * @throws {RangeError} for bad sizes, non-integer discrete values, or
   *   non-positive values in a log-transformed column
   * @example
   * ```ts
   * import { MixedDensityEstimator } from "./mixed.ts";
   * // rows [reaction time, choice] and θ = [drift]
   * const x = new Float32Array([0.5, 0, 0.7, 1, 0.4, 1, 0.9, 0]);
   * const theta = new Float32Array([0.1, 0.5, 0.9, -0.3]);
   * const est = await MixedDensityEstimator.create(x, theta, 4, 1);
   * console.log(est.logProb(x, theta, 4).length); // 4
   * est.dispose();
   * ```
   */
  static async create(
    x: Float32Array,
    theta: Float32Array,
    n: number,
    numDiscrete: number,
    logTransform: boolean | boolean[] = true,
    options: MixedEstimatorOptions = {},
  ): Promise<MixedDensityEstimator> {
    await ensureBackend();
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`need at least one row, got n = ${n}`);
    }
    if (x.length % n !== 0 || theta.length % n !== 0) {
      throw new RangeError(
        `x (${x.length} values) and theta (${theta.length} values) are not ${n} rows`,
      );
    }
    const dx = x.length / n;
    const dt = theta.length / n;
    if (dt < 1) throw new RangeError("theta has no columns");
    if (!Number.isInteger(numDiscrete) || numDiscrete < 1) {
      throw new RangeError(
        `numDiscrete must be a positive integer, got ${numDiscrete}`,
      );
    }
    const dc = dx - numDiscrete;
    if (dc < 1) {
      throw new RangeError(
        `x has ${dx} columns of which ${numDiscrete} are discrete; MNLE needs at least one continuous column`,
      );
    }
    const logT = typeof logTransform === "boolean"
      ? new Array(dc).fill(logTransform)
      : logTransform.slice();
    if (logT.length !== dc) {
      throw new RangeError(
        `logTransform has ${logT.length} flags for ${dc} continuous columns`,
      );
    }
    const posInt = (name: string, v: number | undefined, def: number) => {
      const r = v ?? def;
      if (!Number.isInteger(r) || r < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${r}`);
      }
      return r;
    };
    const flow = options.flow ?? "nsf";
    if (flow !== "nsf" && flow !== "maf") {
      throw new RangeError(
        `unknown flow ${JSON.stringify(flow)}; use "nsf" or "maf"`,
      );
    }
    const tailBound = options.tailBound ?? 10;
    if (!(tailBound > 0)) {
      throw new RangeError(`tailBound must be > 0, got ${tailBound}`);
    }
    const numBins = posInt("numBins", options.numBins, 5);
    if (numBins < 2) {
      throw new RangeError(`numBins must be >= 2, got ${numBins}`);
    }
    // categories and validity of the discrete and log-transformed columns
    const given = options.categories;
    if (given && given.length !== numDiscrete) {
      throw new RangeError(
        `categories lists ${given.length} columns for ${numDiscrete} discrete columns`,
      );
    }
    const categories: number[][] = [];
    for (let j = 0; j < numDiscrete; j++) {
      const set = new Set<number>(given?.[j] ?? []);
      if (given && [...set].some((v) => !Number.isInteger(v))) {
        throw new RangeError(
          `categories of discrete column ${j} must be integers, got ${
            given[j]
          }`,
        );
      }
      for (let i = 0; i < n; i++) {
        const v = x[i * dx + dc + j];
        if (!Number.isInteger(v)) {
          throw new RangeError(
            `discrete x column ${
              dc + j
            } holds the non-integer value ${v} (row ${i})`,
          );
        }
        if (given && !set.has(v)) {
          throw new RangeError(
            `discrete x column ${
              dc + j
            } holds ${v} (row ${i}), not among the categories ${given[j]}`,
          );
        }
        set.add(v);
      }
      categories.push([...set].sort((a, b) => a - b));
    }
    const cont = new Float32Array(n * dc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dc; j++) {
        const v = x[i * dx + j];
        if (logT[j] && !(v > 0)) {
          throw new RangeError(
            `x column ${j} is log-transformed but holds ${v} (row ${i}); values must be > 0 (or disable the log transform)`,
          );
        }
        cont[i * dc + j] = logT[j] ? Math.log(v) : v;
      }
    }
    const disc = new Float32Array(n * numDiscrete);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < numDiscrete; j++) {
        disc[i * numDiscrete + j] = x[i * dx + dc + j];
      }
    }
    const stats = (a: Float32Array, d: number) => {
      const m: number[] = [], s: number[] = [];
      for (let j = 0; j < d; j++) {
        const [mj, sj] = meanStd(a, n, d, j);
        m.push(mj);
        s.push(sj);
      }
      return [m, s];
    };
    const [thetaMean, thetaStd] = stats(theta, dt);
    const [contMean, contStd] = stats(cont, dc);
    const [discMean, discStd] = stats(disc, numDiscrete);
    return new MixedDensityEstimator({
      thetaDim: dt,
      xDim: dx,
      numDiscrete,
      categories,
      logTransform: logT,
      flow,
      hiddenFeatures: posInt("hiddenFeatures", options.hiddenFeatures, 50),
      numTransforms: posInt("numTransforms", options.numTransforms, 2),
      numBins,
      tailBound,
      numBlocks: posInt("numBlocks", options.numBlocks, 2),
      categoricalHiddenLayers: posInt(
        "categoricalHiddenLayers",
        options.categoricalHiddenLayers,
        2,
      ),
      seed: options.seed ?? 0,
      zscore: { thetaMean, thetaStd, contMean, contStd, discMean, discStd },
      weightShapes: [],
    });
  }

  /**
   * Rebuilds an estimator from its configuration and weights.
   * @param config the configuration
   * @param weights weight arrays in `config.weightShapes` order
   * @returns the estimator
   * @throws {TypeError} if the weights do not match the configuration
   */
  static async fromConfig(
    config: MixedEstimatorConfig,
    weights: Float32Array[],
  ): Promise<MixedDensityEstimator> {
    await ensureBackend();
    const cfg: MixedEstimatorConfig = JSON.parse(JSON.stringify(config));
    const expected = JSON.stringify(cfg.weightShapes);
    const est = new MixedDensityEstimator(cfg);
    if (JSON.stringify(est.config.weightShapes) !== expected) {
      est.dispose();
      throw new TypeError(
        "weight shapes do not match the rebuilt mixed estimator",
      );
    }
    est.setWeights(weights);
    return est;
  }

  /**
   * A deep copy with the same configuration and weights (no optimizer state).
   * @returns the copy
   */
  clone(): MixedDensityEstimator {
    this.#check();
    const est = new MixedDensityEstimator(
      JSON.parse(JSON.stringify(this.config)),
    );
    est.setWeights(this.getWeights());
    return est;
  }

  /** Number of trainable parameters. */
  get numParameters(): number {
    return this.#vars.reduce((a, v) => a + v.size, 0);
  }

  /**
   * Copies of all trainable weights (order of `config.weightShapes`).
   * @returns the weights
   */
  getWeights(): Float32Array[] {
    this.#check();
    return this.#vars.map((v) => (v.dataSync() as Float32Array).slice());
  }

  /**
   * Overwrites all trainable weights.
   * @param ws weights in `config.weightShapes` order
   * @throws {TypeError} on a count or size mismatch
   */
  setWeights(ws: Float32Array[]): void {
    this.#check();
    if (ws.length !== this.#vars.length) {
      throw new TypeError(
        `expected ${this.#vars.length} weight arrays, got ${ws.length}`,
      );
    }
    ws.forEach((w, i) => {
      if (w.length !== this.#vars[i].size) {
        throw new TypeError(
          `weight ${i} has ${w.length} values, expected ${this.#vars[i].size}`,
        );
      }
      tf.tidy(() =>
        this.#vars[i].assign(tf.tensor(w, this.#vars[i].shape, "float32"))
      );
    });
  }

  #check(): void {
    if (this.#disposed) {
      throw new TypeError("this mixed density estimator has been disposed");
    }
  }

  /**
   * Converts rows to network inputs on the CPU: z-scored θ, z-scored
   * (log-)continuous columns, z-scored discrete values (flow context), one-hot
   * category codes, the Jacobian of the transforms, and a flag for rows with
   * zero density (unknown category, non-positive log-transformed value).
   */
  #prepare(
    x: Float32Array,
    theta: Float32Array,
    start: number,
    m: number,
    sharedTheta: boolean,
  ): Prepared {
    const c = this.config;
    const z = c.zscore;
    const dt = c.thetaDim, dx = c.xDim, nd = c.numDiscrete, dc = dx - nd;
    const out: Prepared = {
      theta: new Float32Array(m * dt),
      cont: new Float32Array(m * dc),
      disc: new Float32Array(m * nd),
      onehot: new Float32Array(m * this.#sumK),
      jac: new Float32Array(m),
      bad: new Uint8Array(m),
    };
    let jac0 = 0;
    for (let j = 0; j < dc; j++) jac0 -= Math.log(z.contStd[j]);
    for (let i = 0; i < m; i++) {
      const r = start + i;
      const tr = sharedTheta ? 0 : r;
      for (let j = 0; j < dt; j++) {
        out.theta[i * dt + j] = (theta[tr * dt + j] - z.thetaMean[j]) /
          z.thetaStd[j];
      }
      let jac = jac0;
      let bad = false;
      for (let j = 0; j < dc; j++) {
        let v = x[r * dx + j];
        if (c.logTransform[j]) {
          if (v > 0) {
            jac -= Math.log(v);
            v = Math.log(v);
          } else {
            bad = true;
            v = z.contMean[j];
          }
        }
        if (!Number.isFinite(v)) {
          bad = true;
          v = z.contMean[j];
        }
        out.cont[i * dc + j] = (v - z.contMean[j]) / z.contStd[j];
      }
      for (let j = 0; j < nd; j++) {
        const v = x[r * dx + dc + j];
        const k = c.categories[j].indexOf(v);
        if (k < 0) bad = true;
        else out.onehot[i * this.#sumK + this.#offsets[j] + k] = 1;
        out.disc[i * nd + j] = ((k < 0 ? z.discMean[j] : v) - z.discMean[j]) /
          z.discStd[j];
      }
      out.jac[i] = jac;
      out.bad[i] = bad ? 1 : 0;
    }
    return out;
  }

  /** Log-probabilities of each category of discrete column j, `[m, K_j]`. */
  #catLogits(j: number, th: tf.Tensor2D, oh: tf.Tensor2D): tf.Tensor2D {
    const m = th.shape[0];
    const net = this.#nets[j];
    const off = this.#offsets[j];
    const inp = off === 0
      ? th
      : tf.concat([th, tf.slice(oh, [0, 0], [m, off])], 1) as tf.Tensor2D;
    let h = inp;
    for (const l of net.layers) h = tf.sigmoid(dense(l, h)) as tf.Tensor2D;
    return tf.logSoftmax(dense(net.out, h)) as tf.Tensor2D;
  }

  /** log q(x | θ) of prepared rows as a tensor `[m]` (original data space). */
  #logProbTensor(p: Prepared, m: number): tf.Tensor1D {
    const c = this.config;
    const dt = c.thetaDim, nd = c.numDiscrete, dc = c.xDim - nd;
    const th = tf.tensor2d(p.theta, [m, dt]);
    const oh = tf.tensor2d(p.onehot, [m, this.#sumK]);
    let lp = tf.add(
      this.#flow.logProb(
        tf.tensor2d(p.cont, [m, dc]),
        tf.concat([th, tf.tensor2d(p.disc, [m, nd])], 1) as tf.Tensor2D,
      ),
      tf.tensor1d(p.jac),
    ) as tf.Tensor1D;
    for (let j = 0; j < nd; j++) {
      const k = c.categories[j].length;
      const sel = tf.slice(oh, [0, this.#offsets[j]], [m, k]);
      lp = tf.add(
        lp,
        tf.sum(tf.mul(this.#catLogits(j, th, oh), sel), 1),
      ) as tf.Tensor1D;
    }
    return lp;
  }

  /**
   * log q(x | θ) in the original data space (log-transform Jacobians included).
   * Rows with a category value not seen in training, or a non-positive value
   * in a log-transformed column, get `-Infinity`.
   * @param x data rows, `n * xDim` (continuous columns first, discrete last)
   * @param theta `thetaDim` values (one θ for all rows) or `n * thetaDim`
   * @param n number of rows
   * @param chunk rows per tfjs call. Default 10,000
   * @returns one log-density per row
   * @throws {TypeError} on shape mismatch
   */
  logProb(
    x: Float32Array,
    theta: Float32Array,
    n: number,
    chunk = 10_000,
  ): Float64Array {
    this.#check();
    const c = this.config;
    if (x.length !== n * c.xDim) {
      throw new TypeError(`x has ${x.length} values, expected ${n}x${c.xDim}`);
    }
    const shared = theta.length === c.thetaDim;
    if (!shared && theta.length !== n * c.thetaDim) {
      throw new TypeError(
        `theta has ${theta.length} values; expected ${c.thetaDim} (one row) or ${n}x${c.thetaDim}`,
      );
    }
    const out = new Float64Array(n);
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const p = this.#prepare(x, theta, s, m, shared);
      const v = tf.tidy(() => this.#logProbTensor(p, m));
      const a = v.dataSync();
      v.dispose();
      for (let i = 0; i < m; i++) {
        out[s + i] = p.bad[i] || a[i] !== a[i] ? -Infinity : a[i];
      }
    }
    return out;
  }

  /**
   * Draws data rows: the discrete columns autoregressively from the
   * categorical nets, then the continuous columns from the flow.
   * @param n number of rows
   * @param theta `thetaDim` values (n draws at one θ) or `n * thetaDim` (one draw each)
   * @param rng seeded generator
   * @returns `n * xDim` values in the original data space
   * @throws {TypeError} on shape mismatch
   */
  sample(n: number, theta: Float32Array, rng: RandomSource): Float32Array {
    this.#check();
    const c = this.config;
    const z = c.zscore;
    const dt = c.thetaDim, dx = c.xDim, nd = c.numDiscrete, dc = dx - nd;
    const shared = theta.length === dt;
    if (!shared && theta.length !== n * dt) {
      throw new TypeError(
        `theta has ${theta.length} values; expected ${dt} (one row) or ${n}x${dt}`,
      );
    }
    const r = rng instanceof Rng
      ? rng
      : new Rng(Math.floor(rng.random() * 2 ** 32));
    const out = new Float32Array(n * dx);
    const thz = new Float32Array(n * dt);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dt; j++) {
        thz[i * dt + j] = ((shared ? theta[j] : theta[i * dt + j]) -
          z.thetaMean[j]) / z.thetaStd[j];
      }
    }
    const onehot = new Float32Array(n * this.#sumK);
    const discz = new Float32Array(n * nd);
    for (let j = 0; j < nd; j++) {
      const k = c.categories[j].length;
      const lp = tf.tidy(() =>
        this.#catLogits(
          j,
          tf.tensor2d(thz, [n, dt]),
          tf.tensor2d(onehot, [n, this.#sumK]),
        )
      );
      const a = lp.dataSync();
      lp.dispose();
      for (let i = 0; i < n; i++) {
        let q = r.random();
        let pick = k - 1;
        for (let t = 0; t < k; t++) {
          q -= Math.exp(a[i * k + t]);
          if (q < 0) {
            pick = t;
            break;
          }
        }
        const v = c.categories[j][pick];
        onehot[i * this.#sumK + this.#offsets[j] + pick] = 1;
        discz[i * nd + j] = (v - z.discMean[j]) / z.discStd[j];
        out[i * dx + dc + j] = v;
      }
    }
    const ctx = tf.tidy(() =>
      tf.concat([tf.tensor2d(thz, [n, dt]), tf.tensor2d(discz, [n, nd])], 1)
    ) as tf.Tensor2D;
    const u = this.#flow.sample(ctx, r);
    const a = u.dataSync();
    tf.dispose([ctx, u]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dc; j++) {
        const v = a[i * dc + j] * z.contStd[j] + z.contMean[j];
        out[i * dx + j] = c.logTransform[j] ? Math.exp(v) : v;
      }
    }
    return out;
  }

  /**
   * Trains by maximum likelihood with sbi's loop (Adam, validation early
   * stopping, best weights restored, gradient clipping; see
   * {@linkcode EstimatorTrainOptions}). The buffers' `theta` rows are the data
   * x (modelled variable) and their `x` rows the parameters θ (context), as in NLE.
   * @param train training rows
   * @param val validation rows
   * @param options training options (`loss` must be `"ml"`)
   * @returns a summary; losses are mean negative log-densities in data space
   * @throws {RangeError} on bad options, empty buffers or invalid rows
   */
  async train(
    train: SimulationBuffer,
    val: SimulationBuffer,
    options: EstimatorTrainOptions = {},
  ): Promise<EstimatorTrainResult> {
    this.#check();
    if ((options.loss ?? "ml") !== "ml") {
      throw new RangeError(
        `the mixed estimator trains by maximum likelihood only, got loss ${
          JSON.stringify(options.loss)
        }`,
      );
    }
    const c = this.config;
    if (train.dTheta !== c.xDim || train.dX !== c.thetaDim) {
      throw new TypeError(
        `buffer rows are ${train.dTheta}+${train.dX} values, expected x ${c.xDim} + theta ${c.thetaDim}`,
      );
    }
    const prepare = (
      x: Float32Array,
      t: Float32Array,
      s: number,
      m: number,
    ) => {
      const p = this.#prepare(x, t, s, m, false);
      const bad = p.bad.indexOf(1);
      if (bad >= 0) {
        throw new RangeError(
          `training row with zero density: x = [${
            Array.from(x.subarray((s + bad) * c.xDim, (s + bad + 1) * c.xDim))
          }] (unknown category or non-positive log-transformed value)`,
        );
      }
      return p;
    };
    // deno-lint-ignore no-this-alias
    const self = this;
    return await trainLoop(
      {
        label: "training mnle",
        get adam() {
          return self.#adam;
        },
        set adam(a: Adam | null) {
          self.#adam = a;
        },
        masks: this.#masks,
        getWeights: () => this.getWeights(),
        setWeights: (ws) => this.setWeights(ws),
        minBatch: 1,
        lossOffset: 0,
        step: (opt, x, t, _lp, m, clip) => {
          const p = prepare(x, t, 0, m);
          return gradientStep(
            opt,
            this.#vars,
            () => tf.neg(tf.mean(this.#logProbTensor(p, m))) as tf.Scalar,
            clip,
          );
        },
        validationLoss: (v) => {
          let sum = 0;
          for (let s = 0; s < v.n; s += 5000) {
            const m = Math.min(5000, v.n - s);
            const p = prepare(v.theta, v.x, s, m);
            const t = tf.tidy(() => tf.sum(this.#logProbTensor(p, m)));
            sum -= t.dataSync()[0];
            t.dispose();
          }
          return v.n ? sum / v.n : Infinity;
        },
      },
      train,
      val,
      options,
    );
  }

  /** Frees all tensors. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#adam = null;
    this.#cat.dispose();
    this.#flow.params.dispose();
  }
}
