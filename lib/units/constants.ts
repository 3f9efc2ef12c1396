/**
 * Unit constants as plain SI numbers (`-65 * mV === -0.065`), generated from
 * the unit table. Names follow Brian 2 (`brian2/units/allunits.py`, `stdunits.py`).
 * @module
 */
import { UNITS } from "./registry.ts";

function u(name: string): number {
  const x = UNITS.get(name);
  if (!x) throw new Error(`internal: unknown unit ${name}`);
  return x.scale;
}

/** One metre in SI units. */
export const metre: number = u("metre");
/** One meter in SI units. */
export const meter: number = u("meter");
/** One kilogram in SI units. */
export const kilogram: number = u("kilogram");
/** One gram in SI units. */
export const gram: number = u("gram");
/** One second in SI units. */
export const second: number = u("second");
/** One amp in SI units. */
export const amp: number = u("amp");
/** One ampere in SI units. */
export const ampere: number = u("ampere");
/** One kelvin in SI units. */
export const kelvin: number = u("kelvin");
/** One mole in SI units. */
export const mole: number = u("mole");
/** One mol in SI units. */
export const mol: number = u("mol");
/** One candela in SI units. */
export const candela: number = u("candela");
/** One volt in SI units. */
export const volt: number = u("volt");
/** One ohm in SI units. */
export const ohm: number = u("ohm");
/** One siemens in SI units. */
export const siemens: number = u("siemens");
/** One farad in SI units. */
export const farad: number = u("farad");
/** One hertz in SI units. */
export const hertz: number = u("hertz");
/** One coulomb in SI units. */
export const coulomb: number = u("coulomb");
/** One joule in SI units. */
export const joule: number = u("joule");
/** One watt in SI units. */
export const watt: number = u("watt");
/** One newton in SI units. */
export const newton: number = u("newton");
/** One pascal in SI units. */
export const pascal: number = u("pascal");
/** One liter in SI units. */
export const liter: number = u("liter");
/** One litre in SI units. */
export const litre: number = u("litre");
/** One molar in SI units. */
export const molar: number = u("molar");
/** One mvolt in SI units. */
export const mvolt: number = u("mvolt");
/** One uvolt in SI units. */
export const uvolt: number = u("uvolt");
/** One nvolt in SI units. */
export const nvolt: number = u("nvolt");
/** One kvolt in SI units. */
export const kvolt: number = u("kvolt");
/** One mamp in SI units. */
export const mamp: number = u("mamp");
/** One uamp in SI units. */
export const uamp: number = u("uamp");
/** One namp in SI units. */
export const namp: number = u("namp");
/** One pamp in SI units. */
export const pamp: number = u("pamp");
/** One famp in SI units. */
export const famp: number = u("famp");
/** One msiemens in SI units. */
export const msiemens: number = u("msiemens");
/** One usiemens in SI units. */
export const usiemens: number = u("usiemens");
/** One nsiemens in SI units. */
export const nsiemens: number = u("nsiemens");
/** One psiemens in SI units. */
export const psiemens: number = u("psiemens");
/** One mfarad in SI units. */
export const mfarad: number = u("mfarad");
/** One ufarad in SI units. */
export const ufarad: number = u("ufarad");
/** One nfarad in SI units. */
export const nfarad: number = u("nfarad");
/** One pfarad in SI units. */
export const pfarad: number = u("pfarad");
/** One ffarad in SI units. */
export const ffarad: number = u("ffarad");
/** One msecond in SI units. */
export const msecond: number = u("msecond");
/** One usecond in SI units. */
export const usecond: number = u("usecond");
/** One nsecond in SI units. */
export const nsecond: number = u("nsecond");
/** One khertz in SI units. */
export const khertz: number = u("khertz");
/** One Mhertz in SI units. */
export const Mhertz: number = u("Mhertz");
/** One kohm in SI units. */
export const kohm: number = u("kohm");
/** One Mohm in SI units. */
export const Mohm: number = u("Mohm");
/** One Gohm in SI units. */
export const Gohm: number = u("Gohm");
/** One cmetre in SI units. */
export const cmetre: number = u("cmetre");
/** One mmetre in SI units. */
export const mmetre: number = u("mmetre");
/** One umetre in SI units. */
export const umetre: number = u("umetre");
/** One nmetre in SI units. */
export const nmetre: number = u("nmetre");
/** One cmeter in SI units. */
export const cmeter: number = u("cmeter");
/** One mmeter in SI units. */
export const mmeter: number = u("mmeter");
/** One umeter in SI units. */
export const umeter: number = u("umeter");
/** One mmolar in SI units. */
export const mmolar: number = u("mmolar");
/** One umolar in SI units. */
export const umolar: number = u("umolar");
/** One nmolar in SI units. */
export const nmolar: number = u("nmolar");
/** One umetre2 in SI units. */
export const umetre2: number = u("umetre2");
/** One cmetre2 in SI units. */
export const cmetre2: number = u("cmetre2");
/** One mmetre2 in SI units. */
export const mmetre2: number = u("mmetre2");
/** One metre2 in SI units. */
export const metre2: number = u("metre2");
/** One meter2 in SI units. */
export const meter2: number = u("meter2");
/** One umetre3 in SI units. */
export const umetre3: number = u("umetre3");
/** One cmetre3 in SI units. */
export const cmetre3: number = u("cmetre3");
/** One metre3 in SI units. */
export const metre3: number = u("metre3");
/** One mV in SI units. */
export const mV: number = u("mV");
/** One mA in SI units. */
export const mA: number = u("mA");
/** One uA in SI units. */
export const uA: number = u("uA");
/** One nA in SI units. */
export const nA: number = u("nA");
/** One pA in SI units. */
export const pA: number = u("pA");
/** One pF in SI units. */
export const pF: number = u("pF");
/** One uF in SI units. */
export const uF: number = u("uF");
/** One nF in SI units. */
export const nF: number = u("nF");
/** One nS in SI units. */
export const nS: number = u("nS");
/** One uS in SI units. */
export const uS: number = u("uS");
/** One mS in SI units. */
export const mS: number = u("mS");
/** One ms in SI units. */
export const ms: number = u("ms");
/** One us in SI units. */
export const us: number = u("us");
/** One Hz in SI units. */
export const Hz: number = u("Hz");
/** One kHz in SI units. */
export const kHz: number = u("kHz");
/** One MHz in SI units. */
export const MHz: number = u("MHz");
/** One cm in SI units. */
export const cm: number = u("cm");
/** One mm in SI units. */
export const mm: number = u("mm");
/** One um in SI units. */
export const um: number = u("um");
/** One cm2 in SI units. */
export const cm2: number = u("cm2");
/** One cm3 in SI units. */
export const cm3: number = u("cm3");
/** One mm2 in SI units. */
export const mm2: number = u("mm2");
/** One mm3 in SI units. */
export const mm3: number = u("mm3");
/** One um2 in SI units. */
export const um2: number = u("um2");
/** One um3 in SI units. */
export const um3: number = u("um3");
/** One mM in SI units. */
export const mM: number = u("mM");
/** One uM in SI units. */
export const uM: number = u("uM");
/** One nM in SI units. */
export const nM: number = u("nM");
