/**
 * Typed errors of the equation layer, with source positions.
 * @module
 */
import { type Dimension, DimensionMismatchError } from "../units/dimension.ts";

/** Line (1-based), column (1-based) and text of the line at `offset`. */
export function locate(
  source: string,
  offset: number,
): { line: number; column: number; text: string } {
  const o = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let start = 0;
  for (let i = 0; i < o; i++) {
    if (source[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  let end = source.indexOf("\n", start);
  if (end < 0) end = source.length;
  return { line, column: o - start + 1, text: source.slice(start, end) };
}

function caret(source: string, offset: number): string {
  const { line, column, text } = locate(source, offset);
  return `line ${line}, column ${column}:\n  ${text}\n  ${
    " ".repeat(column - 1)
  }^`;
}

/** A syntax error in an equation string, with line, column and a caret. */
export class EquationSyntaxError extends SyntaxError {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** The offending source line. */
  readonly sourceLine: string;

  /**
   * A syntax error located in the equation text.
   * @param message what is wrong
   * @param source the whole equation text
   * @param offset character offset of the problem
   */
  constructor(message: string, source: string, offset: number) {
    const loc = locate(source, offset);
    super(`${message} at ${caret(source, offset)}`);
    this.name = "EquationSyntaxError";
    this.line = loc.line;
    this.column = loc.column;
    this.sourceLine = loc.text;
  }
}

/**
 * A {@linkcode DimensionMismatchError} located in the equation source.
 * @param message what is wrong
 * @param source the equation text
 * @param offset character offset
 * @param dims the dimensions involved
 * @returns the error (to throw)
 */
export function dimensionError(
  message: string,
  source: string,
  offset: number,
  ...dims: Dimension[]
): DimensionMismatchError {
  const loc = locate(source, offset);
  const e = new DimensionMismatchError(`${message}`, ...dims);
  e.message = `${e.message} at ${caret(source, offset)}`;
  e.line = loc.line;
  e.column = loc.column;
  return e;
}

/** A name in an equation that is not defined anywhere, with position. */
export class UndefinedNameError extends ReferenceError {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** The unknown identifier. */
  readonly identifier: string;

  /**
   * An unknown name located in the equation text.
   * @param message what is wrong
   * @param identifier the unknown name
   * @param source equation text
   * @param offset character offset
   */
  constructor(
    message: string,
    identifier: string,
    source: string,
    offset: number,
  ) {
    const loc = locate(source, offset);
    super(`${message} at ${caret(source, offset)}`);
    this.name = "UndefinedNameError";
    this.identifier = identifier;
    this.line = loc.line;
    this.column = loc.column;
  }
}
