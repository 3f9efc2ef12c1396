import assert from "node:assert/strict";
import { decimateM4, escapeXml, tracesSvg } from "../../lib/plot/traces.ts";
import { checkXml } from "./_xml.ts";

/** Parses the points of an SVG path made of M/L commands. */
function pathPoints(d: string): { x: number; y: number; move: boolean }[] {
  return [...d.matchAll(/([ML])(-?[\d.]+),(-?[\d.]+)/g)].map((m) => ({
    move: m[1] === "M",
    x: Number(m[2]),
    y: Number(m[3]),
  }));
}

function paths(svg: string): string[] {
  return [...svg.matchAll(/<path class="trace" d="([^"]*)"/g)].map((m) => m[1]);
}

const t = Array.from({ length: 1001 }, (_, i) => i * 1e-5); // 0 … 10 ms
const sine = t.map((s) => -65 + 20 * Math.sin(2 * Math.PI * 200 * s));

Deno.test("checkXml() (test helper)", async (t) => {
  await t.step("rejects malformed documents", () => {
    assert.deepEqual(checkXml('<a x="1"><b/>t &amp; u</a>'), ["a", "b"]);
    assert.throws(() => checkXml("<a><b></a>"));
    assert.throws(() => checkXml("<a>x & y</a>"));
    assert.throws(() => checkXml('<a x="<">'));
    assert.throws(() => checkXml("<a></a><b></b>"));
    assert.throws(() => checkXml('<a x="1" x="2"></a>'));
  });
});

Deno.test("tracesSvg()", async (tt) => {
  await tt.step("one legend entry per label and style, none for ''", () => {
    const draws = [0, 1, 2].map((k) => ({
      label: "posterior draws",
      values: sine.map((v) => v + k),
      color: "red",
    }));
    const svg = tracesSvg({
      t,
      series: [...draws, { label: "", values: sine }, {
        label: "data",
        values: sine,
        color: "black",
      }],
    });
    checkXml(svg);
    assert.equal((svg.match(/<path class="trace"/g) ?? []).length, 5);
    const legend = svg.slice(svg.indexOf('<g class="legend"'));
    assert.equal((legend.match(/>posterior draws</g) ?? []).length, 1);
    assert.equal((legend.match(/<line /g) ?? []).length, 2);
  });
  await tt.step(
    "well-formed standalone SVG with paths, ticks, labels, legend",
    () => {
      const svg = tracesSvg({
        t,
        series: [
          { label: "data", values: sine },
          {
            label: "model",
            values: sine.map((v) => v + 2),
            dash: true,
            color: "black",
          },
        ],
        title: "fit",
        yLabel: "v (mV)",
        width: 640,
        height: 300,
      });
      const names = checkXml(svg);
      assert.equal(names[0], "svg");
      assert.match(
        svg,
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="300"/,
      );
      assert.equal(names.filter((n) => n === "path").length, 2);
      assert.match(svg, /stroke-dasharray="5 3"/);
      assert.match(svg, /stroke="black"/);
      // x ticks in ms: 0, 2, …, 10 (d3 ticks of [0, 10]); y ticks nice around −85…−45
      const ticks = [...svg.matchAll(/<text class="tick"[^>]*>([^<]*)</g)].map((
        m,
      ) => m[1]);
      for (const s of ["0", "2", "4", "6", "8", "10"]) {
        assert.ok(
          ticks.includes(s),
          `x tick ${s} in ${ticks}`,
        );
      }
      assert.ok(
        ticks.includes("−80") && ticks.includes("−50"),
        `y ticks ${ticks}`,
      );
      for (
        const s of [">fit<", ">time (ms)<", ">v (mV)<", ">data<", ">model<"]
      ) assert.ok(svg.includes(s), s);
    },
  );

  await tt.step(
    "points map through the scales: first and last samples at the x range ends",
    () => {
      const svg = tracesSvg({
        t: [0, 0.5, 1],
        series: [{ label: "ramp", values: [0, 0.5, 1] }],
        width: 500,
        height: 300,
        timeUnit: "s",
      });
      const pts = pathPoints(paths(svg)[0]);
      assert.equal(pts.length, 3);
      // plot area: left margin 56, right 16 → 428 px wide; the panel group is translated
      assert.equal(pts[0].x, 0);
      assert.equal(pts[2].x, 428);
      // y: domain [0, 1] (already nice) maps to [innerH, 0]; middle point halfway
      assert.equal(pts[2].y, 0);
      assert.ok(Math.abs(pts[1].y - pts[0].y / 2) <= 0.1);
      assert.match(svg, />time \(s\)</);
    },
  );

  await tt.step("text is escaped everywhere", () => {
    const evil = `<b>&"'\u0001 µV`;
    const svg = tracesSvg({
      t,
      title: evil,
      xLabel: evil,
      yLabel: evil,
      idPrefix: 'x"y',
      panels: [{
        title: evil,
        yLabel: evil,
        series: [{ label: evil, values: sine, color: '"red"', dash: "1 <2" }],
      }],
    });
    checkXml(svg);
    assert.ok(!svg.includes("<b>"));
    assert.ok(svg.includes("&lt;b&gt;&amp;&quot;&apos; µV"));
    assert.equal(escapeXml("a<b>&'\"\u0000"), "a&lt;b&gt;&amp;&apos;&quot;");
  });

  await tt.step(
    "stacked panels: one group, clip path, title and path set per panel",
    () => {
      const panels = [0, 1, 2, 3, 4].map((k) => ({
        title: `trace ${k}`,
        series: [
          { label: "data", values: sine.map((v) => v + k) },
          { label: "model", values: sine, dash: true },
        ],
      }));
      const svg = tracesSvg({ t, panels, yLabel: "v (mV)" });
      const names = checkXml(svg);
      assert.equal(names.filter((n) => n === "clipPath").length, 5);
      assert.equal(names.filter((n) => n === "path").length, 10);
      assert.equal((svg.match(/class="panel"/g) ?? []).length, 5);
      for (let k = 0; k < 5; k++) assert.ok(svg.includes(`>trace ${k}<`));
      assert.match(svg, /height="1100"/); // default 100 + 200 per panel
      // time tick labels only under the bottom panel
      assert.equal((svg.match(/>time \(ms\)</g) ?? []).length, 1);
      // panels do not overlap: translate y increases by more than the panel height
      const ys = [
        ...svg.matchAll(/class="panel" transform="translate\(\d+,([\d.]+)\)"/g),
      ].map((m) => Number(m[1]));
      const h = Number(
        /<clipPath[^>]*><rect width="[\d.]+" height="([\d.]+)"/.exec(svg)![1],
      );
      for (let k = 1; k < 5; k++) {
        assert.ok(ys[k] - ys[k - 1] > h, `panel ${k}`);
      }
      assert.ok(ys[4] + h + 46 <= 1100 + 0.5);
      // series given together with panels become the first panel
      const both = tracesSvg({
        t,
        series: [{ label: "top", values: sine }],
        panels,
      });
      assert.equal((both.match(/class="panel"/g) ?? []).length, 6);
    },
  );

  await tt.step(
    "long traces are decimated per pixel column: size bounded, extremes kept",
    () => {
      const n = 200_000;
      const tl = Float64Array.from({ length: n }, (_, i) => i * 5e-5);
      const v = Float64Array.from(
        { length: n },
        (_, i) =>
          Math.sin(i / 300) + (i === 123_457 ? 50 : 0) +
          (i === 7_777 ? -30 : 0),
      );
      const svg = tracesSvg({
        t: tl,
        series: [{ label: "long", values: v }],
        width: 800,
        height: 300,
      });
      checkXml(svg);
      const pts = pathPoints(paths(svg)[0]);
      const innerW = 800 - 56 - 16;
      assert.ok(pts.length <= 4 * (innerW + 1), `${pts.length} points`);
      assert.ok(pts.length >= 2 * innerW, `${pts.length} points`); // not over-decimated
      assert.ok(svg.length < 60_000, `${svg.length} bytes`);
      // the one-sample spike and dip survive: top and bottom of the y range are reached
      const ys = pts.map((p) => p.y);
      const top = Math.min(...ys), bottom = Math.max(...ys);
      const full = tracesSvg({
        t: tl.subarray(0, 1000),
        series: [{
          label: "s",
          values: [v[123_457], v[7_777], ...new Array(998).fill(0)],
        }],
        width: 800,
        height: 300,
      });
      const fys = pathPoints(paths(full)[0]).map((p) => p.y);
      assert.equal(top, Math.min(...fys));
      assert.equal(bottom, Math.max(...fys));
      // x positions never go backwards
      for (let i = 1; i < pts.length; i++) assert.ok(pts[i].x >= pts[i - 1].x);
    },
  );

  await tt.step(
    "non-finite values leave gaps and do not break the y range",
    () => {
      const v = sine.slice();
      for (let i = 400; i < 420; i++) v[i] = NaN;
      v[700] = Infinity;
      const svg = tracesSvg({ t, series: [{ label: "gappy", values: v }] });
      checkXml(svg);
      const d = paths(svg)[0];
      assert.equal((d.match(/M/g) ?? []).length, 3);
      assert.ok(!/NaN|Infinity/.test(svg));
      const flat = tracesSvg({
        t: [0, 1e-3],
        series: [{ label: "c", values: [NaN, NaN] }],
      });
      checkXml(flat);
    },
  );

  await tt.step("bad input → TypeError / RangeError", () => {
    assert.throws(() => tracesSvg({ t }), TypeError);
    assert.throws(
      () => tracesSvg({ t, series: [{ label: "a", values: [1, 2] }] }),
      /"a" of panel 0 has 2 values, t has 1001/,
    );
    assert.throws(
      () => tracesSvg({ t: [], series: [{ label: "a", values: [] }] }),
      TypeError,
    );
    assert.throws(
      () =>
        tracesSvg({
          t: [0, 2, 1],
          series: [{ label: "a", values: [1, 2, 3] }],
        }),
      RangeError,
    );
    assert.throws(
      () =>
        tracesSvg({ t: [0, NaN], series: [{ label: "a", values: [1, 2] }] }),
      RangeError,
    );
    assert.throws(
      () => tracesSvg({ t, series: [{ label: "a", values: sine }], width: 0 }),
      RangeError,
    );
  });
});

Deno.test("decimateM4()", async (t) => {
  await t.step(
    "keeps first, min, max, last of every column in sample order",
    () => {
      const px = [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8];
      const v = [5, 9, 1, 3, 4, 2, 2, 8, 0, 1];
      assert.deepEqual(decimateM4(px, v, 2), [
        [0, 5],
        [0.2, 9],
        [0.4, 1],
        [0.8, 4],
        [1.0, 2],
        [1.4, 8],
        [1.6, 0],
        [1.8, 1],
      ]);
      // few points per column: unchanged
      assert.equal(decimateM4([0, 1], [1, 2], 2).length, 2);
    },
  );
});
