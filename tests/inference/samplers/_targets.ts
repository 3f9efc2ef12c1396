// Test targets with exact samplers: a 2-D banana inside a box and a
// correlated 10-D Gaussian.
import assert from "node:assert/strict";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { c2st } from "../../../lib/inference/diagnostics/c2st.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import { BoxUniform } from "../../../lib/inference/priors/box_uniform.ts";

export const bananaBox = new BoxUniform({ low: [-4, -3], high: [4, 9] });

/** theta1 ~ N(0,1), theta2 | theta1 ~ N(0.5 theta1^2, 0.5^2), truncated to the box. */
export function bananaPotential(t: Matrix): Float64Array {
  const out = new Float64Array(t.rows);
  for (let i = 0; i < t.rows; i++) {
    const a = t.data[2 * i], b = t.data[2 * i + 1];
    if (!bananaBox.inSupport([a, b])) {
      out[i] = -Infinity;
      continue;
    }
    const r = (b - 0.5 * a * a) / 0.5;
    out[i] = -0.5 * a * a - 0.5 * r * r;
  }
  return out;
}

export function bananaExact(n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const m = new Matrix(n, 2);
  for (let k = 0; k < n;) {
    const a = rng.normal();
    const b = 0.5 * a * a + 0.5 * rng.normal();
    if (!bananaBox.inSupport([a, b])) continue;
    m.data[2 * k] = a;
    m.data[2 * k + 1] = b;
    k++;
  }
  return m;
}

export const D = 10;
export const gMean = Array.from({ length: D }, (_, j) => 0.3 * j - 1);
const sd = Array.from({ length: D }, (_, j) => 0.5 + 0.1 * j);
export const gCov = Array.from(
  { length: D },
  (_, i) =>
    Array.from({ length: D }, (_, j) => sd[i] * sd[j] * 0.6 ** Math.abs(i - j)),
);

function chol(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(s) : s / l[j][j];
    }
  }
  return l;
}
const L = chol(gCov);

/** Solves L y = v for the Mahalanobis form. */
export function gaussPotential(t: Matrix): Float64Array {
  const out = new Float64Array(t.rows);
  const y = new Float64Array(D);
  for (let r = 0; r < t.rows; r++) {
    let q = 0;
    for (let i = 0; i < D; i++) {
      let s = t.data[r * D + i] - gMean[i];
      for (let k = 0; k < i; k++) s -= L[i][k] * y[k];
      y[i] = s / L[i][i];
      q += y[i] * y[i];
    }
    out[r] = -0.5 * q;
  }
  return out;
}

export function gaussExact(n: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const m = new Matrix(n, D);
  const z = new Float64Array(D);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < D; i++) z[i] = rng.normal();
    for (let i = 0; i < D; i++) {
      let s = gMean[i];
      for (let k = 0; k <= i; k++) s += L[i][k] * z[k];
      m.data[r * D + i] = s;
    }
  }
  return m;
}

export function meanCov(m: Matrix): { mean: Float64Array; cov: Float64Array } {
  const d = m.cols;
  const mean = new Float64Array(d);
  for (let r = 0; r < m.rows; r++) {
    for (let j = 0; j < d; j++) mean[j] += m.data[r * d + j] / m.rows;
  }
  const cov = new Float64Array(d * d);
  for (let r = 0; r < m.rows; r++) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        cov[i * d + j] += (m.data[r * d + i] - mean[i]) *
          (m.data[r * d + j] - mean[j]) / (m.rows - 1);
      }
    }
  }
  return { mean, cov };
}

/** Largest |mean difference| / sd and largest |cov difference| / (sd_i sd_j). */
export function momentErrors(
  a: Matrix,
  ref: Matrix,
): { meanErr: number; covErr: number } {
  const A = meanCov(a), B = meanCov(ref);
  const d = a.cols;
  let meanErr = 0, covErr = 0;
  for (let i = 0; i < d; i++) {
    const si = Math.sqrt(B.cov[i * d + i]);
    meanErr = Math.max(meanErr, Math.abs(A.mean[i] - B.mean[i]) / si);
    for (let j = 0; j < d; j++) {
      const sj = Math.sqrt(B.cov[j * d + j]);
      covErr = Math.max(
        covErr,
        Math.abs(A.cov[i * d + j] - B.cov[i * d + j]) / (si * sj),
      );
    }
  }
  return { meanErr, covErr };
}

/**
 * Largest C2ST accuracy that exact samples reach with probability 0.999:
 * with `nTest` held-out predictions (the folds run), an exact sampler's
 * labels are independent of the data, so each held-out prediction is right
 * with probability 1/2 whatever the classifier; the correct count of a
 * balanced fold has variance n q (1 - q) <= n/4, and the accuracy exceeds
 * 0.5 + 3.09 * 0.5 / sqrt(nTest) with probability <= Phi(-3.09) = 0.1%.
 * Never below 0.55 (the sbibm-style bar) so that samplers are not held to
 * more than the exact answer can show.
 * @param nTest held-out predictions
 * @returns the threshold
 */
export function c2stThreshold(nTest: number): number {
  return Math.max(0.55, 0.5 + 3.09 * 0.5 / Math.sqrt(nTest));
}

/**
 * Asserts that sampler output matches exact samples: as many rows as `exact`,
 * moment errors against `exactBig` (mean < `meanTol`, covariance < 0.3) and
 * C2ST against `exact` <= {@linkcode c2stThreshold} of the held-out
 * predictions (0.55 at 5 folds of 2 x 1,000 rows; 0.571 for 2 of 5 folds of
 * 2 x 600); logs the three numbers under `label`.
 */
export async function checkSamples(
  label: string,
  s: Matrix,
  exact: Matrix,
  exactBig: Matrix,
  options: { meanTol: number; foldsToRun?: number },
): Promise<void> {
  assert.equal(s.rows, exact.rows);
  // exact samples: per dimension the mean difference has sd
  // sqrt(1/n + 1/nBig) ~ 0.033 (n = 1,000) and 0.042 (n = 600), so meanTol
  // 0.2 / 0.25 is >= 6 sd even as the largest of 10 dimensions; a covariance
  // entry has sd <= sqrt((1 + rho^2)/n) <= 0.058, 0.3 is > 5 sd over 100
  // entries: the exact answer fails either with probability < 1e-4
  const { meanErr, covErr } = momentErrors(s, exactBig);
  const acc = await c2st(exact, s, {
    seed: 1,
    ...(options.foldsToRun ? { foldsToRun: options.foldsToRun } : {}),
  });
  console.log(
    `${label}: meanErr ${meanErr.toFixed(3)} covErr ${covErr.toFixed(3)} c2st ${
      acc.toFixed(3)
    }`,
  );
  assert.ok(meanErr < options.meanTol, `${label} mean error ${meanErr}`);
  assert.ok(covErr < 0.3, `${label} covariance error ${covErr}`);
  const nFolds = 5;
  const folds = options.foldsToRun ?? nFolds;
  const nTest = Math.floor((folds * (exact.rows + s.rows)) / nFolds);
  const thr = c2stThreshold(nTest);
  assert.ok(acc <= thr, `${label} c2st ${acc} > ${thr.toFixed(3)}`);
}
