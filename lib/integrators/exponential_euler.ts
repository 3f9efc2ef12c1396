/**
 * Exponential Euler (`brian2/stateupdaters/exponential_euler.py`): each
 * equation is split into `A*x + B` with A and B free of x except inside
 * function calls (so `exp(v/DeltaT)` stays in B, as Brian's sympy `collect`
 * does), then `x_new = -B/A + (B/A + x) * exp(A*dt)` (A ≠ 0) or
 * `x + dt*B` (A ≡ 0), all from old values.
 * @module
 */
import { bin, call, type Expr, name, unary } from "../equations/ast.ts";
import { linearSplit, simplify } from "../equations/symbolic.ts";
import { show } from "../equations/ast.ts";
import {
  commit,
  type Integrator,
  isStochastic,
  NOT_REFRACTORY,
  type OdeSystem,
  type Stmt,
} from "./types.ts";
import { UnsupportedEquationsError } from "./types.ts";

const isZero = (e: Expr) => e.kind === "num" && e.value === 0;

/** The exponential Euler method. */
export const exponentialEuler: Integrator = {
  name: "exponential_euler",
  integrate(sys: OdeSystem): Stmt[] {
    if (isStochastic(sys)) {
      throw new UnsupportedEquationsError(
        "exponential_euler",
        "it does not support stochastic equations (xi)",
      );
    }
    const out: Stmt[] = [];
    for (const x of sys.states) {
      const f = sys.f.get(x)!;
      const split = linearSplit(f, x);
      if (!split) {
        throw new UnsupportedEquationsError(
          "exponential_euler",
          `the equation of '${x}' is not conditionally linear in ${x} (dx/dt = ${
            show(f)
          })`,
        );
      }
      // (unless refractory): the factor int(not_refractory) scales A and B
      // alike; it cancels in B/A (as sympy cancels it in Brian) and only
      // enters the exponent and the A = 0 branch.
      const nr = sys.unlessRefractory.has(x);
      const dtEff: Expr = nr
        ? bin("*", name("dt"), NOT_REFRACTORY)
        : name("dt");
      const { A, B } = split;
      if (isZero(A)) {
        out.push({
          target: `_${x}`,
          expr: bin("+", name(x), bin("*", dtEff, B)),
        });
      } else if (isZero(B)) {
        out.push({
          target: `_${x}`,
          expr: bin("*", name(x), call("exp", bin("*", dtEff, A))),
        });
      } else {
        out.push({ target: `_BA_${x}`, expr: simplify(bin("/", B, A)) });
        const ba = name(`_BA_${x}`);
        out.push({
          target: `_${x}`,
          expr: bin(
            "+",
            unary("-", ba),
            bin("*", bin("+", ba, name(x)), call("exp", bin("*", dtEff, A))),
          ),
        });
      }
    }
    return [...out, ...commit(sys.states)];
  },
};
