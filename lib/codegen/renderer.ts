/**
 * Shared base of the code renderers: walks expression trees and asks the
 * target language for literals, names, operators and functions. The
 * JavaScript renderer (CPU) and the WGSL renderer (`gpu/`) extend it.
 * @module
 */
import type { Expr } from "../equations/ast.ts";

/** How a renderer spells each construct of the IR. */
export abstract class RendererBase {
  /** A numeric literal. */
  abstract literal(value: number): string;
  /** A boolean literal. */
  abstract boolLiteral(value: boolean): string;
  /** A variable reference (state, parameter, temporary or reserved symbol). */
  abstract variable(name: string): string;
  /** A binary operation on rendered operands. */
  abstract binary(
    op: string,
    left: string,
    right: string,
    l: Expr,
    r: Expr,
  ): string;
  /** Unary minus/plus/not. */
  abstract unary(op: string, arg: string, a: Expr): string;
  /** A function call (including the internal `__at`, `__randn`, `__rand`). */
  abstract func(fn: string, args: string[], raw: Expr[]): string;

  /** Render an expression. */
  expr(e: Expr): string {
    switch (e.kind) {
      case "num":
        return this.literal(e.value);
      case "bool":
        return this.boolLiteral(e.value);
      case "name":
        return this.variable(e.name);
      case "unary":
        return this.unary(e.op, this.expr(e.arg), e.arg);
      case "binary":
        return this.binary(
          e.op,
          this.expr(e.left),
          this.expr(e.right),
          e.left,
          e.right,
        );
      case "call":
        if (e.fn === "__at") return this.func(e.fn, [], e.args);
        return this.func(e.fn, e.args.map((a) => this.expr(a)), e.args);
    }
  }

  /** True if an expression is boolean-valued (comparison, and/or/not, bool literal). */
  isBoolean(e: Expr): boolean {
    if (e.kind === "bool") return true;
    if (e.kind === "unary") return e.op === "not";
    if (e.kind === "binary") {
      return ["<", "<=", ">", ">=", "==", "!=", "and", "or"].includes(e.op);
    }
    if (e.kind === "name") return e.name === "not_refractory";
    return false;
  }
}

/** Time-index offset of a TimedArray look-up at stage time `t + c*dt` (Brian's rounding, K = 8). */
export function stageOffset(c: number): number {
  return Math.floor(Math.round(c * 8) / 8);
}
