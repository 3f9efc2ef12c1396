/**
 * Physical units: dimensions, unit constants (plain SI numbers) and parsing of
 * quantities such as `"10 nS"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mV, nS, parseQuantity } from "./mod.ts";
 * assert.ok(-65 * mV === -0.065);
 * assert.ok(parseQuantity("10 nS").value === 10 * nS);
 * ```
 * @module
 */
export * from "./constants.ts";
export {
  BASE_NAMES,
  dim,
  Dimension,
  DimensionMismatchError,
} from "./dimension.ts";
export { lookupUnit, type UnitInfo, UNITS } from "./registry.ts";
export {
  parseQuantity,
  parseQuantityAs,
  parseUnit,
  type Quantity,
} from "./quantity.ts";
