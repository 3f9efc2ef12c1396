/**
 * numpy's legacy `RandomState(seed).random_sample` (MT19937, Matsumoto &
 * Nishimura 1998, `init_genrand` seeding, 53-bit doubles from two draws), used
 * to regenerate the inputs of the reference metric numbers.
 * @module
 */
export class NumpyRandomState {
  #mt = new Uint32Array(624);
  #i = 624;
  constructor(seed: number) {
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, x) + i) >>> 0;
    }
  }
  #next(): number {
    const mt = this.#mt;
    if (this.#i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = (mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>>
          0;
      }
      this.#i = 0;
    }
    let y = mt[this.#i++];
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    y ^= y >>> 18;
    return y >>> 0;
  }
  /** Uniform double in [0, 1) as numpy's random_sample. */
  random(): number {
    const a = this.#next() >>> 5;
    const b = this.#next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
  /** `rand(rows, cols)` as rows of Float64Array. */
  rand(rows: number, cols: number): Float64Array[] {
    const out: Float64Array[] = [];
    for (let r = 0; r < rows; r++) {
      const row = new Float64Array(cols);
      for (let c = 0; c < cols; c++) row[c] = this.random();
      out.push(row);
    }
    return out;
  }
}
