/**
 * Likelihood-based potential of NLE: U(θ) = Σ_k log q(x_o^k | θ) + log p(θ)
 * for iid observations x_o^1..x_o^K (the likelihoods multiply; Papamakarios,
 * Sterratt & Murray 2019, "Sequential neural likelihood", eq. for the
 * posterior ∝ q(x_o | θ) p(θ)). Rows outside the prior support get
 * `-Infinity` without a network call; all other (θ, x_o^k) pairs go to the
 * estimator in one batch (chunked by the estimator).
 * @module
 */
import { Matrix, type MatrixLike } from "../matrix.ts";
import type { Prior } from "../priors/prior.ts";
import type { DensityEstimator } from "../estimators/density_estimator.ts";
import type { GradPotential, Potential } from "./potential.ts";
import { iidGradPotential, iidPotential } from "./_iid.ts";

/**
 * Normalises one or several observations to a K x xDim matrix.
 * @param x one observation (vector) or several iid observations (rows)
 * @param xDim data dimension
 * @returns the observations as rows
 * @throws {TypeError} on a column-count mismatch
 */
export function observationRows(
  x: ArrayLike<number> | MatrixLike,
  xDim: number,
): Matrix {
  let m: Matrix;
  if (x instanceof Matrix) m = x;
  else if (
    Array.isArray(x) && x.length > 0 && typeof x[0] === "object" &&
    x[0] !== null
  ) {
    m = Matrix.of(x as MatrixLike);
  } else {
    const v = Float32Array.from(x as ArrayLike<number>);
    m = new Matrix(1, v.length, v);
  }
  if (m.cols !== xDim || m.rows < 1) {
    throw new TypeError(
      `observation has ${m.rows} rows of ${m.cols} values, expected rows of ${xDim}`,
    );
  }
  return m;
}

/**
 * Builds the batched potential log q(x_o | θ) + log p(θ) of a likelihood
 * estimator (trained with x as the modelled variable and θ as the context).
 * @param estimator the trained likelihood estimator (`config.thetaDim` = x dim)
 * @param prior the prior
 * @param xo one observation, or iid observations as rows
 * @returns the potential
 * @throws {TypeError} on dimension mismatches
 */
export function likelihoodPotential(
  estimator: DensityEstimator,
  prior: Prior,
  xo: ArrayLike<number> | MatrixLike,
): Potential {
  const dx = estimator.config.thetaDim;
  const dt = estimator.config.xDim;
  if (prior.dim !== dt) {
    throw new TypeError(
      `prior dim ${prior.dim} != likelihood estimator context dim ${dt}`,
    );
  }
  return iidPotential(
    prior,
    observationRows(xo, dx),
    (th, xs, m) => estimator.logProb(xs, th, m),
  );
}

/**
 * The gradient version of {@linkcode likelihoodPotential} for HMC / NUTS:
 * log q(x_o | θ) + log p(θ) and its gradient w.r.t. θ, i.e. the estimator's
 * gradient w.r.t. its context (summed over the iid observations) plus the
 * prior's `gradLogProb`. Rows outside the prior support get `-Infinity` (and
 * a zero gradient) without a network call.
 * @param estimator the trained likelihood estimator (`config.thetaDim` = x dim)
 * @param prior the prior; must have `gradLogProb`
 * @param xo one observation, or iid observations as rows
 * @returns the gradient potential
 * @throws {TypeError} on dimension mismatches or a prior without `gradLogProb`
 */
export function likelihoodGradPotential(
  estimator: DensityEstimator,
  prior: Prior,
  xo: ArrayLike<number> | MatrixLike,
): GradPotential {
  const dx = estimator.config.thetaDim;
  const dt = estimator.config.xDim;
  if (prior.dim !== dt) {
    throw new TypeError(
      `prior dim ${prior.dim} != likelihood estimator context dim ${dt}`,
    );
  }
  return iidGradPotential(
    prior,
    observationRows(xo, dx),
    (th, xs, m) => estimator.logProbWithContextGrad(xs, th, m),
  );
}
