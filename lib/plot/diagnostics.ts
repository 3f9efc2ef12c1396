/**
 * Plots of calibration diagnostics as standalone SVG strings: histograms of
 * simulation-based calibration (SBC) ranks per marginal with the band a
 * uniform histogram stays in, and expected-coverage curves.
 * @module
 */

import { line } from "./_deps.ts";
import {
  escapeXml,
  f1,
  linear,
  PALETTE,
  panelGroup,
  svgClose,
  svgOpen,
  xAxis,
  yAxis,
} from "./_svg.ts";

/** Options of {@linkcode sbcRankPlot}. */
export interface SbcRankPlotOptions {
  /** Label per marginal. Default `θ1`, `θ2`, …. */
  labels?: string[];
  /** Posterior samples per SBC round L (ranks lie in 0…L). Default: the largest rank. */
  numPosteriorSamples?: number;
  /** Probability of the uniform band. Default 0.99. */
  band?: number;
  /** Figure width in pixels. Default 24 + 180 per marginal. */
  width?: number;
  /** Figure title. */
  title?: string;
}

/**
 * Quantile of Binomial(n, p): the smallest k with P(K ≤ k) ≥ q, from the pmf
 * recursion P(k+1) = P(k) (n−k)/(k+1) p/(1−p) started in log space.
 * @param n number of trials
 * @param p success probability
 * @param q probability level in [0, 1]
 * @returns the q-quantile
 */
export function binomialQuantile(n: number, p: number, q: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return n;
  let logPk = n * Math.log1p(-p);
  let cdf = 0;
  const r = p / (1 - p);
  for (let k = 0; k <= n; k++) {
    cdf += Math.exp(logPk);
    if (cdf >= q) return k;
    logPk += Math.log(((n - k) / (k + 1)) * r);
  }
  return n;
}

/**
 * Draws SBC rank histograms, one panel per marginal (Talts et al. 2018,
 * "Validating Bayesian inference algorithms with simulation-based
 * calibration", arXiv:1804.06788, Fig. 1). The grey band is the central
 * `band` interval of a bin count under uniform ranks, Binomial(N, 1/nBins).
 *
 * @param ranks one array of ranks per marginal (each in 0…L, same length N)
 * @param nBins histogram bins. Default 20 (at most L + 1)
 * @param options labels, L, band probability, size
 * @returns a standalone SVG document
 * @throws {TypeError} when there are no ranks or marginals have different counts
 * @throws {RangeError} for a rank outside 0…L or bad nBins
 *
 * @example
 * ```ts
 * import { sbcRankPlot } from "./diagnostics.ts";
 * const ranks = [Array.from({ length: 200 }, (_, i) => i % 100)];
 * const svg = sbcRankPlot(ranks, 10, { numPosteriorSamples: 99 });
 * if ((svg.match(/class="rank-bar"/g) ?? []).length !== 10) throw new Error("bars");
 * ```
 */
export function sbcRankPlot(
  ranks: ArrayLike<number>[],
  nBins = 20,
  options: SbcRankPlotOptions = {},
): string {
  const d = ranks.length;
  if (d === 0 || ranks[0].length === 0) {
    throw new TypeError("sbcRankPlot: no ranks");
  }
  const n = ranks[0].length;
  ranks.forEach((r, j) => {
    if (r.length !== n) {
      throw new TypeError(
        `sbcRankPlot: marginal ${j} has ${r.length} ranks, marginal 0 has ${n}`,
      );
    }
  });
  let maxRank = 0;
  for (const r of ranks) {
    for (let i = 0; i < n; i++) maxRank = Math.max(maxRank, r[i]);
  }
  const L = options.numPosteriorSamples ?? maxRank;
  if (!Number.isInteger(nBins) || nBins < 1 || nBins > L + 1) {
    throw new RangeError(
      `sbcRankPlot: nBins must be an integer in 1…${L + 1}, got ${nBins}`,
    );
  }
  const labels = options.labels ??
    Array.from({ length: d }, (_, j) => `θ${j + 1}`);
  if (labels.length !== d) {
    throw new TypeError(
      `sbcRankPlot: ${labels.length} labels for ${d} marginals`,
    );
  }
  const counts = ranks.map((r, j) => {
    const c = new Array<number>(nBins).fill(0);
    for (let i = 0; i < n; i++) {
      const v = r[i];
      if (!(Number.isInteger(v) && v >= 0 && v <= L)) {
        throw new RangeError(
          `sbcRankPlot: rank ${v} of marginal ${j} (index ${i}) is not an integer in 0…${L}`,
        );
      }
      c[Math.floor((v * nBins) / (L + 1))]++;
    }
    return c;
  });
  const bandP = options.band ?? 0.99;
  const lo = binomialQuantile(n, 1 / nBins, (1 - bandP) / 2);
  const hi = binomialQuantile(n, 1 / nBins, 1 - (1 - bandP) / 2);
  let ymax = hi;
  for (const c of counts) for (const v of c) ymax = Math.max(ymax, v);
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 46, left: 60 };
  const gap = 16;
  const width = options.width ?? m.left + m.right + 180 * d;
  const s = (width - m.left - m.right - gap * (d - 1)) / d;
  if (!(s > 10)) {
    throw new RangeError(`sbcRankPlot: width ${width} is too small`);
  }
  const height = m.top + m.bottom + s;
  const parts = svgOpen(width, height, options.title);
  const x = linear([0, L + 1], [0, s]);
  const y = linear([0, ymax * 1.1], [s, 0]);
  counts.forEach((c, j) => {
    const body = [
      `<rect class="uniform-band" x="0" y="${f1(y(hi))}" width="${
        f1(s)
      }" height="${f1(y(lo) - y(hi))}" fill="#cccccc" fill-opacity="0.6"/>`,
      `<line x1="0" x2="${f1(s)}" y1="${f1(y(n / nBins))}" y2="${
        f1(y(n / nBins))
      }" stroke="#7f7f7f" stroke-dasharray="4 3"/>`,
    ];
    const bw = (L + 1) / nBins;
    c.forEach((v, b) => {
      body.push(
        `<rect class="rank-bar" x="${f1(x(b * bw))}" y="${f1(y(v))}" width="${
          f1(x((b + 1) * bw) - x(b * bw))
        }" height="${f1(s - y(v))}" fill="${
          PALETTE[0]
        }" fill-opacity="0.7" stroke="white" stroke-width="0.5"/>`,
      );
    });
    parts.push(
      panelGroup(
        "panel",
        m.left + j * (s + gap),
        m.top,
        s,
        `sbc-clip-${j}`,
        body,
        [
          ...xAxis([0, L + 1], s, `rank of ${labels[j]}`),
          ...(j === 0 ? yAxis([0, ymax * 1.1], s, "count") : []),
        ],
      ),
    );
  });
  return svgClose(parts);
}

/** One curve of a coverage plot. */
export interface CoverageSeries {
  /** Legend text. */
  label: string;
  /** Empirical coverage per credibility level. */
  coverage: ArrayLike<number>;
  /** Line colour. Default the tab10 palette. */
  color?: string;
}

/** Input of {@linkcode coveragePlot}. */
export interface CoveragePlotOptions {
  /** Nominal credibility levels in [0, 1], increasing. */
  levels: ArrayLike<number>;
  /** Empirical coverage per level (one curve), or several labelled curves. */
  coverage: ArrayLike<number> | CoverageSeries[];
  /** Figure width (and height) in pixels. Default 360. */
  width?: number;
  /** Figure title. */
  title?: string;
}

/**
 * Draws expected coverage: empirical coverage of the highest-density regions
 * against their nominal credibility level, with the diagonal of a calibrated
 * posterior (curves above it are conservative, below it over-confident;
 * Hermans et al. 2022, "A Trust Crisis in Simulation-Based Inference?",
 * TMLR, Fig. 1).
 *
 * @param options levels and coverage (one curve or several), size, title
 * @returns a standalone SVG document
 * @throws {TypeError} when a coverage curve's length differs from `levels`
 * @throws {RangeError} when a level or coverage value is outside [0, 1]
 *
 * @example
 * ```ts
 * import { coveragePlot } from "./diagnostics.ts";
 * const levels = [0.1, 0.5, 0.9];
 * const svg = coveragePlot({ levels, coverage: [0.12, 0.48, 0.91] });
 * if ((svg.match(/class="coverage"/g) ?? []).length !== 1) throw new Error("curve");
 * ```
 */
export function coveragePlot(options: CoveragePlotOptions): string {
  const levels = options.levels;
  const series: CoverageSeries[] = Array.isArray(options.coverage) &&
      typeof options.coverage[0] === "object"
    ? options.coverage as CoverageSeries[]
    : [{ label: "coverage", coverage: options.coverage as ArrayLike<number> }];
  const check = (v: number, what: string): void => {
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(`coveragePlot: ${what} ${v} is not in [0, 1]`);
    }
  };
  for (let k = 0; k < levels.length; k++) check(levels[k], "level");
  series.forEach((c) => {
    if (c.coverage.length !== levels.length) {
      throw new TypeError(
        `coveragePlot: curve ${
          JSON.stringify(c.label)
        } has ${c.coverage.length} values for ${levels.length} levels`,
      );
    }
    for (let k = 0; k < levels.length; k++) check(c.coverage[k], "coverage");
  });
  const width = options.width ?? 360;
  const m = { top: options.title ? 34 : 10, right: 12, bottom: 46, left: 60 };
  const s = width - m.left - m.right;
  if (!(s > 10)) {
    throw new RangeError(`coveragePlot: width ${width} is too small`);
  }
  const height = m.top + m.bottom + s;
  const x = linear([0, 1], [0, s]), y = linear([0, 1], [s, 0]);
  const path = line<[number, number]>().x((p) => +f1(x(p[0]))).y((p) =>
    +f1(y(p[1]))
  );
  const body = [
    `<line class="diagonal" x1="0" y1="${f1(s)}" x2="${
      f1(s)
    }" y2="0" stroke="#7f7f7f" stroke-dasharray="4 3"/>`,
  ];
  const leg: string[] = [];
  series.forEach((c, k) => {
    const col = escapeXml(c.color ?? PALETTE[k % PALETTE.length]);
    const pts = Array.from(
      levels,
      (l, i) => [l, c.coverage[i]] as [number, number],
    );
    body.push(
      `<path class="coverage" d="${
        path(pts) ?? ""
      }" fill="none" stroke="${col}" stroke-width="1.8"><title>${
        escapeXml(c.label)
      }</title></path>`,
    );
    leg.push(
      `<line x1="8" x2="28" y1="${12 + 16 * k}" y2="${
        12 + 16 * k
      }" stroke="${col}" stroke-width="1.8"/>`,
      `<text x="32" y="${12 + 16 * k}" dy="0.32em">${
        escapeXml(c.label)
      }</text>`,
    );
  });
  const parts = svgOpen(width, height, options.title);
  parts.push(
    panelGroup("panel", m.left, m.top, s, "coverage-clip", body, [
      ...xAxis([0, 1], s, "credibility level"),
      ...yAxis([0, 1], s, "empirical coverage"),
      ...(series.length > 1 ? leg : []),
    ]),
  );
  return svgClose(parts);
}
