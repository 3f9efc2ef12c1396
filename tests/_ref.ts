// Test helpers: read the reference data bundled in tests/fixtures/ (origin and
// license in each folder's README.md) and the tutorial recordings in data/b2mf/.
import { gunzipSync } from "node:zlib";

/** The bundled reference data, `tests/fixtures/`. */
export const FIXTURES: URL = new URL("./fixtures/", import.meta.url);

/** The brian2modelfitting tutorial recordings shipped in `data/b2mf/`. */
export const TUTORIAL_DATA: URL = new URL("../data/b2mf/", import.meta.url);

/**
 * Bytes of a file under `tests/fixtures/` (or any URL), gunzipped when the
 * name ends in `.gz`.
 */
export function fixtureBytes(path: string | URL): Uint8Array {
  const url = typeof path === "string" ? new URL(path, FIXTURES) : path;
  const raw = Deno.readFileSync(url);
  return url.pathname.endsWith(".gz") ? new Uint8Array(gunzipSync(raw)) : raw;
}

/** Text of a file under `tests/fixtures/` (or any URL), gunzipped for `.gz`. */
export function fixtureText(path: string | URL): string {
  return new TextDecoder().decode(fixtureBytes(path));
}

/** A JSON file under `tests/fixtures/`. */
export function fixtureJson(path: string): Record<string, unknown> {
  return JSON.parse(fixtureText(path));
}

/** Read a reference CSV with a header row: columns by header name. */
export function readRefCsv(
  path: string | URL,
): { header: string[]; cols: Float64Array[] } {
  const text = fixtureText(path);
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
export function readPandasCsv(path: string | URL): Float64Array[] {
  const text = fixtureText(path);
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
