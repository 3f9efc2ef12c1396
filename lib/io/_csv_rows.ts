/**
 * Private: CSV line splitting and numeric record decoding shared by
 * `csv.ts` (whole files) and `chunks.ts` (streams).
 * @module
 */

import { DataFormatError } from "./errors.ts";
import type { CsvReadOptions } from "./csv_options.ts";

const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses one trimmed cell as a float; NaN for non-numbers is distinguished
 * by returning `undefined`.
 */
export function parseCell(cell: string): number | undefined {
  if (NUMBER_RE.test(cell)) return Number(cell);
  switch (cell.toLowerCase()) {
    case "nan":
    case "+nan":
    case "-nan":
      return NaN;
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
  }
  return undefined;
}

/** Splits one line into trimmed cells, honouring double quotes. */
export function splitCsvLine(line: string, delimiter: string): string[] {
  if (line.endsWith("\r")) line = line.slice(0, -1);
  if (!line.includes('"')) return line.split(delimiter).map((c) => c.trim());
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += ch;
    } else if (ch === '"' && cur.trim() === "") {
      quoted = true;
      cur = "";
    } else if (ch === delimiter) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** True for lines the CSV readers skip (blank or `#` comment). */
export function isSkippedLine(line: string): boolean {
  const s = line.trim();
  return s === "" || s.startsWith("#");
}

export function checkDelimiter(d: string): string {
  if (d.length !== 1 || d === '"' || d === "\n" || d === "\r") {
    throw new RangeError(
      `CSV delimiter must be one character other than a quote or line break, got ${
        JSON.stringify(d)
      }`,
    );
  }
  return d;
}

/**
 * Incremental CSV record decoder shared by the whole-file and the streaming
 * readers: feed it lines, it returns numeric rows.
 */
export class CsvRowDecoder {
  readonly #header: "auto" | boolean;
  readonly #indexOpt: "auto" | boolean;
  readonly #scale: number;
  readonly #missing: "error" | "nan";
  readonly delimiter: string;
  #first = true;
  #fields = -1;
  #fieldsLine = 0;
  #index = false;
  /** Header cells (index column excluded), once seen. */
  header?: string[];
  /** Number of values per data row, once known. */
  cols = -1;

  /** @param options see {@linkcode CsvReadOptions} */
  constructor(options: CsvReadOptions = {}) {
    this.#header = options.header ?? "auto";
    this.#indexOpt = options.indexColumn ?? "auto";
    this.#scale = options.scale ?? 1;
    this.#missing = options.missing ?? "error";
    this.delimiter = checkDelimiter(options.delimiter ?? ",");
    if (!Number.isFinite(this.#scale)) {
      throw new RangeError(`CSV scale must be finite, got ${this.#scale}`);
    }
  }

  /** Whether the first column is an index column (known after the first record). */
  get hasIndex(): boolean {
    return this.#index;
  }

  /**
   * Decodes one line (1-based `lineNo`). Returns `null` for skipped lines and
   * the header, else `{ values, index }`.
   */
  decode(
    line: string,
    lineNo: number,
  ): { values: Float64Array; index?: string } | null {
    if (isSkippedLine(line)) return null;
    const cells = splitCsvLine(line, this.delimiter);
    if (this.#first) {
      this.#first = false;
      let isHeader: boolean;
      if (this.#header === "auto") {
        isHeader = cells.some((c) => parseCell(c) === undefined);
      } else isHeader = this.#header;
      if (isHeader) {
        this.#index = this.#indexOpt === "auto"
          ? cells.length > 1 && (cells[0] === "" || cells[0] === "Unnamed: 0")
          : this.#indexOpt;
        this.#fields = cells.length;
        this.#fieldsLine = lineNo;
        this.header = this.#index ? cells.slice(1) : cells;
        this.cols = this.header.length;
        return null;
      }
      this.#index = this.#indexOpt === true;
    }
    if (this.#fields < 0) {
      this.#fields = cells.length;
      this.#fieldsLine = lineNo;
      this.cols = cells.length - (this.#index ? 1 : 0);
      if (this.cols < 1) {
        throw new DataFormatError(
          `CSV line ${lineNo}: no data column left after the index column`,
          { line: lineNo },
        );
      }
    }
    if (cells.length !== this.#fields) {
      throw new DataFormatError(
        `CSV line ${lineNo} has ${cells.length} fields, expected ${this.#fields} (as on line ${this.#fieldsLine}): ragged row`,
        { line: lineNo, column: Math.min(cells.length, this.#fields) + 1 },
      );
    }
    const skip = this.#index ? 1 : 0;
    const values = new Float64Array(cells.length - skip);
    for (let j = skip; j < cells.length; j++) {
      const cell = cells[j];
      let v = parseCell(cell);
      if (v === undefined) {
        if (cell === "" && this.#missing === "nan") v = NaN;
        else {
          throw new DataFormatError(
            `CSV line ${lineNo}, column ${j + 1}: cannot parse ${
              JSON.stringify(cell)
            } as a number`,
            { line: lineNo, column: j + 1 },
          );
        }
      }
      values[j - skip] = v * this.#scale;
    }
    return this.#index ? { values, index: cells[0] } : { values };
  }
}

/** UTF-8 byte length of a string (lone surrogates count 3, as TextEncoder writes U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The same error with the byte offset of its line added (the readers know
 * where each line starts; the row decoder does not).
 * @param e the row decoder's error
 * @param offset byte offset of the line's first byte
 * @returns the error with `offset`
 */
export function atOffset(e: DataFormatError, offset: number): DataFormatError {
  if (e.offset !== undefined) return e;
  const out = new DataFormatError(`${e.message} (byte offset ${offset})`, {
    line: e.line,
    column: e.column,
    offset,
  });
  return out;
}
