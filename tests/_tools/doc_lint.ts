/**
 * `deno doc --lint` of the six entry points, together (a type exported by
 * one entry point is public for the others). Run:
 * `deno run -A tests/_tools/doc_lint.ts` (part of `deno task ok`).
 *
 * One class of diagnostics is dropped: `private-type-ref` whose referenced
 * type is one of RxJS's public types (`Observable`, `OperatorFunction`,
 * `MonoTypeOperatorFunction`), which `./streams` returns by design. Deno
 * 2.9 flags any type from another package as private (denoland/deno#27364);
 * re-exporting them would instead lint RxJS's own declarations. Every other
 * diagnostic fails the run.
 * @module
 */

/** The entry points of deno.json's `exports`. */
export const ENTRY_POINTS: readonly string[] = [
  "mod.ts",
  "streams/mod.ts",
  "gpu/mod.ts",
  "lib/inference/mod.ts",
  "lib/plot/mod.ts",
  "distributed/mod.ts",
];

/** Public types of other packages that the entry points reference. */
export const EXTERNAL_TYPES: ReadonlySet<string> = new Set([
  "Observable",
  "OperatorFunction",
  "MonoTypeOperatorFunction",
]);

/** One diagnostic: its first line and the whole block. */
export interface DocDiagnostic {
  /** `error[code]: message`. */
  head: string;
  /** The full text of the block. */
  text: string;
}

/**
 * Splits `deno doc --lint` output (without colours) into diagnostics.
 * @param output stderr of the run
 * @returns the `error[...]` blocks
 */
export function parseDiagnostics(output: string): DocDiagnostic[] {
  const out: DocDiagnostic[] = [];
  for (const block of output.split(/\n(?=error\[)/)) {
    const start = block.indexOf("error[");
    if (start < 0) continue;
    const text = block.slice(start).trimEnd();
    out.push({ head: text.split("\n")[0], text });
  }
  return out;
}

/**
 * Whether a diagnostic is the known false positive on another package's type.
 * @param d a diagnostic
 * @returns true for `private-type-ref` to one of {@linkcode EXTERNAL_TYPES}
 */
export function isExternalTypeRef(d: DocDiagnostic): boolean {
  const m = /^error\[private-type-ref\]: .* references private type '([^']+)'$/
    .exec(d.head);
  return m !== null && EXTERNAL_TYPES.has(m[1]);
}

/**
 * Runs the lint.
 * @param cwd the repository root
 * @returns the diagnostics that count, and whether deno itself failed otherwise
 */
export async function docLint(
  cwd: URL = new URL("../../", import.meta.url),
): Promise<{ errors: DocDiagnostic[]; ignored: number; output: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...ENTRY_POINTS],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(r.stderr) +
    new TextDecoder().decode(r.stdout);
  const all = parseDiagnostics(output);
  const errors = all.filter((d) => !isExternalTypeRef(d));
  if (!r.success && all.length === 0) {
    errors.push({ head: "deno doc --lint failed", text: output });
  }
  return { errors, ignored: all.length - errors.length, output };
}

if (import.meta.main) {
  const { errors, ignored } = await docLint();
  for (const e of errors) console.error(e.text + "\n");
  console.log(
    `doc lint: ${errors.length} errors (${ignored} references to RxJS types ignored)`,
  );
  if (errors.length > 0) Deno.exit(1);
}
