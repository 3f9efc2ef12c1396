/**
 * `NeuronModel`: a Brian-2-style model compiled once to the IR (and, lazily,
 * to backend kernels).
 * @module
 */
import {
  describeModel,
  type ModelDescription,
  type NamespaceValue,
} from "../equations/model.ts";
import { buildProgram, type Program } from "../codegen/program.ts";

/** Options of {@linkcode NeuronModel}. */
export interface NeuronModelOptions {
  /** Spike condition on updated values, e.g. `"v > -50*mV"`. Default: none. */
  threshold?: string;
  /** Statements run after a spike, e.g. `"v = -65*mV; w += b"`. Default: none. */
  reset?: string;
  /**
   * Refractory period: seconds (number), a string giving a time
   * (`"5*ms"`), or a boolean condition (`"m > 0.5"`). Default: none.
   */
  refractory?: number | string | false;
  /**
   * Integration method: `exact`, `euler`, `rk2`, `rk4`, `heun`, `milstein`,
   * `exponential_euler`. Default: Brian's choice, the first of exact, euler,
   * heun that applies (see {@linkcode NeuronModel.method}).
   */
  method?: string;
  /** Constants: SI numbers (dimension inferred from use), strings with units, or quantities. */
  namespace?: Record<string, NamespaceValue>;
  /** Units of input variables, e.g. `{ I: "amp" }` (otherwise inferred). */
  inputUnits?: Record<string, string>;
  /** Output variables whose `<var>_target` the equations may reference. */
  targets?: readonly string[];
}

/**
 * A parsed, dimension-checked and compiled neuron model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NeuronModel } from "./neuron_model.ts";
 * const lif = new NeuronModel("dv/dt = (El - v + R*I)/tau : volt (unless refractory)", {
 *   namespace: { El: "-70 mV", R: "100 Mohm", tau: "10 ms" },
 *   threshold: "v > -50*mV", reset: "v = -65*mV", refractory: "5*ms",
 * });
 * assert.ok(lif.method === "exact");
 * assert.ok(lif.inputs[0] === "I");
 * ```
 */
export class NeuronModel {
  /** The equation text. */
  readonly equations: string;
  /** Options given. */
  readonly options: Readonly<NeuronModelOptions>;
  /** Resolved names and dimensions. */
  readonly description: ModelDescription;
  /** The compiled IR. */
  readonly program: Program;

  /**
   * Parses, dimension-checks and compiles a model.
   * @param equations Brian-2-style equation string
   * @param options threshold, reset, refractory, method, namespace, inputUnits
   * @throws {EquationSyntaxError} malformed equations, threshold, reset or
   *   namespace/inputUnits quantity (line, column, caret)
   * @throws {DimensionMismatchError} inconsistent units; a plain-number
   *   constant whose dimension its use does not fix (`w += b` gives b the unit of w)
   * @throws {RangeError} unknown integration method, non-finite constant,
   *   inputUnits naming a non-input
   * @throws {UnsupportedEquationsError} the method cannot integrate the equations
   */
  constructor(equations: string, options: NeuronModelOptions = {}) {
    if (typeof equations !== "string") {
      throw new TypeError(
        `equations must be a string, got ${typeof equations}`,
      );
    }
    this.equations = equations;
    this.options = { ...options };
    this.description = describeModel(equations, {
      namespace: options.namespace,
      inputUnits: options.inputUnits,
      targets: options.targets,
    });
    this.program = buildProgram(this.description, {
      threshold: options.threshold,
      reset: options.reset,
      refractory: options.refractory,
      method: options.method,
      namespace: options.namespace,
    });
  }

  /** The integration method in use (Brian's default choice when none was given). */
  get method(): string {
    return this.program.method;
  }

  /** State variables (differential equations). */
  get states(): readonly string[] {
    return this.description.states;
  }

  /** Parameters (`x : unit` lines). */
  get parameters(): readonly string[] {
    return this.description.parameters;
  }

  /** Input variables (names used but not defined). */
  get inputs(): readonly string[] {
    return this.description.inputs;
  }

  /** Subexpressions. */
  get subexpressions(): readonly string[] {
    return this.description.subexpressions;
  }

  /**
   * Dimension of a variable as text (e.g. `"volt"`).
   * @param name variable name
   * @returns the dimension's name
   * @throws {ReferenceError} unknown variable
   */
  unitOf(name: string): string {
    const v = this.description.variables.get(name);
    if (!v) {
      throw new ReferenceError(`'${name}' is not a variable of the model`);
    }
    return v.dim.toString();
  }
}
