/**
 * Integration methods by Brian 2 name, and Brian's default choice.
 * @module
 */
import { exact } from "./exact.ts";
import { euler, heun, milstein, rk2, rk4 } from "./explicit.ts";
import { exponentialEuler } from "./exponential_euler.ts";
import {
  type Integrator,
  type OdeSystem,
  type Stmt,
  UnsupportedEquationsError,
} from "./types.ts";

export { euler, exact, exponentialEuler, heun, milstein, rk2, rk4 };
export * from "./types.ts";

/** Every method by name (`linear` is an alias of `exact`, as in Brian). */
export const METHODS: ReadonlyMap<string, Integrator> = new Map([
  ["exact", exact],
  ["linear", exact],
  ["euler", euler],
  ["rk2", rk2],
  ["rk4", rk4],
  ["heun", heun],
  ["milstein", milstein],
  ["exponential_euler", exponentialEuler],
]);

/** Brian's default method list for a NeuronGroup. */
export const DEFAULT_METHODS: readonly string[] = ["exact", "euler", "heun"];

/**
 * Integrate with a named method, or with the first applicable default.
 * @param system the equations
 * @param method a method name, or undefined for Brian's default choice
 * @returns the statements and the method used
 * @throws {RangeError} unknown method name
 * @throws {UnsupportedEquationsError} when the method (or no default) applies
 */
export function integrate(
  system: OdeSystem,
  method?: string,
): { method: string; statements: Stmt[] } {
  if (method !== undefined) {
    const m = METHODS.get(method);
    if (!m) {
      throw new RangeError(
        `unknown integration method '${method}' (known: ${
          [...METHODS.keys()].join(", ")
        })`,
      );
    }
    return { method: m.name, statements: m.integrate(system) };
  }
  const reasons: string[] = [];
  for (const name of DEFAULT_METHODS) {
    try {
      return { method: name, statements: METHODS.get(name)!.integrate(system) };
    } catch (e) {
      if (!(e instanceof UnsupportedEquationsError)) throw e;
      reasons.push(e.message);
    }
  }
  throw new UnsupportedEquationsError(
    "default",
    `no default method applies: ${reasons.join("; ")}`,
  );
}
