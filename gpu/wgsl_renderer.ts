/**
 * Renders a {@linkcode Program} to WGSL compute shaders (f32): the batch
 * kernel (one invocation per neuron looping over the steps of a dispatch, in
 * Brian 2's per-step order: record → refractory → integrate → threshold →
 * reset, the same order as `lib/codegen/js_renderer.ts`) and the spike
 * compaction kernel that gathers the per-neuron spike ring buffers.
 *
 * The counter-based noise (`hash32`, `counterUniform`, `counterNormal` of
 * `lib/_internal/random.ts`) is reproduced with u32 arithmetic so that the
 * CPU and GPU kernels draw the same numbers (up to f32 rounding).
 * @module
 */
import type { Expr } from "../lib/equations/ast.ts";
import type { Program } from "../lib/codegen/program.ts";
import { RendererBase, stageOffset } from "../lib/codegen/renderer.ts";
import { guardRemovableSingularities } from "../lib/codegen/optimize.ts";

/** Workgroup size of every kernel (invocations per workgroup along x). */
export const WORKGROUP_SIZE = 64;

/** Sentinel step of `lastspike` for neurons that never spiked (CPU: -1e4 s). */
export const NO_SPIKE_STEP = -(2 ** 30);

/** Options of the generated batch kernel. */
export interface WgslKernelOptions {
  /** Variables to record (names of recordable expressions). */
  readonly record: readonly string[];
  /** Squared-error accumulation against `<variable>_target`. */
  readonly accumulate?: {
    readonly variable: string;
    readonly weighted: boolean;
  } | null;
  /** Neurons per invocation (default {@linkcode KERNEL_LANES}). */
  readonly lanes?: number;
  /**
   * Use the driver's built-in `exp` instead of the accurate polynomial one
   * (default false). Faster on lavapipe (~1.5x for the HH model) but several
   * ulps off, which moves HH trajectories by ~0.15 mV against the CPU.
   */
  readonly nativeExp?: boolean;
}

/**
 * Neurons simulated by one invocation of the batch kernel, as independent
 * interleaved instruction streams: lavapipe runs 8 invocations per SIMD
 * instruction on one core, so a single neuron per invocation leaves the
 * core waiting on long dependency chains (exp, division).
 */
export const KERNEL_LANES = 4;

/** Binding numbers shared by the generated kernels and the backend. */
export const BINDING = {
  uniforms: 0,
  state: 1,
  data: 2,
  rec: 3,
  ring: 4,
  counts: 5,
  accum: 6,
  compact: 7,
  time: 8,
} as const;

/** Number of u32 words of the fixed part of the uniform block. */
export const UNIFORM_FIXED_WORDS = 20;

/** Layout of the generated uniform block: the fixed header and 4 words per timed array. */
export interface UniformLayout {
  /** Names of the timed arrays (inputs, then `<var>_target`), in block order. */
  readonly timed: readonly string[];
  /** Total size in 32-bit words (a multiple of 4). */
  readonly words: number;
}

/**
 * The uniform layout of a program: fixed fields (see `uniformStruct`), then
 * `off, len, rows, pad` for each input and target array.
 * @param program the IR
 * @param accumulate variable whose `<var>_target` the error accumulation reads (if any)
 * @returns the names of the timed arrays and the size of the block
 */
export function uniformLayout(
  program: Program,
  accumulate?: string | null,
): UniformLayout {
  const timed = [
    ...program.inputs,
    ...program.targets.map((t) => `${t}_target`),
  ];
  if (accumulate && !timed.includes(`${accumulate}_target`)) {
    timed.push(`${accumulate}_target`);
  }
  return { timed, words: UNIFORM_FIXED_WORDS + 4 * timed.length };
}

const UNARY_FN: Record<string, string> = {
  exp: "_exp",
  log: "log",
  sqrt: "sqrt",
  abs: "abs",
  sin: "sin",
  cos: "cos",
  tan: "tan",
  sinh: "sinh",
  cosh: "cosh",
  tanh: "tanh",
  arcsin: "asin",
  arccos: "acos",
  arctan: "atan",
  floor: "floor",
  ceil: "ceil",
  sign: "sign",
  expm1: "_expm1",
  log1p: "_log1p",
};

/** Whether an expression tree reads the time `t` (other than in `timestep(t - lastspike, dt)`). */
function usesTime(e: Expr): boolean {
  switch (e.kind) {
    case "name":
      return e.name === "t";
    case "unary":
      return usesTime(e.arg);
    case "binary":
      return usesTime(e.left) || usesTime(e.right);
    case "call":
      if (isSinceLastSpike(e)) return false;
      return e.args.some(usesTime);
    default:
      return false;
  }
}

/** `timestep(t - lastspike, dt)`: rendered exactly with integer steps. */
function isSinceLastSpike(e: Expr): boolean {
  if (e.kind !== "call" || e.fn !== "timestep" || e.args.length !== 2) {
    return false;
  }
  const a = e.args[0];
  return a.kind === "binary" && a.op === "-" && a.left.kind === "name" &&
    a.left.name === "t" &&
    a.right.kind === "name" && a.right.name === "lastspike";
}

/**
 * Whether the batch kernel of a program needs the per-step time table
 * (the program reads `t` outside of the refractoriness test).
 * @param program the IR
 * @param options the recorded variables and accumulation
 * @returns true when `t` is read
 */
export function programUsesTime(
  program: Program,
  options: WgslKernelOptions,
): boolean {
  const exprs: Expr[] = [
    ...program.preStep.map((s) => s.expr),
    ...program.refractory.map((s) => s.expr),
    ...program.update.map((s) => s.expr),
    ...program.reset.map((s) => s.expr),
  ];
  if (program.threshold) exprs.push(program.threshold);
  for (const v of options.record) exprs.push(program.recordable.get(v)!);
  if (options.accumulate) {
    exprs.push(program.recordable.get(options.accumulate.variable)!);
  }
  return exprs.some(usesTime);
}

/** WGSL (f32) spelling of the IR. */
export class WgslRenderer extends RendererBase {
  /** The program rendered. */
  readonly program: Program;
  /** Names of the timed arrays, in uniform-block order. */
  readonly timed: readonly string[];
  /** Suffix of per-neuron names (one per neuron handled by an invocation). */
  suffix = "";
  /** Render `exp` with the driver's built-in function. */
  nativeExp = false;

  /**
   * A renderer for one program.
   * @param program the IR
   * @param accumulate variable of the error accumulation (adds its `<var>_target` array)
   */
  constructor(program: Program, accumulate?: string | null) {
    super();
    this.program = program;
    this.timed = uniformLayout(program, accumulate).timed;
  }

  /**
   * An f32 literal that parses to exactly `Math.fround(value)`.
   * @param value the number
   * @returns WGSL text
   */
  literal(value: number): string {
    const x = Math.fround(value);
    if (Number.isNaN(x)) return "_nan()";
    if (!Number.isFinite(x)) return x > 0 ? "_inf()" : "(-_inf())";
    let s = `${Math.abs(x)}`;
    if (!/[.e]/.test(s)) s += ".0";
    else if (/^\d+e/.test(s)) s = s.replace("e", ".0e");
    return x < 0 || Object.is(x, -0) ? `(-${s}f)` : `${s}f`;
  }

  /**
   * A boolean literal.
   * @param value the boolean
   * @returns WGSL text
   */
  boolLiteral(value: boolean): string {
    return value ? "true" : "false";
  }

  /**
   * A variable reference (per-neuron names carry the lane suffix).
   * @param name variable name of the IR
   * @returns WGSL text
   */
  variable(name: string): string {
    switch (name) {
      case "t":
        return "t_f";
      case "dt":
        return "u.dt";
      case "i":
        return `f32(i${this.suffix})`;
      case "N":
        return "f32(u.n)";
      case "t_in_timesteps":
        return "f32(k + u.origin)";
      case "lastspike":
        return `(f32(ls${this.suffix} + u.origin) * u.dt)`;
      case "not_refractory":
        return `nr${this.suffix}`;
      default:
        return `m_${name}${this.suffix}`;
    }
  }

  /** A rendered operand as f32 (booleans become 0/1). */
  #num(s: string, e: Expr): string {
    return this.isBoolean(e) ? `select(0.0f, 1.0f, ${s})` : s;
  }

  /** A rendered operand as bool (numbers: nonzero). */
  #bool(s: string, e: Expr): string {
    return this.isBoolean(e) ? s : `(${s} != 0.0f)`;
  }

  /**
   * A binary operation with Python semantics (`//`, `%`, `**`, and/or on booleans).
   * @param op operator of the IR
   * @param l rendered left operand
   * @param r rendered right operand
   * @param le left operand
   * @param re right operand
   * @returns WGSL text
   */
  binary(op: string, l: string, r: string, le: Expr, re: Expr): string {
    switch (op) {
      case "/":
        // division by a literal: multiply by the reciprocal (within 1 ulp; divisions are slow on lavapipe)
        if (
          re.kind === "num" && Number.isFinite(1 / Math.fround(re.value)) &&
          re.value !== 0
        ) {
          return `(${this.#num(l, le)} * ${
            this.literal(1 / Math.fround(re.value))
          })`;
        }
        return `(${this.#num(l, le)} / ${this.#num(r, re)})`;
      case "+":
      case "-":
      case "*":
        return `(${this.#num(l, le)} ${op} ${this.#num(r, re)})`;
      case "//":
        return `floor(${this.#num(l, le)} / ${this.#num(r, re)})`;
      case "%":
        return `_pymod(${this.#num(l, le)}, ${this.#num(r, re)})`;
      case "**":
        return this.#pow(this.#num(l, le), re);
      case "and":
        return `(${this.#bool(l, le)} && ${this.#bool(r, re)})`;
      case "or":
        return `(${this.#bool(l, le)} || ${this.#bool(r, re)})`;
      case "==":
      case "!=":
        if (this.isBoolean(le) && this.isBoolean(re)) {
          return `(${l} ${op} ${r})`;
        }
        return `(${this.#num(l, le)} ${op} ${this.#num(r, re)})`;
      case "<":
      case "<=":
      case ">":
      case ">=":
        return `(${this.#num(l, le)} ${op} ${this.#num(r, re)})`;
      default:
        throw new TypeError(`operator '${op}' cannot be rendered to WGSL`);
    }
  }

  /** `x ** y`: small integer exponents as products (WGSL's pow is NaN for x < 0). */
  #pow(x: string, y: Expr): string {
    let c: number | null = null;
    if (y.kind === "num") c = y.value;
    else if (y.kind === "unary" && y.op === "-" && y.arg.kind === "num") {
      c = -y.arg.value;
    }
    if (c !== null) {
      if (c === 0) return "1.0f";
      if (c === 1) return x;
      if (c === 0.5) return `sqrt(${x})`;
      if (Number.isInteger(c) && Math.abs(c) <= 4) {
        const p = Math.abs(c) === 1 ? x : `_p${Math.abs(c)}(${x})`;
        return c > 0 ? p : `(1.0f / ${p})`;
      }
    }
    return `_pow(${x}, ${this.#num(this.expr(y), y)})`;
  }

  /**
   * A unary operation.
   * @param op `-`, `+` or `not`
   * @param arg rendered operand
   * @param a operand
   * @returns WGSL text
   */
  unary(op: string, arg: string, a: Expr): string {
    if (op === "not") return `(!${this.#bool(arg, a)})`;
    if (op === "-") return `(-${this.#num(arg, a)})`;
    return this.#num(arg, a);
  }

  /**
   * A function call, TimedArray look-up or random draw.
   * @param fn function name (including `__at`, `__randn`, `__rand`)
   * @param args rendered arguments
   * @param raw argument trees
   * @returns WGSL text
   */
  func(fn: string, args: string[], raw: Expr[]): string {
    if (fn === "__xexpm1") return `_xexpm1(${args[0]})`;
    if (fn === "__at") {
      const nm = (raw[0] as { name: string }).name;
      const c = (raw[1] as { value: number }).value;
      const idx = this.timed.indexOf(nm);
      if (idx < 0) throw new TypeError(`no timed array '${nm}' in the program`);
      const off = stageOffset(c);
      const kk = off === 0 ? "u32(k)" : `u32(k + ${off})`;
      return `data[base_${idx}${this.suffix} + min(${kk}, u.len_${idx} - 1u)]`;
    }
    if (fn === "__randn") {
      return `_randn(i${this.suffix}, k + u.origin, ${
        (raw[0] as { value: number }).value
      }u)`;
    }
    if (fn === "__rand") {
      return `_rand(i${this.suffix}, k + u.origin, ${
        (raw[0] as { value: number }).value
      }u)`;
    }
    const a = (j: number) => this.#num(args[j], raw[j]);
    if (fn === "int") {
      return this.isBoolean(raw[0])
        ? `select(0.0f, 1.0f, ${args[0]})`
        : `trunc(${args[0]})`;
    }
    if (fn === "clip") return `min(max(${a(0)}, ${a(1)}), ${a(2)})`;
    if (fn === "timestep") {
      if (
        isSinceLastSpike({ kind: "call", fn, args: raw, start: -1, end: -1 })
      ) return `f32(k - ls${this.suffix})`;
      return `trunc((${a(0)} + 1e-3f * ${a(1)}) / ${a(1)})`;
    }
    if (fn === "log10") return `(log(${a(0)}) * 0.4342944819032518f)`;
    const f = fn === "exp" && this.nativeExp ? "exp" : UNARY_FN[fn];
    if (!f || args.length !== 1) {
      throw new TypeError(`function '${fn}' cannot be rendered to WGSL`);
    }
    return `${f}(${a(0)})`;
  }

  /**
   * Render one assignment.
   * @param target assigned name
   * @param e value
   * @param declare declare a new temporary (`var`)
   * @returns WGSL text
   */
  stmt(target: string, e: Expr, declare: boolean): string {
    const rhs = this.expr(e);
    if (target === "not_refractory") {
      return `nr${this.suffix} = ${this.#bool(rhs, e)};`;
    }
    const isVar = this.program.states.includes(target) ||
      this.program.parameters.includes(target);
    const value = isVar ? this.#num(rhs, e) : rhs;
    return `${declare ? "var " : ""}${this.variable(target)} = ${value};`;
  }
}

/** Helper functions included in every batch kernel. */
const HELPERS = `
fn _inf() -> f32 { return bitcast<f32>(0x7f800000u); }
fn _nan() -> f32 { return bitcast<f32>(0x7fc00000u); }
fn _p2(x: f32) -> f32 { return x * x; }
fn _p3(x: f32) -> f32 { return x * x * x; }
fn _p4(x: f32) -> f32 { let y = x * x; return y * y; }
// Python's x ** y for real results: negative bases need integer exponents.
fn _pow(x: f32, y: f32) -> f32 {
  if (y == 0.0f) { return 1.0f; }
  if (x > 0.0f) { return pow(x, y); }
  if (x == 0.0f) { return select(_inf(), 0.0f, y > 0.0f); }
  if (trunc(y) != y) { return _nan(); }
  let a = pow(-x, y);
  return select(a, -a, trunc(y * 0.5f) * 2.0f != y);
}
// Python's float modulo: the result has the sign of the divisor.
fn _pymod(a: f32, b: f32) -> f32 {
  let m = a - b * trunc(a / b);
  return select(m, m + b, m != 0.0f && ((m < 0.0f) != (b < 0.0f)));
}
// exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 by Cody-Waite (ln 2
// split in two), exp(r) by a degree-5 near-minimax polynomial on |r| <= ln(2)/2
// (coefficients fitted here by a Lawson-weighted least-squares on Chebyshev
// nodes; Estrin's scheme; max error about 2 ulp in f32), 2^k from exponent bits.
// The built-in exp of some drivers (lavapipe: exp2(x log2 e) with a degree-5
// polynomial on [0, 1)) is off by several ulps, which moves HH trajectories by
// ~0.15 mV against the f32 CPU kernel; this one keeps them within ~0.02 mV for
// ~1.4x the kernel time on lavapipe. x is clamped to [ln(2^-126), 88.376]:
// exp of very negative x is 2^-126 (not 0), of very large x 2.4e38 (not inf),
// and NaN is not propagated (the states that feed exp carry it anyway).
fn _exp(x: f32) -> f32 {
  let y = clamp(x, -87.33654f, 88.37626f);
  let k = round(y * 1.4426950408889634f);
  let r = (y - k * 0.693145751953125f) - k * 1.4286068203094172e-6f;
  let r2 = r * r;
  let p = (1.0f + r * 0.9999997019767761f) +
    r2 * ((0.4999915063381195f + r * 0.1666763573884964f) + r2 * (0.04189793020486832f + r * 0.008290314115583897f));
  // k + 127 + 2^23 holds k + 127 in its low mantissa bits (exact, no float-to-int conversion)
  return p * bitcast<f32>(bitcast<u32>(k + 8388735.0f) << 23u);
}
fn _expm1(x: f32) -> f32 {
  if (abs(x) >= 0.25f) { return _exp(x) - 1.0f; }
  return x * (1.0f + x * (0.5f + x * (0.16666666666666666f + x * (0.041666666666666664f + x * (0.008333333333333333f +
    x * (0.001388888888888889f + x * (0.0001984126984126984f + x * 0.0000248015873015873f)))))));
}
// a / (exp(a) - 1) without the removable singularity at a = 0 (see
// guardRemovableSingularities in lib/codegen/optimize.ts): the Bernoulli
// series 1 - a/2 + a^2/12 - a^4/720 + a^6/30240 for |a| < 0.5 (next term
// a^8/1209600 < 4e-9), the direct form elsewhere.
fn _xexpm1(a: f32) -> f32 {
  if (abs(a) < 0.5f) {
    let a2 = a * a;
    return (1.0f - 0.5f * a) + a2 * (0.08333333333333333f - a2 * (0.001388888888888889f - a2 * 0.00003306878306878307f));
  }
  return a / (_exp(a) - 1.0f);
}
fn _log1p(x: f32) -> f32 {
  if (abs(x) >= 0.25f) { return log(1.0f + x); }
  let s = x / (2.0f + x);
  let s2 = s * s;
  return 2.0f * s * (1.0f + s2 * (0.3333333333333333f + s2 * (0.2f + s2 * (0.14285714285714285f + s2 * 0.1111111111111111f))));
}
// lowbias32 integer hash (C. Wellons), as hash32 in lib/_internal/random.ts.
fn _hash32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
// counterUniform(seed, stream, counter): ((h >>> 8) + 0.5) / 2^24.
fn _cu(stream: u32, c: u32) -> f32 {
  let h = _hash32(u.seed ^ _hash32(stream ^ _hash32(c)));
  return (f32(h >> 8u) + 0.5f) * 5.9604644775390625e-8f;
}
// counterNormal: Box-Muller on the uniforms of counters 2c and 2c+1.
fn _cn(stream: u32, c: u32) -> f32 {
  let u1 = _cu(stream, 2u * c);
  let u2 = _cu(stream, 2u * c + 1u);
  return sqrt(-2.0f * log(u1)) * cos(6.283185307179586f * u2);
}
`;

/**
 * The uniform block declaration (fixed fields, then 4 words per timed array).
 * @param layout the uniform layout
 * @returns WGSL text
 */
function uniformStruct(layout: UniformLayout): string {
  const f = [
    "n: u32",
    "k0: i32",
    "steps: i32",
    "first: u32",
    "rc: u32",
    "recStart: i32",
    "every: i32",
    "accStart: i32",
    "dt: f32",
    "seed: u32",
    "gx: u32",
    "cap: u32",
    "wOff: u32",
    "wLen: u32",
    "ringCap: u32",
    "stride: u32",
    "origin: i32",
    "pad_a: u32",
    "pad_b: u32",
    "pad_c: u32",
  ];
  layout.timed.forEach((_, j) =>
    f.push(`off_${j}: u32`, `len_${j}: u32`, `rows_${j}: u32`, `pad_${j}: u32`)
  );
  return `struct U {\n${
    f.map((x) => `  ${x},`).join("\n")
  }\n}\n@group(0) @binding(${BINDING.uniforms}) var<uniform> u: U;\n`;
}

/** Word offsets of the fixed uniform fields. */
export const UNIFORM = {
  n: 0,
  k0: 1,
  steps: 2,
  first: 3,
  rc: 4,
  recStart: 5,
  every: 6,
  accStart: 7,
  dt: 8,
  seed: 9,
  gx: 10,
  cap: 11,
  wOff: 12,
  wLen: 13,
  ringCap: 14,
  stride: 15,
  origin: 16,
} as const;

/**
 * Order of the per-neuron arrays in the state buffer: states, parameters,
 * then `lastspike` (i32 step, bitcast) and `not_refractory` (0/1).
 * @param program the IR
 * @returns the names in buffer order
 */
export function stateLayout(program: Program): string[] {
  return [
    ...program.states,
    ...program.parameters,
    "lastspike",
    "not_refractory",
  ];
}

/**
 * WGSL source of the batch kernel of a program. One invocation simulates one
 * neuron for `u.steps` steps from `u.k0`, keeping the state in registers.
 * @param program the IR
 * @param options recorded variables and accumulation
 * @returns the shader source (entry point `main`)
 * @throws {TypeError} an expression that WGSL cannot express
 */
export function renderWgslKernel(
  program: Program,
  options: WgslKernelOptions,
): string {
  const r = new WgslRenderer(program, options.accumulate?.variable);
  r.nativeExp = options.nativeExp ?? false;
  const P = program;
  // float32: no 0/0 at the removable singularities of HH rate functions
  const update = guardRemovableSingularities(P.update);
  const layout = uniformLayout(P, options.accumulate?.variable);
  const vars = stateLayout(P);
  const useT = programUsesTime(P, options);
  const lanes = options.lanes ?? KERNEL_LANES;
  if (!Number.isInteger(lanes) || lanes < 1) {
    throw new RangeError(`lanes must be a positive integer, got ${lanes}`);
  }
  const L: string[] = [];
  L.push(uniformStruct(layout));
  L.push(
    `@group(0) @binding(${BINDING.state}) var<storage, read_write> st: array<f32>;`,
  );
  L.push(
    `@group(0) @binding(${BINDING.data}) var<storage, read> data: array<f32>;`,
  );
  if (options.record.length) {
    L.push(
      `@group(0) @binding(${BINDING.rec}) var<storage, read_write> rec: array<f32>;`,
    );
  }
  if (P.threshold) {
    L.push(
      `@group(0) @binding(${BINDING.ring}) var<storage, read_write> ring: array<u32>;`,
    );
    L.push(
      `@group(0) @binding(${BINDING.counts}) var<storage, read_write> counts: array<u32>;`,
    );
  }
  if (options.accumulate) {
    L.push(
      `@group(0) @binding(${BINDING.accum}) var<storage, read_write> accb: array<f32>;`,
    );
  }
  if (useT) {
    L.push(
      `@group(0) @binding(${BINDING.time}) var<storage, read> tt: array<f32>;`,
    );
  }
  L.push(HELPERS);
  L.push(
    `fn _randn(i: u32, k: i32, r: u32) -> f32 { return _cn(i, u32(k) * ${
      Math.max(1, P.nRandom)
    }u + r); }`,
  );
  L.push(
    `fn _rand(i: u32, k: i32, r: u32) -> f32 { return _cu(i ^ 0x40000000u, u32(k) * ${
      Math.max(1, P.nRandom)
    }u + r); }`,
  );
  L.push(`@compute @workgroup_size(${WORKGROUP_SIZE})`);
  L.push(`fn main(@builtin(global_invocation_id) gid: vec3<u32>) {`);
  // invocation q handles neurons q, q + S, q + 2S, ... (S = u.stride): independent
  // dependency chains that a CPU (lavapipe) overlaps; on a GPU the reads stay coalesced
  L.push(`  let q = gid.x + gid.y * u.gx * ${WORKGROUP_SIZE}u;`);
  L.push(`  if (q >= u.stride) { return; }`);
  L.push(`  let n = u.n;`);
  const slot = (name: string) => vars.indexOf(name);
  const each = (f: (x: string) => void) => {
    for (let l = 0; l < lanes; l++) {
      r.suffix = `_${l}`;
      f(r.suffix);
    }
    r.suffix = "";
  };
  each((x) => {
    const l = x.slice(1);
    L.push(`  let ok${x} = q + ${l}u * u.stride < n;`);
    L.push(`  let i${x} = min(q + ${l}u * u.stride, n - 1u);`);
    for (const s of [...P.states, ...P.parameters]) {
      L.push(`  var m_${s}${x}: f32 = st[${slot(s)}u * n + i${x}];`);
    }
    L.push(
      `  var ls${x}: i32 = bitcast<i32>(st[${
        slot("lastspike")
      }u * n + i${x}]);`,
    );
    L.push(
      `  var nr${x}: bool = st[${
        slot("not_refractory")
      }u * n + i${x}] != 0.0f;`,
    );
    L.push(`  _ = ls${x}; _ = nr${x}; _ = ok${x};`);
    layout.timed.forEach((_, j) =>
      L.push(
        `  let base_${j}${x} = u.off_${j} + (i${x} % u.rows_${j}) * u.len_${j};`,
      )
    );
    if (P.threshold) {
      L.push(`  var cnt${x}: u32 = select(counts[i${x}], 0u, u.first != 0u);`);
    }
    if (options.accumulate) L.push(`  var acc${x}: f32 = 0.0f;`);
  });
  L.push(`  for (var k: i32 = u.k0; k < u.k0 + u.steps; k = k + 1) {`);
  if (useT) L.push(`    let t_f = tt[u32(k - u.k0)];`);
  each(() => {
    for (const s of P.preStep) {
      L.push(`    ${r.stmt(s.target, s.expr, true).replace(/^var /, "let ")}`);
    }
  });
  if (options.record.length) {
    L.push(`    if (k % u.every == 0) {`);
    L.push(`      let j = u32((k - u.recStart) / u.every);`);
    each((x) => {
      L.push(`      if (ok${x}) {`);
      options.record.forEach((v, vi) => {
        const e = P.recordable.get(v);
        if (!e) throw new TypeError(`'${v}' is not recordable`);
        const val = r.isBoolean(e)
          ? `select(0.0f, 1.0f, ${r.expr(e)})`
          : r.expr(e);
        L.push(`        rec[(${vi}u * n + i${x}) * u.rc + j] = ${val};`);
      });
      L.push(`      }`);
    });
    L.push(`    }`);
  }
  if (options.accumulate) {
    const a = options.accumulate;
    const j = layout.timed.indexOf(`${a.variable}_target`);
    if (j < 0) {
      throw new TypeError(
        `accumulation on '${a.variable}' needs the array '${a.variable}_target'`,
      );
    }
    const e = P.recordable.get(a.variable);
    if (!e) throw new TypeError(`'${a.variable}' is not recordable`);
    L.push(`    if (k >= u.accStart) {`);
    if (a.weighted) {
      L.push(`      let w = data[u.wOff + min(u32(k), u.wLen - 1u)];`);
    }
    each((x) => {
      L.push(
        `      let d${x} = ${
          r.expr(e)
        } - data[base_${j}${x} + min(u32(k), u.len_${j} - 1u)];`,
      );
      L.push(
        a.weighted
          ? `      acc${x} = acc${x} + w * d${x} * d${x};`
          : `      acc${x} = acc${x} + d${x} * d${x};`,
      );
    });
    L.push(`    }`);
  }
  each(() => {
    for (const s of P.refractory) {
      L.push(`    ${r.stmt(s.target, s.expr, false)}`);
    }
  });
  each(() => {
    const declared = new Set<string>();
    for (const s of update) {
      const isState = P.states.includes(s.target);
      L.push(
        `    ${r.stmt(s.target, s.expr, !isState && !declared.has(s.target))}`,
      );
      declared.add(s.target);
    }
  });
  if (P.threshold) {
    each((x) => {
      L.push(`    if (${r.expr(P.threshold!)}) {`);
      L.push(`      ls${x} = k; nr${x} = false;`);
      L.push(
        `      if (ok${x}) { ring[i${x} * u.ringCap + cnt${x} % u.ringCap] = u32(k); }`,
      );
      L.push(`      cnt${x} = cnt${x} + 1u;`);
      for (const s of P.reset) {
        L.push(`      ${r.stmt(s.target, s.expr, false)}`);
      }
      L.push(`    }`);
    });
  }
  L.push(`  }`);
  each((x) => {
    L.push(`  if (ok${x}) {`);
    for (const s of [...P.states, ...P.parameters]) {
      L.push(`    st[${slot(s)}u * n + i${x}] = m_${s}${x};`);
    }
    L.push(`    st[${slot("lastspike")}u * n + i${x}] = bitcast<f32>(ls${x});`);
    L.push(
      `    st[${
        slot("not_refractory")
      }u * n + i${x}] = select(0.0f, 1.0f, nr${x});`,
    );
    if (P.threshold) L.push(`    counts[i${x}] = cnt${x};`);
    if (options.accumulate) L.push(`    accb[i${x}] = acc${x};`);
    L.push(`  }`);
  });
  L.push(`}`);
  return L.join("\n");
}

/**
 * WGSL source of the spike compaction kernel: appends the spikes kept in
 * each neuron's ring buffer as (neuron, step) pairs to one array, with an
 * atomic counter in front, and a (neuron, 0xffffffff) marker for every
 * neuron whose ring buffer overflowed.
 * @returns the shader source (entry point `main`)
 */
export function renderCompactKernel(): string {
  return `${uniformStruct({ timed: [], words: UNIFORM_FIXED_WORDS })}
@group(0) @binding(${BINDING.ring}) var<storage, read_write> ring: array<u32>;
@group(0) @binding(${BINDING.counts}) var<storage, read_write> counts: array<u32>;
struct Out { total: atomic<u32>, p0: u32, p1: u32, p2: u32, pairs: array<u32> }
@group(0) @binding(${BINDING.compact}) var<storage, read_write> outb: Out;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * u.gx * ${WORKGROUP_SIZE}u;
  if (i >= u.n) { return; }
  let c = counts[i];
  if (c == 0u) { return; }
  let C = u.ringCap;
  let m = min(c, C);
  let o = select(0u, 1u, c > C);
  let off = atomicAdd(&outb.total, m + o);
  if (off + m + o > u.cap) { return; }
  for (var s = 0u; s < m; s = s + 1u) {
    outb.pairs[2u * (off + s)] = i;
    outb.pairs[2u * (off + s) + 1u] = ring[i * C + (c - m + s) % C];
  }
  if (o == 1u) {
    outb.pairs[2u * (off + m)] = i;
    outb.pairs[2u * (off + m) + 1u] = 0xffffffffu;
  }
}
`;
}
