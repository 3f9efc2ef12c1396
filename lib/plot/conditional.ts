/**
 * Conditional views of a density, as sbi's `conditional_pairplot` and
 * `conditional_corrcoeff`: two-dimensional slices of a (log) density through
 * a condition point, drawn as an SVG pair plot or reduced to a correlation
 * matrix, plus a heat-map of such a matrix.
 * @module
 */

import { scaleLinear } from "./_deps.ts";
import {
  escapeXml,
  f1,
  linear,
  panelGroup,
  svgClose,
  svgOpen,
  xAxis,
  yAxis,
} from "./_svg.ts";

/**
 * A log density evaluated on a batch of parameter rows, e.g.
 * `(thetas) => posterior.logProb(thetas, { x })`. May return a promise.
 */
export type LogDensityFn = (
  thetas: number[][],
) => ArrayLike<number> | Promise<ArrayLike<number>>;

/** Options of {@linkcode conditionalCorrcoeff}. */
export interface ConditionalCorrcoeffOptions {
  /** The point the slices go through (one value per dimension). */
  condition: ArrayLike<number>;
  /** `[lo, hi]` per dimension, or one pair for all. */
  limits: [number, number][] | [number, number];
  /** Grid points per side of each slice. Default 50. */
  resolution?: number;
}

/** Options of {@linkcode conditionalPairplot}. */
export interface ConditionalPairplotOptions
  extends ConditionalCorrcoeffOptions {
  /** Axis label per dimension. Default `θ1`, `θ2`, …. */
  labels?: string[];
  /** Extra reference points drawn as markers (the condition is always drawn). */
  points?: ArrayLike<number>[];
  /** Colour of the densities. Default `"#1f77b4"`. */
  color?: string;
  /** Figure width in pixels. Default 70 + 150 per dimension. */
  width?: number;
  /** Figure title. */
  title?: string;
}

function normLimits(
  limits: [number, number][] | [number, number],
  d: number,
  what: string,
): [number, number][] {
  const l: [number, number][] = typeof limits[0] === "number"
    ? Array.from(
      { length: d },
      () => [...(limits as [number, number])] as [number, number],
    )
    : limits as [number, number][];
  if (l.length !== d) {
    throw new TypeError(`${what}: ${l.length} limits for ${d} dimensions`);
  }
  l.forEach(([lo, hi], j) => {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new RangeError(
        `${what}: limits[${j}] = [${lo}, ${hi}] is not an interval`,
      );
    }
  });
  return l;
}

function checkRes(res: number, what: string): void {
  if (!Number.isInteger(res) || res < 2) {
    throw new RangeError(
      `${what}: resolution must be an integer ≥ 2, got ${res}`,
    );
  }
}

/** Grid cell centres of `[lo, hi]`. */
function cells(l: [number, number], res: number): number[] {
  const w = (l[1] - l[0]) / res;
  return Array.from({ length: res }, (_, k) => l[0] + (k + 0.5) * w);
}

/** exp(logp - max), normalised to sum 1; non-finite log densities count as 0. */
async function evalProbs(
  density: LogDensityFn,
  thetas: number[][],
  what: string,
): Promise<Float64Array> {
  const lp = await density(thetas);
  if (!lp || lp.length !== thetas.length) {
    throw new TypeError(
      `${what}: density returned ${lp?.length} values for ${thetas.length} rows`,
    );
  }
  let max = -Infinity;
  for (let k = 0; k < lp.length; k++) {
    if (Number.isFinite(lp[k]) && lp[k] > max) max = lp[k];
  }
  if (max === -Infinity) {
    throw new RangeError(
      `${what}: the density is zero (or not finite) on the whole slice`,
    );
  }
  const p = new Float64Array(lp.length);
  let s = 0;
  for (let k = 0; k < lp.length; k++) {
    p[k] = Number.isFinite(lp[k]) ? Math.exp(lp[k] - max) : 0;
    s += p[k];
  }
  for (let k = 0; k < p.length; k++) p[k] /= s;
  return p;
}

/** 1-D slice along dimension j: probabilities at the cell centres. */
function slice1d(
  density: LogDensityFn,
  cond: ArrayLike<number>,
  j: number,
  l: [number, number],
  res: number,
  what: string,
): Promise<Float64Array> {
  const thetas = cells(l, res).map((v) => {
    const t = Array.from(cond);
    t[j] = v;
    return t;
  });
  return evalProbs(density, thetas, what);
}

/** 2-D slice over dimensions (j = x, i = y): `p[iy * res + ix]`. */
function slice2d(
  density: LogDensityFn,
  cond: ArrayLike<number>,
  i: number,
  j: number,
  li: [number, number],
  lj: [number, number],
  res: number,
  what: string,
): Promise<Float64Array> {
  const xs = cells(lj, res), ys = cells(li, res);
  const thetas: number[][] = [];
  for (let iy = 0; iy < res; iy++) {
    for (let ix = 0; ix < res; ix++) {
      const t = Array.from(cond);
      t[j] = xs[ix];
      t[i] = ys[iy];
      thetas.push(t);
    }
  }
  return evalProbs(density, thetas, what);
}

/**
 * Correlation matrix of the conditional density: entry (i, j) is the Pearson
 * correlation of the normalised 2-D slice of the density over dimensions i
 * and j with all other dimensions held at `condition`, computed on a grid
 * inside `limits` (as sbi's `conditional_corrcoeff`, which follows Gonçalves
 * et al. 2020, eLife 9:e56261, Fig. 4). The diagonal is 1.
 *
 * @param density log density of parameter rows (may be async)
 * @param options condition point, limits, grid resolution
 * @returns a symmetric `d × d` matrix
 * @throws {TypeError} when the limits or the density output do not match the dimension
 * @throws {RangeError} for empty limits, a bad resolution or a slice with zero density
 *
 * @example
 * ```ts
 * import { conditionalCorrcoeff } from "./conditional.ts";
 * // bivariate normal with correlation 0.8
 * const rho = 0.8;
 * const logp = (t: number[][]) =>
 *   t.map(([x, y]) => -(x * x - 2 * rho * x * y + y * y) / (2 * (1 - rho * rho)));
 * const c = await conditionalCorrcoeff(logp, { condition: [0, 0], limits: [-5, 5] });
 * if (Math.abs(c[0][1] - rho) > 0.02) throw new Error(`got ${c[0][1]}`);
 * ```
 */
export async function conditionalCorrcoeff(
  density: LogDensityFn,
  options: ConditionalCorrcoeffOptions,
): Promise<number[][]> {
  const what = "conditionalCorrcoeff";
  const cond = options.condition;
  const d = cond.length;
  const lim = normLimits(options.limits, d, what);
  const res = options.resolution ?? 50;
  checkRes(res, what);
  const out: number[][] = Array.from(
    { length: d },
    (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const p = await slice2d(density, cond, i, j, lim[i], lim[j], res, what);
      const xs = cells(lim[j], res), ys = cells(lim[i], res);
      let mx = 0, my = 0;
      for (let iy = 0; iy < res; iy++) {
        for (let ix = 0; ix < res; ix++) {
          const w = p[iy * res + ix];
          mx += w * xs[ix];
          my += w * ys[iy];
        }
      }
      let vx = 0, vy = 0, cxy = 0;
      for (let iy = 0; iy < res; iy++) {
        for (let ix = 0; ix < res; ix++) {
          const w = p[iy * res + ix];
          const ex = xs[ix] - mx, ey = ys[iy] - my;
          vx += w * ex * ex;
          vy += w * ey * ey;
          cxy += w * ex * ey;
        }
      }
      const r = vx > 0 && vy > 0 ? cxy / Math.sqrt(vx * vy) : 0;
      out[i][j] = out[j][i] = r;
    }
  }
  return out;
}

/**
 * Draws 1-D and 2-D slices of a density through a condition point as a pair
 * plot (sbi's `conditional_pairplot`): the diagonal shows the density along
 * one dimension with all others at `condition`, the lower triangle the 2-D
 * slices as heat maps. The condition is marked in every panel.
 *
 * @param density log density of parameter rows (may be async), e.g.
 *   `(thetas) => posterior.logProb(thetas, { x })`
 * @param options condition, limits, resolution, labels, points, size
 * @returns a promise of a standalone SVG document
 * @throws {TypeError} when limits, labels or density output do not match the dimension
 * @throws {RangeError} for empty limits, a bad resolution or a slice with zero density
 *
 * @example
 * ```ts
 * import { conditionalPairplot } from "./conditional.ts";
 * const logp = (t: number[][]) => t.map((r) => -0.5 * r.reduce((s, v) => s + v * v, 0));
 * const svg = await conditionalPairplot(logp, {
 *   condition: [0, 0, 0], limits: [-3, 3], resolution: 20, labels: ["a", "b", "c"],
 * });
 * if ((svg.match(/class="panel/g) ?? []).length !== 6) throw new Error("panels");
 * ```
 */
export async function conditionalPairplot(
  density: LogDensityFn,
  options: ConditionalPairplotOptions,
): Promise<string> {
  const what = "conditionalPairplot";
  const cond = options.condition;
  const d = cond.length;
  if (d === 0) throw new TypeError(`${what}: condition is empty`);
  const lim = normLimits(options.limits, d, what);
  const res = options.resolution ?? 50;
  checkRes(res, what);
  const labels = options.labels ??
    Array.from({ length: d }, (_, j) => `θ${j + 1}`);
  if (labels.length !== d) {
    throw new TypeError(`${what}: ${labels.length} labels for ${d} dimensions`);
  }
  const color = escapeXml(options.color ?? "#1f77b4");
  const points = [cond, ...(options.points ?? [])];
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 46, left: 60 };
  const gap = 8;
  const width = options.width ?? m.left + m.right + 150 * d;
  const s = (width - m.left - m.right - gap * (d - 1)) / d;
  if (!(s > 10)) {
    throw new RangeError(
      `${what}: width ${width} leaves no room for ${d} panels`,
    );
  }
  const height = m.top + m.bottom + d * s + gap * (d - 1);
  const parts = svgOpen(width, height, options.title);
  const cw = s / res;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const body: string[] = [];
      const x = linear(lim[j], [0, s]);
      if (i === j) {
        const p = await slice1d(density, cond, j, lim[j], res, what);
        let max = 0;
        for (const v of p) max = Math.max(max, v);
        const y = linear([0, max * 1.05], [s, 0]);
        const xs = cells(lim[j], res);
        const pts = xs.map((v, k) => `${f1(x(v))},${f1(y(p[k]))}`);
        body.push(
          `<path class="slice" d="M${f1(x(xs[0]))},${f1(s)}L${pts.join("L")}L${
            f1(x(xs[res - 1]))
          },${
            f1(s)
          }Z" fill="${color}" fill-opacity="0.25" stroke="${color}" stroke-width="1.5"/>`,
        );
        for (const pt of points) {
          body.push(
            `<line class="point" x1="${f1(x(pt[j]))}" x2="${
              f1(x(pt[j]))
            }" y1="0" y2="${f1(s)}" stroke="black" stroke-width="1"/>`,
          );
        }
      } else {
        const p = await slice2d(
          density,
          cond,
          i,
          j,
          lim[i],
          lim[j],
          res,
          what,
        );
        let max = 0;
        for (const v of p) max = Math.max(max, v);
        for (let iy = 0; iy < res; iy++) {
          for (let ix = 0; ix < res; ix++) {
            const a = Math.round((p[iy * res + ix] / max) * 100) / 100;
            if (a < 0.01) continue;
            body.push(
              `<rect class="slice-cell" x="${f1(ix * cw)}" y="${
                f1(s - (iy + 1) * cw)
              }" width="${f1(cw + 0.05)}" height="${
                f1(cw + 0.05)
              }" fill="${color}" fill-opacity="${a}"/>`,
            );
          }
        }
        const y = linear(lim[i], [s, 0]);
        for (const pt of points) {
          body.push(
            `<circle class="point" cx="${f1(x(pt[j]))}" cy="${
              f1(y(pt[i]))
            }" r="4" fill="black" stroke="white" stroke-width="1"/>`,
          );
        }
      }
      const axes: string[] = [];
      if (i === d - 1) axes.push(...xAxis(lim[j], s, labels[j]));
      if (j === 0 && i > 0) axes.push(...yAxis(lim[i], s, labels[i]));
      parts.push(
        panelGroup(
          i === j ? "panel diag" : "panel offdiag",
          m.left + j * (s + gap),
          m.top + i * (s + gap),
          s,
          `conditional-clip-${i}-${j}`,
          body,
          axes,
        ),
      );
    }
  }
  return svgClose(parts);
}

/**
 * Draws a correlation matrix (e.g. from {@linkcode conditionalCorrcoeff}) as a
 * heat map from blue (−1) over white (0) to red (+1), values printed in the cells.
 *
 * @param matrix a square matrix of values in [−1, 1]
 * @param labels one label per row/column. Default `θ1`, `θ2`, ….
 * @param options figure width and title
 * @returns a standalone SVG document
 * @throws {TypeError} when the matrix is not square or the labels do not match
 *
 * @example
 * ```ts
 * import { corrcoeffSvg } from "./conditional.ts";
 * const svg = corrcoeffSvg([[1, 0.8], [0.8, 1]], ["a", "b"]);
 * if (!svg.includes(">0.80<")) throw new Error("value missing");
 * ```
 */
export function corrcoeffSvg(
  matrix: ArrayLike<number>[],
  labels?: string[],
  options: { width?: number; title?: string } = {},
): string {
  const d = matrix.length;
  if (d === 0 || matrix.some((r) => r.length !== d)) {
    throw new TypeError(
      `corrcoeffSvg: expected a square matrix, got ${d} rows of lengths ${
        matrix.map((r) => r.length).join(",")
      }`,
    );
  }
  const lab = labels ?? Array.from({ length: d }, (_, j) => `θ${j + 1}`);
  if (lab.length !== d) {
    throw new TypeError(`corrcoeffSvg: ${lab.length} labels for ${d} rows`);
  }
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 30, left: 60 };
  const width = options.width ?? m.left + m.right + 60 * d;
  const c = (width - m.left - m.right) / d;
  if (!(c > 4)) {
    throw new RangeError(`corrcoeffSvg: width ${width} is too small`);
  }
  const height = m.top + m.bottom + c * d;
  // diverging blue–white–red (ColorBrewer RdBu end points), interpolated by d3
  const col = scaleLinear<string>()
    .domain([-1, 0, 1])
    .range(["#2166ac", "#f7f7f7", "#b2182b"])
    .clamp(true);
  const parts = svgOpen(width, height, options.title);
  parts.push(`<g transform="translate(${m.left},${m.top})">`);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const v = matrix[i][j];
      const fill = Number.isFinite(v) ? String(col(v)) : "#cccccc";
      parts.push(
        `<rect class="cell" x="${f1(j * c)}" y="${f1(i * c)}" width="${
          f1(c)
        }" height="${f1(c)}" fill="${fill}" stroke="white"/>`,
        `<text x="${f1((j + 0.5) * c)}" y="${
          f1((i + 0.5) * c)
        }" dy="0.32em" text-anchor="middle" font-size="11">${
          Number.isFinite(v) ? v.toFixed(2) : "NaN"
        }</text>`,
      );
    }
    parts.push(
      `<text class="axis-label" x="-6" y="${
        f1((i + 0.5) * c)
      }" dy="0.32em" text-anchor="end">${escapeXml(lab[i])}</text>`,
      `<text class="axis-label" x="${f1((i + 0.5) * c)}" y="${
        f1(d * c + 16)
      }" text-anchor="middle">${escapeXml(lab[i])}</text>`,
    );
  }
  parts.push("</g>");
  return svgClose(parts);
}
