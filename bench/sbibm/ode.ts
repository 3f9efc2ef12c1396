/**
 * Adaptive explicit Runge–Kutta ODE solver for the sbibm SIR and
 * Lotka–Volterra simulators: Tsitouras' 5(4) pair ("Tsit5"; Ch. Tsitouras,
 * "Runge–Kutta pairs of order 5(4) satisfying only the first column
 * simplifying assumption", Comput. Math. Appl. 62 (2011) 770–775), the
 * method sbibm runs through DifferentialEquations.jl (diffeqtorch defaults:
 * `Tsit5()`, `reltol = abstol = 1e-8`).
 *
 * Error control as in OrdinaryDiffEq.jl: the local error estimate
 * `dt · Σ btilde_i k_i` is scaled component-wise by
 * `abstol + reltol · max(|u|, |u_new|)` and reduced with the RMS norm; a step
 * is accepted when that norm is ≤ 1. The step size follows the standard
 * controller `dt · clamp(0.9 · err^(-1/5), 1/5, 10)`. Instead of interpolating
 * at the save times (what `saveat` does in Julia) the solver steps exactly onto
 * them, which is at least as accurate.
 * @module
 */

// Tsit5 tableau (Tsitouras 2011, Table 1 as tabulated in OrdinaryDiffEq.jl).
const C2 = 0.161;
const C3 = 0.327;
const C4 = 0.9;
const C5 = 0.9800255409045097;
const A21 = 0.161;
const A31 = -0.008480655492356989;
const A32 = 0.335480655492357;
const A41 = 2.8971530571054935;
const A42 = -6.359448489975075;
const A43 = 4.3622954328695815;
const A51 = 5.325864828439257;
const A52 = -11.748883564062828;
const A53 = 7.4955393428898365;
const A54 = -0.09249506636175525;
const A61 = 5.86145544294642;
const A62 = -12.92096931784711;
const A63 = 8.159367898576159;
const A64 = -0.071584973281401;
const A65 = -0.028269050394068383;
const B1 = 0.09646076681806523;
const B2 = 0.01;
const B3 = 0.4798896504144996;
const B4 = 1.379008574103742;
const B5 = -3.290069515436081;
const B6 = 2.324710524099774;
// Error weights btilde = b − bhat (the 7th stage is f at the new point, FSAL).
const E1 = -0.00178001105222577714;
const E2 = -0.0008164344596567469;
const E3 = 0.007880878010261995;
const E4 = -0.1447110071732629;
const E5 = 0.5823571654525552;
const E6 = -0.45808210592918697;
const E7 = 0.015151515151515152;

/** Right-hand side `du/dt = f(t, u)`, written into `out`. */
export type OdeRhs = (t: number, u: Float64Array, out: Float64Array) => void;

/** Options of {@linkcode solveTsit5}. */
export interface OdeOptions {
  /** Relative tolerance (default `1e-8`, diffeqtorch's default). */
  reltol?: number;
  /** Absolute tolerance (default `1e-8`). */
  abstol?: number;
  /** Maximum number of attempted steps (default `1e5`, Julia's `maxiters`). */
  maxIters?: number;
}

/** Constant parts of the tableau, exposed so tests can check its consistency. */
export const TSIT5_TABLEAU: {
  c: number[];
  a: number[][];
  b: number[];
  btilde: number[];
} = {
  c: [0, C2, C3, C4, C5, 1, 1],
  a: [
    [],
    [A21],
    [A31, A32],
    [A41, A42, A43],
    [A51, A52, A53, A54],
    [A61, A62, A63, A64, A65],
    [B1, B2, B3, B4, B5, B6],
  ],
  b: [B1, B2, B3, B4, B5, B6, 0],
  btilde: [E1, E2, E3, E4, E5, E6, E7],
};

/**
 * Integrate an ODE from `tSave[0]` to the last save time and return the
 * states at every save time (the first is `u0`).
 *
 * @param f right-hand side.
 * @param u0 initial state at `tSave[0]`.
 * @param tSave increasing save times.
 * @param options tolerances and the step limit.
 * @returns a `tSave.length × u0.length` row-major array, or `null` when the
 *   integration fails (non-finite state, step size underflow or more than
 *   `maxIters` steps) — sbibm then returns an all-NaN observation.
 * @throws {RangeError} if `tSave` is empty or not increasing.
 */
export function solveTsit5(
  f: OdeRhs,
  u0: ArrayLike<number>,
  tSave: ArrayLike<number>,
  options: OdeOptions = {},
): Float64Array | null {
  const reltol = options.reltol ?? 1e-8;
  const abstol = options.abstol ?? 1e-8;
  const maxIters = options.maxIters ?? 1e5;
  const nSave = tSave.length;
  if (nSave < 1) throw new RangeError("tSave must contain at least one time");
  for (let i = 1; i < nSave; i++) {
    if (!(tSave[i] > tSave[i - 1])) {
      throw new RangeError(
        `tSave must be strictly increasing, got ${tSave[i - 1]}, ${tSave[i]}`,
      );
    }
  }
  const n = u0.length;
  const out = new Float64Array(nSave * n);
  const u = Float64Array.from(u0);
  out.set(u, 0);
  if (nSave === 1) return out;

  const k1 = new Float64Array(n);
  const k2 = new Float64Array(n);
  const k3 = new Float64Array(n);
  const k4 = new Float64Array(n);
  const k5 = new Float64Array(n);
  const k6 = new Float64Array(n);
  const k7 = new Float64Array(n);
  const tmp = new Float64Array(n);
  const uNew = new Float64Array(n);

  let t = tSave[0];
  const tEnd = tSave[nSave - 1];
  f(t, u, k1);
  // Initial step (Hairer, Nørsett & Wanner, "Solving ODEs I", II.4).
  let d0 = 0;
  let d1 = 0;
  for (let i = 0; i < n; i++) {
    const sc = abstol + Math.abs(u[i]) * reltol;
    d0 += (u[i] / sc) ** 2;
    d1 += (k1[i] / sc) ** 2;
  }
  d0 = Math.sqrt(d0 / n);
  d1 = Math.sqrt(d1 / n);
  let dt = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
  dt = Math.min(dt, tEnd - t);
  for (let i = 0; i < n; i++) tmp[i] = u[i] + dt * k1[i];
  f(t + dt, tmp, k2);
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    const sc = abstol + Math.abs(u[i]) * reltol;
    d2 += ((k2[i] - k1[i]) / sc) ** 2;
  }
  d2 = Math.sqrt(d2 / n) / dt;
  const dMax = Math.max(d1, d2);
  const dt1 = dMax <= 1e-15
    ? Math.max(1e-6, dt * 1e-3)
    : Math.pow(0.01 / dMax, 1 / 5);
  dt = Math.min(100 * dt, dt1, tEnd - t);
  if (!(dt > 0) || !Number.isFinite(dt)) return null;

  let next = 1;
  let iters = 0;
  while (next < nSave) {
    if (++iters > maxIters) return null;
    const target = tSave[next];
    let h = dt;
    let hitsTarget = false;
    if (
      t + h >= target ||
      target - (t + h) < 1e-12 * Math.max(1, Math.abs(target))
    ) {
      h = target - t;
      hitsTarget = true;
    }
    if (!(h > 1e-14 * Math.max(1, Math.abs(t)))) return null;
    for (let i = 0; i < n; i++) tmp[i] = u[i] + h * A21 * k1[i];
    f(t + C2 * h, tmp, k2);
    for (let i = 0; i < n; i++) tmp[i] = u[i] + h * (A31 * k1[i] + A32 * k2[i]);
    f(t + C3 * h, tmp, k3);
    for (let i = 0; i < n; i++) {
      tmp[i] = u[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    }
    f(t + C4 * h, tmp, k4);
    for (let i = 0; i < n; i++) {
      tmp[i] = u[i] +
        h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    }
    f(t + C5 * h, tmp, k5);
    for (let i = 0; i < n; i++) {
      tmp[i] = u[i] +
        h *
          (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    }
    f(t + h, tmp, k6);
    for (let i = 0; i < n; i++) {
      uNew[i] = u[i] +
        h *
          (B1 * k1[i] + B2 * k2[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] +
            B6 * k6[i]);
    }
    f(t + h, uNew, k7);
    let err = 0;
    let finite = true;
    for (let i = 0; i < n; i++) {
      const e = h *
        (E1 * k1[i] + E2 * k2[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] +
          E6 * k6[i] +
          E7 * k7[i]);
      const sc = abstol + reltol * Math.max(Math.abs(u[i]), Math.abs(uNew[i]));
      err += (e / sc) ** 2;
      if (!Number.isFinite(uNew[i])) finite = false;
    }
    err = Math.sqrt(err / n);
    if (!Number.isFinite(err)) {
      if (!finite && h < 1e-10) return null;
      dt = h / 5;
      continue;
    }
    const factor = err === 0
      ? 10
      : Math.min(10, Math.max(0.2, 0.9 * Math.pow(err, -0.2)));
    if (err <= 1) {
      t = hitsTarget ? target : t + h;
      u.set(uNew);
      k1.set(k7);
      if (hitsTarget) {
        out.set(u, next * n);
        next++;
        // Keep the step the controller proposed before it was cut to the target.
        dt = Math.max(dt, h * factor);
      } else {
        dt = h * factor;
      }
    } else {
      dt = h * factor;
    }
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) return null;
  }
  return out;
}
