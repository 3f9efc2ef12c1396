/**
 * The only module of `lib/io` that touches the file system (`Deno.*`). The
 * parsers work on bytes, strings and streams; this module turns paths into
 * those.
 * @module
 */

/** A file path or `file:` URL. */
export type PathLike = string | URL;

/** Bytes arriving in pieces: a web stream, an async or a sync iterable. */
export type ByteChunks =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>;

/**
 * Reads a whole file as bytes.
 * @param path file path or URL
 * @returns the file content
 * @throws {Deno.errors.NotFound} when the file does not exist
 */
export function readFileBytes(path: PathLike): Promise<Uint8Array> {
  return Deno.readFile(path);
}

/**
 * Reads a whole file as UTF-8 text.
 * @param path file path or URL
 * @returns the file content
 * @throws {Deno.errors.NotFound} when the file does not exist
 */
export function readFileText(path: PathLike): Promise<string> {
  return Deno.readTextFile(path);
}

/**
 * Writes bytes to a file, replacing it.
 * @param path file path or URL
 * @param bytes content
 * @returns when written
 */
export function writeFileBytes(
  path: PathLike,
  bytes: Uint8Array,
): Promise<void> {
  return Deno.writeFile(path, bytes);
}

/**
 * Writes UTF-8 text to a file, replacing it.
 * @param path file path or URL
 * @param text content
 * @returns when written
 */
export function writeFileText(path: PathLike, text: string): Promise<void> {
  return Deno.writeTextFile(path, text);
}

/**
 * Opens a file as a byte stream. The file is closed when the stream ends or
 * is cancelled (e.g. when a consumer stops iterating early).
 * @param path file path or URL
 * @returns a stream of the file's bytes
 * @throws {Deno.errors.NotFound} when the file does not exist
 */
export async function openFileStream(
  path: PathLike,
): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path, { read: true });
  return file.readable;
}

/**
 * Whether a file exists.
 * @param path file path or URL
 * @returns true when `stat` succeeds
 */
export async function fileExists(path: PathLike): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
