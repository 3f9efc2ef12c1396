/**
 * Physical dimensions as seven SI exponents (metre, kilogram, second, ampere,
 * kelvin, mole, candela), as in Brian 2's `Dimension`
 * (`brian2/units/fundamentalunits.py`).
 * @module
 */

/** Names of the seven base dimensions in exponent order. */
export const BASE_NAMES: readonly string[] = [
  "m",
  "kg",
  "s",
  "A",
  "K",
  "mol",
  "cd",
];

/** An immutable dimension: seven (possibly fractional) SI exponents. */
export class Dimension {
  /** Exponents of m, kg, s, A, K, mol, cd. */
  readonly exps: readonly number[];

  /**
   * A dimension from its SI exponents.
   * @param exps seven exponents (missing entries are 0)
   * @throws {TypeError} if more than seven exponents are given
   */
  constructor(exps: readonly number[] = []) {
    if (exps.length > 7) {
      throw new TypeError(`a dimension has 7 exponents, got ${exps.length}`);
    }
    const e = [0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < exps.length; i++) e[i] = cleanExp(exps[i]);
    this.exps = Object.freeze(e);
  }

  /** The dimensionless dimension. */
  static readonly NONE: Dimension = new Dimension();

  /** Product of two dimensions (exponents add). */
  mul(other: Dimension): Dimension {
    return new Dimension(this.exps.map((x, i) => x + other.exps[i]));
  }

  /** Quotient of two dimensions (exponents subtract). */
  div(other: Dimension): Dimension {
    return new Dimension(this.exps.map((x, i) => x - other.exps[i]));
  }

  /** Power (exponents scale). */
  pow(p: number): Dimension {
    return new Dimension(this.exps.map((x) => x * p));
  }

  /** True if every exponent is 0. */
  get isDimensionless(): boolean {
    return this.exps.every((x) => x === 0);
  }

  /** Exact equality of exponents. */
  equals(other: Dimension): boolean {
    for (let i = 0; i < 7; i++) {
      if (this.exps[i] !== other.exps[i]) return false;
    }
    return true;
  }

  /**
   * A readable name: a named SI unit when one matches (`volt`, `siemens`),
   * else the base-unit product (`m^2 kg s^-3 A^-1`), or `1` if dimensionless.
   */
  toString(): string {
    if (this.isDimensionless) return "1";
    for (const [name, d] of NAMED) if (d.equals(this)) return name;
    const parts: string[] = [];
    this.exps.forEach((x, i) => {
      if (x !== 0) {
        parts.push(x === 1 ? BASE_NAMES[i] : `${BASE_NAMES[i]}^${fmt(x)}`);
      }
    });
    return parts.join(" ");
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(+x.toFixed(6));
}

function cleanExp(x: number): number {
  if (!Number.isFinite(x)) {
    throw new RangeError(`dimension exponent must be finite, got ${x}`);
  }
  const r = Math.round(x);
  if (Math.abs(x - r) < 1e-9) return r === 0 ? 0 : r;
  return x;
}

/** Shorthand constructor: exponents of m, kg, s, A, K, mol, cd. */
export function dim(
  m = 0,
  kg = 0,
  s = 0,
  A = 0,
  K = 0,
  mol = 0,
  cd = 0,
): Dimension {
  return new Dimension([m, kg, s, A, K, mol, cd]);
}

/** Named derived dimensions used when printing. */
const NAMED: [string, Dimension][] = [
  ["metre", dim(1)],
  ["kilogram", dim(0, 1)],
  ["second", dim(0, 0, 1)],
  ["amp", dim(0, 0, 0, 1)],
  ["kelvin", dim(0, 0, 0, 0, 1)],
  ["mole", dim(0, 0, 0, 0, 0, 1)],
  ["candela", dim(0, 0, 0, 0, 0, 0, 1)],
  ["volt", dim(2, 1, -3, -1)],
  ["ohm", dim(2, 1, -3, -2)],
  ["siemens", dim(-2, -1, 3, 2)],
  ["farad", dim(-2, -1, 4, 2)],
  ["hertz", dim(0, 0, -1)],
  ["coulomb", dim(0, 0, 1, 1)],
  ["joule", dim(2, 1, -2)],
  ["watt", dim(2, 1, -3)],
  ["volt^2", dim(4, 2, -6, -2)],
  ["amp^2", dim(0, 0, 0, 2)],
  ["metre^2", dim(2)],
  ["molar", dim(-3, 0, 0, 0, 0, 1)],
];

/**
 * Thrown when an operation combines incompatible dimensions. Names both
 * dimensions and the operation.
 */
export class DimensionMismatchError extends TypeError {
  /** The dimensions involved. */
  readonly dims: Dimension[];
  /** Line of the offending equation (1-based), when known. */
  line?: number;
  /** Column (1-based), when known. */
  column?: number;

  /**
   * An error naming the dimensions that do not match.
   * @param message what failed
   * @param dims the dimensions involved
   */
  constructor(message: string, ...dims: Dimension[]) {
    const detail = dims.length
      ? ` (dimensions: ${dims.map((d) => d.toString()).join(", ")})`
      : "";
    super(message + detail);
    this.name = "DimensionMismatchError";
    this.dims = dims;
  }
}
