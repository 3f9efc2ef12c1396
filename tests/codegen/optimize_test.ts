import assert from "node:assert/strict";
import { guardRemovableSingularities } from "../../lib/codegen/optimize.ts";
import { show } from "../../lib/equations/ast.ts";
import { parseExpression } from "../../lib/equations/expression.ts";
import { hhTutorial } from "../golden/_models.ts";

Deno.test("guardRemovableSingularities", async (t) => {
  await t.step(
    "rewrites the three x/(exp(x/c) - 1) rates of the tutorial HH (after CSE)",
    () => {
      const p = hhTutorial().program;
      const out = guardRemovableSingularities(p.update);
      const calls = out.map((s) => show(s.expr)).join("\n").match(
        /__xexpm1\(/g,
      ) ?? [];
      assert.equal(calls.length, 3);
      // the exp(...) rates without a singularity are left alone
      assert.equal(out.length, p.update.length);
    },
  );
  await t.step(
    "keeps divisions whose numerator is not proportional to the exponent",
    () => {
      const s = (target: string, text: string) => ({
        target,
        expr: parseExpression(text),
      });
      const same = [
        s("a", "(v + 2)/(exp((v + 2)/4) - 1)"),
        s("b", "(v + 3)/(exp((v + 2)/4) - 1)"),
        s("c", "x*(v + 2)/(1 - exp((v + 2)/4))"),
        s("d", "3*(v + 2)/(1 - exp(-(v + 2)/5))"),
      ];
      const out = guardRemovableSingularities(same).map((x) => show(x.expr));
      assert.match(out[0], /^4 \* __xexpm1/);
      assert.doesNotMatch(out[1], /__xexpm1/);
      assert.doesNotMatch(out[2], /__xexpm1/);
      // 3*(v+2)/(1 - exp(A)) with A = -(v+2)/5: N = -15*A, sign -1 -> 15
      assert.match(out[3], /^15 \* __xexpm1/);
    },
  );
});
