import assert from "node:assert/strict";
import {
  runTarp,
  tarpFromSamples,
} from "../../../lib/inference/diagnostics/tarp.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import { coveragePlot } from "../../../lib/plot/diagnostics.ts";
import { getTask } from "../../../bench/sbibm/tasks.ts";

const task = getTask("gaussian_linear");
const D = task.dimTheta;

function gaussianPosterior(scale: number, shift = 0) {
  const sd = Math.sqrt(0.05) * scale;
  return {
    sample(n: number, o: { x: Float32Array; seed?: number }): Matrix {
      const r = new Rng(o.seed ?? 0);
      const m = new Matrix(n, D);
      for (let i = 0; i < n * D; i++) {
        m.data[i] = o.x[i % D] / 2 + shift + sd * r.normal();
      }
      return m;
    },
  };
}

Deno.test("TARP on gaussian_linear (analytic posteriors)", async () => {
  const common = {
    prior: task.prior,
    simulate: (t: Matrix, s: number) => task.simulate(t, s),
    numSbcSamples: 300,
    numPosteriorSamples: 200,
    seed: 8,
  };
  const exact = await runTarp({ ...common, posterior: gaussianPosterior(1) });
  console.log(
    `exact: atc ${exact.atc.toFixed(3)}, KS p ${exact.ksPValue.toFixed(3)}`,
  );
  assert.equal(exact.alpha.length, 31); // 300 / 10 bins
  assert.equal(exact.ecp[0], 0);
  assert.equal(exact.ecp[30], 1);
  assert.ok(Math.abs(exact.atc) < 0.03, `atc ${exact.atc}`);
  assert.ok(exact.ksPValue > 0.01);
  for (let k = 0; k < exact.alpha.length; k++) {
    assert.ok(Math.abs(exact.ecp[k] - exact.alpha[k]) < 0.1);
  }
  const svg = coveragePlot({ levels: exact.alpha, coverage: exact.ecp });
  assert.equal((svg.match(/class="coverage"/g) ?? []).length, 1);

  const narrow = await runTarp({
    ...common,
    posterior: gaussianPosterior(0.6),
  });
  console.log(
    `narrow: atc ${narrow.atc.toFixed(3)}, KS p ${
      narrow.ksPValue.toExponential(2)
    }`,
  );
  assert.ok(narrow.atc < -0.03, `atc ${narrow.atc}`);
  assert.ok(narrow.ksPValue < 0.01);

  const wide = await runTarp({ ...common, posterior: gaussianPosterior(1.6) });
  console.log(
    `wide: atc ${wide.atc.toFixed(3)}, KS p ${wide.ksPValue.toExponential(2)}`,
  );
  assert.ok(wide.atc > 0.03, `atc ${wide.atc}`);
  assert.ok(wide.ksPValue < 0.01);
});

Deno.test("tarpFromSamples: references, distance and errors", () => {
  const rng = new Rng(1);
  const N = 200, L = 50;
  const thetas = new Matrix(
    N,
    2,
    Float32Array.from({ length: 2 * N }, () => rng.normal()),
  );
  // posterior = prior (ignores x): calibrated with respect to the prior.
  const samples = Array.from(
    { length: N },
    () =>
      new Matrix(
        L,
        2,
        Float32Array.from({ length: 2 * L }, () => rng.normal()),
      ),
  );
  const refs = new Matrix(
    N,
    2,
    Float32Array.from({ length: 2 * N }, () => rng.uniform(-2, 2)),
  );
  for (const distance of ["l1", "l2"] as const) {
    const r = tarpFromSamples(thetas, samples, {
      references: refs,
      distance,
      numBins: 10,
    });
    assert.equal(r.alpha.length, 11);
    assert.ok(r.ksPValue > 0.01, `${distance}: ${r.ksPValue}`);
    assert.ok(r.coverageValues.every((f) => f >= 0 && f <= 1));
  }
  assert.throws(
    () => tarpFromSamples(thetas, samples.slice(1)),
    /200 thetas but 199/,
  );
  assert.throws(
    () => tarpFromSamples(thetas, samples, { references: [[0, 0]] }),
    /references must be 200x2/,
  );
});
