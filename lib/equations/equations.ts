/**
 * Parser of Brian 2 equation strings: differential equations
 * (`dv/dt = expr : unit (flags)`), subexpressions (`x = expr : unit`) and
 * parameters (`x : unit (flags)`), `#` comments and expressions that continue
 * over several lines (`brian2/equations/equations.py`).
 * @module
 */
import type { Expr } from "./ast.ts";
import { EquationSyntaxError } from "./errors.ts";
import { parseExpression } from "./expression.ts";

/** Kind of a definition. */
export type EquationKind = "differential" | "subexpression" | "parameter";

/** One parsed definition, with its source positions. */
export interface EquationDef {
  /** Kind of definition. */
  kind: EquationKind;
  /** The defined variable. */
  name: string;
  /** The right-hand side (absent for parameters). */
  expr?: Expr;
  /** Unit text after `:` (trimmed). */
  unit: string;
  /** Flags inside parentheses. */
  flags: string[];
  /** Offset of the definition's start. */
  start: number;
  /** Offset of the unit text. */
  unitStart: number;
  /** Offset of the flags (or -1). */
  flagsStart: number;
}

const ID = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * Replace `#` comments by spaces (keeping offsets).
 * @param text equation text
 * @returns the text without comments, same length
 */
export function stripComments(text: string): string {
  return text.replace(/#[^\n]*/g, (m) => " ".repeat(m.length));
}

/**
 * Parse an equation string into definitions.
 * @param source the model text
 * @returns the definitions in source order
 * @throws {EquationSyntaxError} with line, column and a caret
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEquations } from "./equations.ts";
 * const defs = parseEquations("dv/dt = (El - v)/tau : volt\nEl : volt (constant)");
 * assert.ok(defs.length === 2 && defs[0].kind === "differential");
 * ```
 */
export function parseEquations(source: string): EquationDef[] {
  const text = stripComments(source);
  const defs: EquationDef[] = [];
  let i = 0;
  const n = text.length;
  const skipWs = (nl: boolean) => {
    while (
      i < n &&
      (text[i] === " " || text[i] === "\t" || text[i] === "\r" ||
        (nl && text[i] === "\n"))
    ) i++;
  };
  const ident = (): string | null => {
    ID.lastIndex = i;
    const m = ID.exec(text);
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    skipWs(true);
    if (i >= n) break;
    const start = i;
    const first = ident();
    if (first === null) {
      throw new EquationSyntaxError(
        `expected a definition ('dx/dt = ...', 'x = ...' or 'x : unit'), found '${
          text[i]
        }'`,
        source,
        i,
      );
    }
    let kind: EquationKind;
    let name = first;
    skipWs(false);
    if (text[i] === "/" && first.startsWith("d") && first.length > 1) {
      // dx/dt
      i++;
      skipWs(false);
      const dtStart = i;
      const dt = ident();
      if (dt !== "dt") {
        throw new EquationSyntaxError(
          `expected 'dt' in the derivative 'd${first.slice(1)}/dt'`,
          source,
          dtStart,
        );
      }
      name = first.slice(1);
      kind = "differential";
      skipWs(false);
      if (text[i] !== "=") {
        throw new EquationSyntaxError(
          `expected '=' after 'd${name}/dt'`,
          source,
          i,
        );
      }
    } else if (text[i] === "=") {
      kind = "subexpression";
    } else if (text[i] === ":") {
      kind = "parameter";
    } else {
      throw new EquationSyntaxError(
        i >= n || text[i] === "\n"
          ? `definition of '${first}' is incomplete: expected '=' or ': unit'`
          : `unexpected '${text[i]}' after '${first}': expected '=' or ':'`,
        source,
        i,
      );
    }
    let expr: Expr | undefined;
    if (kind !== "parameter") {
      i++; // '='
      const exprStart = i;
      const colon = text.indexOf(":", i);
      if (colon < 0) {
        throw new EquationSyntaxError(
          `missing ': unit' in the definition of '${name}'`,
          source,
          n,
        );
      }
      // an expression may span lines, but a following definition must not be swallowed
      expr = parseExpression(source, exprStart, colon);
      i = colon;
    }
    // at ':'
    i++;
    skipWs(false);
    const unitStart = i;
    while (i < n && text[i] !== "(" && text[i] !== "\n") i++;
    const unit = text.slice(unitStart, i).trim();
    if (unit === "") {
      throw new EquationSyntaxError(
        `missing unit after ':' in the definition of '${name}'`,
        source,
        unitStart,
      );
    }
    if (!/^[A-Za-z0-9*/.\-\s]+$/.test(unit)) {
      throw new EquationSyntaxError(
        `invalid unit '${unit}' for '${name}'`,
        source,
        unitStart,
      );
    }
    let flags: string[] = [];
    let flagsStart = -1;
    if (text[i] === "(") {
      flagsStart = i;
      const close = text.indexOf(")", i);
      const nl = text.indexOf("\n", i);
      if (close < 0 || (nl >= 0 && nl < close)) {
        throw new EquationSyntaxError(
          `unclosed '(' in the flags of '${name}'`,
          source,
          i,
        );
      }
      flags = text.slice(i + 1, close).split(",").map((f) =>
        f.trim().replace(/\s+/g, " ")
      );
      if (flags.some((f) => f === "")) {
        throw new EquationSyntaxError(
          `empty flag in the definition of '${name}'`,
          source,
          i,
        );
      }
      i = close + 1;
    }
    skipWs(false);
    if (i < n && text[i] !== "\n") {
      throw new EquationSyntaxError(
        `unexpected '${text[i]}' after the definition of '${name}'`,
        source,
        i,
      );
    }
    defs.push({ kind, name, expr, unit, flags, start, unitStart, flagsStart });
  }
  return defs;
}
