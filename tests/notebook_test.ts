// examples/tutorial.ipynb: valid nbformat 4 with a Deno kernelspec; its code
// cells, concatenated into one module, type-check and run to the end, and
// every cell whose last expression `deno jupyter` would display gives the
// expected bundle (figures and the posterior: well-formed SVG; the fit
// result and the result table: HTML tables). The display is emulated the way
// the kernel does it: the value of a cell's last expression statement is
// shown through its `Symbol.for("Jupyter.display")` method.
import assert from "node:assert/strict";
import { checkXml } from "./plot/_xml.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLES = new URL("examples/", ROOT);

interface Cell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  source: string[] | string;
  outputs?: unknown[];
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name: string; language: string } };
  cells: Cell[];
}

const nb: Notebook = JSON.parse(
  await Deno.readTextFile(new URL("tutorial.ipynb", EXAMPLES)),
);
const text = (c: Cell) =>
  Array.isArray(c.source) ? c.source.join("") : c.source;
const codeCells = nb.cells.filter((c) => c.cell_type === "code").map(text);

/** The cell with its last top-level expression statement passed to `__show`. */
function displayLast(cell: string, index: number): string {
  const lines = cell.replace(/\s+$/, "").split("\n");
  let k = lines.length - 1;
  while (k > 0 && (lines[k] === "" || /^[\s})\]]/.test(lines[k]))) k--;
  const stmt = lines.slice(k).join("\n");
  if (
    /^(const|let|var|import|export|for|if|while|function|class|type|interface)\b/
      .test(stmt)
  ) return cell;
  return [
    ...lines.slice(0, k),
    `await __show(${index}, (${stmt.replace(/;\s*$/, "")}));`,
  ].join("\n");
}

const PRELUDE = `
const __bundles: { cell: number; bundle: Record<string, string> }[] = [];
async function __show(cell: number, value: unknown): Promise<void> {
  if (value === undefined) return;
  const key = Symbol.for("Jupyter.display");
  const v = value as Record<symbol, () => unknown>;
  const bundle = (value !== null && typeof value === "object" && typeof v[key] === "function")
    ? await v[key]() as Record<string, string>
    : { "text/plain": String(value) };
  __bundles.push({ cell, bundle });
}
`;
const EPILOGUE = `
await Deno.writeTextFile(Deno.env.get("BUNDLES_FILE")!, JSON.stringify(__bundles));
`;

/** One module: relative imports made absolute (the temp dir is elsewhere). */
function moduleSource(display: boolean): string {
  const body = codeCells.map((c, i) => display ? displayLast(c, i) : c)
    .join("\n\n");
  const src = (display ? PRELUDE : "") + body + (display ? EPILOGUE : "");
  return src.replaceAll(/from "\.\.\//g, `from "${ROOT.href}`);
}

Deno.test("tutorial.ipynb is nbformat 4 with a Deno kernelspec", () => {
  assert.equal(nb.nbformat, 4);
  assert.ok(nb.nbformat_minor >= 5, "cell ids need 4.5");
  assert.equal(nb.metadata.kernelspec?.name, "deno");
  assert.equal(nb.metadata.kernelspec?.language, "typescript");
  const ids = nb.cells.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, "unique cell ids");
  for (const c of nb.cells) {
    assert.ok(["code", "markdown", "raw"].includes(c.cell_type));
    if (c.cell_type === "code") assert.ok(Array.isArray(c.outputs));
  }
  assert.ok(codeCells.length >= 8, `${codeCells.length} code cells`);
  // fits the bundled tutorial data, then NPE on the synthetic HH recording
  const all = codeCells.join("\n");
  assert.ok(all.includes("../data/b2mf/input_traces_hh.csv"));
  assert.ok(all.includes("new TraceFitter(") && all.includes("inf.infer("));
});

Deno.test("tutorial.ipynb: the code cells type-check and run, with inline displays", async () => {
  const dir = await Deno.makeTempDir({ prefix: "neurofit_nb_" });
  try {
    const file = `${dir}/tutorial.ts`;
    await Deno.writeTextFile(file, moduleSource(true));
    const config = new URL("deno.json", ROOT).pathname;
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", config, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(check.success, new TextDecoder().decode(check.stderr));

    const bundlesFile = `${dir}/bundles.json`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", config, file],
      cwd: EXAMPLES, // the notebook's folder, as the kernel runs it
      env: { BUNDLES_FILE: bundlesFile, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
    const shown: { cell: number; bundle: Record<string, string> }[] = JSON
      .parse(await Deno.readTextFile(bundlesFile));
    const byCell = new Map(shown.map((s) => [s.cell, s.bundle]));

    const cellsWith = (re: RegExp) =>
      codeCells.flatMap((c, i) => (re.test(c) ? [i] : []));
    const figures = cellsWith(/^figure\(/m);
    assert.ok(figures.length >= 2, "a traces figure and a pair plot");
    for (const i of [...figures, ...cellsWith(/^posterior;$/m)]) {
      const svg = byCell.get(i)?.["image/svg+xml"];
      assert.ok(svg, `cell ${i} displays an SVG`);
      assert.equal(checkXml(svg)[0], "svg", `cell ${i}`);
    }
    const [posteriorCell] = cellsWith(/^posterior;$/m);
    const marginals = byCell.get(posteriorCell)!["image/svg+xml"]
      .match(/<g class="marginal"/g) ?? [];
    assert.equal(marginals.length, 2, "g_K and g_Na");
    const pair = byCell.get(figures[figures.length - 1])!["image/svg+xml"];
    assert.ok(pair.includes(">g_K<") && pair.includes(">g_Na<"), "labels");

    const [fitCell] = cellsWith(/^fit;$/m);
    const fitHtml = byCell.get(fitCell)?.["text/html"] ?? "";
    checkXml(fitHtml);
    for (const p of ["g_na", "g_kd", "gl", "error"]) {
      assert.ok(fitHtml.includes(`<td>${p}</td>`), p);
    }
    const [tableCell] = cellsWith(
      /^fitter\.results\(\{ format: "table" \}\);$/m,
    );
    const tableHtml = byCell.get(tableCell)?.["text/html"] ?? "";
    checkXml(tableHtml);
    assert.match(tableHtml, /1000 evaluated parameter sets, sorted by error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
