/**
 * Small building blocks on raw tfjs variables: a named, seeded parameter store,
 * dense layers, masks for MADE (Germain et al. 2015) and constant 0/1 selection
 * matrices (used instead of `gather`, whose gradient the wasm backend lacks).
 * @module
 */
import * as tf from "./_deps.ts";
import { Rng } from "../../_internal/random.ts";

/** A dense layer: `y = x W + b` (W is `[in, out]`). */
export interface Linear {
  /** Weights `[in, out]`. */
  w: tf.Variable;
  /** Bias `[out]`. */
  b: tf.Variable;
}

/**
 * Thrown when rebuilding a network from a saved configuration would allocate
 * more than its budget (see {@linkcode withAllocationBudget}): the
 * configuration describes a network much larger than the weights stored
 * with it, i.e. the file is corrupt or crafted.
 */
export class AllocationBudgetError extends RangeError {
  /**
   * @param needed elements the next allocation asked for
   * @param budget elements that were left
   */
  constructor(readonly needed: number, readonly budget: number) {
    super(
      `the network configuration asks for ${needed} more values while being rebuilt, beyond the ${budget} its stored weights allow`,
    );
    this.name = "AllocationBudgetError";
  }
}

let budget: number | null = null;
let budgeted: Params[] = [];

/**
 * Runs a synchronous network build with a cap on the number of float
 * elements it may allocate (variables, masks, constants, initial values).
 * On failure every `Params` created inside is disposed.
 * @param elements the cap
 * @param build the builder
 * @returns what the builder returns
 * @throws {AllocationBudgetError} when the cap would be passed
 */
export function withAllocationBudget<T>(elements: number, build: () => T): T {
  const outer = budget;
  const outerList = budgeted;
  budget = elements;
  budgeted = [];
  try {
    return build();
  } catch (e) {
    for (const p of budgeted) p.dispose();
    throw e;
  } finally {
    budget = outer;
    budgeted = outerList;
  }
}

/**
 * The element budget of rebuilding a network stored with `weights`: the
 * variables and their initial values (2×), masks (1×) and constants sized
 * like weights, with room to spare (8× in all), plus a fixed 2^24 elements
 * (64 MiB of float32) for the small networks whose constants (the LU
 * bases of a flow) outweigh their weights.
 * @param weights the stored weights
 * @returns elements the rebuild may allocate
 */
export function rebuildBudget(weights: readonly Float32Array[]): number {
  let n = 0;
  for (const w of weights) n += w.length;
  return 8 * n + 2 ** 24;
}

/**
 * Counts `n` elements against the active budget (if any) before they are
 * allocated.
 * @param n elements about to be allocated
 * @returns `n`
 * @throws {AllocationBudgetError} past the budget
 */
export function charge(n: number): number {
  if (budget !== null) {
    if (!(n >= 0 && n <= budget)) throw new AllocationBudgetError(n, budget);
    budget -= n;
  }
  return n;
}

/** A seeded store of named trainable variables. */
export class Params {
  /** Variables in creation order. */
  readonly vars: tf.Variable[] = [];
  /** Names, parallel to `vars`. */
  readonly names: string[] = [];
  /**
   * 0/1 masks parallel to `vars` (null = dense). Masked weights start at zero and
   * their gradients are masked by the optimizer, so they stay zero (MADE masks)
   * without a mask multiplication in every forward pass.
   */
  readonly masks: (Float32Array | null)[] = [];
  /** Constant (non-trainable) tensors owned by the model, disposed with it. */
  readonly consts: tf.Tensor[] = [];
  readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    if (budget !== null) budgeted.push(this);
  }

  /** Adds a variable initialised from `values`. */
  add(name: string, shape: number[], values: Float32Array): tf.Variable {
    charge(values.length);
    const init = tf.tensor(values, shape, "float32");
    const v = tf.variable(init, true, `${name}_${uid++}`);
    init.dispose(); // the variable holds its own reference to the data
    this.vars.push(v);
    this.names.push(name);
    this.masks.push(null);
    return v;
  }

  /** Uniform(-a, a) values. */
  uniform(n: number, a: number): Float32Array {
    const out = new Float32Array(charge(n));
    for (let i = 0; i < n; i++) out[i] = (2 * this.rng.random() - 1) * a;
    return out;
  }

  /**
   * A dense layer with PyTorch's default initialisation U(-1/sqrt(in), 1/sqrt(in))
   * for weights and bias, or U(-init, init) when `init` is given (near-zero
   * initialisation of residual blocks and output layers, as in nflows).
   */
  linear(
    name: string,
    nIn: number,
    nOut: number,
    init?: number,
    mask?: Float32Array,
  ): Linear {
    const a = init ?? 1 / Math.sqrt(Math.max(1, nIn));
    const w0 = this.uniform(nIn * nOut, a);
    if (mask) { for (let i = 0; i < w0.length; i++) w0[i] *= mask[i]; }
    const w = this.add(`${name}.w`, [nIn, nOut], w0);
    if (mask) this.masks[this.masks.length - 1] = mask;
    const b = this.add(`${name}.b`, [nOut], this.uniform(nOut, a));
    return { w, b };
  }

  /** A constant tensor owned by the model. */
  constant(values: Float32Array, shape: number[]): tf.Tensor {
    charge(values.length);
    const t = tf.keep(tf.tensor(values, shape, "float32"));
    this.consts.push(t);
    return t;
  }

  /** Copies of all variable values. */
  getWeights(): Float32Array[] {
    return this.vars.map((v) => v.dataSync() as Float32Array).map((a) =>
      a.slice()
    );
  }

  /** Overwrites all variable values. */
  setWeights(ws: Float32Array[]): void {
    if (ws.length !== this.vars.length) {
      throw new TypeError(
        `expected ${this.vars.length} weight arrays, got ${ws.length}`,
      );
    }
    for (let i = 0; i < ws.length; i++) {
      if (ws[i].length !== this.vars[i].size) {
        throw new TypeError(
          `weight ${this.names[i]} has ${ws[i].length} values, expected ${
            this.vars[i].size
          }`,
        );
      }
      this.vars[i].assign(tf.tensor(ws[i], this.vars[i].shape, "float32"));
    }
  }

  /** Frees every variable and constant. */
  dispose(): void {
    for (const v of this.vars) v.dispose();
    for (const c of this.consts) c.dispose();
    this.vars.length = 0;
    this.consts.length = 0;
  }
}

let uid = 0;

/** `a b` for 2-D tensors (gradient: see the BatchMatMul override in `_backend.ts`). */
export function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
}

/** Applies a (possibly masked) dense layer `x W + b`. */
export function dense(l: Linear, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.matMul(x, l.w as tf.Tensor2D), l.b) as tf.Tensor2D;
}

/** tanh as `2 sigmoid(2x) - 1` (the wasm tanh kernel is ~10x slower than sigmoid). */
export function fastTanh(x: tf.Tensor): tf.Tensor2D {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1) as tf.Tensor2D;
}

/**
 * MADE degrees (Germain et al. 2015, sequential ordering as in nflows):
 * inputs 1..D; hidden `k % max(1, D-1) + min(1, D-1)`.
 */
export function hiddenDegrees(d: number, h: number): Int32Array {
  const maxD = Math.max(1, d - 1);
  const minD = Math.min(1, d - 1);
  const out = new Int32Array(charge(h));
  for (let k = 0; k < h; k++) out[k] = (k % maxD) + minD;
  return out;
}

/** Mask `[in, out]` with entry 1 where `strict ? out > in : out >= in` (degrees). */
export function degreeMask(
  inDeg: Int32Array,
  outDeg: Int32Array,
  strict: boolean,
): Float32Array {
  const m = new Float32Array(charge(inDeg.length * outDeg.length));
  for (let i = 0; i < inDeg.length; i++) {
    for (let o = 0; o < outDeg.length; o++) {
      m[i * outDeg.length + o] =
        (strict ? outDeg[o] > inDeg[i] : outDeg[o] >= inDeg[i]) ? 1 : 0;
    }
  }
  return m;
}

/** 0/1 matrix `[n, idx.length]` selecting columns `idx` by right-multiplication. */
export function selectionMatrix(n: number, idx: number[]): Float32Array {
  const m = new Float32Array(charge(n * idx.length));
  idx.forEach((src, j) => (m[src * idx.length + j] = 1));
  return m;
}

/** Embedded-context helper: MLP layers with ReLU between them (sbi's FCEmbedding). */
export function mlp(
  layers: Linear[],
  x: tf.Tensor2D,
  finalActivation = false,
): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = dense(l, h);
    if (i < layers.length - 1 || finalActivation) h = tf.relu(h);
  });
  return h;
}

/** Standard-normal log-density summed over the last axis of `[N, D]`. */
export function stdNormalLogProb(z: tf.Tensor2D): tf.Tensor1D {
  const d = z.shape[1];
  return tf.sub(
    tf.mul(-0.5, tf.sum(tf.square(z), 1)),
    0.5 * d * Math.log(2 * Math.PI),
  ) as tf.Tensor1D;
}
