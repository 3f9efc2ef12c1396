/**
 * Callbacks of the fitters' `fit` loops (reference: brian2modelfitting
 * `utils.py` `callback_text`, `ProgressBar`, `callback_setup`): `"text"`
 * prints the best parameters with units after every round, `"progressbar"`
 * draws a terminal progress bar with rate and ETA, `null` is silent, and a
 * function receives a {@linkcode FitCallbackInfo} and stops the fit by
 * returning `true`.
 * @module
 */
import { ProgressBar } from "../_internal/progress.ts";
import type { Dimension } from "../units/dimension.ts";
import { formatQuantity } from "./fitters/_util.ts";

/** What a fit callback receives after every round. */
export interface FitCallbackInfo {
  /** Parameter sets evaluated in this round (SI, fitted and fixed parameters). */
  readonly params: readonly Record<string, number>[];
  /** Their total errors (normalized, penalty included; NaN for diverged runs). */
  readonly errors: Float64Array;
  /** Best parameters so far (SI). */
  readonly bestParams: Record<string, number>;
  /** Best total error so far. */
  readonly bestError: number;
  /** Round index within this `fit` call (0-based). */
  readonly index: number;
  /** The fitter's round counter used for this round (`iteration` in the model). */
  readonly iteration: number;
  /** Number of rounds requested in this `fit` call. */
  readonly nRounds: number;
  /** Per output variable: this round's errors in output units (normalization undone). */
  readonly objectiveErrors: Record<string, Float64Array>;
  /** Per output variable: this round's normalized errors (what is summed). */
  readonly objectiveErrorsNormalized: Record<string, Float64Array>;
  /** Per output variable: the best set's normalized error. */
  readonly bestObjectiveErrors: Record<string, number>;
  /** Per output variable: the best set's error in output units (normalization undone). */
  readonly bestObjectiveErrorsRaw?: Record<string, number>;
  /** Output variable names. */
  readonly outputVars: readonly string[];
  /** Dimension of every parameter (for printing with units). */
  readonly dimensions: Readonly<Record<string, Dimension>>;
  /** Text describing the unit of the total error (e.g. `"volt^2"`, `"1"`). */
  readonly errorUnit: string;
}

/** A callback function: return `true` to stop the fit after this round. */
export type FitCallbackFunction = (
  info: FitCallbackInfo,
) => boolean | void | Promise<boolean | void>;

/** What `fit({ callback })` accepts. */
export type FitCallback = "text" | "progressbar" | null | FitCallbackFunction;

/**
 * Text of one round as the reference's `callback_text` prints it:
 * `Round 3: Best parameters g_kd=6.51 uS, g_na=22.1 uS, gl=13.7 nS` and
 * `Best error: 1.81e-6 volt^2 (v)` (parameters sorted by name, 3 significant
 * digits, best prefix), plus the per-objective errors when there are several.
 * @param info the round's information
 * @returns the lines to print
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRound } from "./callbacks.ts";
 * import { dim } from "../units/dimension.ts";
 * const S = dim(-2, -1, 3, 2);
 * const text = formatRound({
 *   params: [], errors: new Float64Array(0), bestParams: { gl: 1.37e-8 }, bestError: 1.81e-6,
 *   index: 3, iteration: 3, nRounds: 10, objectiveErrors: {}, objectiveErrorsNormalized: {},
 *   bestObjectiveErrors: { v: 1.81e-6 }, outputVars: ["v"], dimensions: { gl: S }, errorUnit: "volt^2",
 * });
 * assert.equal(text, "Round 3: Best parameters gl=13.7 nS\nBest error: 1.81e-6 volt^2 (v)");
 * ```
 */
export function formatRound(info: FitCallbackInfo): string {
  const names = Object.keys(info.bestParams).sort();
  const ps = names.map((n) => {
    const d = info.dimensions[n];
    return `${n}=${
      d
        ? formatQuantity(info.bestParams[n], d)
        : info.bestParams[n].toPrecision(3)
    }`;
  });
  const unit = info.errorUnit === "1" ? "" : ` ${info.errorUnit}`;
  const lines = [
    `Round ${info.index}: Best parameters ${ps.join(", ")}`,
    `Best error: ${formatNumber(info.bestError)}${unit} (${
      info.outputVars.join(", ")
    })`,
  ];
  if (info.outputVars.length > 1) {
    for (const v of info.outputVars) {
      const n = info.bestObjectiveErrors[v];
      const raw = info.bestObjectiveErrorsRaw?.[v];
      const extra = raw !== undefined && raw !== n
        ? ` (unnormalized: ${formatNumber(raw)})`
        : "";
      lines.push(`  ${v}: ${formatNumber(n)}${extra}`);
    }
  }
  return lines.join("\n");
}

/**
 * Three significant digits, exponential notation for very small or large
 * magnitudes (`1.81e-6`, `0.0123`, `42.0`).
 * @param x a number
 * @returns its text
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) {
    return x.toExponential(2).replace(/e\+/, "e");
  }
  return x.toPrecision(3);
}

/**
 * Turn a `callback` option into a function (reference: `callback_setup`).
 * @param callback `"text"`, `"progressbar"`, `null`/`undefined` or a function
 * @param nRounds rounds of this fit (the progress bar's total)
 * @returns a function called after every round
 * @throws {TypeError} anything else
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callbackSetup } from "./callbacks.ts";
 * const f = callbackSetup(null, 3);
 * assert.equal(typeof f, "function");
 * ```
 */
export function callbackSetup(
  callback: FitCallback | undefined,
  nRounds: number,
): FitCallbackFunction {
  if (callback === null || callback === undefined) return () => undefined;
  if (callback === "text") {
    return (info) => {
      console.log(formatRound(info));
    };
  }
  if (callback === "progressbar") {
    const bar = new ProgressBar(nRounds, { label: "fit", unit: "rounds" });
    return (info) => {
      bar.tick(1, `best error ${formatNumber(info.bestError)}`);
    };
  }
  if (typeof callback === "function") return callback;
  throw new TypeError(
    `callback must be "text", "progressbar", null or a function (info) => boolean | void, got ${
      typeof callback === "string" ? JSON.stringify(callback) : typeof callback
    }`,
  );
}
