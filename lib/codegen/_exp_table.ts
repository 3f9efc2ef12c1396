// Table-driven exp shared by the wasm SIMD f64 kernel (wasm_renderer.ts) and
// the JavaScript kernel's wasm-exact `wexp` (js_renderer.ts). The algorithm
// is the one of ARM optimized-routines' `math/exp.c` / `exp_data.c` (also
// glibc's `sysdeps/ieee754/dbl-64/e_exp.c` since 2.28): N = 128,
//   k = round(x·N/ln2) (via the 1.5·2^52 shift), r = x − k·ln2/N (ln2/N split
//   hi/lo, |r| ≤ ln2/256), 2^(k/N) = 2^(k>>7) · H[k&127]·(1 + T[k&127]),
//   exp(x) ≈ s + s·(T + r + r²(C2 + r·C3) + r⁴(C4 + r·C5)),
// ARM's stated error bound for this polynomial and table: 0.509 ulp (before
// the final rounding is folded in, < 1 ulp). The coefficients are ARM's
// (EXP_POLY_ORDER 5, N 128). H and T are computed here with BigInt
// arithmetic (200-bit fixed point): H[i] = 2^(i/128) rounded to nearest
// double, T[i] = (2^(i/128) − H[i]) / H[i] rounded to double.

/** Table size N. */
export const EXP_N = 128;
/** N / ln 2. */
export const EXP_INV_LN2_N = 1.4426950408889634 * EXP_N;
/** −ln2/N, high part (trailing zeros: k·hi is exact). */
export const EXP_NEG_LN2_HI_N = -0.005415212348111709;
/** −ln2/N, low part. */
export const EXP_NEG_LN2_LO_N = -1.2864023111638346e-14;
/** 1.5·2^52: adding it rounds to an integer (ties to even). */
export const EXP_SHIFT = 6755399441055744.0;
/** Polynomial coefficients C2..C5 (ARM exp_data.c, order 5). */
export const EXP_C = [
  0.49999999999996786,
  0.16666666666665886,
  0.0416666808410674,
  0.008333335853059549,
] as const;
/**
 * Fast-path bound: |x| < 704 keeps 2^(k>>7) normal and finite, so scaling H
 * by it (bit addition in wasm, multiplication in JS) is exact in both.
 */
export const EXP_FAST_LIMIT = 704;

function isqrt(n: bigint): bigint {
  // Newton from above (floor of the square root)
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

function buildTable(): { H: Float64Array; T: Float64Array } {
  const P = 200n;
  const one = 1n << P;
  // s[j] = 2^(2^-j) · 2^P, j = 1..7
  const s: bigint[] = [0n];
  let cur = 2n << P;
  for (let j = 1; j <= 7; j++) {
    cur = isqrt(cur << P);
    s.push(cur);
  }
  const H = new Float64Array(EXP_N);
  const T = new Float64Array(EXP_N);
  for (let i = 0; i < EXP_N; i++) {
    let X = one;
    for (let b = 0; b < 7; b++) {
      if (i & (1 << b)) X = (X * s[7 - b]) >> P;
    }
    // X in [2^P, 2^(P+1)): 53-bit mantissa = X >> (P − 52), rounded
    const sh = P - 52n;
    let m = X >> sh;
    const rem = X - (m << sh);
    if (rem * 2n > (1n << sh) || (rem * 2n === (1n << sh) && (m & 1n))) m++;
    H[i] = Number(m) / 2 ** 52;
    const D = X - (m << sh); // signed
    T[i] = Number((D << 120n) / X) / 2 ** 120;
  }
  return { H, T };
}

const TABLE = buildTable();
/** H[i] = 2^(i/N) rounded to double. */
export const EXP_H: Float64Array = TABLE.H;
/** T[i] = (2^(i/N) − H[i]) / H[i]. */
export const EXP_T: Float64Array = TABLE.T;

/**
 * The wasm table: per i, 16 bytes: T[i]'s bits, then H[i]'s bits − (i << 45)
 * (so that adding k << 45 yields 2^(k>>7)·H[k&127], as in ARM's table).
 */
export function expTableBytes(): Uint8Array {
  const out = new BigInt64Array(2 * EXP_N);
  const f = new Float64Array(1);
  const u = new BigInt64Array(f.buffer);
  for (let i = 0; i < EXP_N; i++) {
    f[0] = EXP_T[i];
    out[2 * i] = u[0];
    f[0] = EXP_H[i];
    out[2 * i + 1] = BigInt.asIntN(64, u[0] - (BigInt(i) << 45n));
  }
  return new Uint8Array(out.buffer);
}
