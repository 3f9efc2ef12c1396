/**
 * IR optimisations that do not change results: constant folding of subtrees
 * whose operands are all literals (evaluated in the same order as at run
 * time, so bit-identical) and common-subexpression elimination (identical
 * pure subtrees computed once into `__cse_<k>` temporaries). Exponential
 * Euler repeats the rate functions in `A` and `B/A`; CSE halves the number of
 * `exp` calls of a Hodgkin–Huxley step.
 * @module
 */
import { arith, bin, type Expr, name, num, show } from "../equations/ast.ts";
import type { Stmt } from "../integrators/types.ts";

/** Fold operations on literals (same IEEE operations as at run time). */
export function foldConstants(e: Expr): Expr {
  switch (e.kind) {
    case "unary": {
      const a = foldConstants(e.arg);
      if (a.kind === "num" && e.op === "-") return num(-a.value);
      if (a.kind === "num" && e.op === "+") return a;
      return { ...e, arg: a };
    }
    case "binary": {
      const l = foldConstants(e.left);
      const r = foldConstants(e.right);
      if (l.kind === "num" && r.kind === "num") {
        const v = e.op === "//" || e.op === "%"
          ? null
          : arith(e.op, l.value, r.value);
        if (v !== null && Number.isFinite(v)) return num(v);
      }
      return { ...e, left: l, right: r };
    }
    case "call": {
      const args = e.args.map(foldConstants);
      if (e.fn === "__at" || e.fn.startsWith("__")) {
        return { ...e, args: e.args };
      }
      return { ...e, args };
    }
    default:
      return e;
  }
}

function size(e: Expr): number {
  switch (e.kind) {
    case "unary":
      return 1 + size(e.arg);
    case "binary":
      return 1 + size(e.left) + size(e.right);
    case "call":
      return 1 + e.args.reduce((s, a) => s + size(a), 0);
    default:
      return 1;
  }
}

function isRandom(e: Expr): boolean {
  if (e.kind === "call") {
    return e.fn === "__randn" || e.fn === "__rand" || e.args.some(isRandom);
  }
  if (e.kind === "unary") return isRandom(e.arg);
  if (e.kind === "binary") return isRandom(e.left) || isRandom(e.right);
  return false;
}

/**
 * Common-subexpression elimination over a statement list in which every
 * statement reads values defined before it and state variables are only
 * assigned by the trailing `x = _x` commits.
 * @param stmts the statements
 * @param states names of state variables (their commits end the list)
 * @param prefix name prefix of the new temporaries
 * @returns the rewritten statements
 */
export function eliminateCommonSubexpressions(
  stmts: readonly Stmt[],
  states: readonly string[],
  prefix = "__cse",
): Stmt[] {
  const stateSet = new Set(states);
  const counts = new Map<string, number>();
  const count = (e: Expr) => {
    if (e.kind === "num" || e.kind === "name" || e.kind === "bool") return;
    if (e.kind === "call" && e.fn === "__at") return;
    if (size(e) >= 3 && !isRandom(e)) {
      const k = show(e);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    if (e.kind === "unary") count(e.arg);
    else if (e.kind === "binary") {
      count(e.left);
      count(e.right);
    } else if (e.kind === "call") e.args.forEach(count);
  };
  const body = stmts.filter((s) => !stateSet.has(s.target));
  for (const s of body) count(s.expr);
  const out: Stmt[] = [];
  const emitted = new Map<string, string>();
  let next = 0;
  const rewrite = (e: Expr): Expr => {
    if (e.kind === "num" || e.kind === "name" || e.kind === "bool") return e;
    if (e.kind === "call" && e.fn === "__at") return e;
    const k = show(e);
    const done = emitted.get(k);
    if (done) return name(done);
    let r: Expr;
    if (e.kind === "unary") r = { ...e, arg: rewrite(e.arg) };
    else if (e.kind === "binary") {
      r = { ...e, left: rewrite(e.left), right: rewrite(e.right) };
    } else r = { ...e, args: e.args.map(rewrite) };
    if ((counts.get(k) ?? 0) >= 2) {
      const t = `${prefix}_${next++}`;
      out.push({ target: t, expr: r });
      emitted.set(k, t);
      return name(t);
    }
    return r;
  };
  for (const s of stmts) {
    if (stateSet.has(s.target)) out.push(s);
    else out.push({ target: s.target, expr: rewrite(s.expr) });
  }
  return out;
}

const MATH1: Record<string, ((x: number) => number) | undefined> = {
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
};

/**
 * Evaluates an expression with every free name (and every `__`-call, such
 * as an input lookup) replaced by a pseudo-random value keyed by its text.
 * Returns NaN for anything it does not know.
 */
function evalRandom(
  e: Expr,
  defs: ReadonlyMap<string, Expr>,
  seed: number,
  memo: Map<string, number>,
): number {
  const free = (key: string) => {
    let v = memo.get(key);
    if (v === undefined) {
      // a hash of the key and the seed, mapped to [0.5, 1.5) with a sign
      let h = 2166136261 ^ seed;
      for (let i = 0; i < key.length; i++) {
        h = Math.imul(h ^ key.charCodeAt(i), 16777619);
      }
      const u = ((h >>> 0) % 1000003) / 1000003;
      v = (u < 0.5 ? -1 : 1) * (0.5 + 2 * Math.abs(u - 0.5));
      memo.set(key, v);
    }
    return v;
  };
  switch (e.kind) {
    case "num":
      return e.value;
    case "bool":
      return e.value ? 1 : 0;
    case "name": {
      const d = defs.get(e.name);
      return d ? evalRandom(d, defs, seed, memo) : free(e.name);
    }
    case "unary": {
      const a = evalRandom(e.arg, defs, seed, memo);
      return e.op === "-" ? -a : e.op === "+" ? a : NaN;
    }
    case "binary": {
      const v = arith(
        e.op,
        evalRandom(e.left, defs, seed, memo),
        evalRandom(e.right, defs, seed, memo),
      );
      return v ?? NaN;
    }
    case "call": {
      if (e.fn.startsWith("__")) return free(show(e));
      const f = MATH1[e.fn];
      return f && e.args.length === 1
        ? f(evalRandom(e.args[0], defs, seed, memo))
        : NaN;
    }
  }
}

/**
 * Rewrites the removable singularities `N / (exp(A) - 1)` and
 * `N / (1 - exp(A))` with `N = c·A` (the rate functions of Hodgkin–Huxley
 * models, e.g. `0.32*(13*mV - v + VT)/(exp((13*mV - v + VT)/(4*mV)) - 1)`)
 * into `±c * __xexpm1(A)`, where `__xexpm1(a) = a / (exp(a) - 1)` is
 * evaluated by a series near 0. In float32 `exp(A) - 1` is exactly 0 for
 * |A| < 6e-8 and loses most digits for |A| < 1e-4, so the textbook form
 * gives 0/0 = NaN or a wrong rate when the membrane potential crosses the
 * singular point; float64 hits it with negligible probability. Used by the
 * float32 GPU renderer. The proportionality `N = c·A` is checked by
 * evaluating both at three pseudo-random points (after inlining the
 * temporaries they refer to).
 * @param stmts statements (temporaries defined before use)
 * @returns the statements with the rewritten divisions
 */
export function guardRemovableSingularities(stmts: readonly Stmt[]): Stmt[] {
  const defs = new Map<string, Expr>();
  const resolve = (e: Expr): Expr => {
    while (e.kind === "name" && defs.has(e.name)) e = defs.get(e.name)!;
    return e;
  };
  const expArg = (e: Expr): Expr | null => {
    const r = resolve(e);
    return r.kind === "call" && r.fn === "exp" && r.args.length === 1
      ? r.args[0]
      : null;
  };
  const isOne = (e: Expr) => {
    const r = resolve(e);
    return r.kind === "num" && r.value === 1;
  };
  const ratio = (n: Expr, a: Expr): number | null => {
    let c0 = NaN;
    for (let k = 0; k < 3; k++) {
      const memo = new Map<string, number>();
      const c = evalRandom(n, defs, 7919 * (k + 1), memo) /
        evalRandom(a, defs, 7919 * (k + 1), memo);
      if (!Number.isFinite(c) || c === 0) return null;
      if (k === 0) c0 = c;
      else if (Math.abs(c - c0) > 1e-9 * Math.abs(c0)) return null;
    }
    return c0;
  };
  const rewrite = (e: Expr): Expr => {
    switch (e.kind) {
      case "unary":
        return { ...e, arg: rewrite(e.arg) };
      case "call":
        return { ...e, args: e.args.map(rewrite) };
      case "binary": {
        const l = rewrite(e.left);
        const r = rewrite(e.right);
        if (e.op === "/") {
          const d = resolve(r);
          if (d.kind === "binary" && d.op === "-") {
            let a: Expr | null = null;
            let sign = 1;
            if (isOne(d.right)) a = expArg(d.left);
            else if (isOne(d.left)) {
              a = expArg(d.right);
              sign = -1;
            }
            const c = a ? ratio(l, a) : null;
            if (a && c !== null) {
              return bin("*", num(sign * c), {
                kind: "call",
                fn: "__xexpm1",
                args: [a],
                start: -1,
                end: -1,
              });
            }
          }
        }
        return { ...e, left: l, right: r };
      }
      default:
        return e;
    }
  };
  const out: Stmt[] = [];
  for (const s of stmts) {
    out.push({ ...s, expr: rewrite(s.expr) });
    defs.set(s.target, s.expr);
  }
  return out;
}
