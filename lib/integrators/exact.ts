/**
 * Exact integration of linear equations (`brian2/stateupdaters/exact.py`),
 * for the uncoupled case: each `dx/dt = A x + B` with A and B free of every
 * state variable and of `t` (inputs are TimedArrays, constant over a step):
 * `x_new = -B/A + (x + B/A) exp(A dt)`. Coupled linear systems (which Brian
 * solves with a matrix exponential) are not supported yet and are reported
 * as unsupported, so the default choice falls through to `euler`.
 * @module
 */
import { bin, call, type Expr, name, unary } from "../equations/ast.ts";
import { dependsOn, linearSplit, simplify } from "../equations/symbolic.ts";
import {
  commit,
  type Integrator,
  isStochastic,
  NOT_REFRACTORY,
  type OdeSystem,
  type Stmt,
} from "./types.ts";
import { UnsupportedEquationsError } from "./types.ts";

function hasRandom(e: Expr): boolean {
  switch (e.kind) {
    case "call":
      return e.fn === "rand" || e.fn === "randn" || e.args.some(hasRandom);
    case "unary":
      return hasRandom(e.arg);
    case "binary":
      return hasRandom(e.left) || hasRandom(e.right);
    default:
      return false;
  }
}

/** The exact (linear) method. */
export const exact: Integrator = {
  name: "exact",
  integrate(sys: OdeSystem): Stmt[] {
    if (isStochastic(sys)) {
      throw new UnsupportedEquationsError(
        "exact",
        "it does not support stochastic equations",
      );
    }
    const states = new Set(sys.states);
    const out: Stmt[] = [];
    for (const x of sys.states) {
      const f = sys.f.get(x)!;
      if (hasRandom(f)) {
        throw new UnsupportedEquationsError(
          "exact",
          `the equation of '${x}' uses rand()/randn()`,
        );
      }
      const split = linearSplit(f, x);
      if (!split || dependsOn(split.A, states) || dependsOn(split.B, x)) {
        throw new UnsupportedEquationsError(
          "exact",
          `the equation of '${x}' is not linear`,
        );
      }
      if (dependsOn(split.A, "t") || dependsOn(split.B, "t")) {
        throw new UnsupportedEquationsError(
          "exact",
          `the equation of '${x}' depends explicitly on time`,
        );
      }
      const others = new Set([...states].filter((s) => s !== x));
      if (dependsOn(split.B, others)) {
        throw new UnsupportedEquationsError(
          "exact",
          `the equation of '${x}' is coupled to other state variables (coupled linear systems are not supported)`,
        );
      }
      const dtEff: Expr = sys.unlessRefractory.has(x)
        ? bin("*", name("dt"), NOT_REFRACTORY)
        : name("dt");
      const { A, B } = split;
      if (A.kind === "num" && A.value === 0) {
        out.push({
          target: `_${x}`,
          expr: bin("+", name(x), bin("*", dtEff, B)),
        });
      } else {
        const ba = simplify(bin("/", B, A));
        out.push({ target: `_BA_${x}`, expr: ba });
        out.push({
          target: `_${x}`,
          expr: bin(
            "+",
            unary("-", name(`_BA_${x}`)),
            bin(
              "*",
              bin("+", name(`_BA_${x}`), name(x)),
              call("exp", bin("*", dtEff, A)),
            ),
          ),
        });
      }
    }
    return [...out, ...commit(sys.states)];
  },
};
