/**
 * Physical units: dimensions, unit constants (plain SI numbers) and parsing of
 * quantities such as `"10 nS"`.
 *
 * @example
 * ```ts
 * import { mV, nS, parseQuantity } from "./mod.ts";
 * console.assert(-65 * mV === -0.065);
 * console.assert(parseQuantity("10 nS").value === 10 * nS);
 * ```
 * @module
 */
export * from "./constants.ts";
export { BASE_NAMES, dim, Dimension, DimensionMismatchError } from "./dimension.ts";
export { lookupUnit, UNITS, type UnitInfo } from "./registry.ts";
export { parseQuantity, parseQuantityAs, parseUnit, type Quantity } from "./quantity.ts";
