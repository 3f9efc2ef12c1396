import assert from "node:assert/strict";
import {
  conditionalCorrcoeff,
  conditionalPairplot,
  corrcoeffSvg,
} from "../../lib/plot/conditional.ts";
import { checkXml } from "./_xml.ts";
import { count, renderPng } from "./_svg_util.ts";

/** Log density (up to a constant) of N(mu, Σ) given the precision matrix P = Σ⁻¹. */
function gaussianLogp(mu: number[], P: number[][]) {
  return (thetas: number[][]): number[] =>
    thetas.map((t) => {
      let q = 0;
      for (let i = 0; i < mu.length; i++) {
        for (let j = 0; j < mu.length; j++) {
          q += (t[i] - mu[i]) * P[i][j] * (t[j] - mu[j]);
        }
      }
      return -0.5 * q;
    });
}

function inv2(a: number, b: number, d: number): number[][] {
  const det = a * d - b * b;
  return [[d / det, -b / det], [-b / det, a / det]];
}

Deno.test("conditionalCorrcoeff()", async (t) => {
  await t.step(
    "recovers the correlation 0.8 of a bivariate Gaussian",
    async () => {
      // σ = (1, 2), ρ = 0.8
      const logp = gaussianLogp([0.5, -1], inv2(1, 0.8 * 2, 4));
      const c = await conditionalCorrcoeff(logp, {
        condition: [0, 0],
        limits: [[-5, 6], [-10, 8]],
        resolution: 60,
      });
      assert.equal(c[0][0], 1);
      assert.equal(c[1][1], 1);
      assert.equal(c[0][1], c[1][0]);
      assert.ok(Math.abs(c[0][1] - 0.8) < 0.02, `got ${c[0][1]}`);
    },
  );
  await t.step(
    "3-D: slices give the conditional (partial) correlations",
    async () => {
      // precision matrix P; the slice over (i, j) at fixed k is Gaussian with
      // precision P[{i,j},{i,j}], so its correlation is -P_ij / sqrt(P_ii P_jj)
      const P = [[2, -0.8, 0.3], [-0.8, 1.5, 0.5], [0.3, 0.5, 1]];
      const logp = async (th: number[][]) => {
        await Promise.resolve();
        return Float32Array.from(gaussianLogp([0, 0, 0], P)(th));
      };
      const c = await conditionalCorrcoeff(logp, {
        condition: [0.2, -0.3, 0.1],
        limits: [-6, 6],
        resolution: 60,
      });
      for (const [i, j] of [[0, 1], [0, 2], [1, 2]]) {
        const exact = -P[i][j] / Math.sqrt(P[i][i] * P[j][j]);
        assert.ok(
          Math.abs(c[i][j] - exact) < 0.02,
          `(${i},${j}) ${c[i][j]} vs ${exact}`,
        );
      }
    },
  );
  await t.step("rejects bad input", async () => {
    const logp = gaussianLogp([0, 0], [[1, 0], [0, 1]]);
    await assert.rejects(
      conditionalCorrcoeff(logp, { condition: [0, 0], limits: [[0, 1]] }),
      TypeError,
    );
    await assert.rejects(
      conditionalCorrcoeff(logp, { condition: [0, 0], limits: [1, 1] }),
      RangeError,
    );
    await assert.rejects(
      conditionalCorrcoeff(() => [1], { condition: [0, 0], limits: [0, 1] }),
      TypeError,
    );
    await assert.rejects(
      conditionalCorrcoeff((t) => t.map(() => -Infinity), {
        condition: [0, 0],
        limits: [0, 1],
      }),
      RangeError,
    );
  });
});

Deno.test("conditionalPairplot()", async (t) => {
  await t.step(
    "well-formed SVG: d diagonal slices, d(d-1)/2 heat maps, markers",
    async () => {
      const P = [[2, -0.8, 0.3], [-0.8, 1.5, 0.5], [0.3, 0.5, 1]];
      const calls: number[] = [];
      const logp = (th: number[][]) => {
        calls.push(th.length);
        return gaussianLogp([0, 0, 0], P)(th);
      };
      const svg = await conditionalPairplot(logp, {
        condition: [0, 0.5, 0],
        limits: [-3, 3],
        resolution: 20,
        labels: ["a", "b", "c"],
        points: [[1, 1, 1]],
        title: "slices",
      });
      checkXml(svg);
      // one batched call per panel
      assert.deepEqual(calls, [20, 400, 20, 400, 400, 20]);
      assert.equal(count(svg, 'class="panel diag"'), 3);
      assert.equal(count(svg, 'class="panel offdiag"'), 3);
      assert.equal(count(svg, 'class="slice"'), 3);
      assert.ok(count(svg, 'class="slice-cell"') > 3 * 100);
      // condition + 1 point on each of 6 panels
      assert.equal(count(svg, 'class="point"'), 12);
      const png = await renderPng(svg);
      if (png === null) {
        console.log("rsvg-convert not found: PNG rendering skipped");
      } else assert.ok(png.length > 1000);
    },
  );
});

Deno.test("corrcoeffSvg()", async (t) => {
  await t.step(
    "d² cells with values and colours at the ends of the scale",
    () => {
      const svg = corrcoeffSvg([[1, -1, 0], [-1, 1, 0.5], [0, 0.5, 1]], [
        "a",
        "b",
        "<c>",
      ]);
      checkXml(svg);
      assert.equal(count(svg, 'class="cell"'), 9);
      assert.ok(svg.includes(">-1.00<") && svg.includes(">0.50<"));
      assert.ok(svg.includes("rgb(178, 24, 43)")); // +1 → #b2182b
      assert.ok(svg.includes("rgb(33, 102, 172)")); // -1 → #2166ac
      assert.ok(svg.includes("&lt;c&gt;"));
      assert.throws(() => corrcoeffSvg([[1, 0]]), TypeError);
    },
  );
});
