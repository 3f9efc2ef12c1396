/**
 * Seeded pseudo-random numbers shared by every module.
 *
 * `Rng` is xoshiro128** (Blackman & Vigna 2018, "Scrambled linear pseudorandom
 * number generators") seeded through splitmix32, with Box–Muller normals.
 * `counterNormal` is a stateless, counter-based normal draw (a 32-bit integer
 * hash of (seed, stream, counter), Box–Muller on two hashed uniforms) so that
 * the CPU and WGSL kernels can draw the same noise stream for neuron `i` at
 * step `k` without sharing state.
 * @module
 */

/** splitmix32 step (Steele, Lea & Flood 2014, 32-bit variant). */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

/** A seeded generator of uniform and normal variates. */
export class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  /** @param seed any finite number; the same seed gives the same stream. */
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) {
      throw new RangeError(`seed must be a finite number, got ${seed}`);
    }
    let st = (Math.floor(Math.abs(seed)) ^ (seed < 0 ? 0x5bd1e995 : 0)) | 0;
    st = (st ^ Math.floor(seed / 4294967296)) | 0;
    for (let i = 0; i < 4; i++) {
      const [ns, z] = splitmix32(st);
      st = ns;
      this.#s[i] = z;
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) {
      this.#s[0] = 1;
    }
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniform(low = 0, high = 1): number {
    return low + (high - low) * this.random();
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Standard normal (Box–Muller, polar-free form, caches the second value). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u1 = this.random();
    while (u1 <= 0) u1 = this.random();
    const u2 = this.random();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher–Yates shuffle of the indices 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** A new independent generator derived from this one. */
  fork(): Rng {
    return new Rng(this.nextU32() * 4294967296 + this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * 32-bit integer hash (the "lowbias32" finaliser by C. Wellons), identical in
 * the WGSL renderer so CPU and GPU kernels can draw the same numbers.
 */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

/**
 * Uniform in (0, 1) from (seed, stream, counter): hash(seed ^ hash(stream ^
 * hash(counter))). 24-bit resolution so that f32 kernels can reproduce it
 * exactly.
 */
export function counterUniform(
  seed: number,
  stream: number,
  counter: number,
): number {
  const h = hash32(
    (seed ^ hash32((stream ^ hash32(counter >>> 0)) >>> 0)) >>> 0,
  );
  return ((h >>> 8) + 0.5) / 16777216;
}

/**
 * Standard normal from (seed, stream, counter) by Box–Muller on the uniforms
 * of counters 2c and 2c+1.
 */
export function counterNormal(
  seed: number,
  stream: number,
  counter: number,
): number {
  const u1 = counterUniform(seed, stream, 2 * counter);
  const u2 = counterUniform(seed, stream, 2 * counter + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
