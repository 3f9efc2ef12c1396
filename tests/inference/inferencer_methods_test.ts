// The Inferencer with NLE and NRE (MCMC posteriors), its plots, and its
// method/estimator checks, on a noisy passive membrane (fast to simulate).
import assert from "node:assert/strict";
import { Inferencer } from "../../lib/inference/inferencer.ts";
import type { JUPYTER_DISPLAY } from "../../lib/display.ts";
import {
  inferencerConditionalCorrcoeff,
  inferencerConditionalPairplot,
  inferencerPairplot,
} from "../../lib/plot/inferencer.ts";
import { simulate } from "../../lib/simulation/simulate.ts";
import { NeuronModel } from "../../lib/simulation/neuron_model.ts";

const MODEL = `dv/dt = (El - v + R*I)/tau + sigma*xi*tau**-0.5 : volt
R : ohm (constant)
tau : second (constant)`;
const NS = { El: "-70 mV", sigma: "0.1 mV" };
const dt = 1e-4;
const nSteps = 1500;
const I = [
  Float64Array.from({ length: nSteps }, (_, k) => (k >= 50 ? 0.1e-9 : 0)),
];
const truth = { R: 100e6, tau: 10e-3 };
const mean = (v: Float64Array, a: number, b: number) => {
  let s = 0;
  for (let k = a; k < b; k++) s += v[k];
  return s / (b - a);
};
// steady state (∝ R, reached for every tau in the prior) and the rise (the
// mean over the first 5 ms, set by tau)
const features = [
  (v: Float64Array) => mean(v, 1000, 1500) * 1e3,
  (v: Float64Array) => mean(v, 50, 100) * 1e3,
];

async function observed(): Promise<Float64Array[]> {
  const m = new NeuronModel(MODEL, { namespace: NS });
  const r = await simulate(m, {
    dt,
    steps: nSteps,
    input: { I },
    params: truth,
    init: { v: -70e-3 },
    record: ["v"],
    seed: 99,
  });
  return r.traces.v;
}

function inferencer(v: Float64Array[]): Inferencer {
  return new Inferencer({
    dt,
    model: MODEL,
    namespace: NS,
    input: { I },
    output: { v },
    features: { v: features },
    paramInit: { v: "-70 mV" },
    seed: 3,
  });
}

const bounds = { R: ["50 Mohm", "150 Mohm"], tau: ["5 ms", "20 ms"] } as const;

Deno.test("Inferencer with NLE and NRE", async (t) => {
  const v = await observed();
  for (
    const [method, extra] of [
      ["NLE", { densityEstimator: "mdn" }],
      ["NRE", { classifier: "mlp" }],
    ] as const
  ) {
    await t.step(
      `${method}: the MCMC posterior concentrates around the truth`,
      async () => {
        const inf = inferencer(v);
        const post = await inf.infer({
          nSamples: 2000,
          params: bounds,
          inferenceMethod: method,
          ...extra,
          trainOptions: { maxEpochs: 60, showProgress: false },
          mcmcOptions: { warmupSteps: 50, numChains: 10 },
        });
        assert.equal(inf.summaries.length, 1);
        assert.equal(post, inf.posterior);
        const s = await inf.sample(400, { seed: 1 });
        // columns are the sorted parameter names: R, tau
        assert.deepEqual(inf.paramNames, ["R", "tau"]);
        // the truth lies in the central 95% of each marginal, which is much
        // narrower than the prior
        const lo = [50e6, 5e-3];
        const hi = [150e6, 20e-3];
        const tv = [truth.R, truth.tau];
        for (const j of [0, 1]) {
          const col = Array.from(
            { length: s.rows },
            (_, i) => s.data[i * 2 + j],
          )
            .sort((a, b) => a - b);
          const q = (p: number) => col[Math.floor(p * (col.length - 1))];
          const [a, b] = [q(0.025), q(0.975)];
          assert.ok(
            a <= tv[j] && tv[j] <= b,
            `${method}: ${inf.paramNames[j]} 95% interval [${a}, ${b}] misses ${
              tv[j]
            }`,
          );
          assert.ok(
            b - a < 0.5 * (hi[j] - lo[j]),
            `${method}: ${
              inf.paramNames[j]
            } 95% interval [${a}, ${b}] is too wide`,
          );
        }
        // save / load round trip: the same samples for the same seed
        const path = await Deno.makeTempFile({ suffix: ".nfpost" });
        await inf.savePosterior(path);
        const before = await inf.sample(50, { seed: 5 });
        const loaded = await inf.loadPosterior(path);
        assert.equal(loaded, inf.posterior);
        assert.equal(
          loaded.constructor.name,
          method === "NRE" ? "RatioPosterior" : "MCMCPosterior",
        );
        const after = await inf.sample(50, { seed: 5 });
        assert.deepEqual(Array.from(after.data), Array.from(before.data));
        await Deno.remove(path);
        inf.dispose();
      },
    );
  }

  await t.step(
    "pairplot, conditionalPairplot and conditionalCorrcoeff of the posterior",
    async () => {
      const inf = inferencer(v);
      await inf.infer({
        nSamples: 1000,
        params: bounds,
        densityEstimator: "mdn",
        trainOptions: { maxEpochs: 30, showProgress: false },
      });
      const svg = await inferencerPairplot(inf, {
        nSamples: 2000,
        points: [[truth.R, truth.tau]],
        seed: 1,
      });
      assert.match(svg, /<svg/);
      assert.ok(svg.includes(">R<") && svg.includes(">tau<"), "labels");
      const cp = await inferencerConditionalPairplot(inf, { resolution: 15 });
      assert.match(cp, /<svg/);
      const shown = await inf
        [Symbol.for("Jupyter.display") as typeof JUPYTER_DISPLAY]();
      const marg = shown["image/svg+xml"] ?? "";
      assert.equal((marg.match(/<g class="marginal"/g) ?? []).length, 2);
      assert.ok(marg.includes(">R<") && marg.includes(">tau<"), "names");
      assert.match(shown["text/plain"]!, /Inferencer: 2 parameters \(R, tau\)/);
      const c = await inferencerConditionalCorrcoeff(inf, { resolution: 15 });
      assert.equal(c.length, 2);
      assert.ok(Math.abs(c[0][0] - 1) < 1e-9 && Math.abs(c[1][1] - 1) < 1e-9);
      assert.ok(Math.abs(c[0][1] - c[1][0]) < 1e-9 && Math.abs(c[0][1]) <= 1);
      inf.dispose();
    },
  );

  await t.step("method and estimator names are checked", () => {
    const inf = inferencer(v);
    inf.initPrior(bounds);
    assert.throws(
      () => inf.initInference({ inferenceMethod: "ABC" as never }),
      /unknown inference method "ABC"/,
    );
    assert.throws(
      () =>
        inf.initInference({ inferenceMethod: "NLE", densityEstimator: "made" }),
      /NLE supports densityEstimator/,
    );
    assert.throws(
      () =>
        inf.initInference({ inferenceMethod: "SNRE", densityEstimator: "maf" }),
      /use classifier/,
    );
    assert.throws(
      () => inf.initInference({ classifier: "resnet" }),
      /classifier applies to NRE/,
    );
    const o = inf.initInference({ inferenceMethod: "SNLE" });
    assert.equal(o.constructor.name, "NLE");
    o.dispose();
  });
});
