import assert from "node:assert/strict";
import { sliceSample } from "../../../lib/inference/samplers/slice.ts";
import { mhSample } from "../../../lib/inference/samplers/mh.ts";
import {
  rejectionSample,
  sirSample,
} from "../../../lib/inference/samplers/importance.ts";
import {
  fromUnconstrained,
  toUnconstrained,
  unconstrainedPotential,
} from "../../../lib/inference/potentials/potential.ts";
import { sirInit } from "../../../lib/inference/samplers/resampling.ts";
import { Matrix } from "../../../lib/inference/matrix.ts";
import { Rng } from "../../../lib/_internal/random.ts";
import { c2st } from "../../../lib/inference/diagnostics/c2st.ts";
import {
  bananaBox,
  bananaExact,
  bananaPotential,
  checkSamples,
} from "./_targets.ts";

const N = 1000;
const exact = bananaExact(N, 99);
const exactBig = bananaExact(20000, 98);

const check = (name: string, s: Matrix) =>
  checkSamples(`banana ${name}`, s, exact, exactBig, { meanTol: 0.2 });

Deno.test("samplers on a 2-D banana", async (t) => {
  const init = sirInit(bananaPotential, bananaBox, 20, new Rng(3));
  await t.step("sliceSample matches exact samples", async () => {
    const r = sliceSample(bananaPotential, init, 2, N, { seed: 1, thin: 2 });
    await check("slice", r.samples);
  });
  await t.step(
    "sliceSample in unconstrained (logit) space matches",
    async () => {
      const box = { low: bananaBox.low, high: bananaBox.high };
      const u = unconstrainedPotential(bananaPotential, box);
      const r = sliceSample(u, toUnconstrained(init, box), 2, N, {
        seed: 2,
        thin: 2,
      });
      const th = fromUnconstrained(Float64Array.from(r.samples.data), box);
      await check("slice-logit", new Matrix(N, 2, Float32Array.from(th)));
    },
  );
  await t.step("mhSample matches exact samples", async () => {
    const r = mhSample(bananaPotential, init, 2, N, {
      seed: 3,
      thin: 10,
      warmupSteps: 400,
    });
    assert.ok(r.acceptanceRate > 0.1 && r.acceptanceRate < 0.8);
    await check("mh", r.samples);
  });
  await t.step("rejectionSample matches exact samples", async () => {
    const r = rejectionSample(bananaPotential, bananaBox, N, { seed: 4 });
    assert.ok(r.acceptanceRate > 0.01);
    await check("rejection", r.samples);
  });
  await t.step("sirSample matches exact samples", async () => {
    // the box is ~25x wider than the banana: K must be large for SIR to be accurate
    const r = sirSample(bananaPotential, bananaBox, N, {
      seed: 5,
      oversamplingFactor: 512,
    });
    await check("sir", r.samples);
  });
  await t.step("a wrong target is detected (the check can fail)", async () => {
    const shifted = (m: Matrix) => {
      const s = new Matrix(m.rows, 2, m.data.slice());
      for (let i = 0; i < m.rows; i++) s.data[2 * i + 1] += 0.4;
      return bananaPotential(s);
    };
    const r = sliceSample(shifted, init, 2, N, { seed: 6, thin: 2 });
    const acc = await c2st(exact, r.samples, { seed: 1 });
    assert.ok(acc > 0.55, `c2st of a shifted target ${acc}`);
  });
  await t.step("bad arguments throw", () => {
    assert.throws(() => sliceSample(bananaPotential, init, 2, 0), RangeError);
    assert.throws(() => sliceSample(bananaPotential, init, 3, 10), TypeError);
    assert.throws(
      () => mhSample(bananaPotential, new Float64Array([100, 100]), 2, 10),
      RangeError,
    );
  });
});
