/**
 * A small Gaussian-process regressor for Bayesian optimization: ARD Matérn
 * 5/2 kernel times an amplitude, plus white noise, on inputs in [0, 1]^d and
 * standardized targets, hyperparameters by maximising the log marginal
 * likelihood (Rasmussen & Williams 2006, eqs. 2.25–2.30 and 4.17) with a
 * bounded Nelder–Mead search in log space from a few starting points.
 * Mirrors the defaults of skopt's `gp_minimize` GP
 * (`ConstantKernel(1, (0.01, 1000)) * Matern(ℓ=1, (0.01, 100), ν=2.5) +
 * WhiteKernel`, `normalize_y=True`); predictions exclude the white noise.
 * @module
 */

import type { Rng } from "../../_internal/random.ts";

const SQRT5 = Math.sqrt(5);

/** Matérn ν = 5/2 correlation at scaled distance r (R&W eq. 4.17). */
export function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** Bounded Nelder–Mead minimization (Nelder & Mead 1965; standard coefficients). */
export function nelderMead(
  f: (x: Float64Array) => number,
  x0: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  options: { maxEvaluations?: number; step?: number; tol?: number } = {},
): { x: Float64Array; f: number; evaluations: number } {
  const n = x0.length;
  const maxEval = options.maxEvaluations ?? 200 * n;
  const tol = options.tol ?? 1e-8;
  const clamp = (x: Float64Array): Float64Array => {
    for (let i = 0; i < n; i++) x[i] = Math.min(hi[i], Math.max(lo[i], x[i]));
    return x;
  };
  let evals = 0;
  const F = (x: Float64Array): number => {
    evals++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const simplex: Float64Array[] = [clamp(Float64Array.from(x0))];
  for (let i = 0; i < n; i++) {
    const x = Float64Array.from(x0);
    const step = (options.step ?? 0.1) * (hi[i] - lo[i]);
    x[i] = x[i] + step <= hi[i] ? x[i] + step : x[i] - step;
    simplex.push(clamp(x));
  }
  const fv = simplex.map(F);
  const order = (): void => {
    const idx = fv.map((_, i) => i).sort((a, b) => fv[a] - fv[b]);
    const s = idx.map((i) => simplex[i]);
    const v = idx.map((i) => fv[i]);
    for (let i = 0; i <= n; i++) {
      simplex[i] = s[i];
      fv[i] = v[i];
    }
  };
  order();
  while (evals < maxEval) {
    if (Math.abs(fv[n] - fv[0]) <= tol * (Math.abs(fv[0]) + tol)) break;
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) c[j] += simplex[i][j] / n;
    }
    const along = (t: number): Float64Array => {
      const x = new Float64Array(n);
      for (let j = 0; j < n; j++) x[j] = c[j] + t * (simplex[n][j] - c[j]);
      return clamp(x);
    };
    const xr = along(-1);
    const fr = F(xr);
    if (fr < fv[0]) {
      const xe = along(-2);
      const fe = F(xe);
      if (fe < fr) {
        simplex[n] = xe;
        fv[n] = fe;
      } else {
        simplex[n] = xr;
        fv[n] = fr;
      }
    } else if (fr < fv[n - 1]) {
      simplex[n] = xr;
      fv[n] = fr;
    } else {
      const xc = fr < fv[n] ? along(-0.5) : along(0.5);
      const fc = F(xc);
      if (fc < Math.min(fr, fv[n])) {
        simplex[n] = xc;
        fv[n] = fc;
      } else {
        for (let i = 1; i <= n; i++) {
          for (let j = 0; j < n; j++) {
            simplex[i][j] = simplex[0][j] +
              0.5 * (simplex[i][j] - simplex[0][j]);
          }
          fv[i] = F(simplex[i]);
        }
      }
    }
    order();
  }
  return { x: simplex[0], f: fv[0], evaluations: evals };
}

/** In-place Cholesky factorization (lower triangle, row-major n×n). Returns false if not PD. */
function cholesky(K: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let s = K[j * n + j];
    for (let k = 0; k < j; k++) s -= K[j * n + k] ** 2;
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    K[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = K[i * n + j];
      for (let k = 0; k < j; k++) t -= K[i * n + k] * K[j * n + k];
      K[i * n + j] = t / d;
    }
  }
  return true;
}

/** Gaussian-process regression on [0, 1]^d inputs. */
export class GaussianProcess {
  /** log amplitude, log length scales (d), log noise. */
  theta: Float64Array;
  #X: Float64Array[] = [];
  #y = new Float64Array(0);
  #yMean = 0;
  #yStd = 1;
  #L = new Float64Array(0);
  #alpha = new Float64Array(0);
  #amp = 1;
  #invLs: Float64Array = new Float64Array(0);
  readonly #d: number;
  readonly #lo: Float64Array;
  readonly #hi: Float64Array;

  /** @param d input dimension */
  constructor(d: number) {
    this.#d = d;
    this.theta = new Float64Array(d + 2);
    this.theta[d + 1] = Math.log(1e-4);
    this.#lo = new Float64Array(d + 2);
    this.#hi = new Float64Array(d + 2);
    this.#lo[0] = Math.log(0.01);
    this.#hi[0] = Math.log(1000);
    for (let i = 1; i <= d; i++) {
      this.#lo[i] = Math.log(0.01);
      this.#hi[i] = Math.log(100);
    }
    this.#lo[d + 1] = Math.log(1e-8);
    this.#hi[d + 1] = Math.log(1);
  }

  /** Kernel between a and b with amplitude `amp` and inverse length scales `inv`. */
  #kernel(
    a: Float64Array,
    b: Float64Array,
    amp: number,
    inv: Float64Array,
  ): number {
    let r2 = 0;
    for (let i = 0; i < this.#d; i++) {
      const t = (a[i] - b[i]) * inv[i];
      r2 += t * t;
    }
    return amp * matern52(Math.sqrt(r2));
  }

  #inv(theta: Float64Array): Float64Array {
    const inv = new Float64Array(this.#d);
    for (let i = 0; i < this.#d; i++) inv[i] = Math.exp(-theta[1 + i]);
    return inv;
  }

  /** Negative log marginal likelihood of standardized targets; fills L and alpha when `keep`. */
  #nlml(theta: Float64Array, keep: boolean): number {
    const n = this.#X.length;
    const K = new Float64Array(n * n);
    const noise = Math.exp(theta[this.#d + 1]);
    const amp = Math.exp(theta[0]);
    const inv = this.#inv(theta);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const k = this.#kernel(this.#X[i], this.#X[j], amp, inv);
        K[i * n + j] = k;
        K[j * n + i] = k;
      }
      K[i * n + i] = amp + noise + 1e-10;
    }
    if (!cholesky(K, n)) return Infinity;
    // alpha = K^{-1} y by two triangular solves
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = this.#y[i];
      for (let k = 0; k < i; k++) s -= K[i * n + k] * z[k];
      z[i] = s / K[i * n + i];
    }
    let quad = 0;
    let logdet = 0;
    for (let i = 0; i < n; i++) {
      quad += z[i] * z[i];
      logdet += Math.log(K[i * n + i]);
    }
    if (keep) {
      const a = new Float64Array(n);
      for (let i = n - 1; i >= 0; i--) {
        let s = z[i];
        for (let k = i + 1; k < n; k++) s -= K[k * n + i] * a[k];
        a[i] = s / K[i * n + i];
      }
      this.#L = K;
      this.#alpha = a;
      this.#amp = amp;
      this.#invLs = inv;
    }
    return 0.5 * quad + logdet + 0.5 * n * Math.log(2 * Math.PI);
  }

  /**
   * Condition on data. With `optimize`, the hyperparameters are refitted
   * (starting from the current ones plus `restarts` random points).
   */
  fit(
    X: Float64Array[],
    y: ArrayLike<number>,
    rng: Rng,
    optimize: boolean,
    restarts = 2,
  ): void {
    const n = X.length;
    this.#X = X.map((x) => Float64Array.from(x));
    let mean = 0;
    for (let i = 0; i < n; i++) mean += y[i];
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (y[i] - mean) ** 2;
    const std = n > 1 ? Math.sqrt(v / n) : 0;
    this.#yMean = mean;
    this.#yStd = std > 0 ? std : 1;
    this.#y = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#y[i] = (y[i] - mean) / this.#yStd;
    if (optimize && n >= 2) {
      const starts: Float64Array[] = [Float64Array.from(this.theta)];
      for (let r = 0; r < restarts; r++) {
        const t = new Float64Array(this.theta.length);
        for (let i = 0; i < t.length; i++) {
          t[i] = this.#lo[i] + rng.random() * (this.#hi[i] - this.#lo[i]);
        }
        t[this.#d + 1] = Math.log(1e-4) + rng.normal();
        t[this.#d + 1] = Math.min(
          this.#hi[this.#d + 1],
          Math.max(this.#lo[this.#d + 1], t[this.#d + 1]),
        );
        starts.push(t);
      }
      let best = this.theta;
      let bestF = this.#nlml(this.theta, false);
      for (const s of starts) {
        const r = nelderMead(
          (t) => this.#nlml(t, false),
          s,
          this.#lo,
          this.#hi,
          {
            maxEvaluations: 40 * (this.#d + 2),
            step: 0.15,
            tol: 1e-6,
          },
        );
        if (r.f < bestF) {
          bestF = r.f;
          best = r.x;
        }
      }
      this.theta = Float64Array.from(best);
    }
    if (this.#nlml(this.theta, true) === Infinity) {
      // not positive definite: raise the noise until it is
      for (let k = 0; k < 20; k++) {
        this.theta[this.#d + 1] += 2;
        if (this.#nlml(this.theta, true) < Infinity) break;
      }
    }
  }

  /** Posterior mean and standard deviation of the latent function at x (original units). */
  predict(x: Float64Array): { mean: number; std: number } {
    const n = this.#X.length;
    const L = this.#L;
    const k = new Float64Array(n);
    let mu = 0;
    for (let i = 0; i < n; i++) {
      k[i] = this.#kernel(x, this.#X[i], this.#amp, this.#invLs);
      mu += k[i] * this.#alpha[i];
    }
    // v = L^{-1} k
    let vv = 0;
    for (let i = 0; i < n; i++) {
      let s = k[i];
      for (let j = 0; j < i; j++) s -= L[i * n + j] * k[j];
      k[i] = s / L[i * n + i];
      vv += k[i] * k[i];
    }
    const variance = Math.max(this.#amp - vv, 1e-18);
    return {
      mean: this.#yMean + this.#yStd * mu,
      std: this.#yStd * Math.sqrt(variance),
    };
  }

  /** Standard deviation of the training targets (the scale of standardization). */
  get yStd(): number {
    return this.#yStd;
  }
}
