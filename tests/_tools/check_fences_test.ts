import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { checkFences, parseRules } from "./check_fences.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const DOC = Deno.readTextFileSync(
  new URL("../../docs/ARCHITECTURE.md", import.meta.url),
);

function plant(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "fences-"));
  for (
    const [path, text] of Object.entries({
      "docs/ARCHITECTURE.md": DOC,
      ...files,
    })
  ) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

Deno.test("checkFences()", async (t) => {
  await t.step("the repository follows docs/ARCHITECTURE.md", () => {
    const v = checkFences(ROOT);
    assert.deepEqual(v, [], v.map((x) => `${x.file}: ${x.message}`).join("\n"));
  });

  await t.step("parses the document's tables", () => {
    const rules = parseRules(DOC);
    assert.deepEqual(rules.rooms.get("gpu/"), ["lib/"]);
    assert.deepEqual(rules.fences.get("npm:rxjs"), ["streams/_deps.ts"]);
  });

  await t.step("fails on planted violations", () => {
    // the listed exceptions are planted too, so only the new violations count
    const exceptions = {};
    const root = plant({
      ...exceptions,
      "lib/a.ts": 'import { map } from "npm:rxjs@7.8.2";\nimport "./b.ts";\n',
      "lib/b.ts": 'export { y } from "./a.ts";\n',
      "lib/c.ts":
        'import { s } from "../streams/s.ts";\nconst t = "import \\"rxjs\\""; // Deno.exit\n',
      "lib/d.ts": "export const a = await Deno.readFile('x');\n",
      "lib/e.ts": 'import * as tf from "@tensorflow/tfjs-core";\n',
      "streams/s.ts":
        'import { g } from "../gpu/g.ts";\nexport * from "./_deps.ts";\n',
      "streams/_deps.ts": 'export * from "npm:rxjs@7.8.2";\n',
      "gpu/g.ts": "const a = navigator.gpu;\n",
      "lib/f.ts": "const a = navigator.gpu;\n",
    });
    try {
      const v = checkFences(root).map((x) => `${x.file}: ${x.message}`);
      const expect = [
        /lib\/a\.ts: "npm:rxjs@7\.8\.2" is fenced/,
        /import cycle: lib\/a\.ts -> lib\/b\.ts/,
        /lib\/c\.ts: lib\/ may not import streams\//,
        /lib\/d\.ts: uses Deno\./,
        /lib\/e\.ts: unfenced specifier "@tensorflow\/tfjs-core"/,
        /streams\/s\.ts: streams\/ may not import gpu\//,
        /lib\/f\.ts: uses navigator\.gpu/,
      ];
      for (const re of expect) {
        assert.ok(v.some((m) => re.test(m)), `${re} not in\n${v.join("\n")}`);
      }
      assert.equal(v.length, expect.length, v.join("\n"));
    } finally {
      rmSync(root, { recursive: true });
    }
  });

  await t.step("a listed exception that no longer occurs is an error", () => {
    // a document listing an exception that the code does not have
    const doc = DOC.replace(
      /(## Known exceptions[\s\S]*?\| -+ \| -+ \|\n)/,
      "$1| `Deno.` | `lib/a.ts` |\n",
    );
    assert.notEqual(doc, DOC);
    assert.equal(parseRules(doc).exceptions.length, 1);
    const root = plant({
      "docs/ARCHITECTURE.md": doc,
      "lib/a.ts": "export const a = 1;\n",
    });
    try {
      const v = checkFences(root);
      assert.ok(v.some((x) => /no longer occurs/.test(x.message)));
    } finally {
      rmSync(root, { recursive: true });
    }
  });
});
