/**
 * Bounded nonlinear least squares: a projected Levenberg–Marquardt method
 * with Marquardt's diagonal scaling and Nielsen's damping update, working in
 * normalized coordinates so that it is independent of the units of the
 * parameters and of the size of the residuals.
 *
 * Sources: K. Levenberg (1944), D. W. Marquardt (1963) "An algorithm for
 * least-squares estimation of nonlinear parameters", SIAM J. Appl. Math.
 * 11:431–441 (damping `λ·diag(JᵀJ)`); H. B. Nielsen (1999) "Damping parameter
 * in Marquardt's method", IMM-REP-1999-05, eq. 2.21 (gain-ratio update
 * `λ ← λ·max(1/3, 1 − (2ρ − 1)³)`, `ν` doubling on rejection); bounds by
 * projection onto the box with an active set of variables held at a bound
 * whose gradient points outward (Kanzow, Yamashita & Fukushima 2004,
 * "Levenberg–Marquardt methods with strong local convergence properties for
 * solving nonlinear equations with convex constraints", J. Comput. Appl.
 * Math. 172:375–397). Termination tests follow the meaning of scipy's
 * `least_squares` `ftol`/`xtol`/`gtol` (relative cost reduction, relative
 * step, projected-gradient size).
 *
 * Scaling (the reason this exists instead of a plain LM): parameters are
 * mapped to `u = (x − lo)/(hi − lo)` and residuals are divided by the norm of
 * the first residual vector, so a fit of conductances in siemens against
 * currents in amperes (residuals ~1e-10) behaves exactly like one in natural
 * units; brian2modelfitting's `refine` stops at the start point there
 * (REFERENCE_NOTES, "Bugs and quirks").
 * @module
 */

/** A least-squares problem over a box. */
export interface LeastSquaresProblem {
  /** Lower bounds (SI), one per parameter. */
  readonly lower: Float64Array;
  /** Upper bounds (SI), one per parameter. */
  readonly upper: Float64Array;
  /**
   * Residual vectors of several parameter vectors (evaluated together, e.g.
   * in one batched simulation). Non-finite residuals mark a failed point.
   */
  residuals(points: Float64Array[]): Promise<Float64Array[]>;
  /**
   * Optional analytic Jacobian: residuals and `∂r/∂x_j` columns at `x`.
   * When absent, forward differences are used.
   */
  residualsAndJacobian?(
    x: Float64Array,
  ): Promise<{ r: Float64Array; columns: Float64Array[] }>;
}

/** Options of {@linkcode leastSquares}. */
export interface LeastSquaresOptions {
  /** Stop when an accepted step reduces the cost by less than `ftol·cost`. Default 1e-8. */
  ftol?: number;
  /** Stop when the step is smaller than `xtol·(xtol + ‖u‖)` in normalized coordinates. Default 1e-8. */
  xtol?: number;
  /** Stop when the projected gradient (normalized) is below `gtol`. Default 1e-8. */
  gtol?: number;
  /** Maximum number of parameter vectors evaluated (finite-difference points included). Default 100·(n+1). */
  maxEvaluations?: number;
  /** Called after each residual evaluation of a trial point (not for finite-difference points). */
  onEvaluation?: (x: Float64Array, cost: number) => void;
}

/** Result of {@linkcode leastSquares}. */
export interface LeastSquaresResult {
  /** The solution (SI). */
  x: Float64Array;
  /** Sum of squared residuals at `x`. */
  cost: number;
  /** Parameter vectors evaluated (trial points + finite-difference points). */
  evaluations: number;
  /** Jacobians computed. */
  jacobians: number;
  /** Iterations (accepted or rejected trial steps). */
  iterations: number;
  /** Why it stopped. */
  message: string;
  /** 0 max evaluations, 1 gtol, 2 ftol, 3 xtol, 4 no finite start. */
  status: number;
}

const EPS = 2.220446049250313e-16;

/**
 * Minimize `Σ r(x)²` subject to `lower ≤ x ≤ upper`.
 * @param problem residual function(s) and bounds
 * @param x0 start point (SI), clipped into the box
 * @param options tolerances and budget
 * @returns the solution, its cost and the stopping reason
 * @throws {RangeError} inconsistent bounds or start point
 */
export async function leastSquares(
  problem: LeastSquaresProblem,
  x0: ArrayLike<number>,
  options: LeastSquaresOptions = {},
): Promise<LeastSquaresResult> {
  const n = x0.length;
  const lo = problem.lower;
  const hi = problem.upper;
  if (lo.length !== n || hi.length !== n) {
    throw new RangeError(
      `bounds have ${lo.length}/${hi.length} entries, the start point ${n}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (
      !(lo[i] < hi[i]) || !Number.isFinite(lo[i]) || !Number.isFinite(hi[i])
    ) {
      throw new RangeError(
        `bounds of parameter ${i} must be finite with lower < upper, got [${
          lo[i]
        }, ${hi[i]}]`,
      );
    }
    if (!Number.isFinite(x0[i])) {
      throw new RangeError(`start value of parameter ${i} is ${x0[i]}`);
    }
  }
  const ftol = options.ftol ?? 1e-8;
  const xtol = options.xtol ?? 1e-8;
  const gtol = options.gtol ?? 1e-8;
  const maxEval = options.maxEvaluations ?? 100 * (n + 1);
  const width = Float64Array.from(hi, (h, i) => h - lo[i]);
  const toX = (u: Float64Array): Float64Array =>
    Float64Array.from(
      u,
      (ui, i) => Math.min(hi[i], Math.max(lo[i], lo[i] + ui * width[i])),
    );
  let u = Float64Array.from(
    { length: n },
    (_, i) => Math.min(1, Math.max(0, (x0[i] - lo[i]) / width[i])),
  );
  let evaluations = 0;
  let jacobians = 0;
  let iterations = 0;

  const sumsq = (r: Float64Array): number => {
    let s = 0;
    for (let k = 0; k < r.length; k++) s += r[k] * r[k];
    return s;
  };
  const finite = (r: Float64Array): boolean => {
    for (let k = 0; k < r.length; k++) if (!Number.isFinite(r[k])) return false;
    return true;
  };

  // Jacobian in normalized coordinates (columns ∂r/∂u_j), residuals unscaled
  const jacobian = async (
    uu: Float64Array,
    r: Float64Array,
  ): Promise<Float64Array[]> => {
    jacobians++;
    if (problem.residualsAndJacobian) {
      const { columns } = await problem.residualsAndJacobian(toX(uu));
      return columns.map((c, j) => Float64Array.from(c, (v) => v * width[j]));
    }
    const pts: Float64Array[] = [];
    const hs: number[] = [];
    for (let j = 0; j < n; j++) {
      const p = Float64Array.from(uu);
      let h = Math.sqrt(EPS) * Math.max(Math.abs(uu[j]), 1e-3);
      if (uu[j] + h > 1) h = -h;
      p[j] = uu[j] + h;
      hs.push(p[j] - uu[j]);
      pts.push(p);
    }
    const rs = await problem.residuals(pts.map(toX));
    evaluations += n;
    return rs.map((rj, j) => {
      const c = new Float64Array(r.length);
      for (let k = 0; k < r.length; k++) c[k] = (rj[k] - r[k]) / hs[j];
      return c;
    });
  };

  let r: Float64Array;
  let J: Float64Array[];
  if (problem.residualsAndJacobian) {
    const out = await problem.residualsAndJacobian(toX(u));
    evaluations++;
    jacobians++;
    r = out.r;
    J = out.columns.map((c, j) => Float64Array.from(c, (v) => v * width[j]));
  } else {
    [r] = await problem.residuals([toX(u)]);
    evaluations++;
    J = [];
  }
  let cost = sumsq(r);
  options.onEvaluation?.(toX(u), cost);
  const result = (message: string, status: number): LeastSquaresResult => ({
    x: toX(u),
    cost,
    evaluations,
    jacobians,
    iterations,
    message,
    status,
  });
  if (!Number.isFinite(cost) || !finite(r)) {
    return result("the residuals at the start point are not finite", 4);
  }
  if (cost === 0) {
    return result("the cost is exactly zero at the start point", 1);
  }
  // residual scale: normalized cost starts at 1
  const scale = 1 / cost;
  if (!problem.residualsAndJacobian) J = await jacobian(u, r);

  let lambda = -1;
  let nu = 2;
  for (;;) {
    // normal equations in normalized units
    const A = new Float64Array(n * n);
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const ci = J[i];
      let s = 0;
      for (let k = 0; k < r.length; k++) s += ci[k] * r[k];
      g[i] = s * scale;
      for (let j = 0; j <= i; j++) {
        const cj = J[j];
        let t = 0;
        for (let k = 0; k < r.length; k++) t += ci[k] * cj[k];
        A[i * n + j] = A[j * n + i] = t * scale;
      }
    }
    // projected gradient (of the normalized cost ½Σr̃²)
    let pg = 0;
    const free: number[] = [];
    for (let i = 0; i < n; i++) {
      const step = Math.min(1, Math.max(0, u[i] - g[i])) - u[i];
      pg = Math.max(pg, Math.abs(step));
      const atLow = u[i] <= 0 && g[i] > 0;
      const atHigh = u[i] >= 1 && g[i] < 0;
      if (!atLow && !atHigh) free.push(i);
    }
    if (pg <= gtol) {
      return result("`gtol` termination condition is satisfied", 1);
    }
    if (free.length === 0) {
      return result(
        "every parameter is at a bound with the gradient pointing outward",
        1,
      );
    }
    let maxDiag = 0;
    for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, A[i * n + i]);
    if (lambda < 0) lambda = 1e-3; // Marquardt: A + λ·diag(A), λ dimensionless
    // inner loop: find an acceptable step
    for (;;) {
      if (evaluations >= maxEval) {
        return result("the maximum number of evaluations is exceeded", 0);
      }
      const m = free.length;
      const M = new Float64Array(m * m);
      const b = new Float64Array(m);
      for (let a = 0; a < m; a++) {
        const i = free[a];
        b[a] = -g[i];
        for (let c = 0; c < m; c++) M[a * m + c] = A[i * n + free[c]];
        const di = Math.max(A[i * n + i], 1e-12 * maxDiag, 1e-300);
        M[a * m + a] += lambda * di;
      }
      const sol = solveSpd(M, b, m);
      const d = new Float64Array(n);
      const uNew = Float64Array.from(u);
      if (sol) {
        for (let a = 0; a < m; a++) {
          const i = free[a];
          uNew[i] = Math.min(1, Math.max(0, u[i] + sol[a]));
          d[i] = uNew[i] - u[i];
        }
      }
      let dn = 0;
      let un = 0;
      for (let i = 0; i < n; i++) {
        dn += d[i] * d[i];
        un += u[i] * u[i];
      }
      dn = Math.sqrt(dn);
      un = Math.sqrt(un);
      const tinyStep = dn <= xtol * (xtol + un);
      if (dn === 0) {
        return result("`xtol` termination condition is satisfied", 3);
      }
      // predicted reduction of the normalized cost Σr̃²: −(2gᵀd + dᵀAd)
      let gd = 0;
      let dAd = 0;
      for (let i = 0; i < n; i++) {
        gd += g[i] * d[i];
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * d[j];
        dAd += d[i] * s;
      }
      const pred = -(2 * gd + dAd);
      let rNew: Float64Array;
      let jNew: Float64Array[] | null = null;
      if (problem.residualsAndJacobian) {
        const out = await problem.residualsAndJacobian(toX(uNew));
        jacobians++;
        rNew = out.r;
        jNew = out.columns.map((c, j) =>
          Float64Array.from(c, (v) => v * width[j])
        );
      } else {
        [rNew] = await problem.residuals([toX(uNew)]);
      }
      evaluations++;
      iterations++;
      const costNew = sumsq(rNew);
      options.onEvaluation?.(toX(uNew), costNew);
      const ok = Number.isFinite(costNew) && finite(rNew);
      const actual = ok ? (cost - costNew) * scale : -Infinity;
      const rho = pred > 0 ? actual / pred : -1;
      if (ok && actual > 0 && rho > 0) {
        const small = actual <= ftol * cost * scale &&
          pred <= ftol * cost * scale;
        u = uNew;
        r = rNew;
        cost = costNew;
        lambda *= Math.max(1 / 3, 1 - (2 * rho - 1) ** 3);
        nu = 2;
        if (small) {
          return result("`ftol` termination condition is satisfied", 2);
        }
        if (tinyStep) {
          return result("`xtol` termination condition is satisfied", 3);
        }
        if (evaluations >= maxEval) {
          return result("the maximum number of evaluations is exceeded", 0);
        }
        J = jNew ?? await jacobian(u, r);
        break;
      }
      if (tinyStep) {
        return result("`xtol` termination condition is satisfied", 3);
      }
      lambda *= nu;
      nu *= 2;
      if (!Number.isFinite(lambda) || lambda > 1e300) {
        return result("no step reduces the cost (damping overflow)", 3);
      }
    }
  }
}

/**
 * Solve `M x = b` for a symmetric positive (semi)definite `M` (Cholesky, with
 * a Gaussian-elimination fallback).
 */
function solveSpd(
  M: Float64Array,
  b: Float64Array,
  m: number,
): Float64Array | null {
  const L = new Float64Array(m * m);
  let ok = true;
  for (let i = 0; i < m && ok; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * m + j];
      for (let k = 0; k < j; k++) s -= L[i * m + k] * L[j * m + k];
      if (i === j) {
        if (!(s > 0)) {
          ok = false;
          break;
        }
        L[i * m + i] = Math.sqrt(s);
      } else L[i * m + j] = s / L[j * m + j];
    }
  }
  if (ok) {
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= L[i * m + k] * y[k];
      y[i] = s / L[i * m + i];
    }
    const x = new Float64Array(m);
    for (let i = m - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < m; k++) s -= L[k * m + i] * x[k];
      x[i] = s / L[i * m + i];
    }
    return x;
  }
  // Gaussian elimination with partial pivoting
  const a = Float64Array.from(M);
  const x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) {
      if (Math.abs(a[r * m + c]) > Math.abs(a[p * m + c])) p = r;
    }
    if (a[p * m + c] === 0) return null;
    if (p !== c) {
      for (let k = 0; k < m; k++) {
        [a[c * m + k], a[p * m + k]] = [a[p * m + k], a[c * m + k]];
      }
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < m; r++) {
      const f = a[r * m + c] / a[c * m + c];
      for (let k = c; k < m; k++) a[r * m + k] -= f * a[c * m + k];
      x[r] -= f * x[c];
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < m; k++) s -= a[i * m + k] * x[k];
    x[i] = s / a[i * m + i];
  }
  return x;
}
