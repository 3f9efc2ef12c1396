/**
 * Time traces as a standalone SVG document, e.g. recorded membrane potential
 * against model output, one stacked panel per trace. d3-scale computes the
 * axes (nice domains and ticks) and d3-shape the line paths; the SVG is
 * written as a string (no DOM), so it works in Deno, workers and CI.
 *
 * Long traces are decimated per pixel column with M4 aggregation (Jugel et
 * al. 2014, "M4: A Visualization-Oriented Time Series Data Aggregation",
 * PVLDB 7(10)): each column keeps its first, minimum, maximum and last sample,
 * which draws the same picture as all samples (spikes of one sample survive)
 * while the path holds at most ~4 points per pixel column.
 * @module
 */

import { scaleLinear } from "./_deps.ts";
import { line } from "./_deps.ts";

/** One line of a traces plot. */
export interface TraceSeries {
  /**
   * Legend text. Series with the same label and style share one entry; an
   * empty label has none.
   */
  label: string;
  /** One value per time point (same length as `t`); NaN/±Infinity leave a gap. */
  values: ArrayLike<number>;
  /** Stroke colour (any SVG colour). Default: the next colour of the tab10 palette. */
  color?: string;
  /** Dashed line: `true` for `"5 3"`, or an SVG `stroke-dasharray`. Default solid. */
  dash?: boolean | string;
  /** Stroke width in pixels. Default 1.5. */
  strokeWidth?: number;
}

/** One panel of a stacked traces plot (panels share the time axis). */
export interface TracePanel {
  /** The lines of this panel. */
  series: TraceSeries[];
  /** Title printed above the panel. */
  title?: string;
  /** Y axis label of this panel (default: the figure's `yLabel`). */
  yLabel?: string;
}

/** Options of {@linkcode tracesSvg}. */
export interface TracesSvgOptions {
  /** Time points in seconds, non-decreasing. */
  t: ArrayLike<number>;
  /** Lines of a single panel (drawn as the first panel when `panels` is also given). */
  series?: TraceSeries[];
  /** Several stacked panels sharing the time axis, e.g. one per trace. */
  panels?: TracePanel[];
  /** Figure title. */
  title?: string;
  /** Time axis label. Default `"time (ms)"` (or `"time (s)"`). */
  xLabel?: string;
  /** Y axis label of every panel without its own. Default none. */
  yLabel?: string;
  /** Unit of the time axis labels: `"ms"` (default) or `"s"`. */
  timeUnit?: "ms" | "s";
  /** Figure width in pixels. Default 800. */
  width?: number;
  /** Figure height in pixels. Default 100 + 200 per panel. */
  height?: number;
  /** Prefix for element ids (clip paths); set it when inlining several SVGs in one page. Default `"traces"`. */
  idPrefix?: string;
}

/** matplotlib's tab10 / d3's category10 palette. */
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/**
 * Escapes text for XML content and attribute values, dropping characters
 * XML 1.0 forbids.
 * @param s any text
 * @returns the escaped text
 */
export function escapeXml(s: string): string {
  return s
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(
      /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
      "",
    )
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Rounds a pixel coordinate to 0.1 px (keeps paths short). */
function r1(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Decimates one series for drawing: per pixel column, keeps the first,
 * minimum, maximum and last finite sample (M4, Jugel et al. 2014), in sample
 * order. Series with at most 4 samples per column are returned whole. A run
 * of non-finite values becomes one NaN point (a gap in the line).
 *
 * @param px x position of every sample in pixels (non-decreasing)
 * @param values y value of every sample
 * @param columns width of the plot in pixel columns
 * @returns `[x, value]` points to draw
 *
 * @example
 * ```ts
 * import { decimateM4 } from "./traces.ts";
 * const n = 100000;
 * const px = Float64Array.from({ length: n }, (_, i) => (i / n) * 100);
 * const v = Float64Array.from({ length: n }, (_, i) => (i === 5000 ? 40 : Math.sin(i)));
 * const pts = decimateM4(px, v, 100);
 * if (pts.length > 400 || !pts.some((p) => p[1] === 40)) throw new Error("M4 failed");
 * ```
 */
export function decimateM4(
  px: ArrayLike<number>,
  values: ArrayLike<number>,
  columns: number,
): [number, number][] {
  const n = values.length;
  const out: [number, number][] = [];
  if (n <= 4 * columns) {
    for (let i = 0; i < n; i++) out.push([px[i], values[i]]);
    return out;
  }
  let col = NaN;
  let first = -1, last = -1, lo = -1, hi = -1;
  const flush = (): void => {
    if (first < 0) return;
    // emit first, min, max, last in sample order, without repeats
    const idx = [first, lo, hi, last].sort((a, b) => a - b);
    let prev = -1;
    for (const i of idx) {
      if (i !== prev) out.push([px[i], values[i]]);
      prev = i;
    }
    first =
      last =
      lo =
      hi =
        -1;
  };
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      flush();
      if (out.length === 0 || Number.isFinite(out[out.length - 1][1])) {
        out.push([px[i], NaN]);
      }
      continue;
    }
    const c = Math.floor(px[i]);
    if (c !== col) {
      flush();
      col = c;
    }
    if (first < 0) first = lo = hi = i;
    else {
      if (v < values[lo]) lo = i;
      if (v > values[hi]) hi = i;
    }
    last = i;
  }
  flush();
  return out;
}

/** Approximate text width in pixels at font size 12 (for legend boxes). */
function textWidth(s: string): number {
  return s.length * 6.6;
}

/**
 * d3-format specifier for tick labels: plain decimals without digit grouping
 * (`"~f"`), or exponent notation (`"~e"`) for very small or large values.
 */
function tickSpecifier(ticks: readonly number[]): string {
  let max = 0;
  for (const v of ticks) max = Math.max(max, Math.abs(v));
  return max !== 0 && (max < 1e-3 || max >= 1e6) ? "~e" : "~f";
}

function fmtAttr(v: number): string {
  return String(r1(v));
}

/**
 * Draws time traces as a standalone SVG document string.
 *
 * @param options time points, series or panels, labels and size (see
 *   {@linkcode TracesSvgOptions})
 * @returns an SVG document (`<?xml …?><svg …>…</svg>`)
 * @throws {TypeError} when there is nothing to draw or a series' length
 *   differs from `t`
 * @throws {RangeError} when `t` is not finite and non-decreasing, or the size
 *   is not positive
 *
 * @example
 * ```ts
 * import { tracesSvg } from "./traces.ts";
 * const t = Array.from({ length: 1000 }, (_, i) => i * 1e-5);
 * const v = t.map((s) => -65 + 20 * Math.sin(s * 2000));
 * const svg = tracesSvg({
 *   t,
 *   panels: [{ title: "trace 0", series: [
 *     { label: "data", values: v },
 *     { label: "model", values: v.map((x) => x + 1), dash: true },
 *   ] }],
 *   yLabel: "v (mV)",
 * });
 * if (!svg.startsWith("<?xml") || !svg.includes("model")) throw new Error("bad svg");
 * ```
 */
export function tracesSvg(options: TracesSvgOptions): string {
  const t = options.t;
  const n = t.length;
  const panels: TracePanel[] = [];
  if (options.series && options.series.length > 0) {
    panels.push({ series: options.series });
  }
  for (const p of options.panels ?? []) panels.push(p);
  if (panels.length === 0 || panels.every((p) => p.series.length === 0)) {
    throw new TypeError("tracesSvg: no series to draw (give series or panels)");
  }
  if (n === 0) throw new TypeError("tracesSvg: t is empty");
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(t[i]) || (i > 0 && t[i] < t[i - 1])) {
      throw new RangeError(
        `tracesSvg: t must be finite and non-decreasing; t[${i}] = ${t[i]}${
          i > 0 ? ` after t[${i - 1}] = ${t[i - 1]}` : ""
        }`,
      );
    }
  }
  panels.forEach((p, k) =>
    p.series.forEach((s) => {
      if (!s.values || s.values.length !== n) {
        throw new TypeError(
          `tracesSvg: series ${
            JSON.stringify(s.label)
          } of panel ${k} has ${s.values?.length} values, t has ${n}`,
        );
      }
    })
  );
  const nP = panels.length;
  const width = options.width ?? 800;
  const height = options.height ?? 100 + 200 * nP;
  if (!(width > 0) || !(height > 0)) {
    throw new RangeError(
      `tracesSvg: width and height must be positive, got ${width} × ${height}`,
    );
  }
  const id = escapeXml(options.idPrefix ?? "traces");
  const unit = options.timeUnit ?? "ms";
  const tScale = unit === "ms" ? 1e3 : 1;
  const xLabel = options.xLabel ?? `time (${unit})`;
  const anyYLabel = options.yLabel !== undefined ||
    panels.some((p) => p.yLabel !== undefined);
  const m = {
    top: options.title ? 34 : 6,
    right: 16,
    bottom: 46,
    left: anyYLabel ? 72 : 56,
  };
  // every panel has a 22 px header row: title on the left, legend on the right
  const header = 22;
  const gap = 14;
  const innerW = Math.max(10, width - m.left - m.right);
  const usable = height - m.top - m.bottom - (gap + header) * nP + gap;
  const innerH = Math.max(10, usable / nP);

  const x = scaleLinear()
    .domain([
      t[0] * tScale,
      t[n - 1] * tScale === t[0] * tScale
        ? t[0] * tScale + 1
        : t[n - 1] * tScale,
    ])
    .range([0, innerW]);
  // keep the data's time range exactly (no nice()): traces fill the width
  const xTicks = x.ticks(Math.max(2, Math.round(innerW / 90)));
  const xFmt = x.tickFormat(
    Math.max(2, Math.round(innerW / 90)),
    tickSpecifier(xTicks),
  );
  const px = new Float64Array(n);
  for (let i = 0; i < n; i++) px[i] = x(t[i] * tScale);

  const parts: string[] = [];
  parts.push('<?xml version="1.0" encoding="UTF-8"?>');
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (options.title) {
    parts.push(
      `<text class="title" x="${
        fmtAttr(width / 2)
      }" y="24" text-anchor="middle" font-size="15">${
        escapeXml(options.title)
      }</text>`,
    );
  }
  let colorIndex = 0;
  let y0 = m.top + header;
  panels.forEach((panel, k) => {
    let lo = Infinity, hi = -Infinity;
    for (const s of panel.series) {
      const v = s.values;
      for (let i = 0; i < n; i++) {
        const y = v[i];
        if (!Number.isFinite(y)) continue;
        if (y < lo) lo = y;
        if (y > hi) hi = y;
      }
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      lo = 0;
      hi = 1;
    } else if (lo === hi) {
      const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= d;
      hi += d;
    }
    const y = scaleLinear().domain([lo, hi]).range([innerH, 0]).nice(5);
    const yTicks = y.ticks(5);
    const yFmt = y.tickFormat(5, tickSpecifier(yTicks));
    const g: string[] = [];
    g.push(
      `<g class="panel" transform="translate(${m.left},${fmtAttr(y0)})">`,
    );
    g.push(
      `<clipPath id="${id}-clip-${k}"><rect width="${
        fmtAttr(innerW)
      }" height="${fmtAttr(innerH)}"/></clipPath>`,
    );
    if (panel.title !== undefined) {
      g.push(
        `<text class="panel-title" x="0" y="-11" dy="0.32em" font-weight="bold">${
          escapeXml(panel.title)
        }</text>`,
      );
    }
    // grid and y axis
    g.push('<g class="y-axis">');
    for (const v of yTicks) {
      const yy = fmtAttr(y(v));
      g.push(
        `<line x1="0" x2="${
          fmtAttr(innerW)
        }" y1="${yy}" y2="${yy}" stroke="#e6e6e6"/>`,
        `<line x1="-5" x2="0" y1="${yy}" y2="${yy}" stroke="black"/>`,
        `<text class="tick" x="-8" y="${yy}" dy="0.32em" text-anchor="end">${
          escapeXml(yFmt(v))
        }</text>`,
      );
    }
    g.push(
      `<line x1="0" x2="0" y1="0" y2="${fmtAttr(innerH)}" stroke="black"/>`,
    );
    const yl = panel.yLabel ?? options.yLabel;
    if (yl !== undefined) {
      g.push(
        `<text class="axis-label" transform="translate(${-m.left + 16},${
          fmtAttr(innerH / 2)
        }) rotate(-90)" text-anchor="middle">${escapeXml(yl)}</text>`,
      );
    }
    g.push("</g>");
    // x axis (labels on the bottom panel only)
    const bottom = k === nP - 1;
    g.push(`<g class="x-axis" transform="translate(0,${fmtAttr(innerH)})">`);
    g.push(
      `<line x1="0" x2="${fmtAttr(innerW)}" y1="0" y2="0" stroke="black"/>`,
    );
    for (const v of xTicks) {
      const xx = fmtAttr(x(v));
      g.push(`<line x1="${xx}" x2="${xx}" y1="0" y2="5" stroke="black"/>`);
      if (bottom) {
        g.push(
          `<text class="tick" x="${xx}" y="18" text-anchor="middle">${
            escapeXml(xFmt(v))
          }</text>`,
        );
      }
    }
    if (bottom) {
      g.push(
        `<text class="axis-label" x="${
          fmtAttr(innerW / 2)
        }" y="38" text-anchor="middle">${escapeXml(xLabel)}</text>`,
      );
    }
    g.push("</g>");
    // lines
    const path = line<[number, number]>()
      .defined((d) => Number.isFinite(d[1]))
      .x((d) => r1(d[0]))
      .y((d) => r1(y(d[1])));
    const legend: {
      label: string;
      color: string;
      dash?: string;
      sw: number;
    }[] = [];
    g.push(`<g clip-path="url(#${id}-clip-${k})">`);
    for (const s of panel.series) {
      const color = s.color ?? PALETTE[colorIndex++ % PALETTE.length];
      const dash = s.dash === true ? "5 3" : s.dash || undefined;
      const sw = s.strokeWidth ?? 1.5;
      const d = path(decimateM4(px, s.values, Math.ceil(innerW))) ?? "";
      g.push(
        `<path class="trace" d="${d}" fill="none" stroke="${
          escapeXml(color)
        }" stroke-width="${sw}"${
          dash ? ` stroke-dasharray="${escapeXml(dash)}"` : ""
        } stroke-linejoin="round"><title>${escapeXml(s.label)}</title></path>`,
      );
      // one legend entry per label and style; an empty label has none
      const seen = legend.some((e) =>
        e.label === s.label && e.color === color && e.dash === dash
      );
      if (s.label !== "" && !seen) {
        legend.push({ label: s.label, color, dash, sw });
      }
    }
    g.push("</g>");
    // legend: one row in the header, right-aligned
    const widths = legend.map((e) => 30 + textWidth(e.label) + 14);
    let lx = innerW - widths.reduce((p, q) => p + q, 0) + 14;
    g.push(`<g class="legend" transform="translate(0,-11)">`);
    legend.forEach((e, i) => {
      g.push(
        `<line x1="${fmtAttr(lx)}" x2="${
          fmtAttr(lx + 24)
        }" y1="0" y2="0" stroke="${escapeXml(e.color)}" stroke-width="${e.sw}"${
          e.dash ? ` stroke-dasharray="${escapeXml(e.dash)}"` : ""
        }/>`,
        `<text x="${fmtAttr(lx + 30)}" y="0" dy="0.32em">${
          escapeXml(e.label)
        }</text>`,
      );
      lx += widths[i];
    });
    g.push("</g>");
    g.push("</g>");
    parts.push(g.join("\n"));
    y0 += innerH + gap + header;
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
