/**
 * Posterior files: every kind savePosterior writes loads through the entry
 * point's loadPosterior; the Inferencer dispatches on the kind tag; headers
 * are validated before a network is built.
 */
import assert from "node:assert/strict";
import {
  BoxUniform,
  DirectPosterior,
  loadPosterior,
  MCMCPosterior,
  NLE,
  NPE,
  NRE_A,
  PosteriorFileError,
  RatioPosterior,
  savePosterior,
} from "../../../lib/inference/mod.ts";
import { pack, unpack } from "../../../lib/inference/posteriors/_format.ts";
import { Inferencer } from "../../../lib/inference/inferencer.ts";
import { runHostile } from "../../io/_hostile.ts";

const prior = new BoxUniform({ low: [0, 0], high: [1, 1] });
const theta = prior.sample(300, 1);
const x = theta; // x = theta: enough to train a tiny estimator for one epoch

type Key = "estimator" | "classifier";
const keyOf = (kind: string): Key =>
  kind === "RatioPosterior" ? "classifier" : "estimator";

/** Re-packs a file after `edit` changed its header/weights (checksum redone). */
function repack(
  bytes: Uint8Array,
  edit: (
    h: Record<string, Record<string, unknown>>,
    w: Float32Array[],
  ) => Float32Array[] | void,
): Uint8Array {
  const { header, weights } = unpack<Record<string, Record<string, unknown>>>(
    bytes,
    (h) =>
      (h[keyOf(h.kind as unknown as string)] as { weightShapes: number[][] })
        .weightShapes,
  );
  const w = edit(header, weights) ?? weights;
  return pack(header, w);
}

async function npeFile(): Promise<Uint8Array> {
  const npe = new NPE({ prior, densityEstimator: "mdn", seed: 1 });
  npe.appendSimulations(theta, x);
  await npe.train({ maxEpochs: 1, showProgress: false });
  const post = npe.buildPosterior();
  const bytes = post.toBytes();
  post.dispose();
  npe.dispose();
  return bytes;
}

async function nleFile(): Promise<Uint8Array> {
  const nle = new NLE({ prior, densityEstimator: "mdn", seed: 1 });
  nle.appendSimulations(theta, x);
  await nle.train({ maxEpochs: 1, showProgress: false });
  const post = nle.buildPosterior({ mcmcMethod: "mh", numChains: 2 });
  post.setDefaultX([0.5, 0.5]);
  const bytes = post.toBytes();
  post.dispose();
  nle.dispose();
  return bytes;
}

async function nreFile(): Promise<Uint8Array> {
  const nre = new NRE_A({ prior, classifier: "mlp", seed: 1 });
  nre.appendSimulations(theta, x);
  await nre.train({ maxEpochs: 1, showProgress: false });
  const post = nre.buildPosterior({ mcmcMethod: "mh", numChains: 2 });
  post.setDefaultX([0.5, 0.5]);
  const bytes = post.toBytes();
  post.dispose();
  nre.dispose();
  return bytes;
}

Deno.test("posterior files", async (t) => {
  const files = {
    DirectPosterior: await npeFile(),
    LikelihoodPosterior: await nleFile(),
    RatioPosterior: await nreFile(),
  };
  const dir = await Deno.makeTempDir();
  const at = (name: string) => `${dir}/${name}.nfpost`;
  try {
    await t.step(
      "loadPosterior (inference entry point) loads every kind savePosterior writes",
      async () => {
        const classes = {
          DirectPosterior,
          LikelihoodPosterior: MCMCPosterior,
          RatioPosterior,
        };
        for (const [kind, bytes] of Object.entries(files)) {
          // savePosterior of the loaded posterior writes the same bytes
          await Deno.writeFile(at(kind), bytes);
          const p = await loadPosterior(at(kind));
          assert.ok(
            p instanceof classes[kind as keyof typeof classes],
            `${kind}: got ${p.constructor.name}`,
          );
          if (kind === "LikelihoodPosterior") {
            assert.ok(!(p instanceof RatioPosterior));
          }
          await savePosterior(p, at(kind + "_again"));
          assert.deepEqual(await Deno.readFile(at(kind + "_again")), bytes);
          const probe = [[0.2, 0.3], [0.7, 0.9]];
          const lp = await p.logProb(probe, { x: [0.5, 0.5] });
          assert.ok(Array.from(lp).every(Number.isFinite), `${kind}: ${lp}`);
          p.dispose();
        }
      },
    );

    await t.step(
      "Inferencer.loadPosterior: an NLE file with bad weights reports that, not 'not a DirectPosterior file'",
      async () => {
        // weight shapes that no longer match the stored bytes (one array
        // dropped from the list), checksum recomputed
        const bad = repack(files.LikelihoodPosterior, (h) => {
          const est = h.estimator as { weightShapes: number[][] };
          est.weightShapes = est.weightShapes.slice(1);
        });
        // ... and weights that do not fit the rebuilt network
        const wrong = repack(files.LikelihoodPosterior, (h, w) => {
          const est = h.estimator as { weightShapes: number[][] };
          est.weightShapes[0] = [w[0].length];
        });
        const inf = new Inferencer({
          dt: 1e-4,
          model: "dv/dt = -v/tau : volt\ntau : second (constant)",
          input: {},
          output: { v: [new Float64Array(10)] },
          features: {
            v: [(v: Float64Array) => v[0], (v: Float64Array) => v[1]],
          },
          paramInit: { v: "0 mV" },
        });
        try {
          for (
            const [name, bytes] of [["bad", bad], ["wrong", wrong]] as const
          ) {
            await Deno.writeFile(at(name), bytes);
            const e = await inf.loadPosterior(at(name)).then(
              () => null,
              (e) => e,
            );
            assert.ok(e instanceof PosteriorFileError, String(e));
            assert.ok(e instanceof RangeError);
            assert.doesNotMatch(e.message, /DirectPosterior/);
            assert.match(e.message, /LikelihoodPosterior|weight/);
            assert.equal(typeof e.offset, "number");
          }
          // the good file loads and becomes the current posterior
          await Deno.writeFile(at("nle"), files.LikelihoodPosterior);
          const p = await inf.loadPosterior(at("nle"));
          assert.ok(p instanceof MCMCPosterior);
          assert.equal(inf.posterior, p);
        } finally {
          inf.dispose();
        }
      },
    );

    await t.step(
      "a crafted hiddenFeatures fails before the network is allocated (child process RSS)",
      async () => {
        const paths: string[] = [];
        for (
          const [kind, h] of [["DirectPosterior", 6000], [
            "LikelihoodPosterior",
            6000,
          ], ["RatioPosterior", 6000]] as const
        ) {
          const bytes = repack(files[kind], (hd) => {
            (hd[keyOf(kind)] as { hiddenFeatures: number }).hiddenFeatures = h;
          });
          paths.push(at(`big_${kind}`));
          await Deno.writeFile(paths.at(-1)!, bytes);
        }
        const r = await runHostile("posterior", paths);
        for (const res of r.results) {
          assert.equal(
            res.name,
            "PosteriorFileError",
            `${res.file}: ${res.message}`,
          );
          assert.equal(typeof res.offset, "number");
          assert.match(res.message!, /beyond the \d+ its stored weights allow/);
        }
        // a 6000-wide hidden layer is 6000² = 3.6e7 float32 (144 MB) per
        // layer, more with its initial values; the stored weights are a few
        // thousand values, so the rebuild budget (8× them + 2^24 values)
        // stops the build before the first such layer. 64 MiB: the budget's
        // fixed part, which nothing here reaches.
        assert.ok(
          r.growth < 64 * 2 ** 20,
          `child RSS grew by ${(r.growth / 2 ** 20).toFixed(1)} MiB`,
        );
      },
    );

    await t.step(
      "header sizes and shapes are validated, with byte offsets",
      async () => {
        const cases: [string, Uint8Array, RegExp][] = [
          [
            "negative dim",
            repack(files.DirectPosterior, (h) => {
              (h.estimator as { weightShapes: number[][] }).weightShapes[0] = [
                -1,
                4,
              ];
            }),
            /not a list of non-negative integers/,
          ],
          [
            "xDim not an integer",
            repack(files.DirectPosterior, (h) => {
              (h.estimator as { xDim: number }).xDim = 2.5;
            }),
            /xDim = 2.5/,
          ],
          [
            "zscore length",
            repack(files.RatioPosterior, (h) => {
              (h.classifier as { xDim: number }).xDim = 3;
            }),
            /zscore\.xMean has 2 values for xDim = 3/,
          ],
          [
            "unknown kind",
            repack(files.DirectPosterior, (h) => {
              (h as unknown as { kind: string }).kind = "FuturePosterior";
            }),
            /unknown posterior kind "FuturePosterior"/,
          ],
        ];
        for (const [what, bytes, re] of cases) {
          await Deno.writeFile(at("case"), bytes);
          const e = await loadPosterior(at("case")).then(() => null, (e) => e);
          assert.ok(e instanceof PosteriorFileError, `${what}: ${e}`);
          assert.match(e.message, re, what);
          assert.equal(typeof e.offset, "number", what);
        }
        const flipped = files.DirectPosterior.slice();
        flipped[40] ^= 1;
        const e = await DirectPosterior.fromBytes(flipped).then(
          () => null,
          (e) => e,
        );
        assert.ok(
          e instanceof PosteriorFileError && e.offset === flipped.length - 4,
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
