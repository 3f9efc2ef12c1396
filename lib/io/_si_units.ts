/**
 * Private helper: the factor from a recording's unit string ("mV", "pA",
 * "µA", "MOhm") to SI.
 * @module
 */

const PREFIX: Record<string, number> = {
  f: 1e-15,
  p: 1e-12,
  n: 1e-9,
  u: 1e-6,
  "µ": 1e-6,
  "μ": 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
};
const BASE: Record<string, string> = {
  V: "V",
  A: "A",
  S: "S",
  F: "F",
  s: "s",
  Hz: "Hz",
  Ohm: "ohm",
  ohm: "ohm",
  "Ω": "ohm",
  volt: "V",
  volts: "V",
  amp: "A",
  amps: "A",
  ampere: "A",
  amperes: "A",
};

/** A unit string resolved to SI. */
export interface SiUnit {
  /** Multiply a value in the original unit by this to get SI. */
  factor: number;
  /** The SI unit ("V", "A", …), or the original string when not recognised. */
  unit: string;
  /** Whether the unit was recognised. */
  known: boolean;
}

/**
 * Resolves a unit string such as `"mV"`, `"pA"`, `"uA"`, `"volts"` to SI.
 * Unrecognised units keep factor 1 and `known: false`.
 * @param units the unit string
 */
export function siUnit(units: string): SiUnit {
  const u = units.trim();
  if (u in BASE) return { factor: 1, unit: BASE[u], known: true };
  for (const [p, f] of Object.entries(PREFIX)) {
    if (p !== "" && u.startsWith(p) && u.slice(p.length) in BASE) {
      return { factor: f, unit: BASE[u.slice(p.length)], known: true };
    }
  }
  return { factor: 1, unit: u, known: false };
}
