/**
 * TensorFlow.js backend selection: the `wasm` backend (SIMD) by default, the
 * pure-JS `cpu` backend as a fallback (with a printed message).
 * @module
 */
// _deps.ts also registers the cpu backend and every kernel gradient
import * as tf from "./_deps.ts";
import { setWasmPaths, tfjsWasmDir } from "./_deps.ts";

let ready: Promise<string> | null = null;

function reduceBroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return axes.length ? tf.reshape(tf.sum(g, axes), shape) : g;
}

/*
 * Gradient of Mul without tfjs' defensive float32 casts of both operands (two
 * extra copy kernels per multiplication; all tensors here are float32).
 */
tf.registerGradient({
  kernelName: "Mul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const d = dy as tf.Tensor;
    return {
      a: () => reduceBroadcast(tf.mul(d, b), a.shape),
      b: () => reduceBroadcast(tf.mul(d, a), b.shape),
    };
  },
});

function swapLast(t: tf.Tensor): tf.Tensor {
  if (t.rank === 2) return tf.transpose(t);
  const perm = [...Array(t.rank).keys()];
  [perm[t.rank - 1], perm[t.rank - 2]] = [perm[t.rank - 2], perm[t.rank - 1]];
  return tf.transpose(t, perm);
}

function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.rank === shape.length && g.shape.every((s, i) => s === shape[i])) {
    return g;
  }
  const axes: number[] = [];
  const lead = g.rank - shape.length;
  for (let i = 0; i < g.rank - 2; i++) {
    if (i < lead || shape[i - lead] === 1) axes.push(i);
  }
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape);
}

/*
 * Gradient of BatchMatMul with explicit transposes. The wasm backend's matMul
 * with a transposed operand (what tfjs' registered gradient uses) is about 8x
 * slower than a transpose followed by a plain matMul (measured here: 800 us vs
 * 110 us for 200x50x50), so every matMul gradient is overridden once, globally.
 */
tf.registerGradient({
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    const d = dy as tf.Tensor;
    const T = swapLast;
    return {
      a: () => {
        let g: tf.Tensor;
        if (!transposeA && !transposeB) g = tf.matMul(d, T(b));
        else if (!transposeA && transposeB) g = tf.matMul(d, b);
        else if (transposeA && !transposeB) g = tf.matMul(b, T(d));
        else g = tf.matMul(T(b), T(d));
        return reduceTo(g, a.shape);
      },
      b: () => {
        let g: tf.Tensor;
        if (!transposeA && !transposeB) g = tf.matMul(T(a), d);
        else if (!transposeA && transposeB) g = tf.matMul(T(d), a);
        else if (transposeA && !transposeB) g = tf.matMul(a, d);
        else g = tf.matMul(T(d), T(a));
        return reduceTo(g, b.shape);
      },
    };
  },
});

/**
 * Initialises the tfjs backend once (wasm, else cpu) and returns its name.
 * Set the environment variable `NEUROFIT_TF_BACKEND=cpu` to force the cpu backend.
 * @returns the active backend name
 */
export function ensureBackend(): Promise<string> {
  if (ready) return ready;
  ready = (async () => {
    let want = "wasm";
    try {
      want = Deno.env.get("NEUROFIT_TF_BACKEND") ?? "wasm";
    } catch { /* no env permission */ }
    if (want === "wasm") {
      try {
        setWasmPaths(tfjsWasmDir());
        if (await tf.setBackend("wasm")) {
          await tf.ready();
          return tf.getBackend();
        }
      } catch (e) {
        console.warn(
          `neurofit: tfjs wasm backend unavailable (${
            (e as Error).message
          }); using cpu`,
        );
      }
    }
    await tf.setBackend("cpu");
    await tf.ready();
    if (want === "wasm") {
      console.warn("neurofit: using the tfjs cpu backend (slower than wasm)");
    }
    return tf.getBackend();
  })();
  return ready;
}

/**
 * Whether the active wasm backend uses SIMD instructions.
 * @returns true for wasm with SIMD
 */
export function backendHasSimd(): boolean {
  return tf.getBackend() === "wasm" &&
    tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
}

/**
 * Number of live tfjs tensors (for leak tests).
 * @returns `tf.memory().numTensors`
 */
export function numTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Name of the active tfjs backend.
 * @returns e.g. `"wasm"` or `"cpu"`
 */
export function activeBackend(): string {
  return tf.getBackend();
}
