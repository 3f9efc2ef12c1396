/**
 * Random search over the box: independent uniform points, a (digitally
 * shifted) Sobol sequence with Joe–Kuo direction numbers, or one Latin
 * hypercube per `ask` batch. A baseline and a way to make a space-filling
 * design (see `sampling.ts` for the constructions and their sources).
 * @module
 */

import { Rng } from "../../_internal/random.ts";
import { BoxOptimizer, type ScaleOption, type ToldEntry } from "./optimizer.ts";
import {
  latinHypercube,
  SOBOL_MAX_DIMENSION,
  SobolSequence,
  uniformSample,
} from "./sampling.ts";

/** Options of {@linkcode RandomSearch}. */
export interface RandomSearchOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Search scale per parameter (`"linear"`, `"log"` or `"auto"`, one for
   * all or `{ name: scale }`). Default `"auto"`: log for bounds `0 < lo`
   * spanning more than two decades, linear otherwise.
   */
  scale?: ScaleOption;
  /**
   * How points are drawn: `"uniform"` (i.i.d.), `"sobol"` (one continuing
   * Sobol sequence, d <= 32), `"lhs"` (a Latin hypercube per `ask`).
   * Default `"uniform"`.
   */
  sampler?: "uniform" | "sobol" | "lhs";
  /** Sobol only: random digital shift. Default true. */
  scramble?: boolean;
}

/**
 * Random search.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RandomSearch } from "./random_search.ts";
 * const opt = new RandomSearch({ sampler: "sobol", seed: 2 });
 * opt.initialize(["a", "b"], 64, 1, { a: [0, 1], b: [10, 20] });
 * const ps = opt.ask(64);
 * opt.tell(ps, ps.map((p) => (p.a - 0.3) ** 2 + (p.b - 12) ** 2));
 * assert.ok(Math.abs(opt.recommend().b - 12) < 1);
 * ```
 */
export class RandomSearch extends BoxOptimizer<null> {
  #o: Required<RandomSearchOptions>;
  #rng: Rng = new Rng(0);
  #sobol: SobolSequence | null = null;

  /**
   * Create the optimizer.
   * @param options seed, sampler, scramble
   * @throws {RangeError} unknown sampler
   */
  constructor(options: RandomSearchOptions = {}) {
    super(options.scale);
    const o = {
      seed: options.seed ?? 0,
      sampler: options.sampler ?? "uniform",
      scramble: options.scramble ?? true,
    } as Required<RandomSearchOptions>;
    if (!["uniform", "sobol", "lhs"].includes(o.sampler)) {
      throw new RangeError(
        `RandomSearch: sampler must be "uniform", "sobol" or "lhs", got ${
          String(o.sampler)
        }`,
      );
    }
    this.#o = o;
  }

  /** Name used in error messages. */
  protected get label(): string {
    return "RandomSearch";
  }

  /** Reset the algorithm state after the bounds were validated; returns the population size. */
  protected initializeState(popsize: number, _rounds: number): number {
    this.#rng = new Rng(this.#o.seed);
    if (this.#o.sampler === "sobol") {
      if (this.dimension > SOBOL_MAX_DIMENSION) {
        throw new RangeError(
          `RandomSearch: the Sobol sampler supports at most ${SOBOL_MAX_DIMENSION} parameters, got ${this.dimension}`,
        );
      }
      this.#sobol = new SobolSequence(this.dimension, {
        scramble: this.#o.scramble,
        seed: this.#rng.nextU32(),
      });
    } else {
      this.#sobol = null;
    }
    return popsize;
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: null }[] {
    const d = this.dimension;
    const pts = this.#o.sampler === "sobol"
      ? this.#sobol!.next(n)
      : this.#o.sampler === "lhs"
      ? latinHypercube(n, d, this.#rng)
      : uniformSample(n, d, this.#rng);
    return pts.map((u) => ({ u, tag: null }));
  }

  /** Consume told points (matched to their tags). */
  protected update(_entries: ToldEntry<null>[]): void {}
}
