/**
 * Density estimates on regular grids for the posterior plots: histograms,
 * Gaussian kernel density estimates with Scott's bandwidth, highest-density
 * region thresholds and contour polygons (d3-contour marching squares).
 * @module
 */

import { contours } from "./_deps.ts";

/** Finite samples of `x` that lie in `[lo, hi]`. */
function inRange(x: ArrayLike<number>, lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isFinite(v) && v >= lo && v <= hi) out.push(v);
  }
  return out;
}

function meanVar(x: ArrayLike<number>): [number, number] {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - m) ** 2;
  return [m, n > 1 ? v / (n - 1) : 0];
}

/**
 * Normalised histogram (a density: integrates to the fraction of samples
 * inside the limits) over `bins` equal bins of `[lo, hi]`.
 * @returns bin edges (`bins + 1`) and densities (`bins`)
 */
export function histogram1d(
  x: ArrayLike<number>,
  lo: number,
  hi: number,
  bins: number,
): { edges: number[]; density: number[] } {
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) continue;
    n++;
    if (v < lo || v > hi) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return {
    edges: Array.from({ length: bins + 1 }, (_, k) => lo + k * w),
    density: counts.map((c) => (n > 0 ? c / (n * w) : 0)),
  };
}

/** 2-D histogram counts, `counts[by * bins + bx]`. */
export function histogram2d(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  xl: [number, number],
  yl: [number, number],
  bins: number,
): Float64Array {
  const c = new Float64Array(bins * bins);
  const wx = (xl[1] - xl[0]) / bins, wy = (yl[1] - yl[0]) / bins;
  for (let i = 0; i < x.length; i++) {
    const a = x[i], b = y[i];
    if (!(a >= xl[0] && a <= xl[1] && b >= yl[0] && b <= yl[1])) continue;
    const bx = Math.min(bins - 1, Math.floor((a - xl[0]) / wx));
    const by = Math.min(bins - 1, Math.floor((b - yl[0]) / wy));
    c[by * bins + bx]++;
  }
  return c;
}

/**
 * 1-D Gaussian KDE evaluated at `points` grid cell centres over `[lo, hi]`,
 * with Scott's rule bandwidth `h = σ n^(-1/5)` (Scott 1992, "Multivariate
 * Density Estimation", eq. 6.42; scipy.stats.gaussian_kde's default). Kernels
 * are truncated at 6 h. Normalised over all samples, so the grid integral is
 * the mass inside the limits.
 * @returns grid cell centres and density values
 */
export function kde1d(
  x: ArrayLike<number>,
  lo: number,
  hi: number,
  points = 128,
): { grid: number[]; density: number[] } {
  const xs = inRange(x, -Infinity, Infinity);
  const n = xs.length;
  const dx = (hi - lo) / points;
  const grid = Array.from({ length: points }, (_, k) => lo + (k + 0.5) * dx);
  const density = new Array<number>(points).fill(0);
  if (n === 0) return { grid, density };
  const [, v] = meanVar(xs);
  let h = Math.sqrt(v) * n ** (-1 / 5);
  if (!(h > 0)) h = dx; // all samples equal: one grid cell wide
  const c = 1 / (n * h * Math.sqrt(2 * Math.PI));
  const reach = 6 * h;
  for (const s of xs) {
    const k0 = Math.max(0, Math.floor((s - reach - lo) / dx));
    const k1 = Math.min(points - 1, Math.ceil((s + reach - lo) / dx));
    for (let k = k0; k <= k1; k++) {
      const z = (grid[k] - s) / h;
      density[k] += c * Math.exp(-0.5 * z * z);
    }
  }
  return { grid, density };
}

/** A 2-D density on a `size × size` grid of cell centres, `values[iy * size + ix]`. */
export interface Grid2d {
  /** Grid cells per side. */
  size: number;
  /** Limits of x. */
  xl: [number, number];
  /** Limits of y. */
  yl: [number, number];
  /** Density values, x fastest. */
  values: Float64Array;
}

/**
 * 2-D Gaussian KDE with a full bandwidth matrix: the sample covariance times
 * Scott's factor squared, `n^(-2/(d+4))` with d = 2 (as scipy.stats.gaussian_kde),
 * evaluated at the cell centres of a `size × size` grid. Kernels are cut at
 * Mahalanobis distance 5 (drops ~4e-6 of the mass).
 */
export function kde2d(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  xl: [number, number],
  yl: [number, number],
  size = 64,
): Grid2d {
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      xs.push(x[i]);
      ys.push(y[i]);
    }
  }
  const n = xs.length;
  const values = new Float64Array(size * size);
  const out: Grid2d = { size, xl, yl, values };
  if (n === 0) return out;
  const dx = (xl[1] - xl[0]) / size, dy = (yl[1] - yl[0]) / size;
  const [mx, vx] = meanVar(xs), [my, vy] = meanVar(ys);
  let cxy = 0;
  for (let i = 0; i < n; i++) cxy += (xs[i] - mx) * (ys[i] - my);
  cxy = n > 1 ? cxy / (n - 1) : 0;
  const f2 = n ** (-2 / 6);
  let a = vx * f2, d = vy * f2, b = cxy * f2;
  // degenerate directions: at least a grid cell of width
  a = Math.max(a, (dx * dx) / 4);
  d = Math.max(d, (dy * dy) / 4);
  let det = a * d - b * b;
  if (!(det > 1e-12 * a * d)) {
    b = 0;
    det = a * d;
  }
  const ia = d / det, id = a / det, ib = -b / det;
  const c = 1 / (n * 2 * Math.PI * Math.sqrt(det));
  const rx = 5 * Math.sqrt(a), ry = 5 * Math.sqrt(d);
  for (let i = 0; i < n; i++) {
    const sx = xs[i], sy = ys[i];
    const x0 = Math.max(0, Math.floor((sx - rx - xl[0]) / dx));
    const x1 = Math.min(size - 1, Math.ceil((sx + rx - xl[0]) / dx));
    const y0 = Math.max(0, Math.floor((sy - ry - yl[0]) / dy));
    const y1 = Math.min(size - 1, Math.ceil((sy + ry - yl[0]) / dy));
    for (let iy = y0; iy <= y1; iy++) {
      const ey = yl[0] + (iy + 0.5) * dy - sy;
      const row = iy * size;
      for (let ix = x0; ix <= x1; ix++) {
        const ex = xl[0] + (ix + 0.5) * dx - sx;
        const q = ia * ex * ex + 2 * ib * ex * ey + id * ey * ey;
        if (q < 25) values[row + ix] += c * Math.exp(-0.5 * q);
      }
    }
  }
  return out;
}

/**
 * Highest-density-region thresholds: for each probability `p`, the density
 * value t such that the grid cells with density ≥ t hold the fraction `p` of
 * the grid's mass (Hyndman 1996, "Computing and graphing highest density
 * regions", Am. Stat. 50(2)).
 */
export function hdrThresholds(
  values: ArrayLike<number>,
  levels: readonly number[],
): number[] {
  const sorted = Float64Array.from(values).sort().reverse();
  let total = 0;
  for (const v of sorted) total += v;
  return levels.map((p) => {
    if (!(p > 0 && p < 1)) {
      throw new RangeError(`contour levels must be in (0, 1), got ${p}`);
    }
    let acc = 0;
    for (let k = 0; k < sorted.length; k++) {
      acc += sorted[k];
      if (acc >= p * total) return sorted[k];
    }
    return sorted[sorted.length - 1];
  });
}

/** One HDR contour in data coordinates: polygons of rings of `[x, y]` points. */
export interface DensityContour {
  /** Probability mass the region holds (e.g. 0.68). */
  level: number;
  /** Density threshold on the grid. */
  threshold: number;
  /** GeoJSON-style MultiPolygon coordinates, in data units. */
  polygons: [number, number][][][];
}

/**
 * Contours of a grid density at HDR levels, via d3-contour's marching squares.
 * d3-contour puts grid value i at coordinate i + 0.5, which matches the grid's
 * cell centres, so coordinate c maps to `lo + c * cell`.
 */
export function gridContours(
  g: Grid2d,
  levels: readonly number[],
): DensityContour[] {
  const th = hdrThresholds(g.values, levels);
  const gen = contours().size([g.size, g.size]);
  const dx = (g.xl[1] - g.xl[0]) / g.size, dy = (g.yl[1] - g.yl[0]) / g.size;
  return levels.map((level, k) => {
    const mp = gen.contour(Array.from(g.values), th[k]);
    const polygons = mp.coordinates.map((poly) =>
      poly.map((ring) =>
        ring.map((p) =>
          [g.xl[0] + p[0] * dx, g.yl[0] + p[1] * dy] as [number, number]
        )
      )
    );
    return { level, threshold: th[k], polygons };
  });
}

/** Even-odd point-in-polygon test over every ring of a contour. */
export function insideContour(
  c: DensityContour,
  x: number,
  y: number,
): boolean {
  let inside = false;
  for (const poly of c.polygons) {
    for (const ring of poly) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i], [xj, yj] = ring[j];
        if (
          (yi > y) !== (yj > y) &&
          x < ((xj - xi) * (y - yi)) / (yj - yi) + xi
        ) inside = !inside;
      }
    }
  }
  return inside;
}
