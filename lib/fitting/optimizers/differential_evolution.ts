/**
 * Differential evolution (Storn & Price 1997, "Differential Evolution – A
 * Simple and Efficient Heuristic for Global Optimization over Continuous
 * Spaces", J. Global Optim. 11:341–359) in ask/tell form.
 *
 * Variant: by default **DE/current-to-best/1/bin** as in Nevergrad's default
 * `DE` (which brian2modelfitting uses): for population member `i`
 * `donor = x_i + F1·(x_a − x_b) + F2·(x_best − x_i)` with `a ≠ b ≠ i` drawn at
 * random, then binomial crossover with rate `CR` (one coordinate always from
 * the donor). `strategy: "rand1bin"` gives the classic
 * `donor = x_a + F1·(x_b − x_c)`. Defaults F1 = F2 = 0.8, CR = 0.9
 * (Nevergrad's `DifferentialEvolution()` defaults).
 *
 * Everything happens in normalized coordinates `u = (x − lo)/(hi − lo)` in
 * [0, 1]^d. A donor coordinate outside [0, 1] is replaced by the midpoint
 * between the parent's coordinate and the violated bound ("bounce-back").
 * The population is initialized by a Latin hypercube (or uniform / Sobol).
 * Selection is the usual one-to-one greedy replacement: a trial replaces its
 * parent when its error is lower or equal; NaN / ±Infinity errors are ranked
 * worst, so a diverging trial never replaces a finite parent.
 *
 * Population size: like Nevergrad's `llambda`, `max(popsizeMin, requested)`
 * with `popsizeMin = 30` (option `popsize: "standard"`), or `d + 1`
 * (`"dimension"`), `7·d` (`"large"`), or a fixed number. `initialize` returns
 * it and the fitter asks that many points per round.
 * @module
 */

import { Rng } from "../../_internal/random.ts";
import { BoxOptimizer, type ToldEntry } from "./optimizer.ts";
import { latinHypercube, SobolSequence, uniformSample } from "./sampling.ts";

/** Options of {@linkcode DifferentialEvolution}. */
export interface DifferentialEvolutionOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Population size: a number, or `"standard"` (max(30, requested)),
   * `"dimension"` (max(d + 1, requested)), `"large"` (max(7·d, requested)).
   * Default `"standard"`.
   */
  popsize?: number | "standard" | "dimension" | "large";
  /** Differential weight F1 (scale of `x_a − x_b`). Default 0.8. */
  F?: number;
  /** Weight F2 of the pull towards the best member (current-to-best). Default 0.8. */
  F2?: number;
  /** Crossover rate CR in [0, 1]. Default 0.9 (on the HH tutorial fit, 100 x 10, seeds 0-9: median 2.4e-6 V² with 0.9, 4.2e-6 with 0.5). */
  CR?: number;
  /** Mutation strategy. Default `"currentToBest1bin"`. */
  strategy?: "currentToBest1bin" | "rand1bin";
  /** Initial design. Default `"lhs"`. */
  init?: "lhs" | "uniform" | "sobol";
}

interface Slot {
  u: Float64Array | null;
  key: number;
  told: boolean;
}

/**
 * Differential evolution, the default optimizer of the fitters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DifferentialEvolution } from "./differential_evolution.ts";
 * const opt = new DifferentialEvolution({ seed: 1 });
 * const n = opt.initialize(["x", "y"], 20, 40, { x: [-2, 2], y: [-2, 2] });
 * for (let r = 0; r < 40; r++) {
 *   const ps = opt.ask(n);
 *   opt.tell(ps, ps.map((p) => (p.x - 1) ** 2 + (p.y + 0.5) ** 2));
 * }
 * const best = opt.recommend();
 * assert.ok(Math.abs(best.x - 1) < 1e-3 && Math.abs(best.y + 0.5) < 1e-3);
 * ```
 */
export class DifferentialEvolution extends BoxOptimizer<number> {
  #opts: Required<DifferentialEvolutionOptions>;
  #rng: Rng = new Rng(0);
  #pop: Slot[] = [];
  #initQueue: Float64Array[] = [];
  #cursor = 0;
  #bestSlot = -1;

  /**
   * Create the optimizer.
   * @param options seed, popsize rule, F, F2, CR, strategy, init
   * @throws {RangeError} F or F2 not finite and >= 0, CR outside [0, 1], bad popsize
   */
  constructor(options: DifferentialEvolutionOptions = {}) {
    super();
    const o = {
      seed: options.seed ?? 0,
      popsize: options.popsize ?? "standard",
      F: options.F ?? 0.8,
      F2: options.F2 ?? 0.8,
      CR: options.CR ?? 0.9,
      strategy: options.strategy ?? "currentToBest1bin",
      init: options.init ?? "lhs",
    } as Required<DifferentialEvolutionOptions>;
    if (!(Number.isFinite(o.F) && o.F >= 0)) {
      throw new RangeError(
        `DifferentialEvolution: F must be a finite number >= 0, got ${o.F}`,
      );
    }
    if (!(Number.isFinite(o.F2) && o.F2 >= 0)) {
      throw new RangeError(
        `DifferentialEvolution: F2 must be a finite number >= 0, got ${o.F2}`,
      );
    }
    if (!(o.CR >= 0 && o.CR <= 1)) {
      throw new RangeError(
        `DifferentialEvolution: CR must be in [0, 1], got ${o.CR}`,
      );
    }
    if (
      typeof o.popsize === "number"
        ? !(Number.isInteger(o.popsize) && o.popsize >= 4)
        : !["standard", "dimension", "large"].includes(o.popsize)
    ) {
      throw new RangeError(
        `DifferentialEvolution: popsize must be an integer >= 4 or "standard" | "dimension" | "large", got ${o.popsize}`,
      );
    }
    if (!["currentToBest1bin", "rand1bin"].includes(o.strategy)) {
      throw new RangeError(
        `DifferentialEvolution: unknown strategy '${o.strategy}'`,
      );
    }
    if (!["lhs", "uniform", "sobol"].includes(o.init)) {
      throw new RangeError(`DifferentialEvolution: unknown init '${o.init}'`);
    }
    this.#opts = o;
  }

  /** Name used in error messages. */
  protected get label(): string {
    return "DifferentialEvolution";
  }

  /** Reset the algorithm state after the bounds were validated; returns the population size. */
  protected initializeState(popsize: number, _rounds: number): number {
    const d = this.dimension;
    const rule = this.#opts.popsize;
    const size = typeof rule === "number" ? rule : Math.max(
      popsize,
      rule === "standard" ? 30 : rule === "dimension" ? d + 1 : 7 * d,
      4,
    );
    this.#rng = new Rng(this.#opts.seed);
    this.#pop = [];
    for (let i = 0; i < size; i++) {
      this.#pop.push({ u: null, key: Infinity, told: false });
    }
    const init = this.#opts.init;
    this.#initQueue = init === "lhs"
      ? latinHypercube(size, d, this.#rng)
      : init === "sobol"
      ? new SobolSequence(d, { scramble: true, seed: this.#rng.nextU32() })
        .next(size)
      : uniformSample(size, d, this.#rng);
    this.#cursor = 0;
    this.#bestSlot = -1;
    return size;
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: number }[] {
    const out: { u: Float64Array; tag: number }[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.#pop.length;
      const slot = this.#pop[i];
      if (slot.u === null) {
        const u = this.#initQueue[i];
        slot.u = Float64Array.from(u);
        out.push({ u: Float64Array.from(u), tag: i });
      } else {
        out.push({ u: this.#trial(i), tag: i });
      }
    }
    return out;
  }

  #trial(i: number): Float64Array {
    const rng = this.#rng;
    const pop = this.#pop;
    const size = pop.length;
    const d = this.dimension;
    const pick = (exclude: number[]): number => {
      for (;;) {
        const j = rng.int(size);
        if (!exclude.includes(j) && pop[j].u !== null) return j;
      }
    };
    // members available for mutation (need at least 3 others initialized)
    let available = 0;
    for (const s of pop) if (s.u !== null) available++;
    const parent = pop[i].u!;
    const donor = new Float64Array(d);
    const F = this.#opts.F;
    if (available < 4) {
      // too few members yet: uniform point (only when ask runs ahead of tell)
      for (let j = 0; j < d; j++) donor[j] = rng.random();
      return donor;
    }
    if (this.#opts.strategy === "rand1bin") {
      const a = pick([i]);
      const b = pick([i, a]);
      const c = pick([i, a, b]);
      for (let j = 0; j < d; j++) {
        donor[j] = pop[a].u![j] + F * (pop[b].u![j] - pop[c].u![j]);
      }
    } else {
      const a = pick([i]);
      const b = pick([i, a]);
      const best = this.#bestSlot >= 0 ? pop[this.#bestSlot].u! : parent;
      const F2 = this.#opts.F2;
      for (let j = 0; j < d; j++) {
        donor[j] = parent[j] + F * (pop[a].u![j] - pop[b].u![j]) +
          F2 * (best[j] - parent[j]);
      }
    }
    // binomial crossover (Storn & Price 1997, eq. 4): jRand always from donor
    const jRand = rng.int(d);
    const trial = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let v = (j === jRand || rng.random() < this.#opts.CR)
        ? donor[j]
        : parent[j];
      if (v < 0) v = 0.5 * parent[j];
      else if (v > 1) v = 0.5 * (parent[j] + 1);
      trial[j] = v;
    }
    return trial;
  }

  /** Consume told points (matched to their tags). */
  protected update(entries: ToldEntry<number>[]): void {
    for (const e of entries) {
      if (e.tag === undefined) continue; // not asked by us: only counts for recommend()
      const slot = this.#pop[e.tag];
      if (!slot.told) {
        slot.told = true;
        slot.u = Float64Array.from(e.u);
        slot.key = e.key;
      } else if (e.key <= slot.key) {
        slot.u = Float64Array.from(e.u);
        slot.key = e.key;
      }
      if (
        slot.key < Infinity &&
        (this.#bestSlot < 0 || slot.key <= this.#pop[this.#bestSlot].key)
      ) this.#bestSlot = e.tag;
    }
    // the best slot can only get better, but recompute when it was replaced by nothing better
    if (this.#bestSlot >= 0 && !(this.#pop[this.#bestSlot].key < Infinity)) {
      this.#bestSlot = -1;
    }
  }
}
