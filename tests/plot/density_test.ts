import assert from "node:assert/strict";
import {
  gridContours,
  hdrThresholds,
  histogram1d,
  insideContour,
  kde1d,
  kde2d,
} from "../../lib/plot/_density.ts";
import { Rng } from "../../lib/_internal/random.ts";

function gauss2(n: number, rho: number, seed: number): [number[], number[]] {
  const r = new Rng(seed);
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = r.normal(), b = r.normal();
    x.push(a);
    y.push(rho * a + Math.sqrt(1 - rho * rho) * b);
  }
  return [x, y];
}

Deno.test("histogram1d()", async (t) => {
  await t.step("density integrates to the fraction inside the limits", () => {
    const h = histogram1d([0.1, 0.2, 0.7, 5], 0, 1, 10);
    const area = h.density.reduce((s, v) => s + v * 0.1, 0);
    assert.ok(Math.abs(area - 0.75) < 1e-12, `area ${area}`);
    assert.equal(h.edges.length, 11);
  });
});

Deno.test("kde1d()", async (t) => {
  await t.step("integrates to ~1 on its grid and matches N(0,1) at 0", () => {
    const r = new Rng(3);
    const x = Array.from({ length: 4000 }, () => r.normal());
    const k = kde1d(x, -6, 6, 200);
    const dx = 12 / 200;
    const area = k.density.reduce((s, v) => s + v * dx, 0);
    assert.ok(Math.abs(area - 1) < 1e-3, `area ${area}`);
    const at0 = k.density[100]; // cell centre 0.03
    assert.ok(Math.abs(at0 - 1 / Math.sqrt(2 * Math.PI)) < 0.03, `p(0) ${at0}`);
  });
});

Deno.test("kde2d()", async (t) => {
  const [x, y] = gauss2(5000, 0.5, 7);
  const g = kde2d(x, y, [-5, 5], [-5, 5], 60);
  await t.step("integrates to ~1 on its grid", () => {
    const cell = (10 / 60) ** 2;
    const area = g.values.reduce((s, v) => s + v * cell, 0);
    assert.ok(Math.abs(area - 1) < 2e-3, `area ${area}`);
  });
  await t.step("HDR contours enclose ~68% and ~95% of the samples", () => {
    const cs = gridContours(g, [0.68, 0.95]);
    const frac = cs.map((c) =>
      x.filter((xi, i) => insideContour(c, xi, y[i])).length / x.length
    );
    // the KDE is slightly wider than N(0,Σ) (Scott bandwidth): expected ≈ 0.70, 0.958
    assert.ok(Math.abs(frac[0] - 0.68) < 0.04, `68% contour holds ${frac[0]}`);
    assert.ok(Math.abs(frac[1] - 0.95) < 0.02, `95% contour holds ${frac[1]}`);
    assert.ok(cs[0].threshold > cs[1].threshold);
  });
  await t.step("hdrThresholds() rejects levels outside (0, 1)", () => {
    assert.throws(() => hdrThresholds([1, 2], [1]), RangeError);
    assert.deepEqual(hdrThresholds([4, 3, 2, 1], [0.4, 0.7]), [4, 3]);
  });
});
