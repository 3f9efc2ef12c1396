/**
 * Model description: resolves every name of a parsed equation string
 * (model variables, reserved symbols, constants, units, inputs), infers the
 * dimensions of inputs and plain-number constants from their use, and checks
 * dimensions like Brian 2 (`Equations.check_units`,
 * `parse_expression_dimensions`).
 * @module
 */
import type { Expr } from "./ast.ts";
import { arith, identifiers } from "./ast.ts";
import { parseEquations } from "./equations.ts";
import { dimensionError, EquationSyntaxError } from "./errors.ts";
import { parseExpression } from "./expression.ts";
import { FUNCTIONS } from "./functions.ts";
import { Dimension, DimensionMismatchError } from "../units/dimension.ts";
import { lookupUnit } from "../units/registry.ts";
import { parseQuantity, type Quantity } from "../units/quantity.ts";

/** What a name refers to. */
export type VariableKind =
  | "state"
  | "subexpression"
  | "parameter"
  | "input"
  | "target"
  | "constant"
  | "unit"
  | "reserved";

/** Scalar type of a variable. */
export type ValueType = "float" | "integer" | "boolean";

/** A resolved variable of a model. */
export interface VariableInfo {
  /** Name. */
  readonly name: string;
  /** What it is. */
  readonly kind: VariableKind;
  /** Dimension. */
  dim: Dimension;
  /** Scalar type. */
  readonly type: ValueType;
  /** Flags from the equations. */
  readonly flags: readonly string[];
  /** Defining expression (state: RHS of dx/dt; subexpression: its value). */
  readonly expr?: Expr;
  /** Value in SI (constants and units). */
  readonly value?: number;
  /** Offset of the definition in the source (or -1). */
  readonly offset: number;
}

/** A value given in a namespace: SI number, text with units, or a quantity. */
export type NamespaceValue = number | string | Quantity;

/** Flags accepted per kind (Brian's NeuronGroup, `neurongroup.py`). */
const ALLOWED_FLAGS: Record<string, readonly string[]> = {
  differential: ["unless refractory"],
  parameter: ["constant", "shared", "linked"],
  subexpression: ["shared", "constant over dt"],
};

const RESERVED: Record<string, [Dimension, ValueType]> = {
  t: [new Dimension([0, 0, 1]), "float"],
  dt: [new Dimension([0, 0, 1]), "float"],
  t_in_timesteps: [Dimension.NONE, "integer"],
  i: [Dimension.NONE, "integer"],
  N: [Dimension.NONE, "integer"],
  lastspike: [new Dimension([0, 0, 1]), "float"],
  not_refractory: [Dimension.NONE, "boolean"],
};

const PY_KEYWORDS = new Set([
  "and",
  "or",
  "not",
  "if",
  "else",
  "for",
  "in",
  "is",
  "lambda",
  "def",
  "return",
  "None",
  "True",
  "False",
  "class",
  "import",
  "from",
  "while",
  "pass",
]);

const XI_DIM = new Dimension([0, 0, -0.5]);

/** Options of {@linkcode describeModel}. */
export interface DescribeOptions {
  /** Constants referenced by the equations. */
  namespace?: Record<string, NamespaceValue>;
  /** Units of input variables, e.g. `{ I: "amp" }`. */
  inputUnits?: Record<string, string>;
  /** Output variables whose `<var>_target` may be referenced. */
  targets?: readonly string[];
}

/** A model with every name resolved and every dimension checked. */
export interface ModelDescription {
  /** The equation text. */
  readonly source: string;
  /** All variables by name (model variables, inputs, targets, used constants). */
  readonly variables: ReadonlyMap<string, VariableInfo>;
  /** Differential-equation variables in source order. */
  readonly states: readonly string[];
  /** Subexpressions in dependency order. */
  readonly subexpressions: readonly string[];
  /** Parameters in source order. */
  readonly parameters: readonly string[];
  /** Input variables (used, not defined) in order of first use. */
  readonly inputs: readonly string[];
  /** Constants used (from namespace) with SI values. */
  readonly constants: ReadonlyMap<string, number>;
  /** Names of white-noise symbols used (`xi`, `xi_1`, ...). */
  readonly noise: readonly string[];
}

/** `parseQuantity` with the namespace entry named in the error. */
function parseNamespaceQuantity(name: string, text: string): Quantity {
  try {
    return parseQuantity(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new EquationSyntaxError(
      `namespace value of '${name}' is not a quantity: ${e.message}`,
      text,
      0,
    );
  }
}

/** Mutable name environment used while checking. */
export class Scope {
  readonly vars = new Map<string, VariableInfo>();
  /** Names whose dimension is still unknown (inputs, plain-number constants). */
  readonly unknown = new Set<string>();
  readonly namespace: Record<string, NamespaceValue>;
  readonly source: string;
  readonly inputOrder: string[] = [];
  readonly noise: string[] = [];
  readonly usedConstants = new Map<string, number>();

  constructor(source: string, namespace: Record<string, NamespaceValue>) {
    this.source = source;
    this.namespace = namespace;
  }

  /** Resolve a name, creating input/constant/unit entries on first use. */
  resolve(name: string, offset: number): VariableInfo {
    const v = this.vars.get(name);
    if (v) return v;
    if (name in RESERVED) {
      const [d, type] = RESERVED[name];
      return this.#add({
        name,
        kind: "reserved",
        dim: d,
        type,
        flags: [],
        offset: -1,
      });
    }
    if (name === "xi" || name.startsWith("xi_")) {
      if (!this.noise.includes(name)) this.noise.push(name);
      return this.#add({
        name,
        kind: "reserved",
        dim: XI_DIM,
        type: "float",
        flags: [],
        offset: -1,
      });
    }
    if (Object.hasOwn(this.namespace, name)) {
      const raw = this.namespace[name];
      let value: number;
      let d: Dimension | null;
      if (typeof raw === "number") {
        value = raw;
        d = null;
      } else if (typeof raw === "string") {
        const q = parseNamespaceQuantity(name, raw);
        value = q.value;
        d = q.dim;
      } else if (
        raw && typeof raw === "object" && typeof raw.value === "number"
      ) {
        value = raw.value;
        d = raw.dim;
      } else {
        throw new TypeError(
          `namespace value of '${name}' must be a number, a string with units or a quantity, got ${
            String(raw)
          }`,
        );
      }
      if (!Number.isFinite(value)) {
        throw new RangeError(
          `namespace constant '${name}' must be finite, got ${value}`,
        );
      }
      this.usedConstants.set(name, value);
      const info = this.#add({
        name,
        kind: "constant",
        dim: d ?? Dimension.NONE,
        type: "float",
        flags: [],
        value,
        offset: -1,
      });
      if (d === null) this.unknown.add(name);
      return info;
    }
    const u = lookupUnit(name);
    if (u) {
      return this.#add({
        name,
        kind: "unit",
        dim: u.dim,
        type: "float",
        flags: [],
        value: u.scale,
        offset: -1,
      });
    }
    // Brian 2's DEFAULT_CONSTANTS (a namespace entry of the same name wins)
    if (name === "pi" || name === "e") {
      const value = name === "pi" ? Math.PI : Math.E;
      this.usedConstants.set(name, value);
      return this.#add({
        name,
        kind: "constant",
        dim: Dimension.NONE,
        type: "float",
        flags: [],
        value,
        offset: -1,
      });
    }
    if (FUNCTIONS.has(name)) {
      throw new EquationSyntaxError(
        `'${name}' is a function; call it as ${name}(...)`,
        this.source,
        offset,
      );
    }
    // anything else is an input variable (used, not defined): dimension inferred
    this.inputOrder.push(name);
    this.unknown.add(name);
    return this.#add({
      name,
      kind: "input",
      dim: Dimension.NONE,
      type: "float",
      flags: [],
      offset,
    });
  }

  #add(v: VariableInfo): VariableInfo {
    this.vars.set(v.name, v);
    return v;
  }

  /** Fix the dimension of a name whose dimension was unknown. */
  assign(name: string, d: Dimension): boolean {
    if (!this.unknown.has(name)) return false;
    this.vars.get(name)!.dim = d;
    this.unknown.delete(name);
    return true;
  }
}

/** Dimension checker with inference of unknown dimensions. */
export class DimChecker {
  readonly scope: Scope;
  /** When false, unknown dimensions give null instead of errors. */
  strict = false;
  changed = false;
  source: string;

  constructor(scope: Scope, source: string) {
    this.scope = scope;
    this.source = source;
  }

  #err(msg: string, e: Expr, ...dims: Dimension[]): DimensionMismatchError {
    return dimensionError(msg, this.source, e.start, ...dims);
  }

  /** Dimension of an expression, or null while an operand's dimension is unknown. */
  dimOf(e: Expr): Dimension | null {
    switch (e.kind) {
      case "num":
      case "bool":
        return Dimension.NONE;
      case "name": {
        const v = this.scope.resolve(e.name, e.start);
        return this.scope.unknown.has(e.name) ? null : v.dim;
      }
      case "unary": {
        const d = this.dimOf(e.arg);
        if (e.op === "not") {
          if (d && !d.isDimensionless) {
            throw this.#err(
              "'not' needs a boolean (dimensionless) operand",
              e,
              d,
            );
          }
          return Dimension.NONE;
        }
        return d;
      }
      case "call":
        return this.#call(e);
      case "binary":
        return this.#binary(e);
    }
  }

  #call(e: Expr & { kind: "call" }): Dimension | null {
    const f = FUNCTIONS.get(e.fn);
    if (!f) {
      throw new EquationSyntaxError(
        `unknown function '${e.fn}' (known: ${
          [...FUNCTIONS.keys()].join(", ")
        })`,
        this.source,
        e.start,
      );
    }
    if (!f.nargs.includes(e.args.length)) {
      throw new EquationSyntaxError(
        `${e.fn}() takes ${
          f.nargs.join(" or ")
        } argument(s), got ${e.args.length}`,
        this.source,
        e.start,
      );
    }
    if (e.fn === "clip") {
      // infer unknowns from the known arguments
      const ds = e.args.map((a) => this.dimOf(a));
      const known = ds.find((d) => d !== null);
      if (known) {
        e.args.forEach((a, k) => ds[k] === null && this.constrain(a, known));
      }
    }
    if (
      e.fn === "exp" || e.fn === "log" || e.fn.startsWith("arc") ||
      /^(sin|cos|tan)h?$/.test(e.fn)
    ) {
      for (const a of e.args) {
        if (this.dimOf(a) === null) this.constrain(a, Dimension.NONE);
      }
    }
    const ds = e.args.map((a) => this.dimOf(a));
    if (ds.some((d) => d === null)) return null;
    const r = f.dims(ds as Dimension[]);
    if (typeof r === "string") throw this.#err(r, e, ...(ds as Dimension[]));
    return r;
  }

  #binary(e: Expr & { kind: "binary" }): Dimension | null {
    const op = e.op;
    if (
      op === "+" || op === "-" || op === "%" || op === "<" || op === "<=" ||
      op === ">" || op === ">=" ||
      op === "==" || op === "!="
    ) {
      let l = this.dimOf(e.left);
      let r = this.dimOf(e.right);
      if (l && !r) {
        this.constrain(e.right, l);
        r = this.dimOf(e.right);
      } else if (r && !l) {
        this.constrain(e.left, r);
        l = this.dimOf(e.left);
      }
      if (!l || !r) return null;
      const cmp = op !== "+" && op !== "-" && op !== "%";
      const zero = (x: Expr) => x.kind === "num" && x.value === 0;
      if (!l.equals(r) && !(cmp && (zero(e.left) || zero(e.right)))) {
        const verb = op === "+"
          ? "add"
          : op === "-"
          ? "subtract"
          : cmp
          ? `compare (${op})`
          : "take the modulo of";
        throw this.#err(
          `cannot ${verb} quantities of different dimensions`,
          e,
          l,
          r,
        );
      }
      return cmp ? Dimension.NONE : l;
    }
    if (op === "and" || op === "or") {
      const l = this.dimOf(e.left);
      const r = this.dimOf(e.right);
      if (l && !l.isDimensionless) {
        throw this.#err(`'${op}' needs boolean operands`, e.left, l);
      }
      if (r && !r.isDimensionless) {
        throw this.#err(`'${op}' needs boolean operands`, e.right, r);
      }
      return Dimension.NONE;
    }
    if (op === "**") {
      const b = this.dimOf(e.left);
      const x = this.dimOf(e.right);
      if (x === null) this.constrain(e.right, Dimension.NONE);
      const x2 = this.dimOf(e.right);
      if (x2 && !x2.isDimensionless) {
        throw this.#err(
          "the exponent of '**' must be dimensionless",
          e.right,
          x2,
        );
      }
      if (b === null) return null;
      if (b.isDimensionless) return Dimension.NONE;
      const p = this.constantValue(e.right);
      if (p === null) {
        throw this.#err(
          "a quantity with units can only be raised to a constant power",
          e.right,
          b,
        );
      }
      return b.pow(p);
    }
    // * / //
    const l = this.dimOf(e.left);
    const r = this.dimOf(e.right);
    if (!l || !r) return null;
    if (op === "*") return l.mul(r);
    return l.div(r);
  }

  /** Numeric value of a constant expression (numbers, units, constants), or null. */
  constantValue(e: Expr): number | null {
    switch (e.kind) {
      case "num":
        return e.value;
      case "name": {
        const v = this.scope.vars.get(e.name);
        return v && (v.kind === "constant" || v.kind === "unit") &&
            v.value !== undefined
          ? v.value
          : null;
      }
      case "unary": {
        const a = this.constantValue(e.arg);
        return a === null ? null : e.op === "-" ? -a : e.op === "+" ? a : null;
      }
      case "binary": {
        const a = this.constantValue(e.left);
        const b = this.constantValue(e.right);
        if (a === null || b === null || e.op === "//" || e.op === "%") {
          return null;
        }
        return arith(e.op, a, b);
      }
      default:
        return null;
    }
  }

  /** Deduce unknown dimensions inside `e` so that dim(e) = target (best effort). */
  constrain(e: Expr, target: Dimension): void {
    switch (e.kind) {
      case "name":
        this.scope.resolve(e.name, e.start);
        if (this.scope.assign(e.name, target)) this.changed = true;
        return;
      case "unary":
        if (e.op !== "not") this.constrain(e.arg, target);
        return;
      case "call":
        if (["abs", "floor", "ceil", "clip"].includes(e.fn)) {
          for (const a of e.args) this.constrain(a, target);
        }
        return;
      case "binary": {
        const op = e.op;
        if (op === "+" || op === "-" || op === "%") {
          this.constrain(e.left, target);
          this.constrain(e.right, target);
          return;
        }
        if (op === "*" || op === "/") {
          const l = this.dimOf(e.left);
          const r = this.dimOf(e.right);
          if (op === "*") {
            if (l && !r) this.constrain(e.right, target.div(l));
            else if (r && !l) this.constrain(e.left, target.div(r));
          } else {
            if (r && !l) this.constrain(e.left, target.mul(r));
            else if (l && !r) this.constrain(e.right, l.div(target));
          }
        }
        if (op === "**") {
          const p = this.constantValue(e.right);
          if (p !== null && p !== 0 && this.dimOf(e.left) === null) {
            this.constrain(e.left, target.pow(1 / p));
          }
        }
        return;
      }
      default:
        return;
    }
  }

  /** Require dim(e) = target, inferring unknowns; returns the final dimension or null. */
  expect(e: Expr, target: Dimension, what: string): Dimension | null {
    let d = this.dimOf(e);
    if (d === null) {
      this.constrain(e, target);
      d = this.dimOf(e);
    }
    if (d && !d.equals(target) && this.strict) {
      throw this.#err(
        `${what} has dimension ${d}, expected ${target}`,
        e,
        d,
        target,
      );
    }
    return d;
  }
}

/** Parsed statement of a reset (or any `x = expr` / `x += expr` code). */
export interface Statement {
  /** Assigned variable. */
  readonly target: string;
  /** `=`, `+=`, `-=`, `*=`, `/=`. */
  readonly op: "=" | "+=" | "-=" | "*=" | "/=";
  /** Right-hand side. */
  readonly expr: Expr;
  /** Offset of the statement in its source. */
  readonly offset: number;
}

/**
 * Parse `;`- or newline-separated statements such as `"v = El; w += b"`.
 * @param source statement text
 * @returns the statements
 * @throws {EquationSyntaxError} on malformed statements
 */
export function parseStatements(source: string): Statement[] {
  const out: Statement[] = [];
  const re = /[^;\n]+/g;
  let m: RegExpExecArray | null;
  const text = source.replace(/#[^\n]*/g, (c) => " ".repeat(c.length));
  while ((m = re.exec(text))) {
    const chunk = m[0];
    if (chunk.trim() === "") continue;
    const base = m.index;
    const s = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\+=|-=|\*=|\/=|=)(?!=)/.exec(
      chunk,
    );
    if (!s) {
      throw new EquationSyntaxError(
        "expected a statement 'variable = expression' (or +=, -=, *=, /=)",
        source,
        base + (chunk.length - chunk.trimStart().length),
      );
    }
    const exprStart = base + s[0].length;
    out.push({
      target: s[1],
      op: s[2] as Statement["op"],
      expr: parseExpression(source, exprStart, base + chunk.length),
      offset: base + chunk.indexOf(s[1]),
    });
  }
  return out;
}

/**
 * Parse and check a model: names, flags, units and dimensions.
 * @param source Brian-2-style equations
 * @param options namespace, input units, target variables
 * @returns the description
 * @throws {EquationSyntaxError} malformed text, bad flags or names
 * @throws {DimensionMismatchError} inconsistent dimensions (with line/column)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeModel } from "./model.ts";
 * const m = describeModel("dv/dt = (El - v + R*I)/tau : volt", {
 *   namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
 * });
 * assert.ok(m.inputs[0] === "I" && m.variables.get("I")!.dim.toString() === "amp");
 * ```
 */
export function describeModel(
  source: string,
  options: DescribeOptions = {},
): ModelDescription {
  const defs = parseEquations(source);
  const scope = new Scope(source, options.namespace ?? {});
  const states: string[] = [];
  const subs: string[] = [];
  const params: string[] = [];
  if (defs.length === 0) {
    throw new EquationSyntaxError("the model defines no variables", source, 0);
  }

  for (const d of defs) {
    const nameProblem = checkName(d.name);
    if (nameProblem) {
      throw new EquationSyntaxError(nameProblem, source, d.start);
    }
    if (scope.vars.has(d.name)) {
      throw new EquationSyntaxError(
        `'${d.name}' is defined more than once`,
        source,
        d.start,
      );
    }
    const allowed = ALLOWED_FLAGS[d.kind];
    d.flags.forEach((f) => {
      if (!allowed.includes(f)) {
        throw new EquationSyntaxError(
          `unknown flag '${f}' for a ${
            d.kind === "differential" ? "differential equation" : d.kind
          } ` +
            `(allowed: ${allowed.map((a) => `'${a}'`).join(", ")})`,
          source,
          d.flagsStart,
        );
      }
    });
    let unit: Quantity;
    let type: ValueType = "float";
    if (d.unit === "boolean" || d.unit === "integer") {
      type = d.unit;
      unit = { value: 1, dim: Dimension.NONE };
      if (d.kind === "differential") {
        throw new EquationSyntaxError(
          `a differential equation must be of type float, not ${d.unit}`,
          source,
          d.unitStart,
        );
      }
    } else {
      try {
        unit = d.unit === "1"
          ? { value: 1, dim: Dimension.NONE }
          : parseQuantity(d.unit);
      } catch (e) {
        throw new EquationSyntaxError(
          `invalid unit '${d.unit}': ${(e as Error).message}`,
          source,
          d.unitStart,
        );
      }
      if (Math.abs(unit.value - 1) > 1e-12) {
        throw new EquationSyntaxError(
          `the unit of '${d.name}' must be a base unit (e.g. 'volt', not 'mV'; got '${d.unit}')`,
          source,
          d.unitStart,
        );
      }
    }
    const kind: VariableKind = d.kind === "differential"
      ? "state"
      : d.kind === "subexpression"
      ? "subexpression"
      : "parameter";
    scope.vars.set(d.name, {
      name: d.name,
      kind,
      dim: unit.dim,
      type,
      flags: d.flags,
      expr: d.expr,
      offset: d.start,
    });
    (kind === "state" ? states : kind === "subexpression" ? subs : params).push(
      d.name,
    );
  }
  for (const t of options.targets ?? []) {
    const v = scope.vars.get(t);
    if (!v) {
      throw new ReferenceError(
        `target variable '${t}' is not defined in the model`,
      );
    }
    const tn = `${t}_target`;
    if (!scope.vars.has(tn)) {
      scope.vars.set(tn, {
        name: tn,
        kind: "target",
        dim: v.dim,
        type: "float",
        flags: [],
        offset: -1,
      });
    }
  }
  // explicit input units
  for (const [name, u] of Object.entries(options.inputUnits ?? {})) {
    const existing = scope.vars.get(name);
    if (existing && existing.kind !== "input") {
      throw new RangeError(
        `inputUnits names '${name}', which is a ${existing.kind} of the model, not an input`,
      );
    }
    let q: Quantity;
    try {
      q = parseQuantity(u);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      throw new EquationSyntaxError(
        `inputUnits of '${name}' is not a unit: ${e.message}`,
        u,
        0,
      );
    }
    if (Math.abs(q.value - 1) > 1e-12) {
      throw new EquationSyntaxError(
        `inputUnits of '${name}' must be a base unit (e.g. 'amp', not 'nA'; got '${u}')`,
        u,
        0,
      );
    }
    scope.inputOrder.includes(name) || scope.inputOrder.push(name);
    scope.vars.set(name, {
      name,
      kind: "input",
      dim: q.dim,
      type: "float",
      flags: [],
      offset: -1,
    });
  }

  const subOrder = sortSubexpressions(scope, subs, source);
  const checker = new DimChecker(scope, source);
  const second = new Dimension([0, 0, 1]);
  const checkAll = () => {
    for (const d of defs) {
      if (!d.expr) continue;
      const v = scope.vars.get(d.name)!;
      if (d.kind === "differential") {
        checker.expect(
          d.expr,
          v.dim.div(second),
          `the right-hand side of d${d.name}/dt`,
        );
      } else checker.expect(d.expr, v.dim, `the expression of '${d.name}'`);
    }
  };
  // inference passes until nothing new is learned, then a strict pass
  for (let pass = 0; pass < 20; pass++) {
    checker.changed = false;
    checkAll();
    if (!checker.changed) break;
  }
  checker.strict = true;
  checkAll();
  reportUnknown(scope, source, options);
  for (const d of defs) {
    if (d.kind === "differential" && d.expr) {
      const ids = identifiers(d.expr);
      for (const n of scope.noise) {
        if (ids.has(n) && states.length > 0) {
          // additive/multiplicative classification happens in the integrators
        }
      }
    }
  }
  return {
    source,
    variables: scope.vars,
    states,
    subexpressions: subOrder,
    parameters: params,
    inputs: scope.inputOrder.filter((n) => scope.vars.get(n)?.kind === "input"),
    constants: scope.usedConstants,
    noise: scope.noise,
  };
}

/** Throws a clear error for names whose dimension could not be inferred. */
export function reportUnknown(
  scope: Scope,
  source: string,
  options: DescribeOptions,
): void {
  for (const n of scope.unknown) {
    const v = scope.vars.get(n)!;
    if (v.kind === "input") {
      throw new DimensionMismatchError(
        `cannot infer the dimension of the input '${n}' from the equations; ` +
          `state it with inputUnits: { ${n}: "amp" } (or the right unit)` +
          (v.offset >= 0
            ? ` (first used at line ${lineOf(source, v.offset)})`
            : ""),
      );
    }
    throw new DimensionMismatchError(
      `cannot infer the dimension of the constant '${n}' = ${
        options.namespace?.[n]
      }; ` +
        `give it with units, e.g. namespace: { ${n}: "${
          options.namespace?.[n]
        } mV" }`,
    );
  }
}

function lineOf(source: string, offset: number): number {
  return source.slice(0, offset).split("\n").length;
}

function checkName(n: string): string | null {
  if (n.startsWith("_")) return `variable names may not start with '_': '${n}'`;
  if (PY_KEYWORDS.has(n)) {
    return `'${n}' is a keyword and cannot be a variable name`;
  }
  if (
    n in RESERVED || n === "xi" || n.startsWith("xi_") || n === "refractory" ||
    n === "refractory_until"
  ) {
    return `'${n}' is a reserved name`;
  }
  if (FUNCTIONS.has(n)) {
    return `'${n}' is the name of a function and cannot be a variable name`;
  }
  if (lookupUnit(n)) {
    return `'${n}' is the name of a unit and cannot be a variable name`;
  }
  if (n.endsWith("_pre") || n.endsWith("_post")) {
    return `names ending in _pre/_post are not allowed: '${n}'`;
  }
  return null;
}

/** Topological order of subexpressions (a subexpression may use earlier ones). */
function sortSubexpressions(
  scope: Scope,
  subs: string[],
  source: string,
): string[] {
  const order: string[] = [];
  const state = new Map<string, number>();
  const visit = (n: string, from: number) => {
    const s = state.get(n) ?? 0;
    if (s === 2) return;
    if (s === 1) {
      throw new EquationSyntaxError(
        `circular definition involving subexpression '${n}'`,
        source,
        from,
      );
    }
    state.set(n, 1);
    const v = scope.vars.get(n)!;
    for (const id of identifiers(v.expr!)) {
      if (subs.includes(id)) visit(id, v.offset);
    }
    state.set(n, 2);
    order.push(n);
  };
  for (const s of subs) visit(s, scope.vars.get(s)!.offset);
  return order;
}

/**
 * Check an extra expression (threshold, refractory, initial value) against a
 * described model; names must be known (no new inputs are created).
 * @param model the description
 * @param text expression text
 * @param what description for messages (e.g. `"threshold"`)
 * @param extraNamespace constants allowed in addition to the model's
 * @returns the parsed expression and its dimension
 */
export function checkExtraExpression(
  model: ModelDescription,
  text: string,
  what: string,
  extraNamespace: Record<string, NamespaceValue> = {},
): { expr: Expr; dim: Dimension; scope: Scope } {
  const expr = parseExpression(text);
  const scope = new Scope(text, extraNamespace);
  for (const [k, v] of model.variables) scope.vars.set(k, v);
  const checker = new DimChecker(scope, text);
  checker.strict = true;
  for (const id of identifiers(expr)) {
    const before = scope.vars.has(id);
    const v = scope.resolve(id, findOffset(text, id));
    if (!before && v.kind === "input") {
      throw new EquationSyntaxError(
        `unknown name '${id}' in the ${what}${
          suggest(id, [...model.variables.keys()])
        }`,
        text,
        findOffset(text, id),
      );
    }
  }
  const d = checker.dimOf(expr);
  if (d === null) {
    reportUnknown(scope, text, {
      namespace: extraNamespace as Record<string, NamespaceValue>,
    });
  }
  return { expr, dim: d ?? Dimension.NONE, scope };
}

/** Offset of the first occurrence of identifier `id` in `text`. */
export function findOffset(text: string, id: string): number {
  const m = new RegExp(`(?<![A-Za-z0-9_])${id}(?![A-Za-z0-9_])`).exec(text);
  return m ? m.index : 0;
}

/**
 * A "did you mean" hint for a misspelt name.
 * @param name the unknown name
 * @param candidates known names
 * @returns `"; did you mean 'x'?"` or `""`
 */
export function suggest(name: string, candidates: string[]): string {
  let best = "";
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3))
    ? `; did you mean '${best}'?`
    : "";
}

function editDistance(a: string, b: string): number {
  const dp = Array.from(
    { length: a.length + 1 },
    (_, i) => [i, ...new Array(b.length).fill(0)],
  );
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(
        dp[i - 1][j] + 1,
        dp[i][j - 1] + 1,
        dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return dp[a.length][b.length];
}
