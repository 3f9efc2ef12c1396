// What each entry point loads: `deno info --json` lists the module graph
// (static and dynamic imports, npm packages as `npm:/name@version`
// modules). `./inference` must not load d3 or any plotting module; `./plot`
// must not load TensorFlow.js; the root and `./streams` load neither.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier);
}

const d3 = (s: string) => /^npm:\/?(@types\/)?d3-/.test(s);
const tfjs = (s: string) => s.includes("@tensorflow/");
const plotModule = (s: string) => s.includes("/lib/plot/");

Deno.test("./inference loads no d3 and no plotting module", async () => {
  const mods = await graph("lib/inference/mod.ts");
  assert.ok(mods.some(tfjs), "the graph lists npm modules (tfjs)");
  assert.deepEqual(mods.filter((s) => d3(s) || plotModule(s)), []);
});

Deno.test("./plot loads d3 but not TensorFlow.js", async () => {
  const mods = await graph("lib/plot/mod.ts");
  assert.ok(mods.some(d3), "d3 is listed");
  assert.deepEqual(mods.filter(tfjs), []);
});

Deno.test("the root and ./streams load neither d3 nor TensorFlow.js", async () => {
  for (const entry of ["mod.ts", "streams/mod.ts"]) {
    const mods = await graph(entry);
    assert.deepEqual(mods.filter((s) => d3(s) || tfjs(s)), [], entry);
  }
});
