/**
 * Parsing of quantities with units: `"10 nS"`, `"-65*mV"`,
 * `"1*ufarad*cm**-2"`, `"siemens/meter**2"`.
 * @module
 */
import { Dimension, DimensionMismatchError } from "./dimension.ts";
import { lookupUnit } from "./registry.ts";

/** A value in SI with its dimension. */
export interface Quantity {
  /** SI value. */
  readonly value: number;
  /** Dimension. */
  readonly dim: Dimension;
}

type Tok = { t: "num"; v: number; p: number } | {
  t: "id";
  v: string;
  p: number;
} | {
  t: "op";
  v: string;
  p: number;
};

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: "num", v: Number(num[0]), p: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: "id", v: id[0], p: i });
      i += id[0].length;
      continue;
    }
    if (src.startsWith("**", i)) {
      out.push({ t: "op", v: "**", p: i });
      i += 2;
      continue;
    }
    if ("*/^()+-".includes(c)) {
      out.push({ t: "op", v: c, p: i });
      i++;
      continue;
    }
    throw new SyntaxError(
      `unexpected character '${c}' at position ${i} in quantity "${src}"`,
    );
  }
  return out;
}

/**
 * Parse a quantity or unit expression.
 * @param text e.g. `"10 nS"`, `"-65 mV"`, `"1*ufarad*cm**-2"`, `"volt"`
 * @returns the SI value and dimension
 * @throws {SyntaxError} for malformed text or unknown unit names
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantity } from "./quantity.ts";
 * const q = parseQuantity("10 nS");
 * assert.ok(Math.abs(q.value - 1e-8) < 1e-20);
 * assert.ok(q.dim.toString() === "siemens");
 * ```
 */
export function parseQuantity(text: string): Quantity {
  const toks = tokenize(text);
  let pos = 0;
  const peek = () => toks[pos];
  const fail = (msg: string): never => {
    throw new SyntaxError(`${msg} in quantity "${text}"`);
  };
  // grammar: sum := product (('+'|'-') product)* ; product := unary (('*'|'/'|juxtaposition) unary)*
  // unary := '-' unary | power ; power := atom (('**'|'^') signedNumber)?
  function atom(): Quantity {
    const t = peek();
    if (!t) return fail("unexpected end");
    if (t.t === "num") {
      pos++;
      return { value: t.v, dim: Dimension.NONE };
    }
    if (t.t === "id") {
      pos++;
      const u = lookupUnit(t.v);
      if (!u) return fail(`unknown unit '${t.v}'`);
      return { value: u.scale, dim: u.dim };
    }
    if (t.v === "(") {
      pos++;
      const q = sum();
      if (peek()?.v !== ")") fail("missing ')'");
      pos++;
      return q;
    }
    return fail(`unexpected '${t.v}' at position ${t.p}`);
  }
  function power(): Quantity {
    const base = atom();
    const t = peek();
    if (t && t.t === "op" && (t.v === "**" || t.v === "^")) {
      pos++;
      let sign = 1;
      while (peek()?.v === "-" || peek()?.v === "+") {
        if (peek()!.v === "-") sign = -sign;
        pos++;
      }
      const e = peek();
      let p: number;
      if (e?.t === "num") {
        pos++;
        p = e.v;
      } else if (e?.v === "(") {
        const q = atom();
        if (!q.dim.isDimensionless) fail("exponent must be dimensionless");
        p = q.value;
      } else return fail("expected a number after '**'");
      p *= sign;
      return { value: base.value ** p, dim: base.dim.pow(p) };
    }
    return base;
  }
  function unary(): Quantity {
    if (peek()?.v === "-") {
      pos++;
      const q = unary();
      return { value: -q.value, dim: q.dim };
    }
    if (peek()?.v === "+") {
      pos++;
      return unary();
    }
    return power();
  }
  function product(): Quantity {
    let q = unary();
    for (;;) {
      const t = peek();
      if (!t) break;
      if (t.t === "op" && (t.v === "*" || t.v === "/")) {
        pos++;
        const r = unary();
        q = t.v === "*"
          ? { value: q.value * r.value, dim: q.dim.mul(r.dim) }
          : { value: q.value / r.value, dim: q.dim.div(r.dim) };
      } else if (t.t === "id" || t.t === "num" || t.v === "(") {
        const r = power(); // juxtaposition: "10 nS"
        q = { value: q.value * r.value, dim: q.dim.mul(r.dim) };
      } else break;
    }
    return q;
  }
  function sum(): Quantity {
    let q = product();
    while (peek()?.v === "+" || peek()?.v === "-") {
      const op = toks[pos++].v;
      const r = product();
      if (!q.dim.equals(r.dim)) {
        throw new DimensionMismatchError(
          `cannot ${op === "+" ? "add" : "subtract"} in "${text}"`,
          q.dim,
          r.dim,
        );
      }
      q = {
        value: op === "+" ? q.value + r.value : q.value - r.value,
        dim: q.dim,
      };
    }
    return q;
  }
  if (toks.length === 0) fail("empty text");
  const q = sum();
  if (pos < toks.length) {
    fail(`unexpected '${toks[pos].v}' at position ${toks[pos].p}`);
  }
  return q;
}

/**
 * Parse a quantity and check its dimension.
 * @param text e.g. `"10 nS"`
 * @param expected the required dimension
 * @param what a name for the error message (e.g. `"gl"`)
 * @returns the SI value
 * @throws {DimensionMismatchError} when the dimension differs
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantityAs } from "./quantity.ts";
 * import { siemens } from "./constants.ts";
 * import { dim } from "./dimension.ts";
 * assert.ok(parseQuantityAs("10 nS", dim(-2, -1, 3, 2), "gl") === 10e-9);
 * assert.ok(siemens === 1);
 * ```
 */
export function parseQuantityAs(
  text: string,
  expected: Dimension,
  what = "value",
): number {
  const q = parseQuantity(text);
  if (!q.dim.equals(expected)) {
    throw new DimensionMismatchError(
      `${what} = "${text}" has dimension ${q.dim}, expected ${expected}`,
      q.dim,
      expected,
    );
  }
  return q.value;
}

/**
 * Parse a unit name or expression as written after `:` in an equation.
 * @param text e.g. `"volt"`, `"siemens/meter**2"`, `"1"`
 * @returns its dimension (and scale, which must be 1 for equation units)
 */
export function parseUnit(text: string): Quantity {
  const t = text.trim();
  if (t === "1" || t === "boolean" || t === "integer") {
    return { value: 1, dim: Dimension.NONE };
  }
  return parseQuantity(t);
}
