/**
 * The unit table: base and derived SI units, every SI prefix, Brian 2's
 * abbreviations and powers (`umetre2`, `cm3`). Values are SI scale factors.
 * Source of the names: `brian2/units/allunits.py` and `stdunits.py`.
 * @module
 */
import { dim, type Dimension } from "./dimension.ts";

/** A named unit: its SI scale and dimension. */
export interface UnitInfo {
  /** SI value of one of this unit. */
  readonly scale: number;
  /** Its dimension. */
  readonly dim: Dimension;
}

const PREFIXES: Record<string, number> = {
  y: 1e-24,
  z: 1e-21,
  a: 1e-18,
  f: 1e-15,
  p: 1e-12,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  c: 1e-2,
  d: 1e-1,
  da: 1e1,
  h: 1e2,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Z: 1e21,
  Y: 1e24,
};

/** Base and derived units that take prefixes (name -> [scale, dimension]). */
const BASE: [string, number, Dimension][] = [
  ["metre", 1, dim(1)],
  ["meter", 1, dim(1)],
  ["gram", 1e-3, dim(0, 1)],
  ["gramme", 1e-3, dim(0, 1)],
  ["second", 1, dim(0, 0, 1)],
  ["amp", 1, dim(0, 0, 0, 1)],
  ["ampere", 1, dim(0, 0, 0, 1)],
  ["kelvin", 1, dim(0, 0, 0, 0, 1)],
  ["mole", 1, dim(0, 0, 0, 0, 0, 1)],
  ["mol", 1, dim(0, 0, 0, 0, 0, 1)],
  ["candle", 1, dim(0, 0, 0, 0, 0, 0, 1)],
  ["candela", 1, dim(0, 0, 0, 0, 0, 0, 1)],
  ["volt", 1, dim(2, 1, -3, -1)],
  ["ohm", 1, dim(2, 1, -3, -2)],
  ["siemens", 1, dim(-2, -1, 3, 2)],
  ["farad", 1, dim(-2, -1, 4, 2)],
  ["hertz", 1, dim(0, 0, -1)],
  ["coulomb", 1, dim(0, 0, 1, 1)],
  ["joule", 1, dim(2, 1, -2)],
  ["watt", 1, dim(2, 1, -3)],
  ["newton", 1, dim(1, 1, -2)],
  ["pascal", 1, dim(-1, 1, -2)],
  ["henry", 1, dim(2, 1, -2, -2)],
  ["weber", 1, dim(2, 1, -2, -1)],
  ["tesla", 1, dim(0, 1, -2, -1)],
  ["becquerel", 1, dim(0, 0, -1)],
  ["gray", 1, dim(2, 0, -2)],
  ["sievert", 1, dim(2, 0, -2)],
  ["katal", 1, dim(0, 0, -1, 0, 0, 1)],
  ["liter", 1e-3, dim(3)],
  ["litre", 1e-3, dim(3)],
  ["molar", 1e3, dim(-3, 0, 0, 0, 0, 1)],
];

/** Brian's abbreviations (`stdunits.py`). */
const ABBREV: [string, string][] = [
  ["mV", "mvolt"],
  ["mA", "mamp"],
  ["uA", "uamp"],
  ["nA", "namp"],
  ["pA", "pamp"],
  ["pF", "pfarad"],
  ["uF", "ufarad"],
  ["nF", "nfarad"],
  ["nS", "nsiemens"],
  ["uS", "usiemens"],
  ["mS", "msiemens"],
  ["ms", "msecond"],
  ["us", "usecond"],
  ["Hz", "hertz"],
  ["kHz", "khertz"],
  ["MHz", "Mhertz"],
  ["cm", "cmetre"],
  ["mm", "mmetre"],
  ["um", "umetre"],
  ["mM", "mmolar"],
  ["uM", "umolar"],
  ["nM", "nmolar"],
  ["Mohm", "Mohm"],
  ["kohm", "kohm"],
  ["Gohm", "Gohm"],
];

function buildTable(): Map<string, UnitInfo> {
  const t = new Map<string, UnitInfo>();
  for (const [name, scale, d] of BASE) {
    t.set(name, { scale, dim: d });
    if (name === "gram" || name === "gramme") {
      for (const [p, f] of Object.entries(PREFIXES)) {
        t.set(p + name, { scale: scale * f, dim: d });
      }
      continue;
    }
    for (const [p, f] of Object.entries(PREFIXES)) {
      t.set(p + name, { scale: scale * f, dim: d });
    }
  }
  t.set("kilogram", { scale: 1, dim: dim(0, 1) });
  for (const [ab, full] of ABBREV) {
    const u = t.get(full);
    if (!u) throw new Error(`internal: abbreviation ${ab} -> unknown ${full}`);
    t.set(ab, u);
  }
  // Powers: <unit>2 and <unit>3 for every length unit and abbreviation
  // (Brian: umetre2, cmetre3, cm2, um3 ...), and for volt/amp families.
  for (const [name, u] of [...t.entries()]) {
    if (/\d$/.test(name)) continue;
    t.set(name + "2", { scale: u.scale ** 2, dim: u.dim.pow(2) });
    t.set(name + "3", { scale: u.scale ** 3, dim: u.dim.pow(3) });
  }
  return t;
}

/** Every unit name known to neurofit. */
export const UNITS: ReadonlyMap<string, UnitInfo> = buildTable();

/**
 * Look a unit name up.
 * @param name e.g. `"mV"`, `"nsiemens"`, `"umetre2"`
 * @returns the unit, or `undefined` if the name is not a unit
 */
export function lookupUnit(name: string): UnitInfo | undefined {
  return UNITS.get(name);
}

/** Names usable as the unit of an equation (base units only, as Brian requires). */
export const BASE_UNIT_NAMES: ReadonlySet<string> = new Set(
  [
    ...BASE.map(([n]) => n),
    "kilogram",
    "1",
    "metre2",
    "meter2",
    "metre3",
    "meter3",
  ],
);
