/**
 * Notebook display of posteriors: marginal histograms of samples at the
 * default observation, drawn as SVG here (no plotting library, so that
 * `./inference` does not load d3).
 * @module
 */
import type { MediaBundle } from "../../display.ts";
import type { Matrix } from "../matrix.ts";

const BINS = 20;
const PW = 180; // panel width
const PH = 120; // panel height
const PAD = { top: 22, right: 16, bottom: 48, left: 16 };

function xml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      ({
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
      })[
        c
      ]!,
  );
}

function num(x: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) {
    return x.toExponential(3).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return String(Number(x.toPrecision(4)));
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Marginal histograms of the columns of `samples`, one panel per column,
 * each with the median and the 5–95% interval. Each bar carries its count
 * (`data-n`) and each panel its column's median (`data-median`).
 * @param samples rows = samples
 * @param labels column names (default `θ1`, `θ2`, …)
 * @returns an SVG document
 */
export function marginalsSvg(
  samples: Matrix,
  labels?: readonly string[],
): string {
  const d = samples.cols;
  const n = samples.rows;
  const cols = Math.min(d, 4);
  const rows = Math.ceil(d / cols);
  const W = cols * (PW + PAD.left + PAD.right);
  const H = rows * (PH + PAD.top + PAD.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let j = 0; j < d; j++) {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = samples.data[i * d + j];
    const finite = col.filter(Number.isFinite).sort();
    const lo = finite.length ? finite[0] : 0;
    const hi = finite.length ? finite[finite.length - 1] : 1;
    const span = hi > lo ? hi - lo : 1;
    const counts = new Array<number>(BINS).fill(0);
    for (const v of finite) {
      counts[Math.min(BINS - 1, Math.floor(((v - lo) / span) * BINS))]++;
    }
    const peak = Math.max(1, ...counts);
    const med = quantile(finite, 0.5);
    const x0 = (j % cols) * (PW + PAD.left + PAD.right) + PAD.left;
    const y0 = Math.floor(j / cols) * (PH + PAD.top + PAD.bottom) + PAD.top;
    const label = labels?.[j] ?? `θ${j + 1}`;
    out.push(
      `<g class="marginal" data-dim="${j}" data-median="${med}" transform="translate(${x0},${y0})">`,
      `<text x="${PW / 2}" y="-8" text-anchor="middle" font-weight="bold">${
        xml(label)
      }</text>`,
    );
    const bw = PW / BINS;
    for (let b = 0; b < BINS; b++) {
      const h = (counts[b] / peak) * PH;
      out.push(
        `<rect class="bar" data-n="${counts[b]}" x="${
          (b * bw).toFixed(2)
        }" y="${(PH - h).toFixed(2)}" width="${
          (bw - 0.5).toFixed(2)
        }" height="${h.toFixed(2)}" fill="#1f77b4"/>`,
      );
    }
    const xm = ((med - lo) / span) * PW;
    out.push(
      `<line x1="${xm.toFixed(2)}" x2="${
        xm.toFixed(2)
      }" y1="0" y2="${PH}" stroke="#d62728"/>`,
      `<line x1="0" x2="${PW}" y1="${PH}" y2="${PH}" stroke="black"/>`,
      `<text x="0" y="${PH + 13}">${xml(num(lo))}</text>`,
      `<text x="${PW}" y="${PH + 13}" text-anchor="end">${xml(num(hi))}</text>`,
      `<text x="${PW / 2}" y="${PH + 28}" text-anchor="middle">median ${
        xml(num(med))
      }</text>`,
      `<text x="${PW / 2}" y="${PH + 42}" text-anchor="middle">90% [${
        xml(num(quantile(finite, 0.05)))
      }, ${xml(num(quantile(finite, 0.95)))}]</text>`,
      "</g>",
    );
  }
  out.push("</svg>");
  return out.join("\n");
}

/** Number of samples a posterior's notebook display draws. */
export const DISPLAY_SAMPLES = 1000;

/**
 * The notebook bundle of a posterior: marginals of {@linkcode DISPLAY_SAMPLES}
 * samples (seed 0) at the default observation, or a text summary without one.
 * @param name class name
 * @param dim parameter dimension
 * @param draw draws samples at the default observation (null: no default x)
 * @returns the bundle
 */
export async function posteriorBundle(
  name: string,
  dim: number,
  draw: ((n: number) => Promise<Matrix>) | null,
): Promise<MediaBundle> {
  if (!draw) {
    return {
      "text/plain":
        `${name} over ${dim} parameters (no default observation: setDefaultX(x) to display its marginals)`,
    };
  }
  const s = await draw(DISPLAY_SAMPLES);
  return {
    "image/svg+xml": marginalsSvg(s),
    "text/plain":
      `${name} over ${dim} parameters: marginals of ${s.rows} samples at the default observation`,
  };
}
