/**
 * Private helpers: byte sources, concatenation.
 * @module
 */

import { type ByteChunks, type PathLike, readFileBytes } from "./files.ts";

export type { ByteChunks };

/** Iterates the pieces of a byte source; cancels a stream on early exit. */
export async function* iterateBytes(
  source: ByteChunks,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    let done = false;
    try {
      while (true) {
        const r = await reader.read();
        if (r.done) {
          done = true;
          return;
        }
        yield r.value;
      }
    } finally {
      if (!done) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  } else if (Symbol.asyncIterator in source) {
    yield* source as AsyncIterable<Uint8Array>;
  } else {
    yield* source as Iterable<Uint8Array>;
  }
}

/** Concatenates byte pieces into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads a whole byte source into one array. */
export async function collectBytes(source: ByteChunks): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of iterateBytes(source)) parts.push(p);
  return concatBytes(parts);
}

/** True for the byte-chunk source shapes accepted by the readers. */
export function isByteChunks(x: unknown): x is ByteChunks {
  return x instanceof ReadableStream ||
    (typeof x === "object" && x !== null && !(x instanceof Uint8Array) &&
      (Symbol.asyncIterator in x || Symbol.iterator in x));
}

/** What the binary readers read from: a path, bytes, or a byte stream. */
export type BinarySource = PathLike | Uint8Array | ByteChunks;

/** Resolves a {@linkcode BinarySource} to bytes (reads a path, collects a stream). */
export async function sourceBytes(source: BinarySource): Promise<Uint8Array> {
  if (typeof source === "string" || source instanceof URL) {
    return await readFileBytes(source);
  }
  if (source instanceof Uint8Array) return source;
  return await collectBytes(source);
}
