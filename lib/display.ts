/**
 * Rich display in notebooks: `deno jupyter` shows an object through its
 * `[Symbol.for("Jupyter.display")]()` method, which returns a media bundle
 * (MIME type → content; a promise of one is awaited). Figures return
 * `image/svg+xml`, tables `text/html`, and both a `text/plain` fallback.
 * @module
 */

/** The key `deno jupyter` looks up: `Symbol.for("Jupyter.display")`. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/** What a display method returns: content per MIME type. */
export type MediaBundle = {
  /** Plain-text fallback. */
  "text/plain"?: string;
  /** An HTML fragment. */
  "text/html"?: string;
  /** A standalone SVG document. */
  "image/svg+xml"?: string;
};

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and attribute values.
 * @param s the text
 * @returns the escaped text
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * A number as a table shows it: 6 significant digits, in exponent notation
 * below 1e-3 and from 1e6 on (`2.00426e-5`); `NaN`/`Infinity` as is.
 * @param x the number
 * @returns its text
 */
export function formatCell(x: number | string): string {
  if (typeof x === "string") return x;
  if (!Number.isFinite(x) || x === 0) return String(x);
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) {
    return x.toExponential(5).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return String(Number(x.toPrecision(6)));
}

/** Options of {@linkcode htmlTable}. */
export interface HtmlTableOptions {
  /** Caption above the table. */
  caption?: string;
  /** Rows shown; the rest are summarised in a last row. Default 50. */
  maxRows?: number;
}

/**
 * An HTML table of columns and rows (text escaped, numbers with 6
 * significant digits).
 * @param columns header cells
 * @param rows body rows
 * @param options caption, shown rows
 * @returns the `<table>` fragment
 */
export function htmlTable(
  columns: readonly string[],
  rows: readonly (readonly (number | string)[])[],
  options: HtmlTableOptions = {},
): string {
  const max = options.maxRows ?? 50;
  const cell = (tag: string, v: number | string) =>
    `<${tag}>${escapeHtml(formatCell(v))}</${tag}>`;
  const parts = ["<table>"];
  if (options.caption !== undefined) {
    parts.push(`<caption>${escapeHtml(options.caption)}</caption>`);
  }
  parts.push(
    `<thead><tr>${columns.map((c) => cell("th", c)).join("")}</tr></thead>`,
    "<tbody>",
  );
  for (const r of rows.slice(0, max)) {
    parts.push(`<tr>${r.map((v) => cell("td", v)).join("")}</tr>`);
  }
  if (rows.length > max) {
    parts.push(
      `<tr><td colspan="${columns.length}">… ${
        rows.length - max
      } more rows</td></tr>`,
    );
  }
  parts.push("</tbody></table>");
  return parts.join("");
}

/**
 * A plain-text table (the `text/plain` fallback of {@linkcode htmlTable}).
 * @param columns header cells
 * @param rows body rows
 * @param maxRows rows shown (default 50)
 * @returns aligned columns, one line per row
 */
export function textTable(
  columns: readonly string[],
  rows: readonly (readonly (number | string)[])[],
  maxRows = 50,
): string {
  const shown = rows.slice(0, maxRows).map((r) => r.map(formatCell));
  const width = columns.map((c, j) =>
    Math.max(c.length, ...shown.map((r) => (r[j] ?? "").length))
  );
  const line = (r: readonly string[]) =>
    r.map((v, j) => v.padStart(width[j])).join("  ");
  const out = [line(columns), ...shown.map(line)];
  if (rows.length > maxRows) out.push(`… ${rows.length - maxRows} more rows`);
  return out.join("\n");
}

/**
 * Gives a plain object a display method, as a non-enumerable property (so
 * that it does not show up in `Object.keys`, spreads or deep equality).
 * @param obj the object
 * @param display returns its bundle
 * @returns `obj`
 */
export function withDisplay<T extends object>(
  obj: T,
  display: () => MediaBundle | Promise<MediaBundle>,
): T {
  Object.defineProperty(obj, JUPYTER_DISPLAY, {
    value: display,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return obj;
}
