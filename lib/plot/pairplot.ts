/**
 * Pair plots and marginal plots of posterior samples as standalone SVG
 * strings, in the layout of sbi's `pairplot`/`marginal_plot`: one-dimensional
 * marginals (histogram or Gaussian KDE) on the diagonal, two-dimensional
 * marginals (2-D histogram, highest-density contours of a 2-D KDE, or scatter)
 * off the diagonal, ticks on the outer panels. d3-scale computes the axes,
 * d3-shape the KDE curves and d3-contour the density contours; no DOM.
 * @module
 */

import { area, line } from "./_deps.ts";
import {
  escapeXml,
  f1,
  isTableList,
  linear,
  PALETTE,
  panelGroup,
  type SampleTable,
  svgClose,
  svgOpen,
  toColumns,
  xAxis,
  yAxis,
} from "./_svg.ts";
import {
  gridContours,
  histogram1d,
  histogram2d,
  kde1d,
  kde2d,
} from "./_density.ts";

export type { SampleTable } from "./_svg.ts";

/** What a diagonal panel shows. */
export type DiagKind = "hist" | "kde" | "none";
/** What an off-diagonal panel shows. */
export type OffdiagKind = "hist2d" | "contour" | "scatter" | "none";

/** Options of {@linkcode pairplot} and {@linkcode marginalPlot}. */
export interface PairplotOptions {
  /** Axis label per dimension. Default `θ1`, `θ2`, …. */
  labels?: string[];
  /** `[lo, hi]` per dimension (or one pair for all). Default: the samples' range. */
  limits?: [number, number][] | [number, number];
  /** Reference points (e.g. ground truth), one full parameter vector each, drawn as markers. */
  points?: ArrayLike<number>[];
  /** Colours of the reference points. Default black, then the palette from its end. */
  pointColors?: string[];
  /** Diagonal panels. Default `"hist"`. */
  diag?: DiagKind;
  /** Lower-triangle panels. Default `"contour"`. */
  offdiag?: OffdiagKind;
  /** Upper-triangle panels. Default `"none"`. */
  upper?: OffdiagKind;
  /** Histogram bins per dimension (1-D and 2-D). Default 30. */
  bins?: number;
  /** Grid cells per side of the 2-D KDE behind contours. Default 60. */
  contourResolution?: number;
  /** Probability mass enclosed by each contour. Default `[0.68, 0.95]`. */
  levels?: number[];
  /** At most this many samples per set are drawn by `"scatter"` (the first ones). Default 1000. */
  maxScatter?: number;
  /** Figure width in pixels. Default 70 + 150 per dimension. */
  width?: number;
  /** Figure title. */
  title?: string;
  /** One colour per sample set. Default the tab10 palette. */
  colors?: string[];
  /** Legend names of the sample sets (shown when there are several). */
  names?: string[];
}

interface Prepared {
  sets: Float64Array[][];
  d: number;
  labels: string[];
  limits: [number, number][];
  colors: string[];
  points: ArrayLike<number>[];
  pointColors: string[];
  bins: number;
}

function prepare(
  samples: SampleTable | SampleTable[],
  o: PairplotOptions,
  what: string,
): Prepared {
  const tables = isTableList(samples) ? samples : [samples as SampleTable];
  const sets = tables.map((t, k) => toColumns(t, `${what}: sample set ${k}`));
  const d = sets[0].length;
  if (d === 0) throw new TypeError(`${what}: samples have no columns`);
  sets.forEach((s, k) => {
    if (s.length !== d) {
      throw new TypeError(
        `${what}: sample set ${k} has ${s.length} dimensions, set 0 has ${d}`,
      );
    }
  });
  const bins = o.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(
      `${what}: bins must be a positive integer, got ${bins}`,
    );
  }
  const labels = o.labels ?? Array.from({ length: d }, (_, j) => `θ${j + 1}`);
  if (labels.length !== d) {
    throw new TypeError(`${what}: ${labels.length} labels for ${d} dimensions`);
  }
  let limits: [number, number][];
  if (o.limits === undefined) {
    limits = Array.from({ length: d }, (_, j) => {
      let lo = Infinity, hi = -Infinity;
      for (const s of sets) {
        for (const v of s[j]) {
          if (Number.isFinite(v)) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
        }
      }
      if (!Number.isFinite(lo)) return [0, 1];
      if (lo === hi) return [lo - 0.5, hi + 0.5];
      return [lo, hi];
    });
  } else if (typeof o.limits[0] === "number") {
    const l = o.limits as [number, number];
    limits = Array.from({ length: d }, () => [l[0], l[1]]);
  } else limits = o.limits as [number, number][];
  if (limits.length !== d) {
    throw new TypeError(`${what}: ${limits.length} limits for ${d} dimensions`);
  }
  limits.forEach(([lo, hi], j) => {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new RangeError(
        `${what}: limits[${j}] = [${lo}, ${hi}] is not an interval`,
      );
    }
  });
  const points = o.points ?? [];
  points.forEach((p, k) => {
    if (p.length !== d) {
      throw new TypeError(
        `${what}: point ${k} has ${p.length} values, expected ${d}`,
      );
    }
  });
  const colors = sets.map((_, k) =>
    o.colors?.[k] ?? PALETTE[k % PALETTE.length]
  );
  const pointColors = points.map((_, k) =>
    o.pointColors?.[k] ??
      (k === 0 ? "black" : PALETTE[(PALETTE.length - k) % PALETTE.length])
  );
  return { sets, d, labels, limits, colors, points, pointColors, bins };
}

/** Draws the content of a diagonal panel of size `s`. */
function diagPanel(
  p: Prepared,
  j: number,
  kind: DiagKind,
  s: number,
): string[] {
  const g: string[] = [];
  const [lo, hi] = p.limits[j];
  const x = linear([lo, hi], [0, s]);
  const curves = p.sets.map((set) =>
    kind === "kde"
      ? (() => {
        const k = kde1d(set[j], lo, hi, 128);
        return { xs: k.grid, ys: k.density };
      })()
      : (() => {
        const h = histogram1d(set[j], lo, hi, p.bins);
        return { xs: h.edges, ys: h.density };
      })()
  );
  let ymax = 0;
  for (const c of curves) for (const v of c.ys) ymax = Math.max(ymax, v);
  const y = linear([0, ymax > 0 ? ymax * 1.05 : 1], [s, 0]);
  curves.forEach((c, k) => {
    const col = escapeXml(p.colors[k]);
    if (kind === "kde") {
      const pts = c.xs.map((v, i) => [x(v), y(c.ys[i])] as [number, number]);
      const a = area<[number, number]>().x((q) => +f1(q[0])).y0(s).y1((q) =>
        +f1(q[1])
      );
      const l = line<[number, number]>().x((q) => +f1(q[0])).y((q) =>
        +f1(q[1])
      );
      g.push(
        `<path class="kde" d="${
          a(pts) ?? ""
        }" fill="${col}" fill-opacity="0.25" stroke="none"/>`,
        `<path class="kde-line" d="${
          l(pts) ?? ""
        }" fill="none" stroke="${col}" stroke-width="1.5"/>`,
      );
    } else {
      let d = `M${f1(x(c.xs[0]))},${f1(s)}`;
      for (let i = 0; i < c.ys.length; i++) {
        d += `L${f1(x(c.xs[i]))},${f1(y(c.ys[i]))}L${f1(x(c.xs[i + 1]))},${
          f1(y(c.ys[i]))
        }`;
      }
      d += `L${f1(x(c.xs[c.xs.length - 1]))},${f1(s)}Z`;
      g.push(
        `<path class="hist" d="${d}" fill="${col}" fill-opacity="${
          p.sets.length > 1 ? 0.35 : 0.6
        }" stroke="${col}" stroke-width="1"/>`,
      );
    }
  });
  p.points.forEach((pt, k) => {
    const v = pt[j];
    if (v >= lo && v <= hi) {
      g.push(
        `<line class="point" x1="${f1(x(v))}" x2="${f1(x(v))}" y1="0" y2="${
          f1(s)
        }" stroke="${escapeXml(p.pointColors[k])}" stroke-width="1.5"/>`,
      );
    }
  });
  return g;
}

/** Draws the content of an off-diagonal panel: x = dimension j, y = dimension i. */
function offdiagPanel(
  p: Prepared,
  i: number,
  j: number,
  kind: OffdiagKind,
  s: number,
  o: PairplotOptions,
): string[] {
  const g: string[] = [];
  const xl = p.limits[j], yl = p.limits[i];
  const x = linear(xl, [0, s]), y = linear(yl, [s, 0]);
  p.sets.forEach((set, k) => {
    const col = escapeXml(p.colors[k]);
    if (kind === "hist2d") {
      const b = p.bins;
      const c = histogram2d(set[j], set[i], xl, yl, b);
      let max = 0;
      for (const v of c) max = Math.max(max, v);
      const cw = s / b;
      for (let by = 0; by < b; by++) {
        for (let bx = 0; bx < b; bx++) {
          const v = c[by * b + bx];
          if (v === 0) continue;
          g.push(
            `<rect class="hist2d-cell" x="${f1(bx * cw)}" y="${
              f1(s - (by + 1) * cw)
            }" width="${f1(cw + 0.05)}" height="${
              f1(cw + 0.05)
            }" fill="${col}" fill-opacity="${
              Math.round((v / max) * (p.sets.length > 1 ? 70 : 100)) / 100
            }"/>`,
          );
        }
      }
    } else if (kind === "contour") {
      const grid = kde2d(set[j], set[i], xl, yl, o.contourResolution ?? 60);
      const levels = [...(o.levels ?? [0.68, 0.95])].sort((a, b) => b - a);
      for (const c of gridContours(grid, levels)) {
        let d = "";
        for (const poly of c.polygons) {
          for (const ring of poly) {
            d += ring.map((q, n) =>
              `${n ? "L" : "M"}${f1(x(q[0]))},${f1(y(q[1]))}`
            ).join("") + "Z";
          }
        }
        g.push(
          `<path class="contour" data-level="${c.level}" d="${d}" fill="${col}" fill-opacity="0.15" fill-rule="evenodd" stroke="${col}" stroke-width="1.2"/>`,
        );
      }
    } else if (kind === "scatter") {
      const n = Math.min(set[j].length, o.maxScatter ?? 1000);
      const pts: string[] = [];
      for (let r = 0; r < n; r++) {
        const a = set[j][r], b = set[i][r];
        if (!(a >= xl[0] && a <= xl[1] && b >= yl[0] && b <= yl[1])) continue;
        pts.push(`<circle cx="${f1(x(a))}" cy="${f1(y(b))}" r="1.5"/>`);
      }
      g.push(
        `<g class="scatter" fill="${col}" fill-opacity="0.5">`,
        ...pts,
        "</g>",
      );
    }
  });
  p.points.forEach((pt, k) => {
    const a = pt[j], b = pt[i];
    if (a >= xl[0] && a <= xl[1] && b >= yl[0] && b <= yl[1]) {
      g.push(
        `<circle class="point" cx="${f1(x(a))}" cy="${f1(y(b))}" r="4" fill="${
          escapeXml(p.pointColors[k])
        }" stroke="white" stroke-width="1"/>`,
      );
    }
  });
  return g;
}

function legend(
  p: Prepared,
  names: string[] | undefined,
  x: number,
  y: number,
): string[] {
  if (p.sets.length < 2 && !names) return [];
  const g = [`<g class="legend" transform="translate(${f1(x)},${f1(y)})">`];
  p.sets.forEach((_, k) => {
    g.push(
      `<rect x="0" y="${k * 16}" width="12" height="10" fill="${
        escapeXml(p.colors[k])
      }"/>`,
      `<text x="16" y="${k * 16 + 5}" dy="0.32em">${
        escapeXml(names?.[k] ?? `samples ${k + 1}`)
      }</text>`,
    );
  });
  g.push("</g>");
  return g;
}

/**
 * Draws a pair plot (corner plot) of posterior samples: 1-D marginals on the
 * diagonal, 2-D marginals in the lower (and optionally upper) triangle, as in
 * sbi's `pairplot`. Several sample sets (e.g. two posteriors) are overlaid in
 * their own colours. Contours are highest-density regions of a Gaussian KDE
 * (Scott's bandwidth) enclosing `levels` of the mass (default 68% and 95%).
 *
 * @param samples one sample table (rows = samples; a `{data, rows, cols}`
 *   row-major matrix such as the inference `Matrix`, or rows of numbers) or a
 *   list of tables to overlay
 * @param options labels, limits, reference points, panel kinds, bins, size
 * @returns a standalone SVG document
 * @throws {TypeError} when the samples are empty or their shapes disagree
 *   with each other, the labels, limits or points
 * @throws {RangeError} for empty limits, bad bins or contour levels
 *
 * @example
 * ```ts
 * import { pairplot } from "./pairplot.ts";
 * const rows = Array.from({ length: 500 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3)]);
 * const svg = pairplot(rows, { labels: ["a", "b"], points: [[0, 0]], diag: "kde" });
 * if (!svg.includes('class="contour"')) throw new Error("no contours");
 * ```
 */
export function pairplot(
  samples: SampleTable | SampleTable[],
  options: PairplotOptions = {},
): string {
  const p = prepare(samples, options, "pairplot");
  const d = p.d;
  const diag = options.diag ?? "hist";
  const lower = options.offdiag ?? "contour";
  const upper = options.upper ?? "none";
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 46, left: 60 };
  const gap = 8;
  const width = options.width ?? m.left + m.right + 150 * d;
  const s = (width - m.left - m.right - gap * (d - 1)) / d;
  if (!(s > 10)) {
    throw new RangeError(
      `pairplot: width ${width} leaves no room for ${d} panels`,
    );
  }
  const height = m.top + m.bottom + d * s + gap * (d - 1);
  const parts = svgOpen(width, height, options.title);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const kind = i === j ? diag : i > j ? lower : upper;
      if (kind === "none") continue;
      const body = i === j
        ? diagPanel(p, j, diag, s)
        : offdiagPanel(p, i, j, kind as OffdiagKind, s, options);
      const axes: string[] = [];
      if (i === d - 1) axes.push(...xAxis(p.limits[j], s, p.labels[j]));
      if (j === 0 && i > 0) axes.push(...yAxis(p.limits[i], s, p.labels[i]));
      parts.push(
        panelGroup(
          i === j ? "panel diag" : "panel offdiag",
          m.left + j * (s + gap),
          m.top + i * (s + gap),
          s,
          `pairplot-clip-${i}-${j}`,
          body,
          axes,
        ),
      );
    }
  }
  parts.push(...legend(p, options.names, width - m.right - 120, m.top + 4));
  return svgClose(parts);
}

/**
 * Draws the 1-D marginals of posterior samples as a row of panels (sbi's
 * `marginal_plot`), histogram or Gaussian KDE, each with its own x axis.
 *
 * @param samples one sample table or a list of tables to overlay
 * @param options labels, limits, points, `diag` kind, bins, width, title, colours
 * @returns a standalone SVG document
 * @throws {TypeError} when the samples are empty or shapes disagree
 * @throws {RangeError} for empty limits or bad bins
 *
 * @example
 * ```ts
 * import { marginalPlot } from "./pairplot.ts";
 * const rows = Array.from({ length: 200 }, (_, i) => [i % 7, (i * 3) % 11]);
 * const svg = marginalPlot(rows, { diag: "hist", bins: 10 });
 * if ((svg.match(/class="panel diag"/g) ?? []).length !== 2) throw new Error("panels");
 * ```
 */
export function marginalPlot(
  samples: SampleTable | SampleTable[],
  options: PairplotOptions = {},
): string {
  const p = prepare(samples, options, "marginalPlot");
  const d = p.d;
  const kind = options.diag === "kde" ? "kde" : "hist";
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 46, left: 12 };
  const gap = 16;
  const width = options.width ?? m.left + m.right + 180 * d;
  const s = (width - m.left - m.right - gap * (d - 1)) / d;
  if (!(s > 10)) {
    throw new RangeError(
      `marginalPlot: width ${width} leaves no room for ${d} panels`,
    );
  }
  const height = m.top + m.bottom + s;
  const parts = svgOpen(width, height, options.title);
  for (let j = 0; j < d; j++) {
    parts.push(
      panelGroup(
        "panel diag",
        m.left + j * (s + gap),
        m.top,
        s,
        `marginal-clip-${j}`,
        diagPanel(p, j, kind, s),
        xAxis(p.limits[j], s, p.labels[j]),
      ),
    );
  }
  parts.push(...legend(p, options.names, width - m.right - 120, m.top + 4));
  return svgClose(parts);
}
