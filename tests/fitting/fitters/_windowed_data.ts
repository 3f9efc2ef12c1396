// Synthetic HH current-clamp recordings for tests/fitting/fitters/windowed_fit_test.ts:
// the tutorial HH model (tests/golden/_models.ts) driven by a random step
// current (a new amplitude in [0, 1 nA) every 25 ms), v plus N(0, 1 mV)
// noise, and bounds for the conductances that are NOT built around the
// truth: two decades per conductance, placed at random in log space per seed.
import { hhTutorial } from "../../golden/_models.ts";
import { Runner } from "../../../lib/simulation/runner.ts";
import { Rng } from "../../../lib/_internal/random.ts";

export const mV = 1e-3;
/** Ground truth (EXAMPLES.md, model A; as tests/streams/_hh_data.ts). */
export const TRUTH = { gl: 10e-9, g_na: 20e-6, g_kd: 6e-6 } as const;

/**
 * Simulate `seconds` of the HH model at the truth.
 * @param seconds duration
 * @param dt time step (s)
 * @param seed seed of the current and the noise
 * @returns input current, noisy v (one trace each), spike count
 */
export async function hhRecording(
  seconds: number,
  dt: number,
  seed: number,
): Promise<{ I: Float64Array; v: Float64Array; spikes: number }> {
  const rng = new Rng(1000 + seed);
  const n = Math.round(seconds / dt);
  const seg = Math.round(25e-3 / dt);
  const I = new Float64Array(n);
  for (let a = 0; a < n; a += seg) {
    I.fill(rng.uniform(0, 1e-9), a, Math.min(n, a + seg));
  }
  const runner = await Runner.create(hhTutorial(), {
    dt,
    input: { I: [I] },
    params: { ...TRUTH },
    init: { v: -65 * mV },
    record: ["v"],
  });
  const c = await runner.step(n);
  runner.dispose();
  const clean = Float64Array.from(c.vars.v);
  let spikes = 0;
  for (let k = 1; k < n; k++) {
    if (clean[k - 1] < 0 && clean[k] >= 0) spikes++;
  }
  const v = Float64Array.from(clean, (x) => x + rng.normal() * mV);
  return { I, v, spikes };
}

/**
 * Bounds of two decades per conductance, [truth·u/10, truth·u·10] with
 * log10(u) uniform in (-0.9, 0.9) drawn per conductance and seed: the truth
 * is inside, anywhere from 0.1 to 1.9 decades above the lower bound, never
 * at the centre by construction.
 * @param seed seed of the placement
 * @returns bounds per conductance (SI) and the draws
 */
export function randomBounds(
  seed: number,
): Record<string, [number, number]> {
  const rng = new Rng(77 + seed);
  const out: Record<string, [number, number]> = {};
  for (const [k, g] of Object.entries(TRUTH)) {
    const u = 10 ** rng.uniform(-0.9, 0.9);
    out[k] = [g * u / 10, g * u * 10];
  }
  return out;
}
