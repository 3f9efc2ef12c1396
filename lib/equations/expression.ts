/**
 * Tokenizer and Pratt parser for Brian 2 expressions (Python operator
 * precedence: `or` < `and` < `not` < comparisons < `+ -` < `* / // %` <
 * unary `- +` < `**`, with `**` right-associative and binding tighter than a
 * unary minus on its left: `-x**2 == -(x**2)`).
 * @module
 */
import { type BinaryOp, type Expr, PRECEDENCE } from "./ast.ts";
import { EquationSyntaxError } from "./errors.ts";

type Token =
  | { t: "num"; v: number; s: number; e: number }
  | { t: "id"; v: string; s: number; e: number }
  | { t: "op"; v: string; s: number; e: number }
  | { t: "end"; v: ""; s: number; e: number };

const OPS = [
  "**",
  "//",
  "<=",
  ">=",
  "==",
  "!=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "<",
  ">",
  "(",
  ")",
  ",",
];
const NUM_RE = /^(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/;
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(source: string, start: number, end: number): Token[] {
  const out: Token[] = [];
  let i = start;
  while (i < end) {
    const c = source[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\\") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < end && source[i] !== "\n") i++;
      continue;
    }
    const rest = source.slice(i, end);
    const n = NUM_RE.exec(rest);
    if (n) {
      // a number directly followed by letters (e.g. "3mV") is an error in Python
      const after = rest[n[0].length];
      if (
        after !== undefined && /[A-Za-z_]/.test(after) && !/^[eE]/.test(after)
      ) {
        throw new EquationSyntaxError(
          `invalid number '${rest.slice(0, n[0].length + 1)}'`,
          source,
          i,
        );
      }
      out.push({ t: "num", v: Number(n[0]), s: i, e: i + n[0].length });
      i += n[0].length;
      continue;
    }
    const id = ID_RE.exec(rest);
    if (id) {
      out.push({ t: "id", v: id[0], s: i, e: i + id[0].length });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      out.push({ t: "op", v: op, s: i, e: i + op.length });
      i += op.length;
      continue;
    }
    throw new EquationSyntaxError(`unexpected character '${c}'`, source, i);
  }
  out.push({ t: "end", v: "", s: end, e: end });
  return out;
}

const BINARY_PREC = PRECEDENCE;

/**
 * Parse the expression in `source[start, end)`.
 * @param source the whole model text (for error positions)
 * @param start first character offset
 * @param end one past the last character
 * @returns the syntax tree
 * @throws {EquationSyntaxError} on malformed input
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExpression } from "./expression.ts";
 * import { show } from "./ast.ts";
 * assert.ok(show(parseExpression("-x**2 + 1")) === "-(x ** 2) + 1");
 * ```
 */
export function parseExpression(
  source: string,
  start = 0,
  end: number = source.length,
): Expr {
  const toks = tokenize(source, start, end);
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];

  function expect(v: string): Token {
    const t = peek();
    if (t.v !== v || (t.t !== "op" && t.t !== "id")) {
      throw new EquationSyntaxError(
        t.t === "end"
          ? `expected '${v}' but the expression ended`
          : `expected '${v}' but found '${t.v}'`,
        source,
        t.s,
      );
    }
    return next();
  }

  function isBinary(t: Token): boolean {
    return (t.t === "op" && t.v in BINARY_PREC) ||
      (t.t === "id" && (t.v === "and" || t.v === "or"));
  }

  function parse(minPrec: number): Expr {
    let left = prefix();
    for (;;) {
      const t = peek();
      if (!isBinary(t)) break;
      const prec = BINARY_PREC[t.v];
      if (prec < minPrec) break;
      next();
      // ** is right-associative; its right operand may carry a unary sign
      const right = t.v === "**" ? unaryOperand() : parse(prec + 1);
      // chained comparisons (a < b < c) are not supported: be explicit
      if (prec === 4 && left.kind === "binary" && BINARY_PREC[left.op] === 4) {
        throw new EquationSyntaxError(
          "chained comparisons are not supported; use 'and'",
          source,
          t.s,
        );
      }
      left = {
        kind: "binary",
        op: t.v as BinaryOp,
        left,
        right,
        start: left.start,
        end: right.end,
      };
    }
    return left;
  }

  // operand of ** : a unary-signed power (Python: 2**-1 is allowed)
  function unaryOperand(): Expr {
    const t = peek();
    if (t.t === "op" && (t.v === "-" || t.v === "+")) {
      next();
      const arg = unaryOperand();
      return {
        kind: "unary",
        op: t.v as "-" | "+",
        arg,
        start: t.s,
        end: arg.end,
      };
    }
    const base = primary();
    if (peek().t === "op" && peek().v === "**") {
      next();
      const exp = unaryOperand();
      return {
        kind: "binary",
        op: "**",
        left: base,
        right: exp,
        start: base.start,
        end: exp.end,
      };
    }
    return base;
  }

  function prefix(): Expr {
    const t = peek();
    if (t.t === "id" && t.v === "not") {
      next();
      const arg = parse(3);
      return { kind: "unary", op: "not", arg, start: t.s, end: arg.end };
    }
    if (t.t === "op" && (t.v === "-" || t.v === "+")) {
      next();
      const arg = parse(7); // binds tighter than * but looser than **
      return {
        kind: "unary",
        op: t.v as "-" | "+",
        arg,
        start: t.s,
        end: arg.end,
      };
    }
    return primary();
  }

  function primary(): Expr {
    const t = next();
    if (t.t === "num") return { kind: "num", value: t.v, start: t.s, end: t.e };
    if (t.t === "id") {
      if (t.v === "and" || t.v === "or") {
        throw new EquationSyntaxError(`unexpected '${t.v}'`, source, t.s);
      }
      if (
        t.v === "True" || t.v === "False" || t.v === "true" || t.v === "false"
      ) {
        return {
          kind: "bool",
          value: t.v[0] === "T" || t.v[0] === "t",
          start: t.s,
          end: t.e,
        };
      }
      if (peek().t === "op" && peek().v === "(") {
        next();
        const args: Expr[] = [];
        if (!(peek().t === "op" && peek().v === ")")) {
          for (;;) {
            args.push(parse(0));
            if (peek().t === "op" && peek().v === ",") {
              next();
              continue;
            }
            break;
          }
        }
        const close = expect(")");
        return { kind: "call", fn: t.v, args, start: t.s, end: close.e };
      }
      return { kind: "name", name: t.v, start: t.s, end: t.e };
    }
    if (t.t === "op" && t.v === "(") {
      const inner = parse(0);
      const close = expect(")");
      return { ...inner, start: t.s, end: close.e } as Expr;
    }
    if (t.t === "end") {
      throw new EquationSyntaxError("expression is incomplete", source, t.s);
    }
    throw new EquationSyntaxError(`unexpected '${t.v}'`, source, t.s);
  }

  if (peek().t === "end") {
    throw new EquationSyntaxError("empty expression", source, start);
  }
  const e = parse(0);
  const rest = peek();
  if (rest.t !== "end") {
    throw new EquationSyntaxError(
      `unexpected '${rest.v}' after the expression`,
      source,
      rest.s,
    );
  }
  return e;
}
