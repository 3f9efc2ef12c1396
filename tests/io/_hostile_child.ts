/**
 * Child process of the hostile-file tests: reads every file named on the
 * command line with one reader and prints one JSON line per file (the error
 * class, its byte offset), then a line with the memory figures: the resident
 * set size (`Deno.memoryUsage().rss`) at the start and its largest value
 * after any file, and the peak (`VmHWM` of /proc/self/status, where the
 * system has it) at the start and at the end.
 *
 * Usage: deno run -A tests/io/_hostile_child.ts <reader> <file>...
 * with reader one of npz, npy, csv, raw, socket-text, socket-frames,
 * chunks-csv, chunks-npy, chunks-f32, posterior.
 * @module
 */
import { readNpz } from "../../lib/io/npz.ts";
import { readNpy } from "../../lib/io/npy.ts";
import { readCsvMatrix } from "../../lib/io/csv.ts";
import { readRaw } from "../../lib/io/raw.ts";
import { socketChunks } from "../../streams/socket.ts";
import { readChunks } from "../../lib/io/chunks.ts";

function hwm(): number | null {
  try {
    const s = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(s);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

async function read(reader: string, path: string): Promise<void> {
  switch (reader) {
    case "npz":
      await readNpz(path);
      return;
    case "npy":
      await readNpy(path);
      return;
    case "csv":
      await readCsvMatrix(new URL(`file://${path}`));
      return;
    case "raw":
      await readRaw(path);
      return;
    case "socket-text":
    case "socket-frames": {
      // streamed from the file in 64 KiB pieces, as a socket delivers them
      const file = await Deno.open(path);
      const pieces = async function* () {
        try {
          while (true) {
            const buf = new Uint8Array(65536);
            const n = await file.read(buf);
            if (n === null) return;
            yield buf.subarray(0, n);
          }
        } finally {
          file.close();
        }
      };
      const format = reader === "socket-text" ? "text" : "f32frames";
      for await (const _ of socketChunks(pieces(), { format })) { /* drain */ }
      return;
    }
    case "chunks-csv":
    case "chunks-npy":
    case "chunks-f32": {
      // streamed from the file by readChunks itself
      const format = reader.slice(7) as "csv" | "npy" | "f32";
      for await (const _ of readChunks(path, { format })) { /* drain */ }
      return;
    }
    case "posterior": {
      const { loadPosterior } = await import(
        "../../lib/inference/posteriors/file.ts"
      );
      const p = await loadPosterior(path);
      p.dispose();
      return;
    }
    default:
      throw new Error(`unknown reader ${reader}`);
  }
}

const [reader, ...files] = Deno.args;
if (reader === "posterior") {
  // load the inference engine (tfjs) before the baseline is taken
  const { ensureBackend } = await import(
    "../../lib/inference/estimators/_backend.ts"
  );
  await ensureBackend();
}
const rss0 = Deno.memoryUsage().rss;
const hwm0 = hwm();
let rssMax = rss0;
for (const file of files) {
  const t0 = performance.now();
  let line: Record<string, unknown>;
  try {
    await read(reader, file);
    line = { file, ok: true };
  } catch (e) {
    const err = e as Error & { offset?: number };
    line = {
      file,
      ok: false,
      name: err?.name,
      offset: err?.offset,
      message: String(err?.message).slice(0, 300),
    };
  }
  line.ms = performance.now() - t0;
  rssMax = Math.max(rssMax, Deno.memoryUsage().rss);
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({ rss0, rssMax, hwm0, hwm1: hwm() }));
