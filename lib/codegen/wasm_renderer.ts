/**
 * Renders a {@linkcode Program} to a WebAssembly SIMD kernel: f64x2 (two
 * neurons per vector) or f32x4 (four). Each vector of neurons keeps its state
 * in registers over the whole chunk of steps. Supported: arithmetic,
 * comparisons and logic (not `%`), `exp`, `sqrt`, `abs`, `floor`, `ceil`, `int`,
 * `sign`, `clip`, `timestep`, integer and half powers, inputs, threshold,
 * reset, refractoriness, recording and error accumulation. Anything else
 * (e.g. `log`, `sin`, noise) raises {@linkcode WasmUnsupported} and the CPU
 * backend falls back to the JavaScript kernel.
 *
 * `exp` in f64 is table-driven (`_exp_table.ts`: ARM optimized-routines'
 * `math/exp.c`, N = 128, degree-5 polynomial; within 1 ulp of `Math.exp`
 * for |x| < 704, tests/codegen/exp_test.ts); lanes with |x| ≥ 704 or NaN,
 * and f32, use `2^k · P(r)`, `r = x − k ln 2` (Cody–Waite split of ln 2 as
 * in fdlibm's `e_exp.c`), with a degree-13 (f64) / degree-7 (f32) Taylor
 * polynomial: within 2 ulp of `Math.exp` on the range used. The
 * JavaScript kernel evaluates exp and constant powers the same way when the
 * wasm kernel could run the program (`js_renderer.ts`, `KERNEL_HELPERS`), so
 * the two engines give bit-identical f64 results.
 * @module
 */
import type { Expr } from "../equations/ast.ts";
import type { Program } from "./program.ts";
import { stageOffset } from "./renderer.ts";
import {
  EXP_C,
  EXP_FAST_LIMIT,
  EXP_INV_LN2_N,
  EXP_N,
  EXP_NEG_LN2_HI_N,
  EXP_NEG_LN2_LO_N,
  EXP_SHIFT,
} from "./_exp_table.ts";
import { Body, encodeModule, OP, SIMD, T, uleb } from "./_wasm_encoder.ts";

/** Thrown when a program uses something the SIMD kernel does not support. */
export class WasmUnsupported extends Error {}

/** Memory layout of a wasm kernel (byte offsets). */
export interface WasmLayout {
  readonly lanes: number;
  readonly elem: number;
  readonly nPad: number;
  readonly state: Record<string, number>;
  readonly params: Record<string, number>;
  readonly lastspike: number;
  readonly notRefractory: number;
  readonly inputs: Record<
    string,
    { data: number; base: number; length: number }
  >;
  readonly accum: number;
  readonly accumCount: number;
  readonly accumWeights: number;
  readonly spikeCount: number;
  readonly spikes: number;
  /** Byte offset of the f64 exp table (`_exp_table.ts` expTableBytes; 0 bytes in f32). */
  readonly expTable: number;
  readonly spikeCapacity: number;
  /** Address of the i32 absolute step of step 0 (`t = (stepOrigin + k) dt`, written by the kernel). */
  readonly stepOrigin: number;
  /** Address of the i32 first accumulated step (written by the kernel). */
  readonly accumStart: number;
  readonly end: number;
}

/**
 * Fixed addresses below the first allocation (64) of the run-time scalars
 * that a kernel may change between blocks without recompiling.
 */
const STEP_ORIGIN_ADDR = 16;
const ACCUM_START_ADDR = 20;

/** Options of {@linkcode renderWasmKernel}. */
export interface WasmKernelOptions {
  readonly precision: "f64" | "f32";
  readonly nNeurons: number;
  readonly dt: number;
  readonly record: readonly string[];
  readonly inputs: Record<string, { rows: number; length: number }>;
  /**
   * Error accumulation (the first accumulated step is read from memory at
   * `layout.accumStart`, so that blocks can change it).
   */
  readonly accumulate?: {
    variable: string;
    weighted: boolean;
    weightsLength: number;
  } | null;
  readonly spikeCapacity: number;
}

type Kind = "f" | "m";

/**
 * Compile a program to a wasm module and its memory layout.
 * @throws {WasmUnsupported} when the program uses unsupported features
 */
export function renderWasmKernel(
  p: Program,
  o: WasmKernelOptions,
): { bytes: Uint8Array; layout: WasmLayout; pages: number } {
  const f64 = o.precision === "f64";
  const W = f64 ? 2 : 4;
  const E = f64 ? 8 : 4;
  const nPad = Math.ceil(o.nNeurons / W) * W;
  // ---- layout
  let off = 64;
  const alloc = (bytes: number) => {
    const a = off;
    off += Math.ceil(bytes / 16) * 16;
    return a;
  };
  const state: Record<string, number> = {};
  for (const s of p.states) state[s] = alloc(nPad * E);
  const params: Record<string, number> = {};
  for (const q of p.parameters) params[q] = alloc(nPad * E);
  const lastspike = alloc(nPad * E);
  const notRefractory = alloc(nPad * E);
  const inputs: Record<string, { data: number; base: number; length: number }> =
    {};
  for (const [k, v] of Object.entries(o.inputs)) {
    inputs[k] = {
      data: alloc(v.rows * v.length * E),
      base: alloc(nPad * 4),
      length: v.length,
    };
  }
  const acc = o.accumulate ?? null;
  const accum = alloc(acc ? nPad * E : 0);
  const accumCount = alloc(acc ? nPad * E : 0);
  const accumWeights = alloc(acc?.weighted ? acc.weightsLength * E : 0);
  const spikeCount = alloc(16);
  const spikes = alloc(o.spikeCapacity * 8);
  const expTable = alloc(f64 ? EXP_N * 16 : 0);
  const end = off;
  const layout: WasmLayout = {
    lanes: W,
    elem: E,
    nPad,
    state,
    params,
    lastspike,
    notRefractory,
    inputs,
    accum,
    accumCount,
    accumWeights,
    spikeCount,
    spikes,
    expTable,
    spikeCapacity: o.spikeCapacity,
    stepOrigin: STEP_ORIGIN_ADDR,
    accumStart: ACCUM_START_ADDR,
    end,
  };

  // ---- exp function
  const expFn = new Body(1);
  // Cody–Waite + degree-13 Taylor (f64: the slow path, |x| ≥ 704 or NaN)
  const emitOld = (x: number) => {
    const b = expFn;
    const k = b.local(T.v128);
    const r = b.local(T.v128);
    const big = b.local(T.v128);
    const S = f64
      ? {
        splat: (v: number) => b.v128f64(v, v),
        mul: SIMD.f64x2_mul,
        add: SIMD.f64x2_add,
        sub: SIMD.f64x2_sub,
      }
      : {
        splat: (v: number) => b.v128f32(v),
        mul: SIMD.f32x4_mul,
        add: SIMD.f32x4_add,
        sub: SIMD.f32x4_sub,
      };
    const hiLim = f64 ? 709.78 : 88.7;
    const loLim = f64 ? -708.39 : -87.3;
    // big = x > hiLim (→ +inf); clamp x
    b.get(x);
    S.splat(hiLim);
    b.simd(f64 ? SIMD.f64x2_gt : SIMD.f32x4_gt).set(big);
    b.get(x);
    S.splat(hiLim);
    b.simd(f64 ? SIMD.f64x2_pmin : SIMD.f32x4_pmin);
    S.splat(loLim);
    b.simd(f64 ? SIMD.f64x2_pmax : SIMD.f32x4_pmax).set(x);
    // k = nearest(x / ln2)
    b.get(x);
    S.splat(Math.LOG2E);
    b.simd(S.mul).simd(f64 ? SIMD.f64x2_nearest : SIMD.f32x4_nearest).set(k);
    // r = x - k*ln2hi - k*ln2lo
    const [hi, lo] = f64
      ? [6.93147180369123816490e-01, 1.90821492927058770002e-10]
      : [0.693359375, -2.12194440e-4];
    b.get(x).get(k);
    S.splat(hi);
    b.simd(S.mul).simd(S.sub).get(k);
    S.splat(lo);
    b.simd(S.mul).simd(S.sub).set(r);
    // Horner: sum r^i / i!
    const deg = f64 ? 13 : 7;
    let fact = 1;
    const coef: number[] = [];
    for (let i = 0; i <= deg; i++) {
      if (i > 0) fact *= i;
      coef.push(1 / fact);
    }
    S.splat(coef[deg]);
    for (let i = deg - 1; i >= 0; i--) {
      b.get(r).simd(S.mul);
      S.splat(coef[i]);
      b.simd(S.add);
    }
    // scale by 2^k
    b.get(k);
    if (f64) {
      b.simd(SIMD.i32x4_trunc_sat_f64x2_s_zero).simd(
        SIMD.i64x2_extend_low_i32x4_s,
      );
      const c = new Uint8Array(new BigInt64Array([1023n, 1023n]).buffer);
      b.simd(SIMD.const, ...c).simd(SIMD.i64x2_add).i32(52).simd(
        SIMD.i64x2_shl,
      );
    } else {
      b.simd(SIMD.i32x4_trunc_sat_f32x4_s);
      const c = new Uint8Array(new Int32Array([127, 127, 127, 127]).buffer);
      b.simd(SIMD.const, ...c).simd(SIMD.i32x4_add).i32(23).simd(
        SIMD.i32x4_shl,
      );
    }
    b.simd(S.mul).set(r);
    // overflow → +inf: bitselect(inf, r, big)
    S.splat(Infinity);
    b.get(r).get(big).simd(SIMD.bitselect);
  };
  if (!f64) emitOld(0);
  else {
    // Table-driven exp (ARM optimized-routines math/exp.c, N = 128, order 5;
    // _exp_table.ts), with the slow path above for lanes with |x| ≥ 704.
    const b = expFn;
    const x = 0;
    const xs = b.local(T.v128);
    const small = b.local(T.v128);
    const out = b.local(T.v128);
    const slow = b.local(T.v128);
    const kd = b.local(T.v128);
    const ki = b.local(T.v128);
    const r = b.local(T.v128);
    const r2 = b.local(T.v128);
    const idx = b.local(T.v128);
    const pa = b.local(T.v128);
    const pb = b.local(T.v128);
    const scale = b.local(T.v128);
    const res = b.local(T.v128);
    const sp = (v: number) => b.v128f64(v, v);
    b.get(x).simd(SIMD.f64x2_abs);
    sp(EXP_FAST_LIMIT);
    b.simd(SIMD.f64x2_lt).simd(SIMD.not).tee(out).simd(SIMD.any_true);
    b.op(OP.if, 0x40);
    {
      // x < -708.39 → 0 (the slow path clamps x there)
      b.get(x);
      sp(-708.39);
      b.simd(SIMD.f64x2_lt).set(small);
      b.get(x).set(xs);
      emitOld(xs);
      b.set(slow);
      sp(0);
      b.get(slow).get(small).simd(SIMD.bitselect).set(slow);
    }
    b.op(OP.end);
    b.get(x);
    sp(EXP_INV_LN2_N);
    b.simd(SIMD.f64x2_mul);
    sp(EXP_SHIFT);
    b.simd(SIMD.f64x2_add).tee(ki);
    sp(EXP_SHIFT);
    b.simd(SIMD.f64x2_sub).set(kd);
    b.get(x).get(kd);
    sp(EXP_NEG_LN2_HI_N);
    b.simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add).get(kd);
    sp(EXP_NEG_LN2_LO_N);
    b.simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add).set(r);
    const m127 = new Uint8Array(new BigInt64Array([127n, 127n]).buffer);
    b.get(ki).simd(SIMD.const, ...m127).simd(SIMD.and).i32(4).simd(
      SIMD.i64x2_shl,
    ).set(idx);
    b.get(idx).simd(SIMD.i32x4_extract, 0).simd(
      SIMD.load,
      4,
      ...uleb(expTable),
    ).set(pa);
    b.get(idx).simd(SIMD.i32x4_extract, 2).simd(
      SIMD.load,
      4,
      ...uleb(expTable),
    ).set(pb);
    const lanes = (o: number) => [
      ...Array.from({ length: 8 }, (_, i) => o + i),
      ...Array.from({ length: 8 }, (_, i) => 16 + o + i),
    ];
    b.get(pa).get(pb).simd(SIMD.i8x16_shuffle, ...lanes(8)).get(ki).i32(45)
      .simd(SIMD.i64x2_shl).simd(SIMD.i64x2_add).set(scale);
    b.get(r).get(r).simd(SIMD.f64x2_mul).set(r2);
    // ((T + r) + r2·(C2 + r·C3)) + (r2·r2)·(C4 + r·C5)
    b.get(pa).get(pb).simd(SIMD.i8x16_shuffle, ...lanes(0)).get(r).simd(
      SIMD.f64x2_add,
    ).get(r2);
    sp(EXP_C[0]);
    b.get(r);
    sp(EXP_C[1]);
    b.simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add).simd(SIMD.f64x2_mul).simd(
      SIMD.f64x2_add,
    );
    b.get(r2).get(r2).simd(SIMD.f64x2_mul);
    sp(EXP_C[2]);
    b.get(r);
    sp(EXP_C[3]);
    b.simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add).simd(SIMD.f64x2_mul).simd(
      SIMD.f64x2_add,
    ).set(res);
    // scale + scale·tmp
    b.get(scale).get(scale).get(res).simd(SIMD.f64x2_mul).simd(SIMD.f64x2_add)
      .set(res);
    b.get(slow).get(res).get(out).simd(SIMD.bitselect);
  }

  // ---- kernel: run(k0, steps, recStart, recCount, every, recBase) -> spikeCount
  const b = new Body(6);
  const [K0, STEPS, RECSTART, RECCOUNT, EVERY, RECBASE] = [0, 1, 2, 3, 4, 5];
  const g = b.local(T.i32); // neuron index of lane 0
  const k = b.local(T.i32);
  const tvec = b.local(T.v128);
  const nvec = b.local(T.v128);
  const lsv = b.local(T.v128);
  const nrm = b.local(T.v128);
  const valid = b.local(T.v128);
  const tmpI = b.local(T.i32);
  const cond = b.local(T.v128);
  const accv = b.local(T.v128);
  const accn = b.local(T.v128);
  const j = b.local(T.i32);
  const vars = new Map<string, { idx: number; kind: Kind }>();
  for (const s of p.states) vars.set(s, { idx: b.local(T.v128), kind: "f" });
  for (const q of p.parameters) {
    vars.set(q, { idx: b.local(T.v128), kind: "f" });
  }
  const bases = new Map<string, number[]>();
  for (const name of Object.keys(inputs)) {
    bases.set(
      name,
      Array.from({ length: W }, () => b.local(T.i32)),
    );
  }
  const idxLocals = new Map<string, number>(); // `${input}@${off}` -> i32 local with clipped index
  const V = f64
    ? {
      splat: (v: number) => b.v128f64(v, v),
      load: (offset: number) => b.simd(SIMD.load, 4, ...uleb(offset)),
      store: (offset: number) => b.simd(SIMD.store, 4, ...uleb(offset)),
      add: SIMD.f64x2_add,
      sub: SIMD.f64x2_sub,
      mul: SIMD.f64x2_mul,
      div: SIMD.f64x2_div,
      neg: SIMD.f64x2_neg,
      abs: SIMD.f64x2_abs,
      sqrt: SIMD.f64x2_sqrt,
      floor: SIMD.f64x2_floor,
      ceil: SIMD.f64x2_ceil,
      trunc: SIMD.f64x2_trunc,
      pmin: SIMD.f64x2_pmin,
      pmax: SIMD.f64x2_pmax,
      cmp: {
        "<": SIMD.f64x2_lt,
        "<=": SIMD.f64x2_le,
        ">": SIMD.f64x2_gt,
        ">=": SIMD.f64x2_ge,
        "==": SIMD.f64x2_eq,
        "!=": SIMD.f64x2_ne,
      } as Record<string, number>,
      ne: SIMD.f64x2_ne,
      extract: SIMD.f64x2_extract,
      replace: SIMD.f64x2_replace,
      sload: (offset: number) => b.op(OP.f64_load, 3, ...uleb(offset)),
      sstore: (offset: number) => b.op(OP.f64_store, 3, ...uleb(offset)),
      fromI32: () => b.op(OP.f64_convert_i32_s),
      fromF64: () => b,
    }
    : {
      splat: (v: number) => b.v128f32(v),
      load: (offset: number) => b.simd(SIMD.load, 4, ...uleb(offset)),
      store: (offset: number) => b.simd(SIMD.store, 4, ...uleb(offset)),
      add: SIMD.f32x4_add,
      sub: SIMD.f32x4_sub,
      mul: SIMD.f32x4_mul,
      div: SIMD.f32x4_div,
      neg: SIMD.f32x4_neg,
      abs: SIMD.f32x4_abs,
      sqrt: SIMD.f32x4_sqrt,
      floor: SIMD.f32x4_floor,
      ceil: SIMD.f32x4_ceil,
      trunc: SIMD.f32x4_trunc,
      pmin: SIMD.f32x4_pmin,
      pmax: SIMD.f32x4_pmax,
      cmp: {
        "<": SIMD.f32x4_lt,
        "<=": SIMD.f32x4_le,
        ">": SIMD.f32x4_gt,
        ">=": SIMD.f32x4_ge,
        "==": SIMD.f32x4_eq,
        "!=": SIMD.f32x4_ne,
      } as Record<string, number>,
      ne: SIMD.f32x4_ne,
      extract: SIMD.f32x4_extract,
      replace: SIMD.f32x4_replace,
      sload: (offset: number) => b.op(OP.f32_load, 2, ...uleb(offset)),
      sstore: (offset: number) => b.op(OP.f32_store, 2, ...uleb(offset)),
      fromI32: () => b.op(OP.f32_convert_i32_s),
      fromF64: () => b.op(OP.f32_demote_f64),
    };
  const splatOp = f64 ? SIMD.f64x2_splat : SIMD.f32x4_splat;
  const toF = (kind: Kind) => {
    if (kind === "m") {
      V.splat(1);
      b.simd(SIMD.and);
    }
  };
  const toM = (kind: Kind) => {
    if (kind === "f") {
      V.splat(0);
      b.simd(V.ne);
    }
  };
  const scratch: number[] = [];
  const getScratch = () => scratch.pop() ?? b.local(T.v128);
  const inputIndex = (name: string, off: number): number => {
    const key = `${name}@${off}`;
    let l = idxLocals.get(key);
    if (l === undefined) {
      l = b.local(T.i32);
      idxLocals.set(key, l);
    }
    return l;
  };
  const usedIdx = new Set<string>();

  const emitAt = (nm: string, c: number) => {
    const inp = inputs[nm];
    if (!inp) throw new WasmUnsupported(`input ${nm}`);
    const il = inputIndex(nm, stageOffset(c));
    usedIdx.add(`${nm}@${stageOffset(c)}`);
    const bl = bases.get(nm)!;
    const s = getScratch();
    for (let l = 0; l < W; l++) {
      if (l > 0) b.get(s);
      b.get(bl[l]).get(il).op(OP.i32_add).i32(E).op(OP.i32_mul);
      V.sload(inp.data);
      if (l === 0) b.simd(splatOp);
      else b.simd(V.replace, l);
      b.set(s);
    }
    b.get(s);
    scratch.push(s);
  };
  const emit = (e: Expr): Kind => {
    switch (e.kind) {
      case "num":
        V.splat(e.value);
        return "f";
      case "bool":
        V.splat(0);
        V.splat(e.value ? 0 : 1);
        b.simd(V.cmp["=="]);
        return "m";
      case "name": {
        switch (e.name) {
          case "t":
            b.get(tvec);
            return "f";
          case "dt":
            V.splat(o.dt);
            return "f";
          case "i":
            b.get(nvec);
            return "f";
          case "N":
            V.splat(o.nNeurons);
            return "f";
          case "lastspike":
            b.get(lsv);
            return "f";
          case "not_refractory":
            b.get(nrm);
            return "m";
        }
        const v = vars.get(e.name);
        if (!v) throw new WasmUnsupported(`unknown name ${e.name}`);
        b.get(v.idx);
        return v.kind;
      }
      case "unary": {
        const a = emit(e.arg);
        if (e.op === "not") {
          toM(a);
          b.simd(SIMD.not);
          return "m";
        }
        toF(a);
        if (e.op === "-") b.simd(V.neg);
        return "f";
      }
      case "binary": {
        const op = e.op;
        if (op === "and" || op === "or") {
          toM(emit(e.left));
          toM(emit(e.right));
          b.simd(op === "and" ? SIMD.and : SIMD.or);
          return "m";
        }
        if (op in V.cmp) {
          toF(emit(e.left));
          toF(emit(e.right));
          b.simd(V.cmp[op]);
          return "m";
        }
        if (op === "**") {
          if (e.right.kind !== "num") {
            throw new WasmUnsupported("non-constant power");
          }
          const c = e.right.value;
          toF(emit(e.left));
          if (c === 1) return "f";
          if (c === 0.5) {
            b.simd(V.sqrt);
            return "f";
          }
          if ([2, 3, 4, -1, -2].includes(c)) {
            const s = getScratch();
            b.set(s);
            const n = Math.abs(c);
            if (c < 0) V.splat(1);
            b.get(s);
            for (let q = 1; q < n; q++) b.get(s).simd(V.mul);
            if (c < 0) b.simd(V.div);
            scratch.push(s);
            return "f";
          }
          throw new WasmUnsupported(`power ${c}`);
        }
        if (op === "%") {
          // Python's float modulo is fmod-based (the JavaScript kernel's
          // pymod); a - floor(a/b)*b rounds differently, so the engines
          // would disagree: leave it to the JavaScript kernel
          throw new WasmUnsupported("modulo");
        }
        if (op === "//") {
          const sa = getScratch();
          const sb = getScratch();
          toF(emit(e.left));
          b.set(sa);
          toF(emit(e.right));
          b.set(sb);
          b.get(sa).get(sb).simd(V.div).simd(V.floor);
          scratch.push(sa, sb);
          return "f";
        }
        toF(emit(e.left));
        toF(emit(e.right));
        b.simd(
          op === "+" ? V.add : op === "-" ? V.sub : op === "*" ? V.mul : V.div,
        );
        return "f";
      }
      case "call": {
        const fn = e.fn;
        if (fn === "__at") {
          emitAt(
            (e.args[0] as { name: string }).name,
            (e.args[1] as { value: number }).value,
          );
          return "f";
        }
        if (fn === "int") {
          const a = emit(e.args[0]);
          if (a === "m") {
            toF(a);
            return "f";
          }
          b.simd(V.trunc);
          return "f";
        }
        if (fn === "exp") {
          toF(emit(e.args[0]));
          b.op(OP.call, ...uleb(0));
          return "f";
        }
        if (fn === "sqrt" || fn === "abs" || fn === "floor" || fn === "ceil") {
          toF(emit(e.args[0]));
          b.simd(
            fn === "sqrt"
              ? V.sqrt
              : fn === "abs"
              ? V.abs
              : fn === "floor"
              ? V.floor
              : V.ceil,
          );
          return "f";
        }
        if (fn === "clip") {
          toF(emit(e.args[0]));
          toF(emit(e.args[1]));
          b.simd(V.pmax);
          toF(emit(e.args[2]));
          b.simd(V.pmin);
          return "f";
        }
        if (fn === "sign") {
          const s = getScratch();
          toF(emit(e.args[0]));
          b.set(s);
          b.get(s);
          V.splat(0);
          b.simd(V.cmp[">"]);
          toF("m");
          b.get(s);
          V.splat(0);
          b.simd(V.cmp["<"]);
          toF("m");
          b.simd(V.sub);
          scratch.push(s);
          return "f";
        }
        if (fn === "timestep") {
          const s = getScratch();
          toF(emit(e.args[1]));
          b.set(s);
          toF(emit(e.args[0]));
          b.get(s);
          V.splat(1e-3);
          b.simd(V.mul).simd(V.add).get(s).simd(V.div).simd(V.trunc);
          scratch.push(s);
          return "f";
        }
        throw new WasmUnsupported(`function ${fn}`);
      }
    }
  };

  const assign = (target: string, e: Expr) => {
    if (target === "not_refractory") {
      toM(emit(e));
      b.set(nrm);
      return;
    }
    let v = vars.get(target);
    const kind = emit(e);
    if (!v) {
      v = { idx: b.local(T.v128), kind };
      vars.set(target, v);
    } else if (v.kind !== kind) {
      if (v.kind === "f") toF(kind);
      else toM(kind);
    }
    b.set(v.idx);
  };

  // ---- body
  const nGroups = nPad / W;
  b.i32(0).set(g);
  b.op(OP.block, 0x40, OP.loop, 0x40);
  // loads
  const addr = () => b.get(g).i32(E).op(OP.i32_mul);
  for (const s of p.states) {
    addr();
    V.load(state[s]);
    b.set(vars.get(s)!.idx);
  }
  for (const q of p.parameters) {
    addr();
    V.load(params[q]);
    b.set(vars.get(q)!.idx);
  }
  addr();
  V.load(lastspike);
  b.set(lsv);
  addr();
  V.load(notRefractory);
  V.splat(0);
  b.simd(V.ne).set(nrm);
  for (const [nm, inp] of Object.entries(inputs)) {
    const bl = bases.get(nm)!;
    for (let l = 0; l < W; l++) {
      b.get(g).i32(l).op(OP.i32_add).i32(4).op(OP.i32_mul).op(
        OP.i32_load,
        2,
        ...uleb(inp.base),
      ).set(bl[l]);
    }
  }
  // neuron index vector and valid-lane mask
  {
    const s = getScratch();
    for (let l = 0; l < W; l++) {
      if (l > 0) b.get(s);
      b.get(g).i32(l).op(OP.i32_add);
      V.fromI32();
      if (l === 0) b.simd(splatOp);
      else b.simd(V.replace, l);
      b.set(s);
    }
    b.get(s).set(nvec);
    scratch.push(s);
    b.get(nvec);
    V.splat(o.nNeurons);
    b.simd(V.cmp["<"]).set(valid);
  }
  if (acc) {
    V.splat(0);
    b.set(accv);
    V.splat(0);
    b.set(accn);
  }
  // time loop
  b.get(K0).set(k);
  b.op(OP.block, 0x40, OP.loop, 0x40);
  b.get(k).get(K0).get(STEPS).op(OP.i32_add).op(OP.i32_ge_s).op(OP.br_if, 1);
  // t = (stepOrigin + k) * dt, stepOrigin read from memory
  b.get(k);
  b.i32(0).op(OP.i32_load, 2, ...uleb(STEP_ORIGIN_ADDR)).op(OP.i32_add);
  b.op(OP.f64_convert_i32_s).f64(o.dt).op(OP.f64_mul);
  V.fromF64();
  b.simd(splatOp).set(tvec);
  // clipped input indices: placeholder position; we compute all (input, off) pairs used (filled after body generation)
  const idxPatchPos = b.code.length;
  for (const s of p.preStep) assign(s.target, s.expr);
  if (o.record.length) {
    // if (k >= recStart && (k - recStart) % every == 0)
    b.get(k).get(RECSTART).op(OP.i32_sub).tee(j).get(EVERY).op(OP.i32_rem_s).op(
      OP.i32_eqz,
    );
    b.get(k).get(RECSTART).op(OP.i32_ge_s).op(OP.i32_and);
    b.op(OP.if, 0x40);
    b.get(j).get(EVERY).op(OP.i32_div_s).set(j);
    o.record.forEach((name, ri) => {
      const e = p.recordable.get(name)!;
      const s = getScratch();
      toF(emit(e));
      b.set(s);
      for (let l = 0; l < W; l++) {
        // address = recBase + ri*nPad*recCount*E + ((g+l)*recCount + j)*E
        b.get(RECBASE).get(RECCOUNT).i32(nPad * E * ri).op(OP.i32_mul).op(
          OP.i32_add,
        );
        b.get(g).i32(l).op(OP.i32_add).get(RECCOUNT).op(OP.i32_mul).get(j).op(
          OP.i32_add,
        ).i32(E).op(OP.i32_mul).op(OP.i32_add);
        b.get(s).simd(V.extract, l);
        V.sstore(0);
      }
      scratch.push(s);
    });
    b.op(OP.end);
  }
  if (acc) {
    b.get(k).i32(0).op(OP.i32_load, 2, ...uleb(ACCUM_START_ADDR)).op(
      OP.i32_ge_s,
    );
    b.op(OP.if, 0x40);
    const s = getScratch();
    toF(emit(p.recordable.get(acc.variable)!));
    emitAt(`${acc.variable}_target`, 0);
    b.simd(V.sub).set(s);
    b.get(accv).get(s).get(s).simd(V.mul);
    if (acc.weighted) {
      b.get(k).i32(E).op(OP.i32_mul);
      V.sload(accumWeights);
      b.simd(splatOp).simd(V.mul);
    }
    b.simd(V.add).set(accv);
    b.get(accn);
    V.splat(1);
    b.simd(V.add).set(accn);
    scratch.push(s);
    b.op(OP.end);
  }
  for (const s of p.refractory) assign(s.target, s.expr);
  for (const s of p.update) assign(s.target, s.expr);
  if (p.threshold) {
    toM(emit(p.threshold));
    b.get(valid).simd(SIMD.and).tee(cond);
    b.simd(SIMD.any_true);
    b.op(OP.if, 0x40);
    for (let l = 0; l < W; l++) {
      b.get(cond).simd(SIMD.i32x4_extract, f64 ? 2 * l : l);
      b.op(OP.if, 0x40);
      // if count < capacity: store (neuron, step)
      b.i32(0).op(OP.i32_load, 2, ...uleb(spikeCount)).tee(tmpI).i32(
        o.spikeCapacity,
      ).op(OP.i32_lt_s);
      b.op(OP.if, 0x40);
      b.get(tmpI).i32(8).op(OP.i32_mul).get(g).i32(l).op(OP.i32_add).op(
        OP.i32_store,
        2,
        ...uleb(spikes),
      );
      b.get(tmpI).i32(8).op(OP.i32_mul).get(k).op(
        OP.i32_store,
        2,
        ...uleb(spikes + 4),
      );
      b.op(OP.end);
      b.i32(0).get(tmpI).i32(1).op(OP.i32_add).op(
        OP.i32_store,
        2,
        ...uleb(spikeCount),
      );
      b.op(OP.end);
    }
    b.get(tvec).get(lsv).get(cond).simd(SIMD.bitselect).set(lsv);
    b.get(nrm).get(cond).simd(SIMD.andnot).set(nrm);
    for (const s of p.reset) {
      const v = vars.get(s.target)!;
      toF(emit(s.expr));
      b.get(v.idx).get(cond).simd(SIMD.bitselect).set(v.idx);
    }
    b.op(OP.end);
  }
  b.get(k).i32(1).op(OP.i32_add).set(k);
  b.op(OP.br, 0, OP.end, OP.end);
  // stores
  for (const s of p.states) {
    addr();
    b.get(vars.get(s)!.idx);
    V.store(state[s]);
  }
  for (const q of p.parameters) {
    addr();
    b.get(vars.get(q)!.idx);
    V.store(params[q]);
  }
  addr();
  b.get(lsv);
  V.store(lastspike);
  addr();
  b.get(nrm);
  toF("m");
  V.store(notRefractory);
  if (acc) {
    addr();
    addr();
    V.load(accum);
    b.get(accv).simd(V.add);
    V.store(accum);
    addr();
    addr();
    V.load(accumCount);
    b.get(accn).simd(V.add);
    V.store(accumCount);
  }
  b.get(g).i32(W).op(OP.i32_add).tee(g).i32(nGroups * W).op(OP.i32_lt_s).op(
    OP.br_if,
    0,
  );
  b.op(OP.end, OP.end);
  b.i32(0).op(OP.i32_load, 2, ...uleb(spikeCount));
  // insert clipped input index computation at the start of each step
  const patch: number[] = [];
  {
    const pb = new Body(0);
    for (const key of usedIdx) {
      const [nm, offS] = key.split("@");
      const len = inputs[nm].length;
      const l = idxLocals.get(key)!;
      // idx = min(k + off, len - 1)
      pb.get(k).i32(Number(offS)).op(OP.i32_add).tee(l).i32(len - 1).get(l).i32(
        len - 1,
      ).op(OP.i32_lt_s).op(OP.select).set(l);
    }
    patch.push(...pb.code);
  }
  b.code.splice(idxPatchPos, 0, ...patch);
  const pages = Math.ceil((end + 65536) / 65536);
  const bytes = encodeModule([
    { params: [T.v128], results: [T.v128], body: expFn },
    {
      params: [T.i32, T.i32, T.i32, T.i32, T.i32, T.i32],
      results: [T.i32],
      body: b,
      export: "run",
    },
  ], pages);
  return { bytes, layout, pages };
}
