/**
 * Expression syntax tree shared by the parser, the unit checker, the
 * integrators and the code renderers. Spans are character offsets into the
 * model source (`[start, end)`); synthesized nodes have span `[-1, -1]`.
 * @module
 */

/** Binary operators (Python semantics, as in Brian 2 expressions). */
export type BinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "//"
  | "%"
  | "**"
  | "<"
  | "<="
  | ">"
  | ">="
  | "=="
  | "!="
  | "and"
  | "or";

/** An expression node. */
export type Expr =
  | { kind: "num"; value: number; start: number; end: number }
  | { kind: "bool"; value: boolean; start: number; end: number }
  | { kind: "name"; name: string; start: number; end: number }
  | {
    kind: "unary";
    op: "-" | "+" | "not";
    arg: Expr;
    start: number;
    end: number;
  }
  | {
    kind: "binary";
    op: BinaryOp;
    left: Expr;
    right: Expr;
    start: number;
    end: number;
  }
  | { kind: "call"; fn: string; args: Expr[]; start: number; end: number };

/** Numeric literal node. */
export function num(value: number): Expr {
  return { kind: "num", value, start: -1, end: -1 };
}

/** Name node. */
export function name(n: string): Expr {
  return { kind: "name", name: n, start: -1, end: -1 };
}

/** Binary node. */
export function bin(op: BinaryOp, left: Expr, right: Expr): Expr {
  return { kind: "binary", op, left, right, start: -1, end: -1 };
}

/** Call node. */
export function call(fn: string, ...args: Expr[]): Expr {
  return { kind: "call", fn, args, start: -1, end: -1 };
}

/** Unary node. */
export function unary(op: "-" | "+" | "not", arg: Expr): Expr {
  return { kind: "unary", op, arg, start: -1, end: -1 };
}

/** Every name referenced by an expression (not function names). */
export function identifiers(
  e: Expr,
  out: Set<string> = new Set(),
): Set<string> {
  switch (e.kind) {
    case "name":
      out.add(e.name);
      break;
    case "unary":
      identifiers(e.arg, out);
      break;
    case "binary":
      identifiers(e.left, out);
      identifiers(e.right, out);
      break;
    case "call":
      for (const a of e.args) identifiers(a, out);
      break;
  }
  return out;
}

/** Replace names by expressions (returns a new tree; spans kept). */
export function substitute(e: Expr, map: ReadonlyMap<string, Expr>): Expr {
  switch (e.kind) {
    case "name":
      return map.get(e.name) ?? e;
    case "unary":
      return { ...e, arg: substitute(e.arg, map) };
    case "binary":
      return {
        ...e,
        left: substitute(e.left, map),
        right: substitute(e.right, map),
      };
    case "call":
      return { ...e, args: e.args.map((a) => substitute(a, map)) };
    default:
      return e;
  }
}

/** Binding power of binary operators (Python's precedence). */
export const PRECEDENCE: Readonly<Record<string, number>> = {
  or: 1,
  and: 2,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "==": 4,
  "!=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "//": 6,
  "%": 6,
  "**": 8,
};

/** Python-like text of an expression (fully parenthesised where needed). */
export function show(e: Expr): string {
  switch (e.kind) {
    case "num":
      return Number.isInteger(e.value) ? `${e.value}` : `${e.value}`;
    case "bool":
      return e.value ? "True" : "False";
    case "name":
      return e.name;
    case "unary":
      return e.op === "not"
        ? `not (${show(e.arg)})`
        : `${e.op}(${show(e.arg)})`;
    case "binary": {
      const p = PRECEDENCE[e.op];
      const l = e.left.kind === "binary" && PRECEDENCE[e.left.op] < p
        ? `(${show(e.left)})`
        : show(e.left);
      const r = e.right.kind === "binary" && PRECEDENCE[e.right.op] <= p
        ? `(${show(e.right)})`
        : show(e.right);
      const lr = e.left.kind === "unary" && e.op === "**" ? `(${l})` : l;
      return `${lr} ${e.op} ${r}`;
    }
    case "call":
      return `${e.fn}(${e.args.map(show).join(", ")})`;
  }
}

/**
 * Value of an arithmetic operation on two numbers with Python semantics
 * (`//` floors, `%` takes the sign of the divisor); null for other operators.
 */
export function arith(op: BinaryOp, a: number, b: number): number | null {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "**":
      return Math.pow(a, b);
    case "//":
      return Math.floor(a / b);
    case "%": {
      const m = a % b;
      return m !== 0 && (m < 0) !== (b < 0) ? m + b : m;
    }
    default:
      return null;
  }
}
