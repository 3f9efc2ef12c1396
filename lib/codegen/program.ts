/**
 * The intermediate representation of a compiled model: the statements of one
 * time step in Brian 2's order, independent of the target language. Both the
 * JavaScript renderer (CPU) and the WGSL renderer (`gpu/`) render it.
 * @module
 */
import {
  call,
  type Expr,
  identifiers,
  name,
  num,
  substitute,
} from "../equations/ast.ts";
import {
  checkExtraExpression,
  type ModelDescription,
  parseStatements,
  reportUnknown,
  suggest,
} from "../equations/model.ts";
import { DimChecker, type NamespaceValue, Scope } from "../equations/model.ts";
import { dependsOn, derivative, simplify } from "../equations/symbolic.ts";
import { dimensionError, EquationSyntaxError } from "../equations/errors.ts";
import {
  integrate,
  type OdeSystem,
  type Stmt,
  UnsupportedEquationsError,
} from "../integrators/mod.ts";
import { eliminateCommonSubexpressions, foldConstants } from "./optimize.ts";
import { Dimension } from "../units/dimension.ts";

/** How refractoriness is defined. */
export type RefractorySpec =
  | { kind: "none" }
  | { kind: "time"; expr: Expr }
  | { kind: "condition"; expr: Expr };

/** The compiled program of one model. */
export interface Program {
  /** State variables (differential equations). */
  readonly states: readonly string[];
  /** Per-neuron parameters. */
  readonly parameters: readonly string[];
  /** Input variables (TimedArray look-ups). */
  readonly inputs: readonly string[];
  /** Target variables referenced as `<var>_target` (TimedArray look-ups). */
  readonly targets: readonly string[];
  /** Statements run at the start of a step, before recording (`constant over dt`). */
  readonly preStep: readonly Stmt[];
  /** The `not_refractory` update (empty without refractoriness). */
  readonly refractory: readonly Stmt[];
  /** The integration statements (temporaries, then `x = _x`). */
  readonly update: readonly Stmt[];
  /** Threshold condition on updated values (null: no spikes). */
  readonly threshold: Expr | null;
  /** Reset statements (all normalised to `x = expr`). */
  readonly reset: readonly Stmt[];
  /** Whether a refractory period is defined. */
  readonly hasRefractory: boolean;
  /** Expression of every recordable variable in terms of the current state. */
  readonly recordable: ReadonlyMap<string, Expr>;
  /** Random numbers drawn per neuron and step. */
  readonly nRandom: number;
  /** The integration method used. */
  readonly method: string;
}

/** Options to build a program. */
export interface ProgramOptions {
  /** Threshold condition, e.g. `"v > -50*mV"`. */
  threshold?: string;
  /** Reset statements, e.g. `"v = -65*mV; w += b"`. */
  reset?: string;
  /** Refractory period: seconds, a time expression, or a boolean condition. */
  refractory?: number | string | false;
  /** Integration method name; default Brian's choice (exact, euler, heun). */
  method?: string;
  /** Namespace (for threshold/reset/refractory expressions). */
  namespace?: Record<string, NamespaceValue>;
}

/** Replace `randn()`/`rand()` calls by numbered draws `__randn(r)`. */
function numberRandom(stmts: Stmt[][], counter: { n: number }): Stmt[][] {
  const walk = (e: Expr): Expr => {
    switch (e.kind) {
      case "call":
        if ((e.fn === "randn" || e.fn === "rand") && e.args.length === 0) {
          return call(`__${e.fn}`, num(counter.n++));
        }
        return { ...e, args: e.args.map(walk) };
      case "unary":
        return { ...e, arg: walk(e.arg) };
      case "binary":
        return { ...e, left: walk(e.left), right: walk(e.right) };
      default:
        return e;
    }
  };
  return stmts.map((list) =>
    list.map((s) => ({ target: s.target, expr: walk(s.expr) }))
  );
}

/**
 * Build the IR of a described model.
 * @param model the checked description
 * @param options threshold, reset, refractory, method
 * @returns the program
 * @throws {EquationSyntaxError} bad threshold/reset text, unknown names, a
 *   reset or refractory period without threshold
 * @throws {DimensionMismatchError} dimension errors in threshold/reset/refractory,
 *   or a plain-number constant whose dimension the statement does not fix
 * @throws {UnsupportedEquationsError} noise that is not linear
 * @throws {RangeError} unknown method
 */
export function buildProgram(
  model: ModelDescription,
  options: ProgramOptions = {},
): Program {
  const vars = model.variables;
  // subexpressions in terms of states/params/inputs, in dependency order
  const subMap = new Map<string, Expr>();
  const overDt: Stmt[] = [];
  for (const s of model.subexpressions) {
    const v = vars.get(s)!;
    const e = substitute(v.expr!, subMap);
    if (v.flags.includes("constant over dt")) {
      overDt.push({ target: s, expr: lookupInputs(e, model) });
    } else {
      subMap.set(s, e);
    }
  }
  const system = buildSystem(model, subMap, options.method);
  const { method, statements } = integrate(system, options.method);

  // threshold
  let threshold: Expr | null = null;
  const ns = options.namespace ?? {};
  // plain-number constants whose dimension the threshold/reset/refractory
  // text fixed: later statements see them with that dimension
  let pinned: Record<string, NamespaceValue> = { ...ns };
  if (options.threshold !== undefined && options.threshold.trim() !== "") {
    const { expr, dim, scope } = checkExtraExpression(
      model,
      options.threshold,
      "threshold",
      pinned,
    );
    if (!dim.isDimensionless) {
      throw dimensionError(
        `the threshold "${options.threshold}" must be a boolean condition, it has dimension ${dim}`,
        options.threshold,
        0,
        dim,
      );
    }
    pinned = pin(pinned, scope);
    threshold = lookupInputs(substitute(expr, subMap), model);
  }
  // reset
  const reset: Stmt[] = [];
  if (options.reset !== undefined && options.reset.trim() !== "") {
    if (threshold === null) {
      throw new EquationSyntaxError(
        "a reset needs a threshold (give threshold: ...)",
        options.reset,
        0,
      );
    }
    // one scope for all statements: a constant has one dimension
    const scope = new Scope(options.reset, pinned);
    for (const [k, v] of vars) scope.vars.set(k, v);
    for (const st of parseStatements(options.reset)) {
      const tv = vars.get(st.target);
      if (!tv || (tv.kind !== "state" && tv.kind !== "parameter")) {
        throw new EquationSyntaxError(
          `the reset assigns '${st.target}', which is not a state variable or parameter of the model` +
            suggest(st.target, [...model.states, ...model.parameters]),
          options.reset,
          st.offset,
        );
      }
      const checker = new DimChecker(scope, options.reset);
      checker.strict = true;
      for (const id of identifiers(st.expr)) {
        if (!vars.has(id)) {
          const info = scope.resolve(id, st.offset);
          if (info.kind === "input") {
            throw new EquationSyntaxError(
              `unknown name '${id}' in the reset${
                suggest(id, [...vars.keys()])
              }`,
              options.reset,
              st.offset,
            );
          }
        }
      }
      const want = st.op === "*=" || st.op === "/=" ? Dimension.NONE : tv.dim;
      // plain-number constants take their dimension from the statement
      // (`w += b` gives b the dimension of w)
      let d = checker.dimOf(st.expr);
      if (d === null) {
        checker.constrain(st.expr, want);
        d = checker.dimOf(st.expr);
      }
      if (d === null) {
        reportUnknown(scope, options.reset, { namespace: ns });
        throw dimensionError(
          `cannot infer the dimensions in the reset '${st.target} ${st.op} ...'`,
          options.reset,
          st.offset,
        );
      }
      if (!d.equals(want)) {
        throw dimensionError(
          `the reset '${st.target} ${st.op} ...' assigns a value of dimension ${d} to '${st.target}' (${tv.dim})`,
          options.reset,
          st.offset,
          d,
          want,
        );
      }
      let e = lookupInputs(substitute(st.expr, subMap), model);
      if (st.op !== "=") {
        e = {
          kind: "binary",
          op: st.op[0] as "+",
          left: name(st.target),
          right: e,
          start: -1,
          end: -1,
        };
      }
      reset.push({ target: st.target, expr: inlineConstants(e, model, ns) });
    }
    pinned = pin(pinned, scope);
  }
  // refractoriness
  const refractory: Stmt[] = [];
  const ref = options.refractory;
  if (
    ref !== undefined && ref !== false &&
    !(typeof ref === "number" && ref === 0)
  ) {
    if (threshold === null) {
      throw new EquationSyntaxError(
        "refractoriness needs a threshold (give threshold: ...)",
        String(ref),
        0,
      );
    }
    let spec: RefractorySpec;
    if (typeof ref === "number") {
      if (!(ref > 0) || !Number.isFinite(ref)) {
        throw new RangeError(
          `refractory must be a positive time in seconds, got ${ref}`,
        );
      }
      spec = { kind: "time", expr: num(ref) };
    } else {
      const { expr, dim } = checkExtraExpression(
        model,
        ref,
        "refractory",
        pinned,
      );
      if (dim.equals(new Dimension([0, 0, 1]))) {
        spec = {
          kind: "time",
          expr: lookupInputs(substitute(expr, subMap), model),
        };
      } else if (dim.isDimensionless) {
        spec = {
          kind: "condition",
          expr: lookupInputs(substitute(expr, subMap), model),
        };
      } else {
        throw dimensionError(
          `refractory "${ref}" must be a time or a boolean condition, it has dimension ${dim}`,
          ref,
          0,
          dim,
        );
      }
    }
    // Brian: not_refractory = timestep(t - lastspike, dt) >= timestep(refractory, dt)
    // or, for a condition: not_refractory = not_refractory or not (cond)
    refractory.push({
      target: "not_refractory",
      expr: spec.kind === "time"
        ? {
          kind: "binary",
          op: ">=",
          left: call("timestep", {
            kind: "binary",
            op: "-",
            left: name("t"),
            right: name("lastspike"),
            start: -1,
            end: -1,
          }, name("dt")),
          right: call("timestep", spec.expr, name("dt")),
          start: -1,
          end: -1,
        }
        : {
          kind: "binary",
          op: "or",
          left: name("not_refractory"),
          right: {
            kind: "unary",
            op: "not",
            arg: spec.expr,
            start: -1,
            end: -1,
          },
          start: -1,
          end: -1,
        },
    });
    if (threshold) {
      threshold = {
        kind: "binary",
        op: "and",
        left: threshold,
        right: name("not_refractory"),
        start: -1,
        end: -1,
      };
    }
  }
  const recordable = new Map<string, Expr>();
  for (const s of model.states) recordable.set(s, name(s));
  for (const p of model.parameters) recordable.set(p, name(p));
  for (const s of model.subexpressions) {
    recordable.set(
      s,
      inlineConstants(lookupInputs(subMap.get(s) ?? name(s), model), model, ns),
    );
  }
  const inl = (l: readonly Stmt[]) =>
    l.map((s) => ({
      target: s.target,
      expr: foldConstants(inlineConstants(s.expr, model, ns)),
    }));
  const counter = { n: 0 };
  const [pre, refr, upd, thr] = numberRandom(
    [
      inl(overDt),
      inl(refractory),
      inl(statements),
      threshold ? inl([{ target: "_cond", expr: threshold }]) : [],
    ],
    counter,
  );
  const [res] = numberRandom([reset], counter);
  for (const [k, e] of recordable) recordable.set(k, foldConstants(e));
  return {
    states: model.states,
    parameters: model.parameters,
    inputs: model.inputs,
    targets: [...vars.values()].filter((v) => v.kind === "target").map((v) =>
      v.name.slice(0, -"_target".length)
    ),
    preStep: pre,
    refractory: refr,
    update: eliminateCommonSubexpressions(upd, model.states),
    threshold: thr.length ? thr[0].expr : null,
    reset: res.map((st) => ({
      target: st.target,
      expr: foldConstants(st.expr),
    })),
    hasRefractory: refractory.length > 0,
    recordable,
    nRandom: counter.n,
    method,
  };
}

/**
 * The namespace with every plain-number constant whose dimension `scope`
 * inferred replaced by a quantity of that dimension.
 */
function pin(
  ns: Record<string, NamespaceValue>,
  scope: Scope,
): Record<string, NamespaceValue> {
  const out = { ...ns };
  for (const [k, raw] of Object.entries(ns)) {
    if (typeof raw !== "number" || scope.unknown.has(k)) continue;
    const v = scope.vars.get(k);
    if (v && v.kind === "constant") out[k] = { value: raw, dim: v.dim };
  }
  return out;
}

/** Input and target names become TimedArray look-ups `__at(name, 0)`. */
function lookupInputs(e: Expr, model: ModelDescription): Expr {
  const walk = (n: Expr): Expr => {
    switch (n.kind) {
      case "name": {
        const v = model.variables.get(n.name);
        if (v && (v.kind === "input" || v.kind === "target")) {
          return call("__at", name(n.name), num(0));
        }
        return n;
      }
      case "unary":
        return { ...n, arg: walk(n.arg) };
      case "binary":
        return { ...n, left: walk(n.left), right: walk(n.right) };
      case "call":
        if (n.fn === "__at") return n;
        return { ...n, args: n.args.map(walk) };
      default:
        return n;
    }
  };
  return walk(e);
}

/** Constants and unit names become numbers. */
function inlineConstants(
  e: Expr,
  model: ModelDescription,
  ns: Record<string, NamespaceValue>,
): Expr {
  const walk = (n: Expr): Expr => {
    switch (n.kind) {
      case "name": {
        const v = model.variables.get(n.name);
        if (
          v && (v.kind === "constant" || v.kind === "unit") &&
          v.value !== undefined
        ) return num(v.value);
        if (!v && Object.hasOwn(ns, n.name)) {
          const raw = ns[n.name];
          const scope = new Scope("", ns);
          const info = scope.resolve(n.name, 0);
          if (info.value !== undefined) return num(info.value);
          if (typeof raw === "number") return num(raw);
        }
        if (!v) {
          const scope = new Scope("", {});
          const info = scope.resolve(n.name, 0);
          if (info.kind === "unit" && info.value !== undefined) {
            return num(info.value);
          }
        }
        return n;
      }
      case "unary":
        return { ...n, arg: walk(n.arg) };
      case "binary":
        return { ...n, left: walk(n.left), right: walk(n.right) };
      case "call":
        return { ...n, args: n.args.map(walk) };
      default:
        return n;
    }
  };
  return walk(e);
}

/**
 * Whether `e` is (syntactically) linear in `x`: `x` appears only in sums and
 * as a factor, never inside a function, a denominator, a power or a
 * condition (`floor(xi)` has derivative 0 but is not linear in xi).
 */
function linearIn(e: Expr, x: string): boolean {
  if (!dependsOn(e, x)) return true;
  switch (e.kind) {
    case "name":
      return true;
    case "unary":
      return (e.op === "-" || e.op === "+") && linearIn(e.arg, x);
    case "binary":
      if (e.op === "+" || e.op === "-") {
        return linearIn(e.left, x) && linearIn(e.right, x);
      }
      if (e.op === "*") {
        if (dependsOn(e.left, x) && dependsOn(e.right, x)) return false;
        return linearIn(e.left, x) && linearIn(e.right, x);
      }
      if (e.op === "/") return !dependsOn(e.right, x) && linearIn(e.left, x);
      return false;
    default:
      return false;
  }
}

/** The ODE/SDE system: subexpressions substituted, noise split off. */
function buildSystem(
  model: ModelDescription,
  subMap: Map<string, Expr>,
  method: string | undefined,
): OdeSystem {
  const f = new Map<string, Expr>();
  const g = new Map<string, Map<string, Expr>>();
  const unless = new Set<string>();
  const noise = model.noise;
  for (const x of model.states) {
    const v = model.variables.get(x)!;
    let rhs = lookupInputs(substitute(v.expr!, subMap), model);
    const gx = new Map<string, Expr>();
    for (const xi of noise) {
      if (!dependsOn(rhs, xi)) continue;
      const coef = derivative(rhs, xi);
      if (dependsOn(coef, xi) || !linearIn(rhs, xi)) {
        throw new UnsupportedEquationsError(
          method ?? "default",
          `the equation of '${x}' is not linear in the noise term ${xi}`,
        );
      }
      gx.set(xi, coef);
      rhs = simplify(substitute(rhs, new Map([[xi, num(0)]])));
    }
    f.set(x, rhs);
    g.set(x, gx);
    if (v.flags.includes("unless refractory")) unless.add(x);
  }
  // constants are inlined after integration; keep names here for readable code
  return { states: model.states, f, g, noise, unlessRefractory: unless };
}
