/**
 * The ask/tell optimizer interface shared by every fitter, plus the base class
 * that the built-in optimizers extend.
 *
 * The interface follows brian2modelfitting's `Optimizer` (`optimizer.py`):
 * `initialize(parameterNames, popsize, rounds, bounds) -> popsize`,
 * `ask(n)`, `tell(params, errors)`, `recommend()`. It is structural: any
 * object with these four methods can be passed to a fitter.
 *
 * Differences from the reference (see REFERENCE_NOTES, "Bugs and quirks"):
 * every optimizer speaks the same dictionary type (skopt's returned lists),
 * and the best point is chosen NaN-aware (NaN / ±Infinity errors are ranked
 * worst and never become the best), while the reference's `recommend()` uses
 * `np.argmin`, which returns the first NaN.
 * @module
 */

/** One parameter set: parameter name -> value (SI float). */
export type ParamDict = Record<string, number>;

/** Bounds per parameter: name -> `[lower, upper]` (SI floats, lower < upper). */
export type Bounds = Record<string, [number, number]>;

/**
 * How an optimizer maps a parameter's bounds to its search coordinate
 * `u` in [0, 1]: `"linear"` (`x = lo + (hi − lo)·u`), `"log"`
 * (`x = lo·(hi/lo)^u`, needs `0 < lo`), or `"auto"`: log when
 * `0 < lo` and the bounds span more than two decades (`hi/lo > 100`),
 * linear otherwise.
 */
export type ParameterScale = "linear" | "log" | "auto";

/**
 * The `scale` option of the built-in optimizers: one
 * {@linkcode ParameterScale} for every parameter, or one per parameter name
 * (parameters not named get `"auto"`). Default `"auto"`.
 */
export type ScaleOption = ParameterScale | Record<string, ParameterScale>;

/** Span (upper / lower) above which `"auto"` chooses the log scale: two decades. */
export const AUTO_LOG_SPAN = 100;

/**
 * Resolve a {@linkcode ScaleOption} for validated bounds.
 *
 * @param option the option (undefined = `"auto"`)
 * @param bounds validated bounds
 * @param label name used in error messages
 * @returns `"linear"` or `"log"` per parameter, in bounds order
 * @throws {RangeError} an unknown scale name, a scale for an unknown
 *   parameter, `"log"` for bounds that are not both > 0
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveScales, validateBounds } from "./optimizer.ts";
 * const b = validateBounds(["g", "E"], { g: [1e-12, 1e-6], E: [-0.1, 0] });
 * assert.deepEqual(resolveScales(undefined, b, "x"), ["log", "linear"]);
 * ```
 */
export function resolveScales(
  option: ScaleOption | undefined,
  bounds: ValidatedBounds,
  label: string,
): ("linear" | "log")[] {
  const names = bounds.names;
  const valid = ["linear", "log", "auto"];
  let per: (name: string) => ParameterScale;
  if (option === undefined || typeof option === "string") {
    const o = option ?? "auto";
    if (!valid.includes(o)) {
      throw new RangeError(
        `${label}: scale must be "linear", "log", "auto" or { name: scale }, got ${
          JSON.stringify(o)
        }`,
      );
    }
    per = () => o;
  } else if (typeof option === "object" && option !== null) {
    for (const [k, v] of Object.entries(option)) {
      if (!names.includes(k)) {
        throw new RangeError(
          `${label}: scale given for unknown parameter '${k}' (parameters: ${
            names.join(", ")
          })`,
        );
      }
      if (!valid.includes(v)) {
        throw new RangeError(
          `${label}: scale of '${k}' must be "linear", "log" or "auto", got ${
            JSON.stringify(v)
          }`,
        );
      }
    }
    per = (name) => option[name] ?? "auto";
  } else {
    throw new RangeError(
      `${label}: scale must be "linear", "log", "auto" or { name: scale }, got ${
        String(option)
      }`,
    );
  }
  return names.map((name, i) => {
    const lo = bounds.lower[i];
    const hi = bounds.upper[i];
    const s = per(name);
    if (s === "log") {
      if (!(lo > 0)) {
        throw new RangeError(
          `${label}: scale "log" for '${name}' needs bounds > 0, got [${lo}, ${hi}]`,
        );
      }
      return "log";
    }
    if (s === "auto") {
      return lo > 0 && hi / lo > AUTO_LOG_SPAN ? "log" : "linear";
    }
    return "linear";
  });
}

/**
 * An ask/tell optimizer. Fitters call `initialize` once (or again after a
 * restart), then repeatedly `ask(n)` for `n` parameter sets, evaluate them and
 * `tell` the errors back; `recommend()` returns the best set seen.
 */
export interface Optimizer {
  /**
   * Prepare for a new optimization.
   * @param parameterNames names of the fitted parameters
   * @param popsize requested number of parameter sets per round
   * @param rounds planned number of rounds (may be used to size a budget)
   * @param bounds `[lower, upper]` per parameter (SI)
   * @returns the population size actually used (the fitter adapts to it)
   */
  initialize(
    parameterNames: string[],
    popsize: number,
    rounds: number,
    bounds: Record<string, [number, number]>,
  ): number;
  /**
   * Propose parameter sets.
   * @param n how many
   * @returns `n` parameter dictionaries inside the bounds
   */
  ask(n: number): ParamDict[];
  /**
   * Report the errors of parameter sets obtained from `ask`.
   * @param params the parameter sets (same objects or equal values)
   * @param errors one error per set; NaN and ±Infinity are allowed (worst)
   */
  tell(params: ParamDict[], errors: ArrayLike<number>): void;
  /**
   * The best evaluated parameter set.
   * @returns a fresh dictionary
   */
  recommend(): ParamDict;
}

/**
 * Whether `x` has the four methods of {@linkcode Optimizer} (a structural
 * check used by the fitters to reject wrong arguments with a `TypeError`).
 *
 * @param x any value
 * @returns true when `x` has `initialize`, `ask`, `tell` and `recommend` methods
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOptimizer } from "./optimizer.ts";
 * assert.ok(!isOptimizer({ ask: () => [] }));
 * ```
 */
export function isOptimizer(x: unknown): x is Optimizer {
  if (x === null || (typeof x !== "object" && typeof x !== "function")) {
    return false;
  }
  const o = x as Record<string, unknown>;
  return typeof o.initialize === "function" && typeof o.ask === "function" &&
    typeof o.tell === "function" && typeof o.recommend === "function";
}

/** Validated bounds in parameter order. */
export interface ValidatedBounds {
  /** Parameter names in the order given to `initialize`. */
  names: string[];
  /** Lower bounds, same order. */
  lower: Float64Array;
  /** Upper bounds, same order. */
  upper: Float64Array;
}

/**
 * Check parameter names and bounds as every optimizer does in `initialize`.
 *
 * @param parameterNames names of the fitted parameters (non-empty, unique)
 * @param bounds `[lower, upper]` per name, finite, lower < upper
 * @returns the bounds as typed arrays in name order
 * @throws {TypeError} names not an array of strings, duplicated, bounds not
 *   an object, a bound that is not a pair of numbers, a parameter without
 *   bounds
 * @throws {RangeError} unknown parameter in `bounds`, non-finite bound,
 *   lower >= upper
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateBounds } from "./optimizer.ts";
 * const b = validateBounds(["a"], { a: [0, 1] });
 * assert.ok(b.upper[0] === 1);
 * ```
 */
export function validateBounds(
  parameterNames: string[],
  bounds: Record<string, [number, number]>,
): ValidatedBounds {
  if (!Array.isArray(parameterNames) || parameterNames.length === 0) {
    throw new TypeError(
      `parameterNames must be a non-empty array of strings, got ${
        String(parameterNames)
      }`,
    );
  }
  const seen = new Set<string>();
  for (const name of parameterNames) {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(
        `parameter names must be non-empty strings, got ${String(name)}`,
      );
    }
    if (seen.has(name)) {
      throw new TypeError(`parameter '${name}' is listed twice`);
    }
    seen.add(name);
  }
  if (bounds === null || typeof bounds !== "object") {
    throw new TypeError(
      `bounds must be an object {name: [lower, upper]}, got ${String(bounds)}`,
    );
  }
  for (const key of Object.keys(bounds)) {
    if (!seen.has(key)) {
      throw new RangeError(
        `bounds given for unknown parameter '${key}' (parameters: ${
          parameterNames.join(", ")
        })`,
      );
    }
  }
  const n = parameterNames.length;
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const name = parameterNames[i];
    const b = bounds[name] as unknown;
    if (b === undefined) {
      throw new TypeError(`no bounds given for parameter '${name}'`);
    }
    if (
      !(Array.isArray(b) || ArrayBuffer.isView(b)) ||
      (b as ArrayLike<unknown>).length !== 2 ||
      typeof (b as ArrayLike<unknown>)[0] !== "number" ||
      typeof (b as ArrayLike<unknown>)[1] !== "number"
    ) {
      throw new TypeError(
        `bounds of '${name}' must be a pair [lower, upper] of numbers, got ${
          JSON.stringify(b)
        }`,
      );
    }
    const [lo, hi] = b as [number, number];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new RangeError(
        `bounds of '${name}' must be finite, got [${lo}, ${hi}]`,
      );
    }
    if (!(lo < hi)) {
      throw new RangeError(
        `bounds of '${name}' must satisfy lower < upper, got [${lo}, ${hi}]`,
      );
    }
    lower[i] = lo;
    upper[i] = hi;
  }
  return { names: [...parameterNames], lower, upper };
}

/** Rank key of an error: non-finite errors (NaN, ±Infinity) are worst. */
export function errorKey(e: number): number {
  return Number.isFinite(e) ? e : Infinity;
}

/** A told point in normalized coordinates with its error and ask-time tag. */
export interface ToldEntry<T> {
  /** Normalized coordinates in [0, 1]^d. */
  u: Float64Array;
  /** The error as told (may be NaN / ±Infinity). */
  error: number;
  /** Rank key: the error, or Infinity when it is not finite. */
  key: number;
  /** What the optimizer attached when the point was asked (undefined if unknown). */
  tag: T | undefined;
}

/**
 * Base class of the built-in optimizers: validates arguments, maps between
 * SI parameter dictionaries and normalized coordinates in [0, 1]^d
 * (`u = (x - lo)/(hi - lo)` on the linear scale, `u = log(x/lo)/log(hi/lo)`
 * on the log scale, see {@linkcode ParameterScale}), matches told points to
 * asked ones, and keeps the NaN-aware best. Subclasses implement
 * `initializeState`, `propose` and `update`.
 */
export abstract class BoxOptimizer<T = unknown> implements Optimizer {
  /** Parameter names in order (empty before `initialize`). */
  protected names: string[] = [];
  /** Lower bounds. */
  protected lower: Float64Array = new Float64Array(0);
  /** Upper bounds. */
  protected upper: Float64Array = new Float64Array(0);
  /** Population size returned by `initialize`. */
  protected popsize = 0;
  /** Search scale per parameter, resolved by `initialize`. */
  protected scaleOf: ("linear" | "log")[] = [];
  #scaleOption: ScaleOption | undefined;
  #pending = new Map<ParamDict, { u: Float64Array; tag: T }>();
  #pendingByKey = new Map<string, ParamDict[]>();
  #bestU: Float64Array | null = null;
  #bestError = Infinity;
  #nTold = 0;

  /**
   * Keep the search-scale option for `initialize`.
   * @param scale the `scale` option of the subclass (default `"auto"`);
   *   checked against the bounds in `initialize`
   */
  constructor(scale?: ScaleOption) {
    this.#scaleOption = scale;
  }

  /** Name used in error messages. */
  protected abstract get label(): string;

  /**
   * The search scale of each parameter (`"linear"` or `"log"`), resolved
   * from the `scale` option and the bounds by `initialize` (empty before).
   */
  get scales(): Record<string, "linear" | "log"> {
    return Object.fromEntries(this.names.map((n, i) => [n, this.scaleOf[i]]));
  }

  /** Number of dimensions. */
  get dimension(): number {
    return this.names.length;
  }

  /** Best finite error told so far (Infinity when none). */
  get bestError(): number {
    return this.#bestError;
  }

  /** Number of parameter sets told so far. */
  get nEvaluations(): number {
    return this.#nTold;
  }

  /**
   * Validate the arguments and reset the optimizer.
   * @param parameterNames names of the fitted parameters
   * @param popsize requested number of parameter sets per round (integer >= 1)
   * @param rounds planned number of rounds (integer >= 1)
   * @param bounds `[lower, upper]` per parameter
   * @returns the population size actually used
   * @throws {TypeError} bad names or bounds shape
   * @throws {RangeError} bad bounds values, popsize or rounds
   */
  initialize(
    parameterNames: string[],
    popsize: number,
    rounds: number,
    bounds: Record<string, [number, number]>,
  ): number {
    const v = validateBounds(parameterNames, bounds);
    const scales = resolveScales(this.#scaleOption, v, this.label);
    if (!Number.isInteger(popsize) || popsize < 1) {
      throw new RangeError(
        `${this.label}: popsize must be an integer >= 1, got ${popsize}`,
      );
    }
    if (!Number.isInteger(rounds) || rounds < 1) {
      throw new RangeError(
        `${this.label}: rounds must be an integer >= 1, got ${rounds}`,
      );
    }
    this.names = v.names;
    this.lower = v.lower;
    this.upper = v.upper;
    this.scaleOf = scales;
    this.#pending.clear();
    this.#pendingByKey.clear();
    this.#bestU = null;
    this.#bestError = Infinity;
    this.#nTold = 0;
    this.popsize = this.initializeState(popsize, rounds);
    return this.popsize;
  }

  /**
   * Propose `n` parameter sets inside the bounds.
   * @param n number of sets (integer >= 0)
   * @returns `n` fresh dictionaries
   * @throws {Error} when called before `initialize`
   * @throws {RangeError} when `n` is not a non-negative integer
   */
  ask(n: number): ParamDict[] {
    this.#checkInitialized("ask");
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(
        `${this.label}.ask(n): n must be an integer >= 0, got ${n}`,
      );
    }
    const out: ParamDict[] = [];
    for (const { u, tag } of this.propose(n)) {
      for (let i = 0; i < u.length; i++) u[i] = Math.min(1, Math.max(0, u[i]));
      const p = this.toParams(u);
      this.#pending.set(p, { u, tag });
      const key = this.#key(p);
      const list = this.#pendingByKey.get(key);
      if (list) list.push(p);
      else this.#pendingByKey.set(key, [p]);
      out.push(p);
    }
    return out;
  }

  /**
   * Report errors for parameter sets. Each set is matched to an asked one (by
   * object identity, then by equal values of the fitted parameters; extra keys
   * such as fixed parameters are ignored). Sets that were not asked are
   * accepted too: they count for the best point and are handed to the
   * algorithm without a tag.
   * @param params parameter sets
   * @param errors one error per set (NaN / ±Infinity treated as worst)
   * @throws {TypeError} length mismatch, non-object entries, missing parameters
   * @throws {RangeError} a value outside the bounds or not finite
   */
  tell(params: ParamDict[], errors: ArrayLike<number>): void {
    this.#checkInitialized("tell");
    if (!Array.isArray(params)) {
      throw new TypeError(
        `${this.label}.tell: params must be an array of dictionaries`,
      );
    }
    if (
      errors === null || typeof errors !== "object" ||
      typeof errors.length !== "number"
    ) {
      throw new TypeError(
        `${this.label}.tell: errors must be an array of numbers`,
      );
    }
    if (params.length !== errors.length) {
      throw new TypeError(
        `${this.label}.tell: got ${params.length} parameter sets but ${errors.length} errors`,
      );
    }
    const entries: ToldEntry<T>[] = [];
    for (let k = 0; k < params.length; k++) {
      const p = params[k];
      if (p === null || typeof p !== "object") {
        throw new TypeError(
          `${this.label}.tell: params[${k}] is not a dictionary`,
        );
      }
      const e = Number(errors[k]);
      let rec = this.#pending.get(p);
      let obj = p;
      if (!rec) {
        const list = this.#pendingByKey.get(this.#key(p));
        if (list && list.length > 0) {
          obj = list[0];
          rec = this.#pending.get(obj);
        }
      }
      let u: Float64Array;
      let tag: T | undefined;
      if (rec) {
        u = rec.u;
        tag = rec.tag;
        this.#pending.delete(obj);
        const key = this.#key(obj);
        const list = this.#pendingByKey.get(key)!;
        list.splice(list.indexOf(obj), 1);
        if (list.length === 0) this.#pendingByKey.delete(key);
      } else {
        u = this.fromParams(p, `params[${k}]`);
        tag = undefined;
      }
      const key = errorKey(e);
      entries.push({ u, error: e, key, tag });
      this.#nTold++;
      if (key < this.#bestError) {
        this.#bestError = key;
        this.#bestU = Float64Array.from(u);
      }
    }
    this.update(entries);
  }

  /**
   * The best told parameter set (smallest finite error; NaN / ±Infinity never
   * win).
   * @returns a fresh dictionary
   * @throws {Error} when no parameter set with a finite error was told yet
   */
  recommend(): ParamDict {
    this.#checkInitialized("recommend");
    if (this.#bestU === null) {
      throw new Error(
        `${this.label}.recommend(): no parameter set with a finite error has been told yet`,
      );
    }
    return this.toParams(this.#bestU);
  }

  /** Best point in normalized coordinates (null when none). */
  protected get bestU(): Float64Array | null {
    return this.#bestU;
  }

  /** Map normalized coordinates to a parameter dictionary (SI). */
  protected toParams(u: ArrayLike<number>): ParamDict {
    const p: ParamDict = {};
    for (let i = 0; i < this.names.length; i++) {
      p[this.names[i]] = this.toValue(i, u[i]);
    }
    return p;
  }

  /** Map coordinate `u` in [0, 1] of parameter `i` to its SI value (inside the bounds). */
  protected toValue(i: number, u: number): number {
    const lo = this.lower[i];
    const hi = this.upper[i];
    const x = this.scaleOf[i] === "log"
      ? (u <= 0 ? lo : u >= 1 ? hi : lo * Math.exp(Math.log(hi / lo) * u))
      : lo + (hi - lo) * u;
    return Math.min(hi, Math.max(lo, x));
  }

  /** Map SI value `x` (inside the bounds) of parameter `i` to its coordinate in [0, 1]. */
  protected toCoordinate(i: number, x: number): number {
    const lo = this.lower[i];
    const hi = this.upper[i];
    const u = this.scaleOf[i] === "log"
      ? Math.log(x / lo) / Math.log(hi / lo)
      : (x - lo) / (hi - lo);
    return Math.min(1, Math.max(0, u));
  }

  /** Map a parameter dictionary to normalized coordinates, validating it. */
  protected fromParams(p: ParamDict, where: string): Float64Array {
    const u = new Float64Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i];
      const x = p[name];
      if (typeof x !== "number") {
        throw new TypeError(
          `${this.label}.tell: ${where} has no value for parameter '${name}'`,
        );
      }
      if (!Number.isFinite(x) || x < this.lower[i] || x > this.upper[i]) {
        throw new RangeError(
          `${this.label}.tell: ${where}.${name} = ${x} is outside the bounds [${
            this.lower[i]
          }, ${this.upper[i]}]`,
        );
      }
      u[i] = this.toCoordinate(i, x);
    }
    return u;
  }

  #key(p: ParamDict): string {
    let s = "";
    for (const name of this.names) s += `${p[name]},`;
    return s;
  }

  #checkInitialized(what: string): void {
    if (this.names.length === 0) {
      throw new Error(`${this.label}.${what}() called before initialize()`);
    }
  }

  /**
   * Reset the algorithm state after bounds were validated.
   * @returns the population size to use
   */
  protected abstract initializeState(popsize: number, rounds: number): number;
  /** Generate `n` points in normalized coordinates with a tag each. */
  protected abstract propose(n: number): { u: Float64Array; tag: T }[];
  /** Consume told entries. */
  protected abstract update(entries: ToldEntry<T>[]): void;
}
