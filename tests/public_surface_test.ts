// The entry points export what users call: none of the internals below (they
// stay importable from their defining modules), GpuUnavailableError from the
// root, StreamedOnlineTraceFitter from the root only, and no private module.
import assert from "node:assert/strict";
import * as root from "../mod.ts";
import * as streams from "../streams/mod.ts";
import * as gpu from "../gpu/mod.ts";
import * as inference from "../lib/inference/mod.ts";
import * as plot from "../lib/plot/mod.ts";
import { GpuUnavailableError } from "../lib/codegen/backend.ts";

const INTERNALS = [
  "errorKey",
  "checkLayout",
  "rint",
  "normalizeWeights",
  "callbackSetup",
  "formatNumber",
  "formatRound",
  "validateBounds",
  "crc32",
  "refineTraceFitter",
  "kolmogorovSurvival",
  "ratioLossAtoms",
  "CountedPotential",
  "sampleLogWeights",
  "clampToBox",
  "DeviceUnavailableError",
];
const ENTRIES: Record<string, Record<string, unknown>> = {
  "mod.ts": root,
  "streams/mod.ts": streams,
  "gpu/mod.ts": gpu,
  "lib/inference/mod.ts": inference,
  "lib/plot/mod.ts": plot,
};

Deno.test("no entry point exports an internal helper", () => {
  for (const [name, m] of Object.entries(ENTRIES)) {
    assert.deepEqual(INTERNALS.filter((s) => s in m), [], name);
  }
});

Deno.test("GpuUnavailableError from the root; StreamedOnlineTraceFitter from the root only", () => {
  assert.equal(root.GpuUnavailableError, GpuUnavailableError);
  assert.equal(typeof root.StreamedOnlineTraceFitter, "function");
  const holders = Object.entries(ENTRIES)
    .filter(([, m]) => "StreamedOnlineTraceFitter" in m).map(([n]) => n);
  assert.deepEqual(holders, ["mod.ts"]);
});

/** The modules an entry point re-exports from, following nested `mod.ts` files. */
async function reexports(
  file: URL,
  seen = new Set<string>(),
): Promise<string[]> {
  if (seen.has(file.href)) return [];
  seen.add(file.href);
  const src = await Deno.readTextFile(file);
  const out: string[] = [];
  for (const m of src.matchAll(/^export[^;]*?from "([^"]+)"/gms)) {
    const target = new URL(m[1], file);
    out.push(target.pathname);
    if (m[1].endsWith("/mod.ts")) out.push(...await reexports(target, seen));
  }
  return out;
}

Deno.test("entry points re-export no private (_x.ts) module", async () => {
  for (const file of Object.keys(ENTRIES)) {
    const froms = await reexports(new URL(`../${file}`, import.meta.url));
    assert.ok(froms.length > 0, file);
    assert.deepEqual(froms.filter((f) => /\/_[^/]*$/.test(f)), [], file);
  }
  // nested mod.ts files are followed (the root re-exports lib/io/mod.ts)
  const rootFroms = await reexports(new URL("../mod.ts", import.meta.url));
  assert.ok(rootFroms.some((f) => f.endsWith("/lib/io/npz.ts")));
});
