/**
 * {@linkcode SvgFigure}: an SVG document that notebooks show inline. The plot
 * functions return SVG text (to write to a file or embed); `figure(svg)`
 * wraps it so that `deno jupyter` displays it as an image.
 * @module
 */
import { JUPYTER_DISPLAY, type MediaBundle } from "../display.ts";

const SVG_START = /^\s*(<\?xml[^>]*\?>\s*)?<svg[\s>]/;

/**
 * An SVG figure. In `deno jupyter`, a cell whose value is a figure shows it
 * inline (`image/svg+xml`).
 *
 * @example
 * ```ts
 * import { figure, pairplot } from "./mod.ts";
 * const rows = Array.from({ length: 300 }, (_, i) => [Math.sin(i), Math.cos(i)]);
 * const fig = figure(pairplot(rows, { labels: ["a", "b"] }));
 * // a notebook cell ending in `fig` calls fig[Symbol.for("Jupyter.display")]()
 * const bundle = fig.display();
 * if (!bundle["image/svg+xml"]?.startsWith("<svg")) throw new Error("no svg");
 * ```
 */
export class SvgFigure {
  /** The SVG document as the plot function returned it. */
  readonly svg: string;
  /** Width in pixels (the root's `width`; NaN when absent). */
  readonly width: number;
  /** Height in pixels (the root's `height`; NaN when absent). */
  readonly height: number;

  /**
   * Wraps an SVG document.
   * @param svg SVG text (optionally starting with an XML declaration)
   * @throws {TypeError} when `svg` is not an SVG document
   */
  constructor(svg: string) {
    if (typeof svg !== "string" || !SVG_START.test(svg)) {
      const head = typeof svg === "string"
        ? JSON.stringify(svg.slice(0, 40))
        : typeof svg;
      throw new TypeError(`figure: not an SVG document: ${head}`);
    }
    this.svg = svg;
    const root = /<svg\b[^>]*>/.exec(svg)![0];
    const attr = (name: string) => {
      const m = new RegExp(`\\s${name}="([0-9.]+)`).exec(root);
      return m ? Number(m[1]) : NaN;
    };
    this.width = attr("width");
    this.height = attr("height");
  }

  /**
   * The media bundle `deno jupyter` shows: the SVG (without its XML
   * declaration, so that it can be inlined) and a text fallback.
   * @returns `{ "image/svg+xml", "text/plain" }`
   */
  [JUPYTER_DISPLAY](): MediaBundle {
    return this.display();
  }

  /**
   * The same bundle as the `Symbol.for("Jupyter.display")` method.
   * @returns `{ "image/svg+xml", "text/plain" }`
   */
  display(): MediaBundle {
    return {
      "image/svg+xml": this.svg.replace(/^\s*<\?xml[^>]*\?>\s*/, ""),
      "text/plain": `SvgFigure ${this.width}×${this.height}`,
    };
  }

  /**
   * The SVG text.
   * @returns {@linkcode SvgFigure.svg}
   */
  toString(): string {
    return this.svg;
  }
}

/**
 * Wraps SVG text from a plot function into a figure that notebooks display.
 * @param svg SVG text, e.g. `pairplot(samples)`
 * @returns the figure
 * @throws {TypeError} when `svg` is not an SVG document
 */
export function figure(svg: string): SvgFigure {
  return new SvgFigure(svg);
}
