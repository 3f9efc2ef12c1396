/**
 * Functions allowed in expressions, with their unit rules (Brian 2's
 * `DEFAULT_FUNCTIONS`, `brian2/core/functions.py`).
 * @module
 */
import { Dimension } from "../units/dimension.ts";

/** How a function maps argument dimensions to its result (null = reject). */
export interface FunctionInfo {
  /** Allowed numbers of arguments. */
  readonly nargs: readonly number[];
  /**
   * Result dimension from argument dimensions; returns a string describing
   * the problem when the arguments are not allowed.
   */
  readonly dims: (args: Dimension[]) => Dimension | string;
  /** True if the result is an integer or boolean (for typing). */
  readonly integer?: boolean;
  /** True if the function is random (depends on nothing but the RNG). */
  readonly random?: boolean;
}

const dimless = (fname: string) => (a: Dimension[]) =>
  a.every((d) => d.isDimensionless)
    ? Dimension.NONE
    : `${fname}() needs a dimensionless argument`;
const same = (fname: string) => (a: Dimension[]) =>
  a.every((d) => d.equals(a[0]))
    ? a[0]
    : `${fname}() needs arguments of the same dimension`;

/** The function table. */
export const FUNCTIONS: ReadonlyMap<string, FunctionInfo> = new Map<
  string,
  FunctionInfo
>([
  ["exp", { nargs: [1], dims: dimless("exp") }],
  ["expm1", { nargs: [1], dims: dimless("expm1") }],
  ["log", { nargs: [1], dims: dimless("log") }],
  ["log10", { nargs: [1], dims: dimless("log10") }],
  ["log1p", { nargs: [1], dims: dimless("log1p") }],
  ["sin", { nargs: [1], dims: dimless("sin") }],
  ["cos", { nargs: [1], dims: dimless("cos") }],
  ["tan", { nargs: [1], dims: dimless("tan") }],
  ["sinh", { nargs: [1], dims: dimless("sinh") }],
  ["cosh", { nargs: [1], dims: dimless("cosh") }],
  ["tanh", { nargs: [1], dims: dimless("tanh") }],
  ["arcsin", { nargs: [1], dims: dimless("arcsin") }],
  ["arccos", { nargs: [1], dims: dimless("arccos") }],
  ["arctan", { nargs: [1], dims: dimless("arctan") }],
  ["sqrt", { nargs: [1], dims: (a) => a[0].pow(0.5) }],
  ["abs", { nargs: [1], dims: (a) => a[0] }],
  ["floor", { nargs: [1], dims: (a) => a[0] }],
  ["ceil", { nargs: [1], dims: (a) => a[0] }],
  ["sign", { nargs: [1], dims: () => Dimension.NONE, integer: true }],
  ["clip", { nargs: [3], dims: same("clip") }],
  ["int", { nargs: [1], dims: dimless("int"), integer: true }],
  ["rand", { nargs: [0], dims: () => Dimension.NONE, random: true }],
  ["randn", { nargs: [0], dims: () => Dimension.NONE, random: true }],
  [
    "timestep",
    {
      nargs: [2],
      dims: (a) =>
        a[0].equals(a[1])
          ? Dimension.NONE
          : "timestep() needs two arguments of the same dimension",
      integer: true,
    },
  ],
]);
