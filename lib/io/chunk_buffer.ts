/**
 * Temporary files that buffer one-shot streams of recording chunks (a
 * socket, an async iterable) so that they can be re-read: the file keeps the
 * stream's precision (float32 while every value is exactly a float32,
 * float64 otherwise), is limited in size, and is removed on an error, on
 * request, or when the process exits normally or by `Deno.exit()`. Used by
 * the streamed online fitter (`lib/fitting/fitters/streamed_online_fitter.ts`),
 * which keeps no `Deno.` use of its own.
 * @module
 */
import { readChunks, type RecordingChunk } from "./chunks.ts";

/** A stream drained by {@linkcode bufferChunksToFile}. */
export interface BufferedChunks {
  /** The temporary file (raw samples interleaved by trace). */
  readonly path: string;
  /** Its sample type. */
  readonly dtype: "f32" | "f64";
  /** Number of traces (channels). */
  readonly nTraces: number;
  /** Number of samples per trace. */
  readonly nSteps: number;
  /** Last sample of every trace. */
  readonly last: Float64Array;
}

/**
 * Temporary files alive in this process; removed (synchronously) when the
 * process ends normally or by `Deno.exit()` (the `unload` event), in case a
 * fitter was never disposed.
 */
const liveTemps = new Set<string>();
let unloadHooked = false;

function trackTemp(path: string): void {
  liveTemps.add(path);
  if (!unloadHooked && typeof globalThis.addEventListener === "function") {
    unloadHooked = true;
    globalThis.addEventListener("unload", () => {
      for (const t of liveTemps) {
        try {
          Deno.removeSync(t);
        } catch { /* already gone */ }
      }
      liveTemps.clear();
    });
  }
}

/**
 * Removes a temporary file made by {@linkcode bufferChunksToFile}.
 * @param path the file
 * @returns when done (also when the file is already gone)
 */
export async function removeTempFile(path: string): Promise<void> {
  liveTemps.delete(path);
  await Deno.remove(path).catch(() => {});
}

/**
 * Removes a temporary file made by {@linkcode bufferChunksToFile},
 * synchronously (for `using` scopes).
 * @param path the file
 */
export function removeTempFileSync(path: string): void {
  liveTemps.delete(path);
  try {
    Deno.removeSync(path);
  } catch { /* already gone */ }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let o = 0;
  while (o < bytes.length) o += await file.write(bytes.subarray(o));
}

/** True when every value of the chunk is exactly a float32 (NaN included). */
function float32Exact(c: RecordingChunk): boolean {
  for (const ch of c.channels) {
    for (let j = 0; j < c.samples; j++) {
      const v = ch[j];
      if (Math.fround(v) !== v && v === v) return false;
    }
  }
  return true;
}

/**
 * Drains a one-shot stream of chunks into a temporary raw file (interleaved
 * by trace, `.f32` or `.f64`), removed on an error, by
 * {@linkcode removeTempFile}/{@linkcode removeTempFileSync}, or when the
 * process exits normally.
 * @param name the recording's name (for error messages)
 * @param source the chunks
 * @param tempDir directory of the file (default: the system's)
 * @param maxBytes largest file size
 * @returns the file and the recording's shape and last samples
 * @throws {TypeError} a chunk with another number of channels
 * @throws {RangeError} the file would exceed `maxBytes`, an empty stream
 */
export async function bufferChunksToFile(
  name: string,
  source: AsyncIterable<RecordingChunk>,
  tempDir: string | undefined,
  maxBytes: number,
): Promise<BufferedChunks> {
  // The stream is kept at its own precision: float32 on disk while every
  // value is exactly a float32 (a binary socket sends float32), switching
  // the file to float64 (rewriting what came before) at the first value
  // that is not.
  let dtype: "f32" | "f64" = "f32";
  const newTemp = async (suffix: string) => {
    const p = await Deno.makeTempFile({
      dir: tempDir,
      prefix: "neurofit_stream_",
      suffix,
    });
    trackTemp(p);
    return p;
  };
  let path = await newTemp(".f32");
  let file = await Deno.open(path, { write: true, truncate: true });
  let nTraces = -1;
  let nSteps = 0;
  let last = new Float64Array(0);
  try {
    for await (const c of source) {
      if (nTraces < 0) nTraces = c.channels.length;
      else if (c.channels.length !== nTraces) {
        throw new TypeError(
          `recording '${name}': chunk at sample ${c.start} has ${c.channels.length} channel(s), earlier chunks ${nTraces}`,
        );
      }
      const k = c.samples;
      if (dtype === "f32" && !float32Exact(c)) {
        // widen what was written so far to float64
        file.close();
        const wide = await newTemp(".f64");
        const out = await Deno.open(wide, { write: true, truncate: true });
        try {
          if (nSteps > 0) {
            for await (
              const old of readChunks(path, {
                format: "f32",
                channels: nTraces,
                chunkSamples: 65536,
              })
            ) {
              await writeAll(out, interleave(old, nTraces, "f64"));
            }
          }
        } catch (e) {
          out.close();
          await removeTempFile(wide);
          throw e;
        }
        await removeTempFile(path);
        path = wide;
        file = out;
        dtype = "f64";
      }
      const size = dtype === "f32" ? 4 : 8;
      if ((nSteps + k) * nTraces * size > maxBytes) {
        throw new RangeError(
          `recording '${name}': buffering the stream to a temporary file would exceed maxBufferBytes = ${maxBytes} bytes at sample ${
            nSteps + k
          } (${nTraces} trace(s) of ${dtype}); raise maxBufferBytes or read the recording from a file`,
        );
      }
      await writeAll(file, interleave(c, nTraces, dtype));
      nSteps += k;
      if (k > 0) last = Float64Array.from(c.channels, (ch) => ch[k - 1]);
    }
  } catch (e) {
    file.close();
    await removeTempFile(path);
    throw e;
  }
  file.close();
  if (nSteps === 0) {
    await removeTempFile(path);
    throw new RangeError(`recording '${name}' is empty`);
  }
  return { path, dtype, nTraces, nSteps, last };
}

/** The samples of a chunk interleaved by trace, as float32 or float64 bytes. */
function interleave(
  c: RecordingChunk,
  nTraces: number,
  dtype: "f32" | "f64",
): Uint8Array {
  const k = c.samples;
  const buf = dtype === "f32"
    ? new Float32Array(k * nTraces)
    : new Float64Array(k * nTraces);
  for (let t = 0; t < nTraces; t++) {
    const ch = c.channels[t];
    for (let j = 0; j < k; j++) buf[j * nTraces + t] = ch[j];
  }
  return new Uint8Array(buf.buffer);
}
