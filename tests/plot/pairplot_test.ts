import assert from "node:assert/strict";
import { marginalPlot, pairplot } from "../../lib/plot/pairplot.ts";
import { Rng } from "../../lib/_internal/random.ts";
import { checkXml } from "./_xml.ts";
import { count, matchSnapshot, renderPng } from "./_svg_util.ts";

/** 3-D samples: correlated first pair, shifted third dimension. */
function samples(n: number, seed: number): number[][] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const a = r.normal(), b = r.normal(), c = r.normal();
    return [a, 0.8 * a + 0.6 * b, 0.5 * c + 1];
  });
}

/** Row-major `{data, rows, cols}` matrix, as lib/inference's Matrix. */
function asMatrix(
  rows: number[][],
): { data: Float32Array; rows: number; cols: number } {
  return {
    data: Float32Array.from(rows.flat()),
    rows: rows.length,
    cols: rows[0].length,
  };
}

Deno.test("pairplot()", async (t) => {
  const rows = samples(1500, 1);
  await t.step(
    "well-formed SVG with d diagonal and d(d-1)/2 lower panels",
    () => {
      const svg = pairplot(rows, {
        labels: ["a & b", "<c>", "d"],
        title: 't"1',
      });
      const names = checkXml(svg);
      assert.equal(names[0], "svg");
      assert.equal(count(svg, 'class="panel diag"'), 3);
      assert.equal(count(svg, 'class="panel offdiag"'), 3);
      assert.equal(count(svg, 'class="hist"'), 3);
      // two HDR levels per lower panel
      assert.equal(count(svg, 'class="contour"'), 6);
      assert.equal(count(svg, 'data-level="0.68"'), 3);
      assert.equal(count(svg, 'data-level="0.95"'), 3);
      assert.ok(svg.includes("a &amp; b") && svg.includes("&lt;c&gt;"));
      // x ticks under the 3 bottom panels, y ticks left of the 2 lower rows
      assert.equal(count(svg, 'class="x-axis"'), 3);
      assert.equal(count(svg, 'class="y-axis"'), 2);
    },
  );
  await t.step("upper triangle, KDE diagonals, points and several sets", () => {
    const other = samples(800, 2).map((r) => r.map((v) => v + 0.5));
    const svg = pairplot([asMatrix(rows), other], {
      diag: "kde",
      offdiag: "scatter",
      upper: "hist2d",
      points: [[0, 0, 1], [1, 1, 1]],
      names: ["a", "b"],
      maxScatter: 100,
    });
    checkXml(svg);
    assert.equal(count(svg, 'class="panel offdiag"'), 6);
    assert.equal(count(svg, 'class="kde"'), 3 * 2);
    assert.equal(count(svg, 'class="scatter"'), 3 * 2);
    // 2 points: lines on 3 diagonals, markers on 6 off-diagonal panels
    assert.equal(count(svg, 'class="point"'), 2 * 3 + 2 * 6);
    assert.ok(count(svg, 'class="hist2d-cell"') > 100);
    // at most maxScatter circles per set and panel
    const circles = count(svg, "<circle cx=") - 2 * 6;
    assert.ok(
      circles <= 100 * 2 * 3 && circles > 150 * 3,
      `${circles} circles`,
    );
    assert.equal(count(svg, 'class="legend"'), 1);
  });
  await t.step("matrix input draws the same as rows", () => {
    const r = samples(300, 4).map((x) => x.map((v) => Math.fround(v)));
    assert.equal(pairplot(asMatrix(r)), pairplot(r));
  });
  await t.step("limits drop samples outside", () => {
    const svg = pairplot([[0, 0], [0.5, 0.5], [10, 10]], {
      limits: [0, 1],
      offdiag: "hist2d",
      bins: 2,
    });
    // cells (0,0) and (1,1): the sample at 10 is outside
    assert.equal(count(svg, 'class="hist2d-cell"'), 2);
  });
  await t.step("snapshot: stable output for a seed", async () => {
    const svg = pairplot(samples(200, 9).map((r) => r.slice(0, 2)), {
      diag: "kde",
      points: [[0, 0]],
      width: 300,
    });
    assert.equal(
      svg,
      pairplot(samples(200, 9).map((r) => r.slice(0, 2)), {
        diag: "kde",
        points: [[0, 0]],
        width: 300,
      }),
    );
    await matchSnapshot("pairplot_seed9.svg.snap", svg);
  });
  await t.step("renders to PNG with rsvg-convert", async () => {
    const png = await renderPng(
      pairplot(rows, { diag: "kde", upper: "scatter", points: [[0, 0, 1]] }),
    );
    if (png === null) {
      console.log("rsvg-convert not found: PNG rendering skipped");
      return;
    }
    assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    assert.ok(png.length > 5000, `${png.length} bytes`);
  });
  await t.step("rejects bad input", () => {
    assert.throws(() => pairplot([]), TypeError);
    assert.throws(() => pairplot([[1, 2], [3]]), TypeError);
    assert.throws(() => pairplot([[1, 2]], { labels: ["a"] }), TypeError);
    assert.throws(() => pairplot([[1, 2]], { limits: [1, 0] }), RangeError);
    assert.throws(() => pairplot([[1, 2]], { bins: 0 }), RangeError);
    assert.throws(() => pairplot([[1, 2]], { points: [[1]] }), TypeError);
    assert.throws(
      () => pairplot([[1, 2], [2, 1]], { levels: [1.5] }),
      RangeError,
    );
    assert.throws(
      () => pairplot({ data: new Float32Array(3), rows: 2, cols: 2 }),
      TypeError,
    );
  });
});

Deno.test("marginalPlot()", async (t) => {
  await t.step("one panel per dimension, each with an x axis", () => {
    const svg = marginalPlot(samples(500, 3), {
      diag: "kde",
      labels: ["a", "b", "c"],
    });
    checkXml(svg);
    assert.equal(count(svg, 'class="panel diag"'), 3);
    assert.equal(count(svg, 'class="x-axis"'), 3);
    assert.equal(count(svg, 'class="kde"'), 3);
    assert.equal(count(svg, 'class="panel offdiag"'), 0);
  });
});
