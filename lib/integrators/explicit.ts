/**
 * Explicit methods: forward Euler (with additive noise), midpoint RK2,
 * classical RK4, Heun (Stratonovich, multiplicative noise) and Milstein
 * (derivative-free). Formulas follow Brian 2 (`brian2/stateupdaters/explicit.py`)
 * and its generated code in `shared/reference/brian2/abstract_code.txt`.
 * @module
 */
import { bin, call, type Expr, name, num } from "../equations/ast.ts";
import { dependsOn } from "../equations/symbolic.ts";
import {
  atStage,
  commit,
  effectiveF,
  effectiveG,
  type Integrator,
  isStochastic,
  type OdeSystem,
  type Stmt,
  UnsupportedEquationsError,
} from "./types.ts";

const dt = name("dt");
const mul = (a: Expr, b: Expr) => bin("*", a, b);
const add = (a: Expr, b: Expr) => bin("+", a, b);
const sub = (a: Expr, b: Expr) => bin("-", a, b);
const div = (a: Expr, b: Expr) => bin("/", a, b);

/** `_xi_j = sqrt(dt) * randn()` for every noise symbol (Brian: `xi = dt**.5 * randn()`). */
function noiseDraws(sys: OdeSystem): Stmt[] {
  return sys.noise.map((xi) => ({
    target: `_${xi}`,
    expr: mul(call("sqrt", dt), call("randn")),
  }));
}

function stateMap(
  sys: OdeSystem,
  prefix: (x: string) => Expr,
): Map<string, Expr> {
  return new Map(sys.states.map((x) => [x, prefix(x)]));
}

/** Forward Euler: `x + dt*f + sum g*dW` (additive noise only). */
export const euler: Integrator = {
  name: "euler",
  integrate(sys: OdeSystem): Stmt[] {
    const stateSet = new Set(sys.states);
    for (const x of sys.states) {
      for (const [xi, g] of sys.g.get(x) ?? []) {
        if (dependsOn(g, stateSet) || dependsOn(g, "t")) {
          throw new UnsupportedEquationsError(
            "euler",
            `the noise term of '${x}' (${xi}) is multiplicative (depends on the state); use heun or milstein`,
          );
        }
      }
    }
    const out = noiseDraws(sys);
    for (const x of sys.states) {
      let e: Expr = add(name(x), mul(dt, effectiveF(sys, x)));
      for (const xi of sys.noise) {
        const g = effectiveG(sys, x, xi);
        if (g) e = add(e, mul(g, name(`_${xi}`)));
      }
      out.push({ target: `_${x}`, expr: e });
    }
    return [...out, ...commit(sys.states)];
  },
};

function deterministicOnly(method: string, sys: OdeSystem): void {
  if (isStochastic(sys)) {
    throw new UnsupportedEquationsError(
      method,
      "it does not support stochastic equations (xi)",
    );
  }
}

/** Midpoint RK2: `k = dt*f(x, t); x + dt*f(x + k/2, t + dt/2)`. */
export const rk2: Integrator = {
  name: "rk2",
  integrate(sys: OdeSystem): Stmt[] {
    deterministicOnly("rk2", sys);
    const out: Stmt[] = [];
    for (const x of sys.states) {
      out.push({ target: `__k_${x}`, expr: mul(dt, effectiveF(sys, x)) });
    }
    const mid = stateMap(
      sys,
      (x) => add(name(x), div(name(`__k_${x}`), num(2))),
    );
    for (const x of sys.states) {
      out.push({
        target: `_${x}`,
        expr: add(name(x), mul(dt, atStage(effectiveF(sys, x), 0.5, mid))),
      });
    }
    return [...out, ...commit(sys.states)];
  },
};

/** Classical fourth-order Runge–Kutta. */
export const rk4: Integrator = {
  name: "rk4",
  integrate(sys: OdeSystem): Stmt[] {
    deterministicOnly("rk4", sys);
    const out: Stmt[] = [];
    const k = (i: number, x: string) => name(`__k_${i}_${x}`);
    for (const x of sys.states) {
      out.push({ target: `__k_1_${x}`, expr: mul(dt, effectiveF(sys, x)) });
    }
    const s2 = stateMap(sys, (x) => add(name(x), div(k(1, x), num(2))));
    for (const x of sys.states) {
      out.push({
        target: `__k_2_${x}`,
        expr: mul(dt, atStage(effectiveF(sys, x), 0.5, s2)),
      });
    }
    const s3 = stateMap(sys, (x) => add(name(x), div(k(2, x), num(2))));
    for (const x of sys.states) {
      out.push({
        target: `__k_3_${x}`,
        expr: mul(dt, atStage(effectiveF(sys, x), 0.5, s3)),
      });
    }
    const s4 = stateMap(sys, (x) => add(name(x), k(3, x)));
    for (const x of sys.states) {
      out.push({
        target: `__k_4_${x}`,
        expr: mul(dt, atStage(effectiveF(sys, x), 1, s4)),
      });
    }
    for (const x of sys.states) {
      const e = add(
        add(
          add(
            add(div(k(1, x), num(6)), div(k(2, x), num(3))),
            div(k(3, x), num(3)),
          ),
          div(k(4, x), num(6)),
        ),
        name(x),
      );
      out.push({ target: `_${x}`, expr: e });
    }
    return [...out, ...commit(sys.states)];
  },
};

/**
 * Heun (Stratonovich): `x_s = x + g(x,t) dW;
 * x_new = x + dt f(x,t) + 0.5 dW (g(x,t) + g(x_s, t+dt))`.
 */
export const heun: Integrator = {
  name: "heun",
  integrate(sys: OdeSystem): Stmt[] {
    const out = noiseDraws(sys);
    const increments = new Map<string, Expr>(
      sys.states.map((x) => [x, mul(dt, effectiveF(sys, x))]),
    );
    for (const xi of sys.noise) {
      const dW = name(`_${xi}`);
      const support = new Map<string, Expr>();
      for (const x of sys.states) {
        const g = effectiveG(sys, x, xi);
        const tname = `__x_support_${x}_${xi}`;
        out.push({
          target: tname,
          expr: g ? add(name(x), mul(g, dW)) : name(x),
        });
        support.set(x, name(tname));
      }
      for (const x of sys.states) {
        const g = effectiveG(sys, x, xi);
        if (!g) continue;
        const gs = `__g_support_${x}_${xi}`;
        out.push({ target: gs, expr: atStage(g, 1, support) });
        increments.set(
          x,
          add(increments.get(x)!, mul(mul(num(0.5), dW), add(g, name(gs)))),
        );
      }
    }
    for (const x of sys.states) {
      out.push({ target: `_${x}`, expr: add(name(x), increments.get(x)!) });
    }
    return [...out, ...commit(sys.states)];
  },
};

/**
 * Derivative-free Milstein as generated by Brian 2:
 * `x_s = x + dt f + sqrt(dt) g; k = (g(x_s) - g(x)) dW^2 / (2 sqrt(dt));
 * x_new = x + dt f + g dW + k`.
 */
export const milstein: Integrator = {
  name: "milstein",
  integrate(sys: OdeSystem): Stmt[] {
    const out = noiseDraws(sys);
    const sq = call("sqrt", dt);
    const increments = new Map<string, Expr>(
      sys.states.map((x) => [x, mul(dt, effectiveF(sys, x))]),
    );
    for (const xi of sys.noise) {
      const dW = name(`_${xi}`);
      const support = new Map<string, Expr>();
      for (const x of sys.states) {
        const g = effectiveG(sys, x, xi);
        const tname = `__x_support_${x}_${xi}`;
        out.push({
          target: tname,
          expr: add(
            add(name(x), mul(dt, effectiveF(sys, x))),
            g ? mul(sq, g) : num(0),
          ),
        });
        support.set(x, name(tname));
      }
      for (const x of sys.states) {
        const g = effectiveG(sys, x, xi);
        if (!g) continue;
        const gs = `__g_support_${x}_${xi}`;
        out.push({ target: gs, expr: atStage(g, 0, support) });
        const kname = `__k_${x}_${xi}`;
        out.push({
          target: kname,
          expr: div(mul(sub(name(gs), g), mul(dW, dW)), mul(num(2), sq)),
        });
        increments.set(
          x,
          add(add(increments.get(x)!, mul(g, dW)), name(kname)),
        );
      }
    }
    for (const x of sys.states) {
      out.push({ target: `_${x}`, expr: add(name(x), increments.get(x)!) });
    }
    return [...out, ...commit(sys.states)];
  },
};
