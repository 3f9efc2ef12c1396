/** Test helpers for the posterior plots. */

/** Number of occurrences of `s` in `svg`. */
export function count(svg: string, s: string): number {
  return svg.split(s).length - 1;
}

/** Renders SVG to PNG with rsvg-convert; returns the PNG bytes or null when rsvg-convert is missing. */
export async function renderPng(svg: string): Promise<Uint8Array | null> {
  let cmd: Deno.ChildProcess;
  try {
    cmd = new Deno.Command("rsvg-convert", {
      args: ["--format=png"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const w = cmd.stdin.getWriter();
  await w.write(new TextEncoder().encode(svg));
  await w.close();
  const out = await cmd.output();
  if (!out.success) {
    throw new Error(
      `rsvg-convert failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return out.stdout;
}

/**
 * Compares `text` with the stored snapshot `tests/plot/__snapshots__/<name>`;
 * with the environment variable UPDATE_SNAPSHOTS=1 it (re)writes the file instead.
 */
export async function matchSnapshot(name: string, text: string): Promise<void> {
  const url = new URL(`./__snapshots__/${name}`, import.meta.url);
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
    await Deno.mkdir(new URL("./__snapshots__/", import.meta.url), {
      recursive: true,
    });
    await Deno.writeTextFile(url, text);
    return;
  }
  let stored: string;
  try {
    stored = await Deno.readTextFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`snapshot ${name} missing: run with UPDATE_SNAPSHOTS=1`);
    }
    throw e;
  }
  if (stored !== text) {
    const a = stored.split("\n"), b = text.split("\n");
    const k = a.findIndex((l, i) => l !== b[i]);
    throw new Error(
      `snapshot ${name} differs at line ${k + 1}:\n- ${
        a[k]?.slice(0, 200)
      }\n+ ${b[k]?.slice(0, 200)}`,
    );
  }
}
