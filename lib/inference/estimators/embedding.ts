/**
 * Built-in embedding nets for x, trained jointly with the density estimator:
 * a 1-D CNN (sbi's `CNNEmbedding`), the YuleNet of Rodrigues & Gramfort (2020)
 * as used in the brian2modelfitting SBI tutorial, a many-to-one GRU (Cho et al.
 * 2014; used for time series in Lueckmann et al. 2017) and a permutation
 * invariant (DeepSets, Zaheer et al. 2017) net for iid trials (sbi's
 * `PermutationInvariantEmbedding`). Everything is written with tfjs ops whose
 * gradients run on the wasm backend: the wasm backend has no
 * `Conv2DBackpropFilter` kernel, so 1-D convolutions carry a custom gradient
 * (filter gradient as a forward convolution, input gradient as a transposed
 * convolution), and the GRU cell is written out with matMul, sigmoid and tanh.
 *
 * Time series are given flattened channel-major, as in PyTorch's
 * `x.view(batch, channels, length)`: `x[c * length + t]`.
 * @module
 */
import * as tf from "./_deps.ts";
import { dense, type Linear, mlp, type Params } from "./_nn.ts";

/** Options of the fully-connected embedding net (also usable as a trial net). */
export interface MlpEmbeddingSpec {
  /** Always `"mlp"`. */
  type: "mlp";
  /** Hidden units per layer. Default 50. */
  hiddenFeatures?: number;
  /** Number of hidden layers. Default 2. */
  numLayers?: number;
  /** Output (embedding) dimension. Default 20. */
  outputDim?: number;
}

/**
 * Options of the 1-D convolutional embedding (defaults of sbi's `CNNEmbedding`:
 * conv(kernel 5, padding 1) + ReLU + max-pool(2) per layer with 6 and 12
 * channels, then a fully connected net of 2 layers with 50 units and 20 outputs,
 * ReLU after every layer including the last).
 */
export interface CnnEmbeddingSpec {
  /** Always `"cnn"`. */
  type: "cnn";
  /** Channels of the input (x is `inChannels` traces of equal length, channel-major). Default 1. */
  inChannels?: number;
  /** Output channels of each conv layer (its length is the number of conv layers). Default [6, 12]. */
  outChannels?: number[];
  /** Kernel size of every conv layer. Default 5. */
  kernelSize?: number;
  /** Zero padding on both sides of every conv layer. Default 1. */
  padding?: number;
  /** Pooling window (= stride) after every conv layer. Default 2. */
  poolSize?: number;
  /** `"max"` (default, as sbi) or `"avg"` pooling. */
  pool?: "max" | "avg";
  /** Linear layers after the convolutions (sbi's `num_linear_layers`, at least 1). Default 2. */
  numLinearLayers?: number;
  /** Hidden units of the linear layers. Default 50. */
  numLinearUnits?: number;
  /** Output dimension. Default 20. */
  outputDim?: number;
}

/**
 * The YuleNet (Rodrigues & Gramfort 2020, "Learning summary features of time
 * series for likelihood free inference", arXiv:2012.02807) in the layout of the
 * brian2modelfitting SBI tutorial (`docs_sphinx/introduction/tutorial_sbi.rst`,
 * section "Custom embedding network"): conv1d(1→8, kernel 64, stride 1,
 * padding 32) + ReLU + avg-pool(16); conv1d(8→8, kernel 64, padding 32) + ReLU +
 * avg-pool(`(L // 16) // 16`, at least 1); flatten; linear → `outputDim` + ReLU.
 * The tutorial's dropout(0.5) before the linear layer is left out (the
 * estimators here have no train/eval mode). Needs x of length >= 64.
 */
export interface YuleNetEmbeddingSpec {
  /** Always `"yulenet"`. */
  type: "yulenet";
  /** Output dimension (the tutorial's `out_features`). Default 10. */
  outputDim?: number;
}

/**
 * A many-to-one GRU (PyTorch gate convention) over the time axis: the last
 * hidden state goes through a linear layer to `outputDim`.
 */
export interface GruEmbeddingSpec {
  /** Always `"gru"`. */
  type: "gru";
  /** Features per time step (x is `inputSize` traces, channel-major). Default 1. */
  inputSize?: number;
  /** Hidden units. Default 32. */
  hiddenSize?: number;
  /** Output dimension. Default 20. */
  outputDim?: number;
}

/** A net that can embed a single trial of a permutation-invariant embedding. */
export type TrialNetSpec =
  | "mlp"
  | MlpEmbeddingSpec
  | CnnEmbeddingSpec
  | YuleNetEmbeddingSpec
  | GruEmbeddingSpec;

/**
 * Permutation-invariant embedding for iid trials (DeepSets, Zaheer et al. 2017;
 * sbi's `PermutationInvariantEmbedding`): x holds `nTrials` trials of
 * `xDim / nTrials` values each (trial-major); a trial net embeds each trial, the
 * trial embeddings are averaged (or summed) and a fully connected net (ReLU after
 * every layer, as sbi's `FCEmbedding`) maps the result to `outputDim`. The
 * z-scoring of x is pooled over trials so that the whole net stays exactly
 * invariant to trial order.
 */
export interface PermutationInvariantEmbeddingSpec {
  /** Always `"permutationInvariant"`. */
  type: "permutationInvariant";
  /** Number of iid trials in one x. */
  nTrials: number;
  /** Net applied to every trial. Default `"mlp"` (50 hidden units, 2 layers, 20 outputs). */
  trialNet?: TrialNetSpec;
  /** `"mean"` (default) or `"sum"` (sbi's default) over trials. */
  aggregation?: "mean" | "sum";
  /** Hidden units of the fully connected net. Default 100 (sbi). */
  numHiddens?: number;
  /** Linear layers of the fully connected net (at least 1). Default 2 (sbi). */
  numLayers?: number;
  /** Output dimension. Default 20. */
  outputDim?: number;
}

/** The built-in embedding specifications handled by this module. */
export type BuiltinEmbeddingSpec =
  | CnnEmbeddingSpec
  | YuleNetEmbeddingSpec
  | GruEmbeddingSpec
  | PermutationInvariantEmbeddingSpec;

/** Resolved (serialisable) MLP embedding. */
export interface MlpEmbeddingConfig {
  /** Kind. */
  type: "mlp";
  /** Hidden units per layer. */
  hiddenFeatures: number;
  /** Hidden layers. */
  numLayers: number;
  /** Output dimension. */
  outputDim: number;
}

/** Resolved (serialisable) CNN embedding. */
export interface CnnEmbeddingConfig {
  /** Kind. */
  type: "cnn";
  /** Input length (time steps). */
  inputLength: number;
  /** Input channels. */
  inChannels: number;
  /** Output channels per conv layer. */
  outChannels: number[];
  /** Kernel size. */
  kernelSize: number;
  /** Zero padding per side. */
  padding: number;
  /** Pooling window. */
  poolSize: number;
  /** Pooling kind. */
  pool: "max" | "avg";
  /** Linear layers. */
  numLinearLayers: number;
  /** Linear units. */
  numLinearUnits: number;
  /** Output dimension. */
  outputDim: number;
}

/** Resolved (serialisable) YuleNet. */
export interface YuleNetEmbeddingConfig {
  /** Kind. */
  type: "yulenet";
  /** Input length (time steps). */
  inputLength: number;
  /** Output dimension. */
  outputDim: number;
}

/** Resolved (serialisable) GRU embedding. */
export interface GruEmbeddingConfig {
  /** Kind. */
  type: "gru";
  /** Features per time step. */
  inputSize: number;
  /** Time steps. */
  seqLength: number;
  /** Hidden units. */
  hiddenSize: number;
  /** Output dimension. */
  outputDim: number;
}

/** Resolved trial net. */
export type TrialNetConfig =
  | MlpEmbeddingConfig
  | CnnEmbeddingConfig
  | YuleNetEmbeddingConfig
  | GruEmbeddingConfig;

/** Resolved (serialisable) permutation-invariant embedding. */
export interface PermutationInvariantEmbeddingConfig {
  /** Kind. */
  type: "permutationInvariant";
  /** Trials per x. */
  nTrials: number;
  /** Values per trial. */
  trialDim: number;
  /** The per-trial net. */
  trialNet: TrialNetConfig;
  /** Pooling over trials. */
  aggregation: "mean" | "sum";
  /** Hidden units of the fully connected net. */
  numHiddens: number;
  /** Linear layers of the fully connected net. */
  numLayers: number;
  /** Output dimension. */
  outputDim: number;
}

/** Resolved configurations of the nets built by {@linkcode EmbeddingNet}. */
export type BuiltinEmbeddingConfig =
  | CnnEmbeddingConfig
  | YuleNetEmbeddingConfig
  | GruEmbeddingConfig
  | PermutationInvariantEmbeddingConfig;

const BUILTIN = ["cnn", "yulenet", "gru", "permutationInvariant"];

/**
 * Whether `spec` is a specification handled by this module.
 * @param spec any embedding specification
 * @returns true for `{ type: "cnn" | "yulenet" | "gru" | "permutationInvariant" }`
 */
export function isBuiltinEmbeddingSpec(
  spec: unknown,
): spec is BuiltinEmbeddingSpec {
  return typeof spec === "object" && spec !== null &&
    BUILTIN.includes((spec as { type?: string }).type as string);
}

function posInt(name: string, v: unknown, def: number): number {
  const r = v ?? def;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 1) {
    throw new RangeError(
      `embedding ${name} must be a positive integer, got ${JSON.stringify(r)}`,
    );
  }
  return r;
}

function split(what: string, dim: number, parts: number, name: string) {
  if (dim % parts !== 0) {
    throw new RangeError(
      `${what}: x dimension ${dim} is not divisible by ${name} ${parts}`,
    );
  }
  return dim / parts;
}

/** Length after a valid conv of `k` with padding `p` and a pool of `s` (floor, as PyTorch). */
function convPoolLength(len: number, k: number, p: number, s: number): number {
  return Math.floor((len + 2 * p - k + 1) / s);
}

/** Output length of the YuleNet's second pooling window. */
function yulePool2(len: number): number {
  return Math.max(1, Math.floor(Math.floor(len / 16) / 16));
}

function checkCnnLengths(cfg: CnnEmbeddingConfig): void {
  let len = cfg.inputLength;
  cfg.outChannels.forEach((_, i) => {
    const next = convPoolLength(len, cfg.kernelSize, cfg.padding, cfg.poolSize);
    if (next < 1) {
      throw new RangeError(
        `cnn embedding: conv layer ${
          i + 1
        } gets length ${len}, too short for kernel ${cfg.kernelSize} (padding ${cfg.padding}) and pool ${cfg.poolSize}; use fewer layers or smaller kernels`,
      );
    }
    len = next;
  });
}

/**
 * Validates a built-in embedding specification and fills in its defaults.
 * @param spec the specification
 * @param inputDim dimension of the x rows it will embed
 * @returns the serialisable configuration
 * @throws {TypeError} for an unknown type or a bad trial net
 * @throws {RangeError} for bad sizes (with the offending value)
 */
export function resolveEmbedding(
  spec: BuiltinEmbeddingSpec,
  inputDim: number,
): BuiltinEmbeddingConfig {
  switch (spec.type) {
    case "cnn":
    case "yulenet":
    case "gru":
      return resolveTrialNet(spec, inputDim) as BuiltinEmbeddingConfig;
    case "permutationInvariant": {
      const nTrials = posInt("nTrials", spec.nTrials, NaN);
      const trialDim = split(
        "permutationInvariant embedding",
        inputDim,
        nTrials,
        "nTrials",
      );
      const agg = spec.aggregation ?? "mean";
      if (agg !== "mean" && agg !== "sum") {
        throw new RangeError(
          `permutationInvariant aggregation must be "mean" or "sum", got ${
            JSON.stringify(agg)
          }`,
        );
      }
      const tn = spec.trialNet ?? "mlp";
      if (
        typeof tn === "object" && tn !== null &&
        (tn as { type?: string }).type === "permutationInvariant"
      ) {
        throw new TypeError(
          "permutationInvariant trialNet cannot itself be permutationInvariant",
        );
      }
      return {
        type: "permutationInvariant",
        nTrials,
        trialDim,
        trialNet: resolveTrialNet(tn, trialDim),
        aggregation: agg,
        numHiddens: posInt("numHiddens", spec.numHiddens, 100),
        numLayers: posInt("numLayers", spec.numLayers, 2),
        outputDim: posInt("outputDim", spec.outputDim, 20),
      };
    }
    default:
      throw new TypeError(
        `unknown embedding net type ${
          JSON.stringify((spec as { type?: unknown }).type)
        }; use "mlp", "cnn", "yulenet", "gru" or "permutationInvariant"`,
      );
  }
}

function resolveTrialNet(spec: TrialNetSpec, inputDim: number): TrialNetConfig {
  const s = spec === "mlp" ? { type: "mlp" as const } : spec;
  if (typeof s !== "object" || s === null) {
    throw new TypeError(
      `trial net must be "mlp" or { type: "mlp" | "cnn" | "yulenet" | "gru", ... }, got ${
        JSON.stringify(spec)
      }`,
    );
  }
  switch (s.type) {
    case "mlp":
      return {
        type: "mlp",
        hiddenFeatures: posInt("hiddenFeatures", s.hiddenFeatures, 50),
        numLayers: posInt("numLayers", s.numLayers, 2),
        outputDim: posInt("outputDim", s.outputDim, 20),
      };
    case "cnn": {
      const inChannels = posInt("inChannels", s.inChannels, 1);
      const outChannels = s.outChannels ?? [6, 12];
      if (!Array.isArray(outChannels) || outChannels.length < 1) {
        throw new RangeError(
          `cnn outChannels must be a non-empty array, got ${
            JSON.stringify(outChannels)
          }`,
        );
      }
      outChannels.forEach((c, i) => posInt(`outChannels[${i}]`, c, NaN));
      const padding = s.padding ?? 1;
      if (!Number.isInteger(padding) || padding < 0) {
        throw new RangeError(
          `cnn padding must be a non-negative integer, got ${padding}`,
        );
      }
      const pool = s.pool ?? "max";
      if (pool !== "max" && pool !== "avg") {
        throw new RangeError(
          `cnn pool must be "max" or "avg", got ${JSON.stringify(pool)}`,
        );
      }
      const cfg: CnnEmbeddingConfig = {
        type: "cnn",
        inputLength: split("cnn embedding", inputDim, inChannels, "inChannels"),
        inChannels,
        outChannels: outChannels.slice(),
        kernelSize: posInt("kernelSize", s.kernelSize, 5),
        padding,
        poolSize: posInt("poolSize", s.poolSize, 2),
        pool,
        numLinearLayers: posInt("numLinearLayers", s.numLinearLayers, 2),
        numLinearUnits: posInt("numLinearUnits", s.numLinearUnits, 50),
        outputDim: posInt("outputDim", s.outputDim, 20),
      };
      checkCnnLengths(cfg);
      return cfg;
    }
    case "yulenet": {
      if (inputDim < 64) {
        throw new RangeError(
          `yulenet embedding needs x of length >= 64 (kernel 64), got ${inputDim}`,
        );
      }
      const len1 = convPoolLength(inputDim, 64, 32, 16);
      const len2 = convPoolLength(len1, 64, 32, yulePool2(inputDim));
      if (len2 < 1) {
        throw new RangeError(
          `yulenet embedding: x of length ${inputDim} pools to length ${len2}`,
        );
      }
      return {
        type: "yulenet",
        inputLength: inputDim,
        outputDim: posInt("outputDim", s.outputDim, 10),
      };
    }
    case "gru": {
      const inputSize = posInt("inputSize", s.inputSize, 1);
      return {
        type: "gru",
        inputSize,
        seqLength: split("gru embedding", inputDim, inputSize, "inputSize"),
        hiddenSize: posInt("hiddenSize", s.hiddenSize, 32),
        outputDim: posInt("outputDim", s.outputDim, 20),
      };
    }
    default:
      throw new TypeError(
        `unknown embedding net type ${
          JSON.stringify((s as { type?: unknown }).type)
        }; use "mlp", "cnn", "yulenet", "gru" or "permutationInvariant"`,
      );
  }
}

/**
 * Pools per-feature z-score statistics over the trials of a permutation-invariant
 * embedding (same mean and std for a feature in every trial; pooled variance =
 * mean within-trial variance + variance of the trial means).
 * @param mean per-feature means, `nTrials * trialDim`
 * @param std per-feature standard deviations
 * @param nTrials number of trials
 * @returns pooled means and standard deviations (same lengths)
 */
export function poolTrialStats(
  mean: number[],
  std: number[],
  nTrials: number,
): { mean: number[]; std: number[] } {
  const d = mean.length / nTrials;
  const pm = new Array(mean.length);
  const ps = new Array(mean.length);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (let t = 0; t < nTrials; t++) m += mean[t * d + j];
    m /= nTrials;
    let v = 0;
    for (let t = 0; t < nTrials; t++) {
      v += std[t * d + j] ** 2 + (mean[t * d + j] - m) ** 2;
    }
    let s = Math.sqrt(v / nTrials);
    if (!(s > 1e-14)) s = 1;
    for (let t = 0; t < nTrials; t++) {
      pm[t * d + j] = Math.fround(m);
      ps[t * d + j] = Math.fround(s);
    }
  }
  return { mean: pm, std: ps };
}

/**
 * 1-D valid convolution, stride 1, `x [B, L, Cin]`, `w [K, Cin, Cout]`, with a
 * gradient that avoids the `Conv2DBackpropFilter` kernel missing on the tfjs
 * wasm backend: `dW[k,c,o] = sum_{b,p} x[b,p+k,c] dy[b,p,o]` is itself a forward
 * convolution of x (batch = Cin, channels = B) with dy as the filter, and
 * `dx` is the transposed convolution of dy with w (`Conv2DBackpropInput`).
 * Exported for tests.
 * @param x input `[B, L, Cin]`
 * @param w filter `[K, Cin, Cout]`
 * @returns `[B, L - K + 1, Cout]`
 */
export function conv1dCustom(x: tf.Tensor3D, w: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad(
    (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, wi, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      save([xi, wi]);
      return {
        value: tf.conv1d(xi as tf.Tensor3D, wi as tf.Tensor3D, 1, "valid"),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const [xs, ws] = saved;
          const g = dy as tf.Tensor3D;
          const [b, len, cin] = xs.shape;
          const [k, , cout] = ws.shape;
          const p = g.shape[1];
          const dx = tf.reshape(
            tf.conv2dTranspose(
              tf.reshape(g, [b, 1, p, cout]) as tf.Tensor4D,
              tf.reshape(ws, [1, k, cin, cout]) as tf.Tensor4D,
              [b, 1, len, cin],
              1,
              "valid",
            ),
            [b, len, cin],
          );
          const xt = tf.reshape(tf.transpose(xs, [2, 1, 0]), [cin, 1, len, b]);
          const ft = tf.reshape(tf.transpose(g, [1, 0, 2]), [1, p, b, cout]);
          const dw = tf.transpose(
            tf.reshape(
              tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, 1, "valid"),
              [cin, k, cout],
            ),
            [1, 0, 2],
          );
          return [dx, dw];
        },
      };
    },
  );
  return f(x, w) as tf.Tensor3D;
}

interface ConvLayer {
  w: tf.Variable;
  b: tf.Variable;
  padding: number;
  poolSize: number;
  pool: "max" | "avg";
}

function convLayer(
  params: Params,
  name: string,
  cin: number,
  cout: number,
  k: number,
  padding: number,
  poolSize: number,
  pool: "max" | "avg",
): ConvLayer {
  // PyTorch's default Conv1d initialisation: U(-1/sqrt(Cin K), 1/sqrt(Cin K))
  const a = 1 / Math.sqrt(cin * k);
  const w = params.add(
    `${name}.w`,
    [k, cin, cout],
    params.uniform(k * cin * cout, a),
  );
  const b = params.add(`${name}.b`, [cout], params.uniform(cout, a));
  return { w, b, padding, poolSize, pool };
}

/** conv + bias + ReLU + pooling on `[B, L, C]`. */
function applyConv(l: ConvLayer, x: tf.Tensor3D): tf.Tensor3D {
  const xp = l.padding > 0
    ? tf.pad(x, [[0, 0], [l.padding, l.padding], [0, 0]]) as tf.Tensor3D
    : x;
  const h = tf.relu(
    tf.add(conv1dCustom(xp, l.w as tf.Tensor3D), l.b),
  ) as tf.Tensor3D;
  if (l.poolSize === 1) return h;
  const [b, len, c] = h.shape;
  const h4 = tf.reshape(h, [b, 1, len, c]) as tf.Tensor4D;
  const win: [number, number] = [1, l.poolSize];
  const pooled = l.pool === "max"
    ? tf.maxPool(h4, win, win, "valid")
    : tf.avgPool(h4, win, win, "valid");
  return tf.reshape(pooled, [b, pooled.shape[2], c]) as tf.Tensor3D;
}

/** Channel-major rows `[B, C*L]` to `[B, L, C]`. */
function toSequence(x: tf.Tensor2D, c: number, len: number): tf.Tensor3D {
  const b = x.shape[0];
  if (c === 1) return tf.reshape(x, [b, len, 1]) as tf.Tensor3D;
  return tf.transpose(tf.reshape(x, [b, c, len]), [0, 2, 1]) as tf.Tensor3D;
}

function fcLayers(
  params: Params,
  name: string,
  nIn: number,
  numLayers: number,
  hidden: number,
  out: number,
): Linear[] {
  const layers: Linear[] = [];
  let inp = nIn;
  for (let l = 0; l < numLayers - 1; l++) {
    layers.push(params.linear(`${name}${l}`, inp, hidden));
    inp = hidden;
  }
  layers.push(params.linear(`${name}.out`, inp, out));
  return layers;
}

type Net = { f: (x: tf.Tensor2D) => tf.Tensor2D; outputDim: number };

function buildTrialNet(
  cfg: TrialNetConfig,
  inputDim: number,
  params: Params,
  name: string,
): Net {
  switch (cfg.type) {
    case "mlp": {
      // same layout as the estimator's built-in "mlp" embedding
      const layers: Linear[] = [];
      let inp = inputDim;
      for (let l = 0; l < cfg.numLayers; l++) {
        layers.push(params.linear(`${name}${l}`, inp, cfg.hiddenFeatures));
        inp = cfg.hiddenFeatures;
      }
      layers.push(params.linear(`${name}.out`, inp, cfg.outputDim));
      return { f: (x) => mlp(layers, x), outputDim: cfg.outputDim };
    }
    case "cnn": {
      const convs: ConvLayer[] = [];
      let cin = cfg.inChannels;
      let len = cfg.inputLength;
      cfg.outChannels.forEach((cout, i) => {
        convs.push(
          convLayer(
            params,
            `${name}.conv${i}`,
            cin,
            cout,
            cfg.kernelSize,
            cfg.padding,
            cfg.poolSize,
            cfg.pool,
          ),
        );
        len = convPoolLength(len, cfg.kernelSize, cfg.padding, cfg.poolSize);
        cin = cout;
      });
      const flat = len * cin;
      const head = fcLayers(
        params,
        `${name}.fc`,
        flat,
        cfg.numLinearLayers,
        cfg.numLinearUnits,
        cfg.outputDim,
      );
      return {
        f: (x) => {
          let h = toSequence(x, cfg.inChannels, cfg.inputLength);
          for (const c of convs) h = applyConv(c, h);
          // flatten channel-major like PyTorch's view(batch, -1) of [B, C, L]
          const hf = tf.reshape(
            tf.transpose(h, [0, 2, 1]),
            [x.shape[0], flat],
          ) as tf.Tensor2D;
          return mlp(head, hf, true);
        },
        outputDim: cfg.outputDim,
      };
    }
    case "yulenet": {
      const len0 = cfg.inputLength;
      const c1 = convLayer(params, `${name}.conv1`, 1, 8, 64, 32, 16, "avg");
      const len1 = convPoolLength(len0, 64, 32, 16);
      const p2 = yulePool2(len0);
      const c2 = convLayer(params, `${name}.conv2`, 8, 8, 64, 32, p2, "avg");
      const len2 = convPoolLength(len1, 64, 32, p2);
      if (len1 < 1 || len2 < 1) {
        throw new RangeError(
          `yulenet: x of length ${len0} is too short (pooled lengths ${len1}, ${len2})`,
        );
      }
      const flat = 8 * len2;
      const out = params.linear(`${name}.linear`, flat, cfg.outputDim);
      return {
        f: (x) => {
          let h = toSequence(x, 1, len0);
          h = applyConv(c1, h);
          h = applyConv(c2, h);
          const hf = tf.reshape(
            tf.transpose(h, [0, 2, 1]),
            [x.shape[0], flat],
          ) as tf.Tensor2D;
          return tf.relu(dense(out, hf)) as tf.Tensor2D;
        },
        outputDim: cfg.outputDim,
      };
    }
    case "gru": {
      const H = cfg.hiddenSize;
      const I = cfg.inputSize;
      const T = cfg.seqLength;
      // PyTorch GRU initialisation U(-1/sqrt(H), 1/sqrt(H)); gates ordered r, z, n
      const a = 1 / Math.sqrt(H);
      const wx = params.linear(`${name}.ih`, I, 3 * H, a);
      const whrz = params.linear(`${name}.hh_rz`, H, 2 * H, a);
      const whn = params.linear(`${name}.hh_n`, H, H, a);
      const out = params.linear(`${name}.out`, H, cfg.outputDim);
      return {
        f: (x) => {
          const b = x.shape[0];
          const seq = toSequence(x, I, T);
          // input projections of all time steps in one matMul, split once
          const xp = tf.reshape(
            dense(wx, tf.reshape(seq, [b * T, I]) as tf.Tensor2D),
            [b, T, 3 * H],
          );
          const [xrz, xn] = tf.split(xp, [2 * H, H], 2);
          const rzSteps = tf.unstack(xrz, 1);
          const nSteps = tf.unstack(xn, 1);
          let h: tf.Tensor2D = tf.zeros([b, H]);
          for (let t = 0; t < T; t++) {
            // [r, z] = s(W_i[r,z] x + W_h[r,z] h + b), n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
            // h' = (1 - z) n + z h  (PyTorch's GRU equations)
            const rz = tf.sigmoid(tf.add(rzSteps[t], dense(whrz, h)));
            const [r, z] = tf.split(rz, 2, 1);
            const n = tf.tanh(tf.add(nSteps[t], tf.mul(r, dense(whn, h))));
            h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
          }
          return dense(out, h);
        },
        outputDim: cfg.outputDim,
      };
    }
  }
}

/** A built-in embedding net whose variables live in a {@linkcode Params} store. */
export class EmbeddingNet {
  /** Output (context) dimension. */
  readonly outputDim: number;
  #f: (x: tf.Tensor2D) => tf.Tensor2D;

  /**
   * Creates the net's variables in `params` (in a fixed, seeded order).
   * @param cfg resolved configuration (from {@linkcode resolveEmbedding})
   * @param inputDim dimension of the x rows
   * @param params the variable store
   */
  constructor(cfg: BuiltinEmbeddingConfig, inputDim: number, params: Params) {
    if (cfg.type === "permutationInvariant") {
      if (cfg.nTrials * cfg.trialDim !== inputDim) {
        throw new RangeError(
          `permutationInvariant embedding: ${cfg.nTrials} trials x ${cfg.trialDim} != x dimension ${inputDim}`,
        );
      }
      const trial = buildTrialNet(
        cfg.trialNet,
        cfg.trialDim,
        params,
        "embed.trial",
      );
      const head = fcLayers(
        params,
        "embed.fc",
        trial.outputDim,
        cfg.numLayers,
        cfg.numHiddens,
        cfg.outputDim,
      );
      const n = cfg.nTrials;
      this.#f = (x) => {
        const b = x.shape[0];
        const e = trial.f(
          tf.reshape(x, [b * n, cfg.trialDim]) as tf.Tensor2D,
        );
        const e3 = tf.reshape(e, [b, n, trial.outputDim]);
        const pooled = (cfg.aggregation === "mean"
          ? tf.mean(e3, 1)
          : tf.sum(e3, 1)) as tf.Tensor2D;
        return mlp(head, pooled, true);
      };
      this.outputDim = cfg.outputDim;
    } else {
      const net = buildTrialNet(cfg, inputDim, params, "embed");
      this.#f = net.f;
      this.outputDim = net.outputDim;
    }
  }

  /**
   * Embeds z-scored x rows.
   * @param x `[batch, inputDim]`
   * @returns `[batch, outputDim]`
   */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.#f(x);
  }
}
