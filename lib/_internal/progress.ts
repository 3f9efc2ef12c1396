/**
 * A terminal progress bar with rate and ETA, written to stderr. Silent when
 * stderr is not a terminal unless `force` is set (so CI logs stay short).
 * @module
 */

/** Options of {@linkcode ProgressBar}. */
export interface ProgressOptions {
  /** Label printed before the bar. Default `""`. */
  label?: string;
  /** Width of the bar in characters. Default 30. */
  width?: number;
  /** Draw even when stderr is not a TTY. Default false. */
  force?: boolean;
  /** Unit name of the counted items. Default `"it"`. */
  unit?: string;
}

/** A progress bar over `total` items. */
export class ProgressBar {
  readonly total: number;
  #done = 0;
  #start = performance.now();
  #label: string;
  #width: number;
  #enabled: boolean;
  #unit: string;
  #lastDraw = 0;

  /**
   * @param total number of items
   * @param options see {@linkcode ProgressOptions}
   */
  constructor(total: number, options: ProgressOptions = {}) {
    this.total = total;
    this.#label = options.label ?? "";
    this.#width = options.width ?? 30;
    this.#unit = options.unit ?? "it";
    let tty = false;
    try {
      tty = Deno.stderr.isTerminal();
    } catch {
      tty = false;
    }
    this.#enabled = options.force === true || tty;
  }

  /** Items done so far. */
  get done(): number {
    return this.#done;
  }

  /** Advance by `n` items and redraw (at most every 100 ms, and at the end). */
  tick(n = 1, extra = ""): void {
    this.#done += n;
    const now = performance.now();
    if (
      this.#enabled && (now - this.#lastDraw > 100 || this.#done >= this.total)
    ) {
      this.#lastDraw = now;
      const line = this.render(extra);
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${line}`));
      if (this.#done >= this.total) {
        Deno.stderr.writeSync(new TextEncoder().encode("\n"));
      }
    }
  }

  /** The current bar as text (without carriage return). */
  render(extra = ""): string {
    const frac = this.total > 0 ? Math.min(1, this.#done / this.total) : 1;
    const filled = Math.round(frac * this.#width);
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = elapsed > 0 ? this.#done / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.#done) / rate : NaN;
    const bar = "#".repeat(filled) + "-".repeat(this.#width - filled);
    return `${this.#label}${
      this.#label ? " " : ""
    }[${bar}] ${this.#done}/${this.total} ` +
      `${(frac * 100).toFixed(0)}% ${formatRate(rate)} ${this.#unit}/s ` +
      `elapsed ${formatTime(elapsed)} ETA ${formatTime(eta)}${
        extra ? " " + extra : ""
      }`;
  }
}

function formatRate(r: number): string {
  if (!Number.isFinite(r)) return "?";
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(2)}k`;
  return r.toFixed(2);
}

/** Format seconds as `m:ss` (or `?`). */
export function formatTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${sec.toString().padStart(2, "0")}`;
}
