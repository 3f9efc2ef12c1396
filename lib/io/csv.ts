/**
 * CSV matrices: plain numeric rows, and the layout pandas (and therefore the
 * brian2modelfitting tutorial files) writes with `DataFrame.to_csv`: a header
 * row `,0,1,2,…` and an index column.
 *
 * Rules shared by {@linkcode parseCsvMatrix} and the streaming CSV reader of
 * `chunks.ts`: one record per line (`\n` or `\r\n`; quoted fields may not
 * contain line breaks), blank lines and lines starting with `#` are skipped,
 * cells are trimmed, numbers are JavaScript/Python float literals plus
 * `nan`, `inf`, `-inf`, `Infinity` (any case).
 * @module
 */

import { type PathLike, readFileBytes, writeFileText } from "./files.ts";
import { type ByteChunks, collectBytes, isByteChunks } from "./_bytes.ts";
import {
  atOffset,
  checkDelimiter,
  CsvRowDecoder,
  utf8Length,
} from "./_csv_rows.ts";
import { DataFormatError } from "./errors.ts";
import type { CsvReadOptions } from "./csv_options.ts";

export type { CsvReadOptions } from "./csv_options.ts";

/** A numeric matrix read from CSV: one `Float64Array` per data row. */
export interface CsvMatrix {
  /** Number of data rows. */
  rows: number;
  /** Number of values per row (index column excluded). */
  cols: number;
  /** The values, one array of length `cols` per row. */
  data: Float64Array[];
  /** Header cells (index column excluded), when the file has a header. */
  header?: string[];
  /** Index column cells, when the file has an index column. */
  index?: string[];
}

/**
 * Parses CSV text into a numeric matrix (one `Float64Array` per row).
 *
 * @param text CSV content
 * @param options header/index detection, scale, delimiter
 * @returns the matrix; `header`/`index` are set when present
 * @throws {DataFormatError} on a non-numeric cell or a ragged row (with `line`
 *   and `column`)
 * @throws {RangeError} on a bad delimiter or scale
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCsvMatrix } from "./csv.ts";
 * const m = parseCsvMatrix(",0,1,2\n0,1.5,2.5,3.5\n1,4,5,6\n", { scale: 2 });
 * assert(m.rows === 2 && m.cols === 3 && m.data[1][2] === 12);
 * ```
 */
export function parseCsvMatrix(
  text: string,
  options: CsvReadOptions = {},
): CsvMatrix {
  const dec = new CsvRowDecoder(options);
  const data: Float64Array[] = [];
  const index: string[] = [];
  let start = 0;
  let lineNo = 0;
  let byte = 0; // UTF-8 offset of the line (as read from a file)
  if (text.charCodeAt(0) === 0xfeff) (start = 1), (byte = 3); // byte order mark
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    let r;
    try {
      r = dec.decode(line, lineNo);
    } catch (e) {
      throw e instanceof DataFormatError ? atOffset(e, byte) : e;
    }
    byte += utf8Length(line) + 1;
    if (r) {
      data.push(r.values);
      if (r.index !== undefined) index.push(r.index);
    }
    start = end + 1;
  }
  const out: CsvMatrix = {
    rows: data.length,
    cols: data.length > 0 ? data[0].length : Math.max(dec.cols, 0),
    data,
  };
  if (dec.header) out.header = dec.header;
  if (dec.hasIndex) out.index = index;
  return out;
}

/** What {@linkcode readCsvMatrix} reads from. */
export type CsvSource = string | URL | Uint8Array | ByteChunks;

/**
 * Reads a CSV matrix from text, a file, bytes or a byte stream.
 *
 * A `string` containing a line break or the delimiter is CSV text; any other
 * string (and a `URL`) is a file path.
 *
 * @param source CSV text, path, bytes, or a stream of bytes
 * @param options see {@linkcode CsvReadOptions}
 * @returns the matrix
 * @throws {DataFormatError} on malformed content
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCsvMatrix } from "./csv.ts";
 * const m = await readCsvMatrix("1,2\n3,4\n");
 * assert(m.rows === 2 && m.data[1][0] === 3);
 * ```
 */
export async function readCsvMatrix(
  source: CsvSource,
  options: CsvReadOptions = {},
): Promise<CsvMatrix> {
  let text: string;
  if (typeof source === "string") {
    const d = options.delimiter ?? ",";
    if (!source.includes("\n") && !source.includes(d)) {
      return parseCsvBytes(await readFileBytes(source), options);
    }
    text = source;
  } else if (source instanceof URL) {
    return parseCsvBytes(await readFileBytes(source), options);
  } else if (source instanceof Uint8Array) {
    return parseCsvBytes(source, options);
  } else if (isByteChunks(source)) {
    return parseCsvBytes(await collectBytes(source), options);
  } else {
    throw new TypeError(
      `readCsvMatrix: expected text, a path, bytes or a byte stream, got ${typeof source}`,
    );
  }
  return parseCsvMatrix(text, options);
}

/**
 * Parses CSV bytes; error offsets are those of the bytes (a line starts
 * after the previous newline byte, whatever the decoder made of invalid
 * UTF-8 before it).
 */
function parseCsvBytes(bytes: Uint8Array, options: CsvReadOptions): CsvMatrix {
  try {
    return parseCsvMatrix(new TextDecoder().decode(bytes), options);
  } catch (e) {
    if (!(e instanceof DataFormatError) || e.line === undefined) throw e;
    let at = 0;
    for (let line = 1; line < e.line; line++) {
      const nl = bytes.indexOf(0x0a, at);
      if (nl < 0) break;
      at = nl + 1;
    }
    throw new DataFormatError(
      e.message.replace(/ \(byte offset \d+\)$/, "") + ` (byte offset ${at})`,
      { line: e.line, column: e.column, offset: at },
    );
  }
}

/** Options of {@linkcode formatCsv} and {@linkcode writeCsv}. */
export interface CsvWriteOptions {
  /**
   * Header row: `false` (default, none), `true` (column numbers `0,1,2,…`),
   * or explicit names (one per column).
   */
  header?: boolean | readonly string[];
  /**
   * Write a leading index column `0,1,2,…` (with an empty header cell when
   * there is a header), as pandas does. Default false. `pandas: true` sets
   * both `header` and `indexColumn`.
   */
  indexColumn?: boolean;
  /** Shorthand for `{ header: true, indexColumn: true }`: the pandas layout. */
  pandas?: boolean;
  /** Field separator. Default `","`. */
  delimiter?: string;
  /** Factor applied to every value before writing. Default 1. */
  scale?: number;
}

function quoteCell(s: string, delimiter: string): string {
  return /["\r\n]/.test(s) || s.includes(delimiter) || s !== s.trim()
    ? `"${s.replaceAll('"', '""')}"`
    : s;
}

/** Formats a number so it reads back exactly (shortest round trip). */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return String(v);
}

/**
 * Formats rows of numbers as CSV text (shortest round-trip number format,
 * `nan`/`inf` for non-finite values, `\n` line ends).
 *
 * @param rows one array of numbers per row, all the same length
 * @param options header, index column, delimiter, scale
 * @returns the CSV text, ending with a line break
 * @throws {TypeError} when rows have different lengths or the header has the
 *   wrong length
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCsv } from "./csv.ts";
 * assert(formatCsv([[1, 2], [3, 4]], { pandas: true }) === ",0,1\n0,1,2\n1,3,4\n");
 * ```
 */
export function formatCsv(
  rows: readonly ArrayLike<number>[],
  options: CsvWriteOptions = {},
): string {
  const d = checkDelimiter(options.delimiter ?? ",");
  const scale = options.scale ?? 1;
  const header = options.pandas ? (options.header ?? true) : options.header;
  const indexCol = options.pandas ? true : (options.indexColumn ?? false);
  const cols = rows.length > 0 ? rows[0].length : 0;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].length !== cols) {
      throw new TypeError(
        `formatCsv: row ${i} has ${
          rows[i].length
        } values, expected ${cols} (as row 0)`,
      );
    }
  }
  const lines: string[] = [];
  if (header) {
    let names: string[];
    if (header === true) names = Array.from({ length: cols }, (_, j) => `${j}`);
    else {
      if (header.length !== cols) {
        throw new TypeError(
          `formatCsv: header has ${header.length} names, expected ${cols}`,
        );
      }
      names = header.map((h) => quoteCell(h, d));
    }
    lines.push((indexCol ? [""] : []).concat(names).join(d));
  }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const cells: string[] = indexCol ? [`${i}`] : [];
    for (let j = 0; j < cols; j++) cells.push(formatNumber(r[j] * scale));
    lines.push(cells.join(d));
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

/**
 * Writes rows of numbers to a CSV file; see {@linkcode formatCsv}.
 * @param path destination file
 * @param rows one array per row
 * @param options header, index column, delimiter, scale
 * @returns when written
 * @throws {TypeError} when rows have different lengths
 */
export async function writeCsv(
  path: PathLike,
  rows: readonly ArrayLike<number>[],
  options: CsvWriteOptions = {},
): Promise<void> {
  await writeFileText(path, formatCsv(rows, options));
}
