/**
 * Particle swarm optimization with constriction coefficients: the "standard
 * PSO" of D. Bratton & J. Kennedy, "Defining a Standard for Particle Swarm
 * Optimization" (IEEE SIS 2007), with inertia χ = 0.7298 and acceleration
 * c1 = c2 = 1.49618 (Clerc & Kennedy 2002, χ(φ = 4.1)), global-best
 * topology:
 *
 *     v ← χ·v + c1·r1 ⊙ (pbest − x) + c2·r2 ⊙ (gbest − x),   x ← x + v
 *
 * with r1, r2 uniform in [0, 1]^d. Positions live in normalized coordinates
 * [0, 1]^d; a particle leaving the box is put back on the wall and the
 * velocity component is set to zero; velocities are clamped to `vMax`
 * (default 0.5 of the box width). Positions start as a Latin hypercube,
 * velocities as `(U − x)/2` with U uniform (Bratton & Kennedy's half-diff
 * initialization).
 *
 * Ask/tell: each particle is asked in turn; its move uses the personal and
 * global bests known at the time of the ask.
 * @module
 */

import { Rng } from "../../_internal/random.ts";
import { BoxOptimizer, type ScaleOption, type ToldEntry } from "./optimizer.ts";
import { latinHypercube } from "./sampling.ts";

/** Options of {@linkcode ParticleSwarm}. */
export interface ParticleSwarmOptions {
  /** Random seed. Default 0. */
  seed?: number;
  /**
   * Search scale per parameter (`"linear"`, `"log"` or `"auto"`, one for
   * all or `{ name: scale }`). Default `"auto"`: log for bounds `0 < lo`
   * spanning more than two decades, linear otherwise.
   */
  scale?: ScaleOption;
  /** Swarm size. Default: the requested popsize (at least 4). */
  popsize?: number;
  /** Inertia (constriction) weight. Default 0.7298. */
  inertia?: number;
  /** Cognitive coefficient c1. Default 1.49618. */
  c1?: number;
  /** Social coefficient c2. Default 1.49618. */
  c2?: number;
  /** Maximum speed per coordinate, in box widths. Default 0.5. */
  vMax?: number;
}

interface Particle {
  x: Float64Array;
  v: Float64Array;
  best: Float64Array | null;
  bestKey: number;
  started: boolean;
}

/**
 * Particle swarm optimization.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ParticleSwarm } from "./particle_swarm.ts";
 * const opt = new ParticleSwarm({ seed: 3 });
 * const n = opt.initialize(["x"], 10, 50, { x: [-5, 5] });
 * for (let r = 0; r < 50; r++) {
 *   const ps = opt.ask(n);
 *   opt.tell(ps, ps.map((p) => (p.x - 2) ** 2));
 * }
 * assert.ok(Math.abs(opt.recommend().x - 2) < 1e-3);
 * ```
 */
export class ParticleSwarm extends BoxOptimizer<number> {
  #o: Required<Omit<ParticleSwarmOptions, "popsize" | "scale">> & {
    popsize?: number;
  };
  #rng: Rng = new Rng(0);
  #swarm: Particle[] = [];
  #cursor = 0;
  #gbest: Float64Array | null = null;
  #gbestKey = Infinity;

  /**
   * Create the optimizer.
   * @param options seed, popsize, inertia, c1, c2, vMax
   * @throws {RangeError} non-finite or negative coefficients, popsize < 2
   */
  constructor(options: ParticleSwarmOptions = {}) {
    super(options.scale);
    const o = {
      seed: options.seed ?? 0,
      popsize: options.popsize,
      inertia: options.inertia ?? 0.7298,
      c1: options.c1 ?? 1.49618,
      c2: options.c2 ?? 1.49618,
      vMax: options.vMax ?? 0.5,
    };
    for (const k of ["inertia", "c1", "c2", "vMax"] as const) {
      if (!(Number.isFinite(o[k]) && o[k] >= 0)) {
        throw new RangeError(
          `ParticleSwarm: ${k} must be a finite number >= 0, got ${o[k]}`,
        );
      }
    }
    if (
      o.popsize !== undefined &&
      !(Number.isInteger(o.popsize) && o.popsize >= 2)
    ) {
      throw new RangeError(
        `ParticleSwarm: popsize must be an integer >= 2, got ${o.popsize}`,
      );
    }
    this.#o = o;
  }

  /** Name used in error messages. */
  protected get label(): string {
    return "ParticleSwarm";
  }

  /** Reset the algorithm state after the bounds were validated; returns the population size. */
  protected initializeState(popsize: number, _rounds: number): number {
    const d = this.dimension;
    const size = this.#o.popsize ?? Math.max(4, popsize);
    this.#rng = new Rng(this.#o.seed);
    const xs = latinHypercube(size, d, this.#rng);
    this.#swarm = xs.map((x) => {
      const v = new Float64Array(d);
      for (let j = 0; j < d; j++) v[j] = (this.#rng.random() - x[j]) / 2;
      return { x, v, best: null, bestKey: Infinity, started: false };
    });
    this.#cursor = 0;
    this.#gbest = null;
    this.#gbestKey = Infinity;
    return size;
  }

  /** Generate `n` points in normalized coordinates, each with a tag. */
  protected propose(n: number): { u: Float64Array; tag: number }[] {
    const out: { u: Float64Array; tag: number }[] = [];
    const d = this.dimension;
    const { inertia, c1, c2, vMax } = this.#o;
    for (let k = 0; k < n; k++) {
      const i = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.#swarm.length;
      const p = this.#swarm[i];
      if (p.started) {
        const pb = p.best ?? p.x;
        const gb = this.#gbest ?? pb;
        for (let j = 0; j < d; j++) {
          let v = inertia * p.v[j] +
            c1 * this.#rng.random() * (pb[j] - p.x[j]) +
            c2 * this.#rng.random() * (gb[j] - p.x[j]);
          v = Math.max(-vMax, Math.min(vMax, v));
          let x = p.x[j] + v;
          if (x < 0) {
            x = 0;
            v = 0;
          } else if (x > 1) {
            x = 1;
            v = 0;
          }
          p.v[j] = v;
          p.x[j] = x;
        }
      }
      p.started = true;
      out.push({ u: Float64Array.from(p.x), tag: i });
    }
    return out;
  }

  /** Consume told points (matched to their tags). */
  protected update(entries: ToldEntry<number>[]): void {
    for (const e of entries) {
      if (e.tag !== undefined) {
        const p = this.#swarm[e.tag];
        if (e.key < p.bestKey || p.best === null) {
          p.best = Float64Array.from(e.u);
          p.bestKey = e.key;
        }
      }
      if (e.key < this.#gbestKey) {
        this.#gbestKey = e.key;
        this.#gbest = Float64Array.from(e.u);
      }
    }
  }
}
