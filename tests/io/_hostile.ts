/**
 * Helpers of the hostile-input tests: run `_hostile_child.ts` on files in a
 * child process and report what each read threw and how much the child's
 * memory grew.
 * @module
 */

/** What the child reported for one file. */
export interface HostileResult {
  file: string;
  ok: boolean;
  name?: string;
  offset?: number;
  message?: string;
  ms: number;
}

/** The child's report: one result per file and the memory growth in bytes. */
export interface HostileReport {
  results: HostileResult[];
  /** Largest growth of the resident set (peak, where the system reports one) over the start. */
  growth: number;
}

/**
 * Reads `files` with `reader` in a fresh `deno run` child.
 * @param reader npz, npy, csv, raw, socket-text, socket-frames or posterior
 * @param files paths
 * @returns the results and the memory growth
 */
export async function runHostile(
  reader: string,
  files: string[],
): Promise<HostileReport> {
  const child = new URL("./_hostile_child.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", child.pathname, reader, ...files],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `hostile child failed (${out.code}): ${text}\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  const lines = text.trim().split("\n").map((l) => JSON.parse(l));
  const mem = lines.pop() as {
    rss0: number;
    rssMax: number;
    hwm0: number | null;
    hwm1: number | null;
  };
  const growth = Math.max(
    mem.rssMax - mem.rss0,
    mem.hwm0 !== null && mem.hwm1 !== null ? mem.hwm1 - mem.hwm0 : 0,
  );
  return { results: lines as HostileResult[], growth };
}
