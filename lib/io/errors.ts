/**
 * The error thrown by every reader in `lib/io` when its input is malformed.
 * @module
 */

/** Where in a file a {@linkcode DataFormatError} happened. */
export interface DataFormatPosition {
  /** 1-based line number (text formats). */
  line?: number;
  /** 1-based column: the field number in CSV files. */
  column?: number;
  /** 0-based byte offset from the start of the file or stream. */
  offset?: number;
}

/**
 * Malformed or truncated input data: a non-numeric CSV cell, a ragged CSV
 * row, a short NPY file, a raw file whose size is not a whole number of
 * samples, a corrupt ZIP member. The message names the position and the
 * offending content; the position is also available as fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataFormatError } from "./errors.ts";
 * const e = new DataFormatError("bad cell", { line: 3, column: 2 });
 * assert(e instanceof TypeError && e.line === 3 && e.column === 2);
 * ```
 */
export class DataFormatError extends TypeError {
  /** 1-based line number, when the format has lines. */
  readonly line?: number;
  /** 1-based column (CSV field number), when the format has columns. */
  readonly column?: number;
  /** 0-based byte offset, when known. */
  readonly offset?: number;

  /**
   * Creates the error.
   * @param message what failed, with the position and the offending value
   * @param position line/column/byte offset of the problem
   */
  constructor(message: string, position: DataFormatPosition = {}) {
    super(message);
    this.name = "DataFormatError";
    if (position.line !== undefined) this.line = position.line;
    if (position.column !== undefined) this.column = position.column;
    if (position.offset !== undefined) this.offset = position.offset;
  }
}
