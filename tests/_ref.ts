// Test helpers: locate and read the shared reference data (../shared next to
// the repository, or NEUROFIT_SHARED).
export const SHARED: URL = new URL(
  Deno.env.get("NEUROFIT_SHARED")
    ? `file://${Deno.env.get("NEUROFIT_SHARED")}/`
    : "../../shared/",
  import.meta.url,
);

/** Read a reference CSV with a header row: columns by header name. */
export function readRefCsv(
  path: string,
): { header: string[]; cols: Float64Array[] } {
  const text = Deno.readTextFileSync(new URL(path, SHARED));
  const lines = text.trim().split(/\r?\n/);
  const header = lines[0].split(",");
  const cols = header.map(() => new Float64Array(lines.length - 1));
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r].split(",");
    for (let c = 0; c < header.length; c++) cols[c][r - 1] = Number(cells[c]);
  }
  return { header, cols };
}

/** Read a pandas CSV (header row + index column): rows of values. */
export function readPandasCsv(path: string): Float64Array[] {
  const text = Deno.readTextFileSync(new URL(path, SHARED));
  const lines = text.trim().split(/\r?\n/).slice(1);
  return lines.map((l) => Float64Array.from(l.split(",").slice(1), Number));
}

/** Spike steps per trace from a `trace,t_ms,step` file. */
export function readSpikeSteps(path: string, nTraces: number): number[][] {
  const { cols } = readRefCsv(path);
  const out: number[][] = Array.from({ length: nTraces }, () => []);
  if (cols.length === 0) return out;
  for (let i = 0; i < cols[0].length; i++) out[cols[0][i]].push(cols[2][i]);
  return out;
}

/** A step-current matrix: rows with `amp` between [on, off) steps, `n` samples. */
export function stepCurrents(
  amps: number[],
  n: number,
  on: number,
  off: number,
): Float64Array[] {
  return amps.map((a) => {
    const r = new Float64Array(n);
    for (let k = on; k < off && k < n; k++) r[k] = a;
    return r;
  });
}
