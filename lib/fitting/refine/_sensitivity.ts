/**
 * Forward sensitivity equations of a model with respect to its parameters:
 * for every differential-equation variable `x` and fitted parameter `p`, a
 * new state `S_x_p = ∂x/∂p` with
 * `dS_x_p/dt = Σ_y (∂f_x/∂y)·S_y_p + ∂f_x/∂p` (subexpressions substituted),
 * and for output variables that are subexpressions `e`, the subexpression
 * `S_e_p = Σ_y (∂e/∂y)·S_y_p + ∂e/∂p`. Initial values: `∂init/∂p` for initial
 * values given as expressions of parameters, else 0.
 *
 * Source of the method: the variational (forward sensitivity) equations of an
 * ODE, e.g. Hairer, Nørsett & Wanner, "Solving Ordinary Differential
 * Equations I", §I.14; this is what brian2modelfitting's `sensitivity.py`
 * builds with sympy. Derivatives come from `lib/equations/symbolic.ts`.
 * Resets and threshold crossings are not differentiated (as in the
 * reference): sensitivities are exact for models without resets.
 * @module
 */
import { describeModel, type NamespaceValue } from "../../equations/model.ts";
import {
  bin,
  type Expr,
  name,
  num,
  show,
  substitute,
} from "../../equations/ast.ts";
import { dependsOn, derivative, simplify } from "../../equations/symbolic.ts";
import { parseExpression } from "../../equations/expression.ts";
import type { Dimension } from "../../units/dimension.ts";

/** The augmented model. */
export interface SensitivityModel {
  /** Equations with the sensitivity variables appended. */
  equations: string;
  /** Name of `∂out/∂p` per output variable and parameter (`"0"` when identically zero). */
  outputs: Record<string, Record<string, string>>;
  /** Sensitivity state variables that were added. */
  states: string[];
  /** Initial values of the sensitivity states given as expressions (others start at 0). */
  init: Record<string, string>;
}

const BASE_UNITS = [
  "metre",
  "kilogram",
  "second",
  "amp",
  "kelvin",
  "mole",
  "candela",
];

/** A unit string of a dimension in base units, e.g. `metre**2*kilogram*second**-3*amp**-1`. */
export function unitString(d: Dimension): string {
  const parts: string[] = [];
  d.exps.forEach((e, i) => {
    if (e !== 0) parts.push(e === 1 ? BASE_UNITS[i] : `${BASE_UNITS[i]}**${e}`);
  });
  return parts.length ? parts.join("*") : "1";
}

const isZero = (e: Expr): boolean => e.kind === "num" && e.value === 0;

/**
 * Build the sensitivity equations.
 * @param equations model equations (with the fitter's additions)
 * @param options namespace, inputUnits and targets (as for the model), the
 *   fitted parameters, the output variables, string initial values, and
 *   whether to drop sensitivities that stay identically zero
 * @returns the augmented equation text and the names to record
 * @throws {TypeError} an output that is not a state or subexpression, or a
 *   function without a derivative rule
 */
export function sensitivityEquations(
  equations: string,
  options: {
    namespace?: Record<string, NamespaceValue>;
    inputUnits?: Record<string, string>;
    targets?: readonly string[];
    params: readonly string[];
    outputs: readonly string[];
    paramInit?: Record<string, number | string>;
    optimize?: boolean;
  },
): SensitivityModel {
  const desc = describeModel(equations, {
    namespace: options.namespace,
    inputUnits: options.inputUnits,
    targets: options.targets,
  });
  const vars = desc.variables;
  const subMap = new Map<string, Expr>();
  for (const s of desc.subexpressions) {
    subMap.set(s, substitute(vars.get(s)!.expr!, subMap));
  }
  const states = desc.states;
  const f = new Map<string, Expr>();
  for (const x of states) f.set(x, substitute(vars.get(x)!.expr!, subMap));
  const params = options.params;
  const sName = (x: string, p: string) => `S_${x}_${p}`;
  // partial derivatives
  const dfdy = new Map<string, Map<string, Expr>>();
  const dfdp = new Map<string, Map<string, Expr>>();
  for (const x of states) {
    const fx = f.get(x)!;
    const my = new Map<string, Expr>();
    for (const y of states) if (dependsOn(fx, y)) my.set(y, derivative(fx, y));
    dfdy.set(x, my);
    const mp = new Map<string, Expr>();
    for (const p of params) {
      mp.set(p, dependsOn(fx, p) ? derivative(fx, p) : num(0));
    }
    dfdp.set(x, mp);
  }
  // initial sensitivities from string initial values
  const init: Record<string, string> = {};
  const initExpr = new Map<string, Map<string, Expr>>();
  for (const x of states) {
    const v = options.paramInit?.[x];
    const m = new Map<string, Expr>();
    if (typeof v === "string") {
      let e: Expr | null = null;
      try {
        e = parseExpression(v);
      } catch {
        e = null; // a quantity such as "-65 mV": constant
      }
      if (e) {
        e = substitute(e, subMap);
        for (const p of params) {
          if (!dependsOn(e, p)) continue;
          const de = derivative(e, p);
          if (!isZero(de)) m.set(p, de);
        }
      }
    }
    initExpr.set(x, m);
  }
  // sensitivities that stay identically zero (fixed point)
  const zero = new Set<string>();
  if (options.optimize !== false) {
    for (const x of states) {
      for (const p of params) {
        if (isZero(dfdp.get(x)!.get(p)!) && !initExpr.get(x)!.has(p)) {
          zero.add(sName(x, p));
        }
      }
    }
    let changed = true;
    while (changed) {
      changed = false;
      for (const s of [...zero]) {
        const [x, p] = splitName(s, states, params);
        for (const y of dfdy.get(x)!.keys()) {
          if (!zero.has(sName(y, p)) && !isZero(dfdy.get(x)!.get(y)!)) {
            zero.delete(s);
            changed = true;
            break;
          }
        }
      }
    }
  }
  const lines: string[] = [];
  const added: string[] = [];
  const sExpr = (x: string, p: string): Expr =>
    zero.has(sName(x, p)) ? num(0) : name(sName(x, p));
  for (const x of states) {
    const xDim = vars.get(x)!.dim;
    const flags = vars.get(x)!.flags.includes("unless refractory")
      ? " (unless refractory)"
      : "";
    for (const p of params) {
      const s = sName(x, p);
      if (zero.has(s)) continue;
      let rhs: Expr = dfdp.get(x)!.get(p)!;
      for (const [y, dy] of dfdy.get(x)!) {
        if (isZero(dy) || zero.has(sName(y, p))) continue;
        rhs = bin("+", rhs, bin("*", dy, sExpr(y, p)));
      }
      rhs = simplify(rhs);
      const unit = unitString(xDim.div(vars.get(p)!.dim));
      lines.push(`dS_${x}_${p}/dt = ${show(rhs)} : ${unit}${flags}`);
      added.push(s);
      const ie = initExpr.get(x)!.get(p);
      if (ie) init[s] = show(ie);
    }
  }
  const outputs: Record<string, Record<string, string>> = {};
  for (const o of options.outputs) {
    const v = vars.get(o);
    outputs[o] = {};
    if (!v || (v.kind !== "state" && v.kind !== "subexpression")) {
      throw new TypeError(
        `cannot compute sensitivities of '${o}': it is not a state variable or subexpression`,
      );
    }
    for (const p of params) {
      if (v.kind === "state") {
        outputs[o][p] = zero.has(sName(o, p)) ? "0" : sName(o, p);
        continue;
      }
      const e = subMap.get(o)!;
      let rhs: Expr = dependsOn(e, p) ? derivative(e, p) : num(0);
      for (const y of states) {
        if (!dependsOn(e, y) || zero.has(sName(y, p))) continue;
        rhs = bin("+", rhs, bin("*", derivative(e, y), name(sName(y, p))));
      }
      rhs = simplify(rhs);
      const s = sName(o, p);
      lines.push(
        `${s} = ${show(rhs)} : ${unitString(v.dim.div(vars.get(p)!.dim))}`,
      );
      outputs[o][p] = s;
    }
  }
  return {
    equations: `${equations}\n${lines.join("\n")}\n`,
    outputs,
    states: added,
    init,
  };
}

function splitName(
  s: string,
  states: readonly string[],
  params: readonly string[],
): [string, string] {
  for (const x of states) {
    for (const p of params) if (s === `S_${x}_${p}`) return [x, p];
  }
  throw new Error(`internal: cannot split ${s}`);
}
