/**
 * Shared private helpers of the posterior plots: palette, number formatting,
 * SVG document framing, sample-table normalisation and axis ticks.
 * @module
 */

import { scaleLinear } from "./_deps.ts";
import { escapeXml } from "./traces.ts";

export { escapeXml };

/** A table of samples: a row-major `{data, rows, cols}` matrix or rows of numbers. */
export type SampleTable =
  | {
    readonly data: ArrayLike<number>;
    readonly rows: number;
    readonly cols: number;
  }
  | ArrayLike<number>[];

/** matplotlib's tab10 / d3's category10 palette (as in traces.ts). */
export const PALETTE: readonly string[] = [
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

/** Rounds a pixel coordinate to 0.1 px and prints it. */
export function f1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** A linear scale (d3-scale) of the shape the plots use. */
export type Linear = (v: number) => number;

/** A d3 linear scale from `domain` to `range`. */
export function linear(
  domain: [number, number],
  range: [number, number],
): ReturnType<typeof scaleLinear<number, number>> {
  return scaleLinear().domain(domain).range(range);
}

/** Tick values and their labels for a domain (d3-scale ticks, plain or exponent format). */
export function ticks(
  domain: [number, number],
  count: number,
): { value: number; label: string }[] {
  const s = scaleLinear().domain(domain);
  const tv = s.ticks(count);
  let max = 0;
  for (const v of tv) max = Math.max(max, Math.abs(v));
  const spec = max !== 0 && (max < 1e-3 || max >= 1e6) ? "~e" : "~f";
  const fmt = s.tickFormat(count, spec);
  return tv.map((v) => ({ value: v, label: fmt(v) }));
}

/** Opens a standalone SVG document (XML declaration, white background, optional title). */
export function svgOpen(
  width: number,
  height: number,
  title?: string,
): string[] {
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f1(width)}" height="${
      f1(height)
    }" viewBox="0 0 ${f1(width)} ${
      f1(height)
    }" font-family="sans-serif" font-size="12">`,
    `<rect width="${f1(width)}" height="${f1(height)}" fill="white"/>`,
  ];
  if (title) {
    parts.push(
      `<text class="title" x="${
        f1(width / 2)
      }" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    );
  }
  return parts;
}

/** Closes the document opened by {@linkcode svgOpen}. */
export function svgClose(parts: string[]): string {
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Column-major copy of a sample table: `cols[j][i]` is sample i of dimension j. */
export function toColumns(s: SampleTable, what: string): Float64Array[] {
  if (Array.isArray(s)) {
    const n = s.length;
    if (n === 0) throw new TypeError(`${what}: no samples`);
    const d = s[0].length;
    const cols = Array.from({ length: d }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const row = s[i];
      if (!row || row.length !== d) {
        throw new TypeError(
          `${what}: row ${i} has ${row?.length} values, expected ${d}`,
        );
      }
      for (let j = 0; j < d; j++) cols[j][i] = row[j];
    }
    return cols;
  }
  const m = s as { data: ArrayLike<number>; rows: number; cols: number };
  if (
    typeof m.rows !== "number" || typeof m.cols !== "number" || !m.data ||
    m.data.length !== m.rows * m.cols
  ) {
    throw new TypeError(
      `${what}: expected rows of numbers or a {data, rows, cols} matrix with data.length = rows*cols`,
    );
  }
  if (m.rows === 0) throw new TypeError(`${what}: no samples`);
  const cols = Array.from({ length: m.cols }, () => new Float64Array(m.rows));
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) cols[j][i] = m.data[i * m.cols + j];
  }
  return cols;
}

/** True when `s` is a list of sample tables rather than one table. */
export function isTableList(s: unknown): s is SampleTable[] {
  if (!Array.isArray(s) || s.length === 0) return false;
  const first = s[0] as unknown;
  if (Array.isArray(first)) {
    return Array.isArray(first[0]) ||
      (first.length > 0 && typeof first[0] === "object");
  }
  return typeof first === "object" && first !== null && "data" in first;
}

/** Bottom x axis of a panel of size `s` (ticks, labels, axis label). */
export function xAxis(
  lim: [number, number],
  s: number,
  label?: string,
): string[] {
  const x = linear(lim, [0, s]);
  const g = [`<g class="x-axis" transform="translate(0,${f1(s)})">`];
  for (const t of ticks(lim, Math.max(3, Math.round(s / 40)))) {
    const xx = f1(x(t.value));
    g.push(
      `<line x1="${xx}" x2="${xx}" y1="0" y2="4" stroke="black"/>`,
      `<text class="tick" x="${xx}" y="16" text-anchor="middle" font-size="10">${
        escapeXml(t.label)
      }</text>`,
    );
  }
  if (label !== undefined) {
    g.push(
      `<text class="axis-label" x="${f1(s / 2)}" y="34" text-anchor="middle">${
        escapeXml(label)
      }</text>`,
    );
  }
  g.push("</g>");
  return g;
}

/** Left y axis of a panel of size `s`. */
export function yAxis(
  lim: [number, number],
  s: number,
  label?: string,
): string[] {
  const y = linear(lim, [s, 0]);
  const g = ['<g class="y-axis">'];
  for (const t of ticks(lim, Math.max(3, Math.round(s / 40)))) {
    const yy = f1(y(t.value));
    g.push(
      `<line x1="-4" x2="0" y1="${yy}" y2="${yy}" stroke="black"/>`,
      `<text class="tick" x="-6" y="${yy}" dy="0.32em" text-anchor="end" font-size="10">${
        escapeXml(t.label)
      }</text>`,
    );
  }
  if (label !== undefined) {
    g.push(
      `<text class="axis-label" transform="translate(-44,${
        f1(s / 2)
      }) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`,
    );
  }
  g.push("</g>");
  return g;
}

/** One panel: translated group, clipped body, frame, axes. */
export function panelGroup(
  cls: string,
  tx: number,
  ty: number,
  s: number,
  id: string,
  body: string[],
  axes: string[],
): string {
  return [
    `<g class="${cls}" transform="translate(${f1(tx)},${f1(ty)})">`,
    `<clipPath id="${id}"><rect width="${f1(s)}" height="${
      f1(s)
    }"/></clipPath>`,
    `<g clip-path="url(#${id})">`,
    ...body,
    "</g>",
    `<rect width="${f1(s)}" height="${f1(s)}" fill="none" stroke="black"/>`,
    ...axes,
    "</g>",
  ].join("\n");
}
