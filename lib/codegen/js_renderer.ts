/**
 * Renders a {@linkcode Program} to a JavaScript kernel: neuron-outer,
 * time-inner loops with the state in local variables, float64 by default or
 * float32 (every operation rounded with `Math.fround`).
 * @module
 */
import type { Expr } from "../equations/ast.ts";
import type { Program } from "./program.ts";
import { RendererBase, stageOffset } from "./renderer.ts";
import {
  EXP_C,
  EXP_FAST_LIMIT,
  EXP_H,
  EXP_INV_LN2_N,
  EXP_NEG_LN2_HI_N,
  EXP_NEG_LN2_LO_N,
  EXP_SHIFT,
  EXP_T,
} from "./_exp_table.ts";

/** Precision of a kernel. */
export type Precision = "f64" | "f32";

const FN: Record<string, string> = {
  exp: "Math.exp",
  expm1: "Math.expm1",
  log: "Math.log",
  log10: "Math.log10",
  log1p: "Math.log1p",
  sqrt: "Math.sqrt",
  abs: "Math.abs",
  sin: "Math.sin",
  cos: "Math.cos",
  tan: "Math.tan",
  sinh: "Math.sinh",
  cosh: "Math.cosh",
  tanh: "Math.tanh",
  arcsin: "Math.asin",
  arccos: "Math.acos",
  arctan: "Math.atan",
  floor: "Math.floor",
  ceil: "Math.ceil",
  sign: "Math.sign",
};

/** 1/i! for i = 0..13, computed as the wasm renderer does. */
const EXP_COEF: number[] = (() => {
  const c: number[] = [];
  let f = 1;
  for (let i = 0; i <= 13; i++) {
    if (i > 0) f *= i;
    c.push(1 / f);
  }
  return c;
})();

/** Runtime helper per constant exponent ("" = the base itself). */
const POW_HELPER: Record<number, string> = {
  1: "",
  0.5: "psqrt",
  2: "p2",
  3: "p3",
  4: "p4",
  [-1]: "pm1",
  [-2]: "pm2",
};

/**
 * Helpers of generated kernels that reproduce the wasm kernel's arithmetic
 * exactly: constant powers as products (`x**3 = (x*x)*x`, `x**-2 = 1/(x*x)`)
 * and, in f64, exp as the wasm kernel's table-driven exp (`_exp_table.ts`;
 * `2^k · P(r)` with the Cody–Waite split of ln 2 and a degree-13 Taylor
 * polynomial for |x| ≥ 704) (`wasm_renderer.ts`), so that the engine
 * choice (wasm below 4,096 neurons, JavaScript threads above) does not change
 * results.
 */
export const KERNEL_HELPERS: string = `
const p2 = (x) => x * x; const p3 = (x) => x * x * x; const p4 = (x) => x * x * x * x;
const pm1 = (x) => 1 / x; const pm2 = (x) => 1 / (x * x); const psqrt = Math.sqrt;
const p2f = (x) => fr(x * x); const p3f = (x) => fr(fr(x * x) * x);
const p4f = (x) => fr(fr(fr(x * x) * x) * x);
const pm1f = (x) => fr(1 / x); const pm2f = (x) => fr(1 / fr(x * x)); const psqrtf = (x) => fr(Math.sqrt(x));
const EXP2K = new Float64Array(2048);
{ const dv = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 2048; i++) { dv.setUint32(0, i << 20 >>> 0); dv.setUint32(4, 0); EXP2K[i] = dv.getFloat64(0); } }
const wexpSlow = (x0) => {
  const big = x0 > 709.78;
  let x = 709.78 < x0 ? 709.78 : x0;
  x = x < -708.39 ? -708.39 : x;
  const y = x * ${Math.LOG2E};
  // round half to even (wasm's f64x2.nearest): |y| < 1100 << 2^51
  const k = (y + 6755399441055744) - 6755399441055744;
  const r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  let p = ${EXP_COEF[13]};
${EXP_COEF.slice(0, 13).reverse().map((c) => `  p = p * r + ${c};`).join("\n")}
  const q = p * EXP2K[(k + 1023) | 0];
  return big ? Infinity : x0 < -708.39 ? 0 : q;
};
const EXPH = new Float64Array([${Array.from(EXP_H).join(",")}]);
const EXPT = new Float64Array([${Array.from(EXP_T).join(",")}]);
const wexp = (x) => {
  if (!(Math.abs(x) < ${EXP_FAST_LIMIT})) return wexpSlow(x);
  const kd = (x * ${EXP_INV_LN2_N} + ${EXP_SHIFT}) - ${EXP_SHIFT};
  const r = (x + kd * ${EXP_NEG_LN2_HI_N}) + kd * ${EXP_NEG_LN2_LO_N};
  const ki = kd | 0;
  const i = ki & 127;
  const scale = EXPH[i] * EXP2K[(ki >> 7) + 1023];
  const r2 = r * r;
  const tmp = ((EXPT[i] + r) + r2 * (${EXP_C[0]} + r * ${
  EXP_C[1]
})) + (r2 * r2) * (${EXP_C[2]} + r * ${EXP_C[3]});
  return scale + scale * tmp;
};
`;

/** JavaScript spelling of the IR. */
export class JsRenderer extends RendererBase {
  readonly precision: Precision;
  readonly program: Program;
  /** Evaluate `exp` as the wasm kernel does (`wexp`) instead of `Math.exp`. */
  wasmExp = false;

  constructor(program: Program, precision: Precision) {
    super();
    this.program = program;
    this.precision = precision;
  }

  #r(s: string): string {
    return this.precision === "f32" ? `fr(${s})` : s;
  }

  literal(v: number): string {
    const x = this.precision === "f32" ? Math.fround(v) : v;
    if (Number.isNaN(x)) return "NaN";
    if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "(-Infinity)";
    return x < 0 || Object.is(x, -0) ? `(${x})` : `${x}`;
  }

  boolLiteral(v: boolean): string {
    return v ? "true" : "false";
  }

  variable(n: string): string {
    switch (n) {
      case "t":
        return "t";
      case "dt":
        return "dt";
      case "i":
        return "n";
      case "N":
        return "NN";
      case "t_in_timesteps":
        return "(k + KO)";
      default:
        return `$${n}`;
    }
  }

  binary(op: string, l: string, r: string): string {
    switch (op) {
      case "+":
      case "-":
      case "*":
      case "/":
        return this.#r(`(${l} ${op} ${r})`);
      case "//":
        return this.#r(`Math.floor(${l} / ${r})`);
      case "%":
        return this.#r(`pymod(${l}, ${r})`);
      case "**":
        return this.#r(`Math.pow(${l}, ${r})`);
      case "and":
        return `(${l} && ${r})`;
      case "or":
        return `(${l} || ${r})`;
      case "==":
        return `(${l} == ${r})`;
      case "!=":
        return `(${l} != ${r})`;
      default:
        return `(${l} ${op} ${r})`;
    }
  }

  unary(op: string, a: string): string {
    if (op === "not") return `(!${a})`;
    if (op === "-") return `(-${a})`;
    return a;
  }

  override expr(e: Expr): string {
    // constant powers as the wasm kernel computes them (products, sqrt), so
    // the two CPU engines agree bit for bit
    if (
      e.kind === "binary" && e.op === "**" && e.right.kind === "num" &&
      POW_HELPER[e.right.value] !== undefined
    ) {
      const h = POW_HELPER[e.right.value];
      const x = this.expr(e.left);
      return h === "" ? x : `${h}${this.precision === "f32" ? "f" : ""}(${x})`;
    }
    return super.expr(e);
  }

  func(fn: string, args: string[], raw: Expr[]): string {
    if (fn === "exp" && this.precision === "f64" && this.wasmExp) {
      // the wasm kernel's exp (same operations), not Math.exp: engines agree
      return `wexp(${args[0]})`;
    }
    if (fn === "__at") {
      const nm = (raw[0] as { name: string }).name;
      const c = (raw[1] as { value: number }).value;
      const off = stageOffset(c);
      const id = `${nm}`;
      const idx = off === 0 ? "kk" : `(kk + ${off})`;
      return `IN_${id}[base_${id} + (${idx} < len_${id} ? ${idx} : len_${id} - 1)]`;
    }
    if (fn === "__randn") return this.#r(`randn(n, k + KO, ${args[0]})`);
    if (fn === "__rand") return this.#r(`rand(n, k + KO, ${args[0]})`);
    if (fn === "int") return `Math.trunc(+${args[0]})`;
    if (fn === "clip") {
      return `Math.min(Math.max(${args[0]}, ${args[1]}), ${args[2]})`;
    }
    if (fn === "timestep") {
      return `Math.trunc((${args[0]} + 1e-3 * ${args[1]}) / ${args[1]})`;
    }
    const f = FN[fn];
    if (!f) {
      throw new TypeError(`function '${fn}' cannot be rendered to JavaScript`);
    }
    return this.#r(`${f}(${args.join(", ")})`);
  }

  /** Render `target = expr;` (declaring temporaries with `const`). */
  stmt(target: string, e: Expr, declare: boolean): string {
    const rhs = this.expr(e);
    if (target === "not_refractory") {
      return `$not_refractory = ${rhs} ? true : false;`;
    }
    return `${declare ? "const " : ""}${this.variable(target)} = ${rhs};`;
  }
}

/**
 * Options of the generated kernel.
 */
export interface KernelCodeOptions {
  /** Variables to record (names of recordable expressions). */
  record: readonly string[];
  /** Whether to accumulate a squared error against a target. */
  accumulate?: { variable: string; weighted: boolean } | null;
  /**
   * Evaluate `exp` with the wasm kernel's algorithm (bit-identical results
   * to the wasm engine, ~2x the cost of `Math.exp`). Set by the CPU backend
   * when the wasm kernel could run the same program, so that the engine
   * choice by batch size does not change results. Default false.
   */
  wasmExp?: boolean;
}

/**
 * JavaScript source of the kernel factory. The source evaluates (with
 * `new Function("rt", src)`) to `run(n0, n1, k0, nSteps, io)`; see
 * `cpu_backend.ts` for the `io` layout.
 * @param program the IR
 * @param precision f64 or f32
 * @param options recording and accumulation
 * @returns the source text
 */
export function renderJsKernel(
  program: Program,
  precision: Precision,
  options: KernelCodeOptions,
): string {
  const r = new JsRenderer(program, precision);
  r.wasmExp = options.wasmExp ?? false;
  const L: string[] = [];
  const P = program;
  const stateArr = precision === "f32" ? "Float32Array" : "Float64Array";
  L.push(`"use strict";`);
  L.push(
    `const fr = Math.fround; const randn = rt.randn; const rand = rt.rand;`,
  );
  L.push(
    `const pymod = (a, b) => { const m = a % b; return (m !== 0 && (m < 0) !== (b < 0)) ? m + b : m; };`,
  );
  L.push(KERNEL_HELPERS);
  L.push(`return function run(n0, n1, k0, nSteps, io) {`);
  L.push(
    `  const dt = io.dt; const NN = io.nNeurons; const every = io.recordEvery;`,
  );
  for (const s of P.states) {
    L.push(`  const S_${s} = io.state[${JSON.stringify(s)}];`);
  }
  for (const p of P.parameters) {
    L.push(`  const P_${p} = io.params[${JSON.stringify(p)}];`);
  }
  // inputs, the model's targets and the accumulated target (which the model
  // need not reference)
  const timed = [...P.inputs, ...P.targets.map((t) => `${t}_target`)];
  if (
    options.accumulate &&
    !timed.includes(`${options.accumulate.variable}_target`)
  ) timed.push(`${options.accumulate.variable}_target`);
  for (const name of timed) {
    L.push(`  const IN_${name} = io.inputs[${JSON.stringify(name)}].data;`);
    L.push(`  const len_${name} = io.inputs[${JSON.stringify(name)}].length;`);
    L.push(`  const rows_${name} = io.inputs[${JSON.stringify(name)}].rows;`);
  }
  for (const v of options.record) {
    L.push(`  const R_${v} = io.rec[${JSON.stringify(v)}];`);
  }
  L.push(`  const LS = io.lastspike; const NR = io.notRefractory;`);
  L.push(`  const KO = io.stepOrigin ?? 0;`);
  L.push(`  const spN = io.spikeNeuron; const spK = io.spikeStep;`);
  L.push(`  const recStart = io.recordStart; const nRec = io.recordCount;`);
  if (options.accumulate) {
    L.push(
      `  const ACC = io.accum; const ACCN = io.accumCount; const accStart = io.accumStart;`,
    );
    if (options.accumulate.weighted) L.push(`  const W = io.accumWeights;`);
  }
  L.push(`  void ${stateArr};`);
  L.push(`  for (let n = n0; n < n1; n++) {`);
  for (const s of P.states) L.push(`    let $${s} = S_${s}[n];`);
  for (const p of P.parameters) L.push(`    let $${p} = P_${p}[n];`);
  L.push(`    let $lastspike = LS[n]; let $not_refractory = NR[n] !== 0;`);
  for (const name of timed) {
    L.push(`    const base_${name} = (n % rows_${name}) * len_${name};`);
  }
  if (options.accumulate) L.push(`    let acc = 0; let accn = 0;`);
  L.push(`    for (let k = k0; k < k0 + nSteps; k++) {`);
  L.push(`      const t = (k + KO) * dt; const kk = k;`);
  for (const s of P.preStep) L.push(`      ${r.stmt(s.target, s.expr, true)}`);
  // record (pre-update)
  if (options.record.length) {
    L.push(`      if (k % every === 0) {`);
    L.push(`        const j = (k - recStart) / every;`);
    for (const v of options.record) {
      const e = P.recordable.get(v)!;
      L.push(`        R_${v}[n * nRec + j] = ${r.expr(e)};`);
    }
    L.push(`      }`);
  }
  if (options.accumulate) {
    const a = options.accumulate;
    const tgt = `${a.variable}_target`;
    const e = P.recordable.get(a.variable)!;
    L.push(`      if (k >= accStart) {`);
    L.push(
      `        const d = ${
        r.expr(e)
      } - IN_${tgt}[base_${tgt} + (k < len_${tgt} ? k : len_${tgt} - 1)];`,
    );
    L.push(
      a.weighted
        ? `        acc += d * d * W[k]; accn += 1;`
        : `        acc += d * d; accn += 1;`,
    );
    L.push(`      }`);
  }
  for (const s of P.refractory) {
    L.push(`      ${r.stmt(s.target, s.expr, false)}`);
  }
  const declared = new Set<string>();
  for (const s of P.update) {
    const isState = P.states.includes(s.target);
    L.push(
      `      ${r.stmt(s.target, s.expr, !isState && !declared.has(s.target))}`,
    );
    declared.add(s.target);
  }
  if (P.threshold) {
    L.push(`      if (${r.expr(P.threshold)}) {`);
    L.push(
      `        $lastspike = t; $not_refractory = false; spN.push(n); spK.push(k);`,
    );
    for (const s of P.reset) {
      L.push(`        ${r.stmt(s.target, s.expr, false)}`);
    }
    L.push(`      }`);
  }
  L.push(`    }`);
  for (const s of P.states) L.push(`    S_${s}[n] = $${s};`);
  for (const p of P.parameters) L.push(`    P_${p}[n] = $${p};`);
  L.push(`    LS[n] = $lastspike; NR[n] = $not_refractory ? 1 : 0;`);
  if (options.accumulate) L.push(`    ACC[n] += acc; ACCN[n] += accn;`);
  L.push(`  }`);
  L.push(`};`);
  return L.join("\n");
}
