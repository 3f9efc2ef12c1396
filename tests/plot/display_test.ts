// Notebook display bundles (what `deno jupyter` shows for a cell's value):
// figures give well-formed inline SVG with the plotted data, posteriors the
// marginals of their samples, fit results and result tables HTML tables.
import assert from "node:assert/strict";
import { checkXml } from "./_xml.ts";
import { figure, SvgFigure } from "../../lib/plot/figure.ts";
import { pairplot } from "../../lib/plot/pairplot.ts";
import { tracesSvg } from "../../lib/plot/traces.ts";
import { htmlTable, JUPYTER_DISPLAY } from "../../lib/display.ts";
import { marginalsSvg } from "../../lib/inference/posteriors/_display.ts";
import { Matrix } from "../../lib/inference/matrix.ts";
import { BoxUniform } from "../../lib/inference/priors/box_uniform.ts";
import { NPE } from "../../lib/inference/methods/npe.ts";
import { TraceFitter } from "../../lib/fitting/fitters/trace_fitter.ts";
import { DifferentialEvolution } from "../../lib/fitting/optimizers/differential_evolution.ts";
import { MSEMetric } from "../../lib/fitting/metrics/mse.ts";

const KEY = Symbol.for("Jupyter.display");

/** Calls the display method the way `deno jupyter` does. */
async function bundleOf(obj: unknown): Promise<Record<string, string>> {
  const o = obj as Record<symbol, unknown>;
  assert.ok(KEY in (o as object), "has Symbol.for('Jupyter.display')");
  assert.equal(typeof o[KEY], "function");
  return await (o[KEY] as () => Record<string, string>)();
}

function attrs(svg: string, el: string, name: string): string[] {
  return [
    ...svg.matchAll(new RegExp(`<${el}\\b[^>]*\\s${name}="([^"]*)"`, "g")),
  ]
    .map((m) => m[1]);
}

Deno.test("JUPYTER_DISPLAY is the symbol deno jupyter looks up", () => {
  assert.equal(JUPYTER_DISPLAY, KEY);
});

Deno.test("figure(): inline SVG bundle of a plot", async (t) => {
  await t.step(
    "a trace: the bundle is the plot's SVG without the XML declaration",
    async () => {
      const tt = Array.from({ length: 200 }, (_, i) => i * 1e-4);
      const svg = tracesSvg({
        t: tt,
        series: [{
          label: "v <data>",
          values: tt.map((s) => Math.sin(400 * s)),
        }],
        width: 640,
        height: 300,
      });
      assert.ok(
        svg.startsWith("<?xml"),
        "plot functions return a full document",
      );
      const fig = figure(svg);
      assert.ok(fig instanceof SvgFigure);
      assert.equal(fig.width, 640);
      assert.equal(fig.height, 300);
      assert.equal(String(fig), svg);
      const b = await bundleOf(fig);
      const inline = b["image/svg+xml"];
      assert.ok(inline.startsWith("<svg "), inline.slice(0, 30));
      assert.equal(inline, svg.slice(svg.indexOf("<svg")));
      assert.equal(checkXml(inline)[0], "svg");
      // the plotted data: the trace path and the escaped legend label
      assert.match(
        inline,
        /<path class="trace" d="M[-\d.]+,[-\d.]+(L[-\d.]+,[-\d.]+){10,}/,
      );
      assert.ok(inline.includes("v &lt;data&gt;"));
      assert.equal(b["text/plain"], "SvgFigure 640×300");
    },
  );

  await t.step("a pairplot keeps its panels", async () => {
    const rows = Array.from(
      { length: 400 },
      (_, i) => [Math.sin(i), Math.cos(1.3 * i)],
    );
    const svg = pairplot(rows, { labels: ["a", "b"] });
    const inline = (await bundleOf(figure(svg)))["image/svg+xml"];
    checkXml(inline);
    assert.ok(inline.includes(">a<") && inline.includes(">b<"), "labels");
    assert.equal(
      (inline.match(/class="panel/g) ?? []).length,
      (svg.match(/class="panel/g) ?? []).length,
    );
  });

  await t.step("rejects text that is not SVG, naming it", () => {
    assert.throws(
      () => figure("<html></html>"),
      /not an SVG document: "<html><\/html>"/,
    );
    assert.throws(
      () => figure(42 as unknown as string),
      /not an SVG document: number/,
    );
  });
});

Deno.test("marginalsSvg(): one histogram per column, counts and medians of the data", () => {
  // column 0: the grid 0, 1/999, …, 1 (median 0.5); column 1: 2 + the square
  const n = 1000;
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    data[2 * i] = i / (n - 1);
    data[2 * i + 1] = 2 + (i / (n - 1)) ** 2;
  }
  const svg = marginalsSvg(new Matrix(n, 2, data), ["g <Na>", "tau"]);
  assert.equal(checkXml(svg)[0], "svg");
  assert.ok(svg.includes("g &lt;Na&gt;") && svg.includes(">tau<"));
  const panels = svg.split('<g class="marginal"').slice(1);
  assert.equal(panels.length, 2);
  for (const p of panels) {
    const counts = attrs(p, "rect", "data-n").map(Number);
    assert.equal(counts.length, 20);
    assert.equal(counts.reduce((a, b) => a + b, 0), n);
  }
  // uniform grid: 50 per bin; squares: falling counts (density 1/(2 sqrt(u)))
  assert.deepEqual(
    attrs(panels[0], "rect", "data-n").map(Number),
    new Array(20).fill(50),
  );
  const sq = attrs(panels[1], "rect", "data-n").map(Number);
  assert.ok(sq[0] > sq[19] * 5, `${sq}`);
  const medians = attrs(svg, "g", "data-median").map(Number);
  assert.ok(Math.abs(medians[0] - 0.5) < 1e-6, `${medians[0]}`);
  // median of 2 + u² over the grid: 2 + 0.5² (to float32 precision)
  assert.ok(Math.abs(medians[1] - 2.25) < 1e-3, `${medians[1]}`);
});

Deno.test("posteriors display their marginals at the default observation", async () => {
  const prior = new BoxUniform({ low: [-1, -1], high: [1, 1] });
  const theta = prior.sample(400, 1);
  const x = theta.toArray().map(([a, b]) => [a + b, a - b]);
  const npe = new NPE({ prior, densityEstimator: "mdn", seed: 1 });
  npe.appendSimulations(theta, x);
  await npe.train({ maxEpochs: 3, showProgress: false });
  const posterior = npe.buildPosterior();
  try {
    const none = await bundleOf(posterior);
    assert.equal(none["image/svg+xml"], undefined);
    assert.match(
      none["text/plain"],
      /DirectPosterior over 2 parameters \(no default observation/,
    );

    posterior.setDefaultX([0.3, 0.1]);
    const b = await bundleOf(posterior);
    const svg = b["image/svg+xml"];
    assert.equal(checkXml(svg)[0], "svg");
    assert.match(
      b["text/plain"],
      /DirectPosterior over 2 parameters: marginals of 1000 samples/,
    );
    // the plotted data are the samples of seed 0 at the default x
    const s = await posterior.sample(1000, { x: [0.3, 0.1], seed: 0 });
    const medians = attrs(svg, "g", "data-median").map(Number);
    assert.equal(medians.length, 2);
    for (let j = 0; j < 2; j++) {
      const col = Array.from({ length: s.rows }, (_, i) => s.data[i * 2 + j])
        .sort((a, b) => a - b);
      const med = (col[499] + col[500]) / 2;
      assert.ok(
        Math.abs(medians[j] - med) < 1e-6,
        `${j}: ${medians[j]} vs ${med}`,
      );
    }
    for (const p of svg.split('<g class="marginal"').slice(1)) {
      assert.equal(
        attrs(p, "rect", "data-n").map(Number).reduce((a, c) => a + c, 0),
        1000,
      );
    }
  } finally {
    posterior.dispose();
    npe.dispose();
  }
});

Deno.test("fit results and result tables display as HTML tables", async () => {
  const xs = [new Float64Array(100)];
  const v = [
    Float64Array.from({ length: 100 }, (_, k) => (k < 50 ? 0.01 : 0.02)),
  ];
  const fitter = new TraceFitter({
    model: "v = c + x : volt\nc : volt (constant)",
    input: { x: xs },
    inputUnits: { x: "volt" },
    output: { v },
    dt: 1e-4,
    nSamples: 10,
  });
  const result = await fitter.fit({
    optimizer: new DifferentialEvolution({ seed: 1 }),
    metric: new MSEMetric(),
    nRounds: 3,
    callback: null,
    params: { c: ["0 mV", "30 mV"] },
  });
  assert.deepEqual(
    Object.keys(result),
    ["params", "error"],
    "display is not enumerable",
  );
  const b = await bundleOf(result);
  const html = b["text/html"];
  assert.deepEqual(checkXml(html).slice(0, 2), ["table", "caption"]);
  const cells = [...html.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
  assert.equal(cells[0], "c");
  assert.equal(Number(cells[1]), Number(result.params.c.toPrecision(6)));
  assert.equal(cells[2], "error");
  assert.equal(Number(cells[3]), Number(result.error.toPrecision(6)));
  assert.match(
    b["text/plain"],
    /^ *parameter +value \(SI\)\n +c +[\d.e-]+\n +error +[\d.e-]+$/,
  );

  const table = fitter.results({ format: "table" });
  const n = fitter.results().length; // every evaluated set
  assert.ok(n > 50, `${n} sets: enough to test the 50-row cut`);
  assert.equal(table.rows.length, n);
  const t = await bundleOf(table);
  const rows = [...t["text/html"].matchAll(/<tr>(.*?)<\/tr>/g)].map((m) =>
    [...m[1].matchAll(/<t[dh]>([^<]*)<\/t[dh]>/g)].map((c) => c[1])
  );
  assert.deepEqual(rows[0], ["c", "error"]);
  assert.equal(rows.length, 1 + 50 + 1);
  assert.ok(t["text/html"].includes(`… ${n - 50} more rows`));
  const errors = rows.slice(1, 51).map((r) => Number(r[1]));
  const best = Math.min(...table.rows.map((r) => r[1]));
  assert.equal(
    errors[0],
    Number(best.toPrecision(6)),
    "sorted by error, best first",
  );
  for (let i = 1; i < errors.length; i++) assert.ok(errors[i] >= errors[i - 1]);
});

Deno.test("htmlTable(): escapes text and summarises rows past maxRows", () => {
  const html = htmlTable(["a&b"], [["<x>"], [1.23456789], [3]], { maxRows: 2 });
  checkXml(html);
  assert.ok(
    html.includes("<th>a&amp;b</th>") && html.includes("<td>&lt;x&gt;</td>"),
  );
  assert.ok(html.includes("<td>1.23457</td>") && !html.includes("<td>3</td>"));
  const small = htmlTable(["x"], [[2.004261e-5], [-1.5e9], [1e-4], [0.5]]);
  assert.deepEqual(
    [...small.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]),
    ["2.00426e-5", "-1.5e9", "1e-4", "0.5"],
  );
  assert.ok(html.includes("… 1 more rows"));
});
