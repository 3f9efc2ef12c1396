import assert from "node:assert/strict";
import {
  binomialQuantile,
  coveragePlot,
  sbcRankPlot,
} from "../../lib/plot/diagnostics.ts";
import { Rng } from "../../lib/_internal/random.ts";
import { checkXml } from "./_xml.ts";
import { count } from "./_svg_util.ts";

Deno.test("binomialQuantile()", async (t) => {
  await t.step("matches exact small cases and the normal approximation", () => {
    // Binomial(4, 0.5): cdf 1/16, 5/16, 11/16, 15/16, 1
    assert.equal(binomialQuantile(4, 0.5, 0.05), 0);
    assert.equal(binomialQuantile(4, 0.5, 0.3), 1);
    assert.equal(binomialQuantile(4, 0.5, 0.5), 2);
    assert.equal(binomialQuantile(4, 0.5, 0.95), 4);
    // n = 1000, p = 0.05: mean 50, sd 6.89 → 99.5% quantile ≈ 50 + 2.576·6.89 ≈ 68
    const q = binomialQuantile(1000, 0.05, 0.995);
    assert.ok(q >= 67 && q <= 70, `${q}`);
  });
});

Deno.test("sbcRankPlot()", async (t) => {
  const r = new Rng(5);
  const ranks = [0, 1, 2].map(() =>
    Array.from({ length: 500 }, () => r.int(101))
  );
  await t.step("one panel per marginal, nBins bars each, uniform band", () => {
    const svg = sbcRankPlot(ranks, 10, {
      numPosteriorSamples: 100,
      labels: ["a", "b", "c"],
    });
    checkXml(svg);
    assert.equal(count(svg, 'class="panel"'), 3);
    assert.equal(count(svg, 'class="rank-bar"'), 30);
    assert.equal(count(svg, 'class="uniform-band"'), 3);
  });
  await t.step("bar heights are the bin counts", () => {
    // ranks 0…9 with L = 9 and 2 bins: 5 in each bin → equal heights
    const svg = sbcRankPlot([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]], 2);
    const h = [...svg.matchAll(/class="rank-bar"[^>]* height="([\d.]+)"/g)].map(
      (m) => +m[1],
    );
    assert.equal(h.length, 2);
    assert.ok(Math.abs(h[0] / h[1] - 6 / 5) < 0.01, `${h}`);
  });
  await t.step("rejects bad ranks", () => {
    assert.throws(() => sbcRankPlot([[0, 1.5]], 1), RangeError);
    assert.throws(
      () => sbcRankPlot([[0, 5]], 1, { numPosteriorSamples: 4 }),
      RangeError,
    );
    assert.throws(() => sbcRankPlot([[0, 1], [0]], 1), TypeError);
    assert.throws(() => sbcRankPlot([], 1), TypeError);
  });
});

Deno.test("coveragePlot()", async (t) => {
  await t.step("diagonal and one path per curve", () => {
    const levels = [0, 0.25, 0.5, 0.75, 1];
    const svg = coveragePlot({
      levels,
      coverage: [
        { label: "NPE", coverage: [0, 0.3, 0.55, 0.8, 1] },
        { label: "NLE & co", coverage: [0, 0.2, 0.45, 0.7, 1] },
      ],
      title: "coverage",
    });
    checkXml(svg);
    assert.equal(count(svg, 'class="coverage"'), 2);
    assert.equal(count(svg, 'class="diagonal"'), 1);
    assert.ok(svg.includes("NLE &amp; co"));
    checkXml(coveragePlot({ levels, coverage: levels }));
  });
  await t.step("rejects bad input", () => {
    assert.throws(
      () => coveragePlot({ levels: [0.5], coverage: [0.5, 0.6] }),
      TypeError,
    );
    assert.throws(
      () => coveragePlot({ levels: [1.5], coverage: [0.5] }),
      RangeError,
    );
  });
});
