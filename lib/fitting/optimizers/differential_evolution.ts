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
 * `donor = x_a + F1·(x_b − x_c)`. Defaults F1 = F2 = 0.8 (Nevergrad's
 * `DifferentialEvolution()` defaults) and CR = 0.9, which is *not*
 * Nevergrad's: its default `crossover` is 0.5 ("Default settings are CR=.5,
 * F1=.8, F2=.8, curr-to-best, pop size is 30", nevergrad/optimization/
 * differentialevolution.py). 0.9 was measured to be better on the HH
 * tutorial fit (see the `CR` option). `strategy: "jade"` gives
 * current-to-pbest/1 with self-adapted F and CR (Zhang & Sanderson 2009).
 *
 * Everything happens in normalized coordinates in [0, 1]^d:
 * `u = (x − lo)/(hi − lo)`, or `u = log(x/lo)/log(hi/lo)` for parameters on
 * the log scale (option `scale`; by default bounds `0 < lo` spanning more
 * than two decades). A donor coordinate outside [0, 1] is replaced by the midpoint
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
import { BoxOptimizer, type ScaleOption, type ToldEntry } from "./optimizer.ts";
import { latinHypercube, SobolSequence, uniformSample } from "./sampling.ts";

/** Options of {@linkcode DifferentialEvolution}. */
export interface DifferentialEvolutionOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Search scale per parameter (`"linear"`, `"log"` or `"auto"`, one for
   * all or `{ name: scale }`). Default `"auto"`: log for bounds `0 < lo`
   * spanning more than two decades, linear otherwise.
   */
  scale?: ScaleOption;
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
  /**
   * Crossover rate CR in [0, 1]. Default 0.9, Nevergrad's default is 0.5. On
   * the HH tutorial fit (100 x 10, seeds 0-9), median best error with linear
   * scales: 2.4e-6 V² with 0.9, 4.2e-6 with 0.5; with the automatic log
   * scales: 2.1e-6 with 0.9, 2.7e-6 with 0.5.
   */
  CR?: number;
  /**
   * Mutation strategy. Default `"currentToBest1bin"`. `"jade"` is
   * DE/current-to-pbest/1/bin with an archive and self-adapted F and CR
   * (Zhang & Sanderson 2009); it ignores `F`, `F2` and `CR`.
   */
  strategy?: "currentToBest1bin" | "rand1bin" | "jade";
  /** JADE: fraction of the population from which `x_pbest` is drawn. Default 0.05 (at least 2 members). */
  pBest?: number;
  /** JADE: learning rate `c` of the means of F and CR. Default 0.1. */
  adaptRate?: number;
  /** Initial design. Default `"lhs"`. */
  init?: "lhs" | "uniform" | "sobol";
}

interface Slot {
  u: Float64Array | null;
  key: number;
  told: boolean;
}

/**
 * Differential evolution (the fitters' default optimizer is `CMAES`).
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
  // trial id -> slot and (JADE) the F and CR it was made with
  #trials = new Map<number, { slot: number; F: number; CR: number }>();
  #nextTrial = 0;
  // JADE state: archive of replaced parents, means of F and CR, successes
  #archive: Float64Array[] = [];
  #muF = 0.5;
  #muCR = 0.5;
  #goodF: number[] = [];
  #goodCR: number[] = [];
  #generationTold = 0;

  /**
   * Create the optimizer.
   * @param options seed, popsize rule, F, F2, CR, strategy, init
   * @throws {RangeError} F or F2 not finite and >= 0, CR outside [0, 1], bad popsize
   */
  constructor(options: DifferentialEvolutionOptions = {}) {
    super(options.scale);
    const o = {
      seed: options.seed ?? 0,
      popsize: options.popsize ?? "standard",
      F: options.F ?? 0.8,
      F2: options.F2 ?? 0.8,
      CR: options.CR ?? 0.9,
      strategy: options.strategy ?? "currentToBest1bin",
      init: options.init ?? "lhs",
      pBest: options.pBest ?? 0.05,
      adaptRate: options.adaptRate ?? 0.1,
      scale: options.scale ?? "auto",
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
    if (!(o.pBest > 0 && o.pBest <= 1)) {
      throw new RangeError(
        `DifferentialEvolution: pBest must be in (0, 1], got ${o.pBest}`,
      );
    }
    if (!(o.adaptRate >= 0 && o.adaptRate <= 1)) {
      throw new RangeError(
        `DifferentialEvolution: adaptRate must be in [0, 1], got ${o.adaptRate}`,
      );
    }
    if (!["currentToBest1bin", "rand1bin", "jade"].includes(o.strategy)) {
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
    this.#trials.clear();
    this.#nextTrial = 0;
    this.#archive = [];
    this.#muF = 0.5;
    this.#muCR = 0.5;
    this.#goodF = [];
    this.#goodCR = [];
    this.#generationTold = 0;
    return size;
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: number }[] {
    const out: { u: Float64Array; tag: number }[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.#pop.length;
      const slot = this.#pop[i];
      const tag = this.#nextTrial++;
      if (slot.u === null) {
        const u = this.#initQueue[i];
        slot.u = Float64Array.from(u);
        this.#trials.set(tag, { slot: i, F: NaN, CR: NaN });
        out.push({ u: Float64Array.from(u), tag });
      } else if (this.#opts.strategy === "jade") {
        const { u, F, CR } = this.#jadeTrial(i);
        this.#trials.set(tag, { slot: i, F, CR });
        out.push({ u, tag });
      } else {
        this.#trials.set(tag, { slot: i, F: NaN, CR: NaN });
        out.push({ u: this.#trial(i), tag });
      }
    }
    return out;
  }

  /**
   * JADE trial (Zhang & Sanderson 2009, "JADE: Adaptive Differential
   * Evolution With Optional External Archive", IEEE Trans. Evol. Comput.
   * 13:945–958, Algorithm 2): `CR_i ~ N(μCR, 0.1)` clipped to [0, 1],
   * `F_i ~ Cauchy(μF, 0.1)` (redrawn while ≤ 0, cut at 1), donor
   * `x_i + F_i(x_pbest − x_i) + F_i(x_r1 − x̃_r2)` with `x_pbest` one of the
   * best ⌈p·NP⌉ members, `x_r1` a member and `x̃_r2` a member or an archived
   * parent, then binomial crossover and the bounce-back of the other strategies.
   */
  #jadeTrial(i: number): { u: Float64Array; F: number; CR: number } {
    const rng = this.#rng;
    const pop = this.#pop;
    const d = this.dimension;
    const parent = pop[i].u!;
    const ready: number[] = [];
    for (let j = 0; j < pop.length; j++) {
      if (pop[j].told && pop[j].u !== null) ready.push(j);
    }
    let CR = this.#muCR + 0.1 * rng.normal();
    CR = Math.min(1, Math.max(0, CR));
    let F = 0;
    while (!(F > 0)) {
      F = this.#muF + 0.1 * Math.tan(Math.PI * (rng.random() - 0.5));
    }
    F = Math.min(1, F);
    if (ready.length < 4) {
      // too few told members yet (ask running ahead of tell): uniform point
      const u = new Float64Array(d);
      for (let j = 0; j < d; j++) u[j] = rng.random();
      return { u, F, CR };
    }
    ready.sort((a, b) => pop[a].key - pop[b].key);
    const nTop = Math.max(2, Math.ceil(this.#opts.pBest * ready.length));
    const pb = pop[ready[rng.int(Math.min(nTop, ready.length))]].u!;
    let r1: number;
    do r1 = ready[rng.int(ready.length)]; while (r1 === i);
    const nUnion = ready.length + this.#archive.length;
    let x2: Float64Array;
    for (;;) {
      const k = rng.int(nUnion);
      if (k < ready.length) {
        const r2 = ready[k];
        if (r2 === i || r2 === r1) continue;
        x2 = pop[r2].u!;
      } else x2 = this.#archive[k - ready.length];
      break;
    }
    const x1 = pop[r1].u!;
    const jRand = rng.int(d);
    const u = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let v = (j === jRand || rng.random() < CR)
        ? parent[j] + F * (pb[j] - parent[j]) + F * (x1[j] - x2[j])
        : parent[j];
      if (v < 0) v = 0.5 * parent[j];
      else if (v > 1) v = 0.5 * (parent[j] + 1);
      u[j] = v;
    }
    return { u, F, CR };
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
    const jade = this.#opts.strategy === "jade";
    for (const e of entries) {
      if (e.tag === undefined) continue; // not asked by us: only counts for recommend()
      const trial = this.#trials.get(e.tag);
      if (trial === undefined) continue; // from before a re-initialization
      this.#trials.delete(e.tag);
      const index = trial.slot;
      const slot = this.#pop[index];
      if (!slot.told) {
        slot.told = true;
        slot.u = Float64Array.from(e.u);
        slot.key = e.key;
      } else if (jade) {
        // JADE keeps the parent on ties and archives the parents it replaces
        if (e.key < slot.key) {
          this.#archive.push(slot.u!);
          if (this.#archive.length > this.#pop.length) {
            const k = this.#rng.int(this.#archive.length);
            this.#archive[k] = this.#archive[this.#archive.length - 1];
            this.#archive.pop();
          }
          slot.u = Float64Array.from(e.u);
          slot.key = e.key;
          this.#goodF.push(trial.F);
          this.#goodCR.push(trial.CR);
        }
        if (++this.#generationTold >= this.#pop.length) this.#adapt();
      } else if (e.key <= slot.key) {
        slot.u = Float64Array.from(e.u);
        slot.key = e.key;
      }
      if (
        slot.key < Infinity &&
        (this.#bestSlot < 0 || slot.key <= this.#pop[this.#bestSlot].key)
      ) this.#bestSlot = index;
    }
    // the best slot can only get better, but recompute when it was replaced by nothing better
    if (this.#bestSlot >= 0 && !(this.#pop[this.#bestSlot].key < Infinity)) {
      this.#bestSlot = -1;
    }
  }

  /** JADE's update of μCR (arithmetic mean) and μF (Lehmer mean) after a generation. */
  #adapt(): void {
    const c = this.#opts.adaptRate;
    if (this.#goodF.length > 0) {
      let sCR = 0;
      for (const v of this.#goodCR) sCR += v;
      let s1 = 0;
      let s2 = 0;
      for (const v of this.#goodF) {
        s1 += v;
        s2 += v * v;
      }
      this.#muCR = (1 - c) * this.#muCR + c * sCR / this.#goodCR.length;
      this.#muF = (1 - c) * this.#muF + c * s2 / s1;
    }
    this.#goodF = [];
    this.#goodCR = [];
    this.#generationTold = 0;
  }
}
