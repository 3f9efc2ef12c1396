/**
 * IR optimisations that do not change results: constant folding of subtrees
 * whose operands are all literals (evaluated in the same order as at run
 * time, so bit-identical) and common-subexpression elimination (identical
 * pure subtrees computed once into `__cse_<k>` temporaries). Exponential
 * Euler repeats the rate functions in `A` and `B/A`; CSE halves the number of
 * `exp` calls of a Hodgkin–Huxley step.
 * @module
 */
import { arith, type Expr, name, num, show } from "../equations/ast.ts";
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
