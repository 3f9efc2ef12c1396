/**
 * Shared types of the integrators: the ODE/SDE system given to a method and
 * the statements it produces.
 * @module
 */
import { bin, call, type Expr, name, num } from "../equations/ast.ts";
import { substitute } from "../equations/ast.ts";

/** A system `dx/dt = f(x, t) + sum_j g_j(x, t) * xi_j` for several states x. */
export interface OdeSystem {
  /** State variables in order. */
  readonly states: readonly string[];
  /** Deterministic part f per state (subexpressions substituted, inputs as `__at(I, 0)`). */
  readonly f: ReadonlyMap<string, Expr>;
  /** Noise coefficients: state -> (noise symbol -> g). */
  readonly g: ReadonlyMap<string, ReadonlyMap<string, Expr>>;
  /** Noise symbols in order. */
  readonly noise: readonly string[];
  /** States whose equation is flagged `(unless refractory)`. */
  readonly unlessRefractory: ReadonlySet<string>;
}

/** One statement of generated code: `target = expr`. */
export interface Stmt {
  /** Assigned name (temporaries start with `_`). */
  readonly target: string;
  /** Value. */
  readonly expr: Expr;
}

/** Thrown when a method cannot integrate a system (Brian's UnsupportedEquationsException). */
export class UnsupportedEquationsError extends TypeError {
  /**
   * An error naming the method and why it does not apply.
   * @param method the integration method
   * @param reason why it does not apply
   */
  constructor(method: string, reason: string) {
    super(`method '${method}' cannot integrate these equations: ${reason}`);
    this.name = "UnsupportedEquationsError";
  }
}

/** An integration method: turns a system into update statements. */
export interface Integrator {
  /** Method name (Brian's). */
  readonly name: string;
  /**
   * Statements advancing the states by one step `dt`, reading old values and
   * writing `_x` temporaries followed by `x = _x` for each state.
   * @throws {UnsupportedEquationsError} when the method does not apply
   */
  integrate(system: OdeSystem): Stmt[];
}

/** `int(not_refractory)` */
export const NOT_REFRACTORY: Expr = call("int", name("not_refractory"));

/** f multiplied by int(not_refractory) for `(unless refractory)` states. */
export function effectiveF(sys: OdeSystem, x: string): Expr {
  const f = sys.f.get(x)!;
  return sys.unlessRefractory.has(x) ? bin("*", NOT_REFRACTORY, f) : f;
}

/** g multiplied by int(not_refractory) for `(unless refractory)` states. */
export function effectiveG(
  sys: OdeSystem,
  x: string,
  xi: string,
): Expr | undefined {
  const g = sys.g.get(x)?.get(xi);
  if (!g) return undefined;
  return sys.unlessRefractory.has(x) ? bin("*", NOT_REFRACTORY, g) : g;
}

/**
 * Move the expression to the stage time `t + c*dt`: `t` becomes `t + c*dt`
 * and input look-ups `__at(I, 0)` become `__at(I, c)`; state names are
 * replaced by the given stage values.
 */
export function atStage(
  e: Expr,
  c: number,
  states: ReadonlyMap<string, Expr>,
): Expr {
  const tShift: Expr = c === 0
    ? name("t")
    : bin("+", name("t"), bin("*", num(c), name("dt")));
  const walk = (n: Expr): Expr => {
    switch (n.kind) {
      case "name":
        if (n.name === "t") return tShift;
        return states.get(n.name) ?? n;
      case "unary":
        return { ...n, arg: walk(n.arg) };
      case "binary":
        return { ...n, left: walk(n.left), right: walk(n.right) };
      case "call":
        if (n.fn === "__at") return { ...n, args: [n.args[0], num(c)] };
        return { ...n, args: n.args.map(walk) };
      default:
        return n;
    }
  };
  return walk(e);
}

/** `x = _x` assignments for every state. */
export function commit(states: readonly string[]): Stmt[] {
  return states.map((x) => ({ target: x, expr: name(`_${x}`) }));
}

/** Substitute names by expressions. */
export function subst(e: Expr, map: Record<string, Expr>): Expr {
  return substitute(e, new Map(Object.entries(map)));
}

/** True if any noise term exists. */
export function isStochastic(sys: OdeSystem): boolean {
  for (const m of sys.g.values()) if (m.size > 0) return true;
  return false;
}
