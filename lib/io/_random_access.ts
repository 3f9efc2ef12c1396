/**
 * Private helper: random-access reads from a file (kept open, read by
 * offset) or from bytes in memory. Used by the ABF and NWB readers so that a
 * sweep or a chunk is read without loading the whole file.
 * @module
 */

import { type BinarySource, collectBytes } from "./_bytes.ts";

/** Reads byte ranges of a file or of bytes in memory. */
export interface RandomAccess {
  /** A name for error messages (the path, or `"<bytes>"`). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes at `offset` (fewer when the file ends earlier).
   * @param offset byte offset
   * @param length number of bytes
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Reads into `out` (up to its length) from `offset`; returns the bytes
   * read (fewer at the end of the source). Optional.
   */
  readInto?(offset: number, out: Uint8Array): Promise<number>;
  /** Closes the file (no-op for bytes). */
  close(): void;
}

/** Random access over bytes held in memory. */
export function bytesAccess(bytes: Uint8Array, name = "<bytes>"): RandomAccess {
  return {
    name,
    size: bytes.length,
    read: (offset, length) =>
      Promise.resolve(
        bytes.subarray(
          Math.min(offset, bytes.length),
          Math.min(offset + length, bytes.length),
        ),
      ),
    close: () => {},
  };
}

/**
 * Opens a source for random access. A path is opened and kept open until
 * `close()`; a byte stream is collected into memory first.
 * @param source path or URL, bytes, or a byte stream
 */
export async function openRandomAccess(
  source: BinarySource,
): Promise<RandomAccess> {
  if (typeof source === "string" || source instanceof URL) {
    const file = await Deno.open(source, { read: true });
    const size = (await file.stat()).size;
    let closed = false;
    // seek + read must not interleave between concurrent reads
    let queue: Promise<unknown> = Promise.resolve();
    const fillAt = async (offset: number, out: Uint8Array) => {
      const n = Math.max(0, Math.min(out.length, size - offset));
      if (n === 0) return 0;
      await file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < n) {
        const r = await file.read(out.subarray(got, n));
        if (r === null) break;
        got += r;
      }
      return got;
    };
    const readAt = async (offset: number, length: number) => {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      const got = await fillAt(offset, out);
      return got === n ? out : out.subarray(0, got);
    };
    const name = String(source instanceof URL ? source.pathname : source);
    return {
      name,
      size,
      read(offset, length) {
        const job = queue.then(() => readAt(offset, length));
        queue = job.catch(() => {});
        return job;
      },
      readInto(offset, out) {
        const job = queue.then(() => fillAt(offset, out));
        queue = job.catch(() => {});
        return job;
      },
      close() {
        if (!closed) {
          closed = true;
          file.close();
        }
      },
    };
  }
  if (source instanceof Uint8Array) return bytesAccess(source);
  return bytesAccess(await collectBytes(source), "<stream>");
}
