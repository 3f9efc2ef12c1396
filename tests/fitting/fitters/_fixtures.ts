// Shared fixtures of the fitter tests: the tutorial data and models of
// brian2modelfitting's test suite (tests/test_modelfitting_tracefitter.py).
import { fixtureJson, readPandasCsv, TUTORIAL_DATA } from "../../_ref.ts";
import type {
  Optimizer,
  ParamDict,
} from "../../../lib/fitting/optimizers/optimizer.ts";

export { HH_NAMESPACE, HH_TUTORIAL } from "../../golden/_models.ts";

export const ms = 1e-3;
export const mV = 1e-3;
export const nS = 1e-9;

/** The tutorial recordings: input in A, output converted from mV to V. */
export function tutorialData(): { I: Float64Array[]; v: Float64Array[] } {
  const I = readPandasCsv(new URL("input_traces_hh.csv", TUTORIAL_DATA));
  const v = readPandasCsv(new URL("output_traces_hh.csv", TUTORIAL_DATA)).map((
    r,
  ) => r.map((x) => x * 1e-3));
  return { I, v };
}

/** The tutorial's bounds. */
export const TUTORIAL_BOUNDS = {
  gl: ["2 psiemens", "200 nS"],
  g_na: ["200 nS", "0.4 mS"],
  g_kd: ["200 nS", "200 uS"],
} as const;

/** Reference numbers produced by brian2modelfitting (tests/fixtures/brian2modelfitting). */
export function refJson(name: string): Record<string, unknown> {
  return fixtureJson(`brian2modelfitting/${name}`);
}

/** An optimizer handing out fixed parameter sets every round (the reference numbers were made the same way). */
export class FixedSets implements Optimizer {
  sets: ParamDict[];
  told: number[][] = [];
  constructor(sets: ParamDict[]) {
    this.sets = sets;
  }
  initialize(): number {
    return this.sets.length;
  }
  ask(n: number): ParamDict[] {
    return this.sets.slice(0, n).map((s) => ({ ...s }));
  }
  tell(_p: ParamDict[], errors: ArrayLike<number>): void {
    this.told.push(Array.from(errors));
  }
  recommend(): ParamDict {
    return { ...this.sets[0] };
  }
}

// toy model of the reference tests: the *input* is v, the output the current I
export const TOY_MODEL = "I = g*(v-E) : amp\ng : siemens (constant)";
/** 10 traces x 5 steps: rows 5..9 are [0, 10, 20, 30, 40] mV (the reference fixture as it is actually laid out). */
export function toyInput(): Float64Array[] {
  return Array.from(
    { length: 10 },
    (_, r) =>
      Float64Array.from({ length: 5 }, (_, i) => (r >= 5 ? i * 10 * mV : 0)),
  );
}
export function toyOutput(): Float64Array[] {
  return toyInput().map((row) => row.map((x) => 10 * nS * x));
}

// constant model: v = c + x, target 10 mV for 50 steps then 20 mV
export const CONSTANT_MODEL = "v = c + x : volt\nc : volt (constant)";
export function constantData(): { x: Float64Array[]; v: Float64Array[] } {
  return {
    x: [new Float64Array(100)],
    v: [
      Float64Array.from(
        { length: 100 },
        (_, k) => (k < 50 ? 10 * mV : 20 * mV),
      ),
    ],
  };
}
