/**
 * A small interpreter of expression trees, used for initial values given as
 * strings (`{ m: "1/(1 + beta_m/alpha_m)" }`) and other one-off evaluations.
 * @module
 */
import { arith, type Expr } from "../equations/ast.ts";

/** Evaluate an expression with a name lookup. Booleans are 0/1. */
export function evaluate(e: Expr, lookup: (name: string) => number): number {
  switch (e.kind) {
    case "num":
      return e.value;
    case "bool":
      return e.value ? 1 : 0;
    case "name":
      return lookup(e.name);
    case "unary": {
      const a = evaluate(e.arg, lookup);
      return e.op === "-" ? -a : e.op === "+" ? a : a ? 0 : 1;
    }
    case "binary": {
      const a = evaluate(e.left, lookup);
      if (e.op === "and") return a ? (evaluate(e.right, lookup) ? 1 : 0) : 0;
      if (e.op === "or") return a ? 1 : (evaluate(e.right, lookup) ? 1 : 0);
      const b = evaluate(e.right, lookup);
      const r = arith(e.op, a, b);
      if (r !== null) return r;
      switch (e.op) {
        case "<":
          return +(a < b);
        case "<=":
          return +(a <= b);
        case ">":
          return +(a > b);
        case ">=":
          return +(a >= b);
        case "==":
          return +(a === b);
        case "!=":
          return +(a !== b);
      }
      return NaN;
    }
    case "call": {
      const x = e.args.map((a) => evaluate(a, lookup));
      switch (e.fn) {
        case "exp":
          return Math.exp(x[0]);
        case "expm1":
          return Math.expm1(x[0]);
        case "log":
          return Math.log(x[0]);
        case "log10":
          return Math.log10(x[0]);
        case "log1p":
          return Math.log1p(x[0]);
        case "sqrt":
          return Math.sqrt(x[0]);
        case "abs":
          return Math.abs(x[0]);
        case "sin":
          return Math.sin(x[0]);
        case "cos":
          return Math.cos(x[0]);
        case "tan":
          return Math.tan(x[0]);
        case "sinh":
          return Math.sinh(x[0]);
        case "cosh":
          return Math.cosh(x[0]);
        case "tanh":
          return Math.tanh(x[0]);
        case "arcsin":
          return Math.asin(x[0]);
        case "arccos":
          return Math.acos(x[0]);
        case "arctan":
          return Math.atan(x[0]);
        case "floor":
          return Math.floor(x[0]);
        case "ceil":
          return Math.ceil(x[0]);
        case "sign":
          return Math.sign(x[0]);
        case "clip":
          return Math.min(Math.max(x[0], x[1]), x[2]);
        case "int":
          return Math.trunc(x[0]);
        case "timestep":
          return Math.trunc((x[0] + 1e-3 * x[1]) / x[1]);
        default:
          throw new TypeError(`function '${e.fn}' cannot be used here`);
      }
    }
  }
}
