/**
 * Helpers shared by the fitters: trace matrices, parameter bounds with
 * units, quantity formatting and end-of-run evaluation of variables.
 * @module
 */
import {
  type Dimension,
  DimensionMismatchError,
} from "../../units/dimension.ts";
import { parseQuantity } from "../../units/quantity.ts";
import type { Expr } from "../../equations/ast.ts";
import { evaluate } from "../../simulation/evaluate.ts";

/**
 * Rows of values: `number[][]`, typed-array rows, one row, or a flat array
 * with a shape `{ data, shape: [rows, columns] }`.
 */
export type TraceRows =
  | readonly ArrayLike<number>[]
  | ArrayLike<number>
  | {
    readonly data: ArrayLike<number>;
    readonly shape: readonly [number, number];
  };

/**
 * Convert a trace argument to `Float64Array` rows, checking that every value
 * is a finite number and that rows have equal lengths.
 * @param value the argument
 * @param what name used in error messages (e.g. `"input 'I'"`)
 * @returns the rows
 * @throws {TypeError} not an array of rows / bad shape
 * @throws {RangeError} NaN or infinite values, empty rows
 */
export function toRows(value: TraceRows, what: string): Float64Array[] {
  if (value === null || typeof value !== "object") {
    throw new TypeError(
      `${what} must be an array of rows (number[][] or typed arrays), got ${
        String(value)
      }`,
    );
  }
  let rows: ArrayLike<number>[];
  if ("shape" in value && "data" in value && !Array.isArray(value)) {
    const [r, c] = value.shape;
    if (
      !Number.isInteger(r) || !Number.isInteger(c) || r < 1 || c < 1 ||
      value.data.length !== r * c
    ) {
      throw new TypeError(
        `${what}: shape [${value.shape}] does not match ${value.data.length} values`,
      );
    }
    rows = [];
    for (let i = 0; i < r; i++) {
      rows.push(Array.prototype.slice.call(value.data, i * c, (i + 1) * c));
    }
  } else if (
    ArrayBuffer.isView(value) ||
    (Array.isArray(value) &&
      (value.length === 0 || typeof value[0] === "number"))
  ) {
    rows = [value as ArrayLike<number>];
  } else if (Array.isArray(value)) {
    rows = value as ArrayLike<number>[];
  } else {
    throw new TypeError(
      `${what} must be an array of rows (number[][] or typed arrays)`,
    );
  }
  if (rows.length === 0) throw new TypeError(`${what} has no rows`);
  const len = rows[0]?.length;
  const out: Float64Array[] = [];
  rows.forEach((row, i) => {
    if (
      row === null || typeof row !== "object" || typeof row.length !== "number"
    ) {
      throw new TypeError(`${what}: row ${i} is not an array of numbers`);
    }
    if (row.length !== len) {
      throw new TypeError(
        `${what}: rows must have equal lengths; row 0 has ${len} values, row ${i} has ${row.length}`,
      );
    }
    if (row.length === 0) throw new RangeError(`${what}: row ${i} is empty`);
    const r = new Float64Array(row.length);
    for (let k = 0; k < row.length; k++) {
      const v = row[k];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new RangeError(
          `${what} has a non-finite value ${v} at row ${i}, sample ${k}`,
        );
      }
      r[k] = v;
    }
    out.push(r);
  });
  return out;
}

/** A bound or value: SI number or a string with units such as `"10 nS"`. */
export type ValueWithUnit = number | string;

/**
 * Parse a number (SI) or a string with units, checking the dimension.
 * @param v value
 * @param expected dimension of the parameter
 * @param what name for messages
 * @returns the SI value
 * @throws {DimensionMismatchError} units of the wrong dimension
 * @throws {TypeError} not a number or string
 * @throws {RangeError} not finite
 */
export function siValue(
  v: ValueWithUnit,
  expected: Dimension,
  what: string,
): number {
  let x: number;
  if (typeof v === "number") x = v;
  else if (typeof v === "string") {
    const q = parseQuantity(v);
    if (!q.dim.equals(expected)) {
      throw new DimensionMismatchError(
        `${what} = "${v}" has dimension ${q.dim}, but the parameter has dimension ${expected}`,
        q.dim,
        expected,
      );
    }
    x = q.value;
  } else {
    throw new TypeError(
      `${what} must be a number (SI) or a string with units, got ${
        JSON.stringify(v)
      }`,
    );
  }
  if (!Number.isFinite(x)) {
    throw new RangeError(`${what} must be finite, got ${x}`);
  }
  return x;
}

const PREFIXES: [string, number][] = [
  ["f", 1e-15],
  ["p", 1e-12],
  ["n", 1e-9],
  ["u", 1e-6],
  ["m", 1e-3],
  ["", 1],
  ["k", 1e3],
  ["M", 1e6],
  ["G", 1e9],
];
const SYMBOLS: Record<string, string> = {
  volt: "V",
  amp: "A",
  siemens: "S",
  farad: "F",
  second: "s",
  ohm: "ohm",
  hertz: "Hz",
  coulomb: "C",
  metre: "m",
};

/**
 * Format an SI value with the best prefix of its unit, 3 significant digits
 * (`1.37e-8` siemens → `"13.7 nS"`).
 * @param x SI value
 * @param d its dimension
 * @param digits significant digits (default 3)
 * @returns the text
 */
export function formatQuantity(x: number, d: Dimension, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const nameOf = d.toString();
  const sym = SYMBOLS[nameOf];
  if (d.isDimensionless) return x.toPrecision(digits);
  if (!sym) return `${x.toPrecision(digits)} ${nameOf}`;
  const a = Math.abs(x);
  let best = PREFIXES[5];
  if (a > 0) {
    for (const p of PREFIXES) if (a / p[1] >= 1) best = p;
  }
  return `${(x / best[1]).toPrecision(digits)} ${best[0]}${sym}`;
}

/**
 * Evaluate a recordable expression at the end of a run for every neuron
 * (used for penalties: the value of a variable after the last step).
 * @param expr the program's recordable expression (inputs as `__at(name, 0)`)
 * @param nNeurons number of neurons
 * @param lookup value of a plain name for neuron `n`
 * @returns one value per neuron
 */
export function evaluateAtEnd(
  expr: Expr,
  nNeurons: number,
  lookup: (name: string, n: number) => number,
): Float64Array {
  const strip = (e: Expr): Expr => {
    switch (e.kind) {
      case "call":
        if (e.fn === "__at" && e.args[0].kind === "name") return e.args[0];
        return { ...e, args: e.args.map(strip) };
      case "unary":
        return { ...e, arg: strip(e.arg) };
      case "binary":
        return { ...e, left: strip(e.left), right: strip(e.right) };
      default:
        return e;
    }
  };
  const e = strip(expr);
  const out = new Float64Array(nNeurons);
  for (let n = 0; n < nNeurons; n++) {
    out[n] = evaluate(e, (name) => lookup(name, n));
  }
  return out;
}

/**
 * The variable names of an `output` option (`{ v: traces, ... }`).
 * @throws {TypeError} when `output` is not such an object or names no variable
 */
export function outputVariables(out: unknown): string[] {
  if (
    out === null || typeof out !== "object" || Array.isArray(out) ||
    ArrayBuffer.isView(out)
  ) {
    throw new TypeError(
      "output must be an object { variable: traces }, e.g. { v: voltages }",
    );
  }
  const vars = Object.keys(out);
  if (vars.length === 0) {
    throw new TypeError(
      "output must name at least one variable, e.g. { v: voltages }",
    );
  }
  return vars;
}

/**
 * Whether a trace value is a chunk source (a path, a file with options, an
 * Observable, an async iterable) rather than in-memory rows.
 * @param x the value given for an input or output variable
 * @returns true for sources
 */
export function isTraceSource(x: unknown): boolean {
  if (typeof x === "string" || x instanceof URL) return true;
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  if (ArrayBuffer.isView(x)) return false;
  return typeof (x as { subscribe?: unknown }).subscribe === "function" ||
    Symbol.asyncIterator in x ||
    ("path" in x &&
      (typeof (x as { path: unknown }).path === "string" ||
        (x as { path: unknown }).path instanceof URL));
}
