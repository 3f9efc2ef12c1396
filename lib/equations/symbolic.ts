/**
 * Small symbolic algebra on expression trees: simplification, derivatives
 * and the split of an equation into `A*x + B` (for exponential Euler and the
 * exact linear integrator, `brian2/stateupdaters/exponential_euler.py`), plus
 * full derivatives for sensitivity equations (brian2modelfitting
 * `sensitivity.py`).
 * @module
 */
import { bin, call, type Expr, num, unary } from "./ast.ts";

const isNum = (e: Expr, v?: number): boolean =>
  e.kind === "num" && (v === undefined || e.value === v);

/** Algebraic simplification: constant folding and neutral elements. */
export function simplify(e: Expr): Expr {
  switch (e.kind) {
    case "unary": {
      const a = simplify(e.arg);
      if (e.op === "+") return a;
      if (e.op === "-") {
        if (a.kind === "num") return num(-a.value);
        if (a.kind === "unary" && a.op === "-") return a.arg;
      }
      return { ...e, arg: a };
    }
    case "call":
      return { ...e, args: e.args.map(simplify) };
    case "binary": {
      const l = simplify(e.left);
      const r = simplify(e.right);
      const op = e.op;
      if (
        l.kind === "num" && r.kind === "num" &&
        ["+", "-", "*", "/", "**"].includes(op)
      ) {
        const a = l.value;
        const b = r.value;
        const v = op === "+"
          ? a + b
          : op === "-"
          ? a - b
          : op === "*"
          ? a * b
          : op === "/"
          ? a / b
          : a ** b;
        if (Number.isFinite(v)) return num(v);
      }
      switch (op) {
        case "+":
          if (isNum(l, 0)) return r;
          if (isNum(r, 0)) return l;
          if (r.kind === "unary" && r.op === "-") {
            return simplify(bin("-", l, r.arg));
          }
          break;
        case "-":
          if (isNum(r, 0)) return l;
          if (isNum(l, 0)) return simplify(unary("-", r));
          if (r.kind === "unary" && r.op === "-") {
            return simplify(bin("+", l, r.arg));
          }
          break;
        case "*":
          if (isNum(l, 0) || isNum(r, 0)) return num(0);
          if (isNum(l, 1)) return r;
          if (isNum(r, 1)) return l;
          if (isNum(l, -1)) return simplify(unary("-", r));
          if (isNum(r, -1)) return simplify(unary("-", l));
          if (l.kind === "unary" && l.op === "-") {
            return simplify(unary("-", bin("*", l.arg, r)));
          }
          if (r.kind === "unary" && r.op === "-") {
            return simplify(unary("-", bin("*", l, r.arg)));
          }
          break;
        case "/":
          if (isNum(l, 0)) return num(0);
          if (isNum(r, 1)) return l;
          if (l.kind === "unary" && l.op === "-") {
            return simplify(unary("-", bin("/", l.arg, r)));
          }
          break;
        case "**":
          if (isNum(r, 1)) return l;
          if (isNum(r, 0)) return num(1);
          break;
      }
      return { ...e, left: l, right: r };
    }
    default:
      return e;
  }
}

/** Options of {@linkcode derivative}. */
export interface DerivativeOptions {
  /**
   * Treat every function call as a constant atom (the derivative of `f(x)` is
   * 0). This is what separates "conditionally linear" parts the way Brian's
   * sympy `collect` does: `exp(v/DeltaT)` is not a power of `v`.
   */
  opaqueCalls?: boolean;
  /** Derivatives of other names (chain rule through state variables). */
  chain?: ReadonlyMap<string, Expr>;
}

/**
 * Symbolic derivative of `e` with respect to the variable `x`.
 * @param e expression
 * @param x variable name
 * @param options see {@linkcode DerivativeOptions}
 * @returns the (simplified) derivative
 * @throws {TypeError} for functions without a derivative rule
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { derivative } from "./symbolic.ts";
 * import { parseExpression } from "./expression.ts";
 * import { show } from "./ast.ts";
 * assert.ok(show(derivative(parseExpression("a*x**2 + b*x"), "x")) === "a * (2 * x) + b");
 * ```
 */
export function derivative(
  e: Expr,
  x: string,
  options: DerivativeOptions = {},
): Expr {
  return simplify(d(e, x, options));
}

function d(e: Expr, x: string, o: DerivativeOptions): Expr {
  switch (e.kind) {
    case "num":
    case "bool":
      return num(0);
    case "name":
      if (e.name === x) return num(1);
      return o.chain?.get(e.name) ?? num(0);
    case "unary":
      if (e.op === "not") return num(0);
      return e.op === "-" ? unary("-", d(e.arg, x, o)) : d(e.arg, x, o);
    case "binary": {
      const { left: u, right: v } = e;
      switch (e.op) {
        case "+":
          return bin("+", d(u, x, o), d(v, x, o));
        case "-":
          return bin("-", d(u, x, o), d(v, x, o));
        case "*":
          return bin("+", bin("*", d(u, x, o), v), bin("*", u, d(v, x, o)));
        case "/": {
          const du = d(u, x, o);
          const dv = simplify(d(v, x, o));
          if (isNum(dv, 0)) return bin("/", du, v);
          return bin(
            "/",
            bin("-", bin("*", du, v), bin("*", u, dv)),
            bin("**", v, num(2)),
          );
        }
        case "**": {
          const dv = simplify(d(v, x, o));
          const du = d(u, x, o);
          if (isNum(dv, 0)) {
            // d(u^c) = c u^(c-1) du
            return bin(
              "*",
              bin("*", v, bin("**", u, simplify(bin("-", v, num(1))))),
              du,
            );
          }
          // d(u^v) = u^v (dv log u + v du / u)
          return bin(
            "*",
            e,
            bin(
              "+",
              bin("*", dv, call("log", u)),
              bin("/", bin("*", v, du), u),
            ),
          );
        }
        default:
          // comparisons, and/or, //, %: piecewise constant
          return e.op === "%" ? d(u, x, o) : num(0);
      }
    }
    case "call": {
      if (o.opaqueCalls) return num(0);
      const a = e.args[0];
      const da = () => d(a, x, o);
      switch (e.fn) {
        case "exp":
          return bin("*", e, da());
        case "expm1":
          return bin("*", call("exp", a), da());
        case "log":
          return bin("/", da(), a);
        case "log1p":
          return bin("/", da(), bin("+", num(1), a));
        case "log10":
          return bin("/", da(), bin("*", a, num(Math.LN10)));
        case "sqrt":
          return bin("/", da(), bin("*", num(2), e));
        case "sin":
          return bin("*", call("cos", a), da());
        case "cos":
          return unary("-", bin("*", call("sin", a), da()));
        case "tan":
          return bin("/", da(), bin("**", call("cos", a), num(2)));
        case "sinh":
          return bin("*", call("cosh", a), da());
        case "cosh":
          return bin("*", call("sinh", a), da());
        case "tanh":
          return bin("*", bin("-", num(1), bin("**", e, num(2))), da());
        case "arctan":
          return bin("/", da(), bin("+", num(1), bin("**", a, num(2))));
        case "arcsin":
          return bin(
            "/",
            da(),
            call("sqrt", bin("-", num(1), bin("**", a, num(2)))),
          );
        case "arccos":
          return unary(
            "-",
            bin(
              "/",
              da(),
              call("sqrt", bin("-", num(1), bin("**", a, num(2)))),
            ),
          );
        case "abs":
          return bin("*", call("sign", a), da());
        case "clip": {
          const inside = bin(
            "and",
            bin(">", a, e.args[1]),
            bin("<", a, e.args[2]),
          );
          return bin("*", call("int", inside), da());
        }
        case "int":
        case "floor":
        case "ceil":
        case "sign":
        case "rand":
        case "randn":
        case "timestep":
          return num(0);
        default:
          if (e.fn.startsWith("__")) return num(0); // inputs, noise: no dependence on state
          throw new TypeError(`no derivative rule for function '${e.fn}'`);
      }
    }
  }
}

/**
 * True if `e` references `x`. With `outsideCallsOnly`, references inside
 * function-call arguments are ignored.
 */
export function dependsOn(
  e: Expr,
  x: string | ReadonlySet<string>,
  outsideCallsOnly = false,
): boolean {
  const has = (n: string) => typeof x === "string" ? n === x : x.has(n);
  const walk = (n: Expr): boolean => {
    switch (n.kind) {
      case "name":
        return has(n.name);
      case "unary":
        return walk(n.arg);
      case "binary":
        return walk(n.left) || walk(n.right);
      case "call":
        return outsideCallsOnly ? false : n.args.some(walk);
      default:
        return false;
    }
  };
  return walk(e);
}

/** Replace `x` by 0 everywhere except inside function-call arguments. */
export function zeroOutsideCalls(e: Expr, x: string): Expr {
  switch (e.kind) {
    case "name":
      return e.name === x ? num(0) : e;
    case "unary":
      return { ...e, arg: zeroOutsideCalls(e.arg, x) };
    case "binary":
      return {
        ...e,
        left: zeroOutsideCalls(e.left, x),
        right: zeroOutsideCalls(e.right, x),
      };
    default:
      return e;
  }
}

/**
 * Split `f` as `A*x + B` with `x` appearing in A and B only inside function
 * calls (Brian's conditionally-linear form).
 * @param f right-hand side
 * @param x the variable
 * @returns `{A, B}` or `null` when f is not (conditionally) linear in x
 */
export function linearSplit(f: Expr, x: string): { A: Expr; B: Expr } | null {
  const A = derivative(f, x, { opaqueCalls: true });
  if (dependsOn(A, x, true)) return null;
  const B = simplify(zeroOutsideCalls(f, x));
  return { A, B };
}
