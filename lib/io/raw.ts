/**
 * Raw little-endian float32/float64 recordings with a JSON sidecar.
 *
 * The data file holds samples interleaved by channel (sample 0 of every
 * channel, then sample 1, ...), little-endian, no header. The sidecar
 * `<file>.json` (e.g. `rec.f32.json` next to `rec.f32`) describes it:
 *
 * ```json
 * { "format": "f32", "channels": 2, "dt": 5e-5, "units": ["A", "V"] }
 * ```
 *
 * `format` is `"f32"` or `"f64"` (`"float32"`/`"float64"` are accepted);
 * `channels` defaults to 1; give `dt` (seconds) or `sampleRate` (Hz), or both
 * when consistent; `units` is one string or one per channel; `labels` names
 * the channels.
 * @module
 */

import { DataFormatError } from "./errors.ts";
import {
  fileExists,
  type PathLike,
  readFileBytes,
  readFileText,
  writeFileBytes,
  writeFileText,
} from "./files.ts";

/** Sample formats of raw recordings: little-endian float32 or float64. */
export type RawFormat = "f32" | "f64";

/** Contents of a raw recording's JSON sidecar. */
export interface RawDescription {
  /** Sample format. */
  format: RawFormat;
  /** Number of interleaved channels. Default 1. */
  channels: number;
  /** Time step in seconds (or give `sampleRate`). */
  dt?: number;
  /** Samples per second (or give `dt`). */
  sampleRate?: number;
  /** SI unit name(s): one for all channels or one per channel. */
  units?: string | string[];
  /** Channel names. */
  labels?: string[];
}

/** A raw recording read into memory: one `Float64Array` per channel. */
export interface RawRecording extends RawDescription {
  /** Samples, one array per channel. */
  data: Float64Array[];
}

/**
 * Byte size of one sample of a format.
 * @param format `"f32"` or `"f64"`
 * @returns 4 or 8
 * @throws {RangeError} for another format
 */
export function rawItemSize(format: RawFormat): 4 | 8 {
  if (format === "f32") return 4;
  if (format === "f64") return 8;
  throw new RangeError(
    `raw format must be "f32" or "f64", got ${JSON.stringify(format)}`,
  );
}

function checkChannels(channels: number): number {
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(
      `channels must be a positive integer, got ${channels}`,
    );
  }
  return channels;
}

/**
 * Decodes interleaved little-endian samples into one array per channel.
 *
 * @param bytes the data
 * @param options format and number of channels (default 1)
 * @returns one `Float64Array` per channel
 * @throws {DataFormatError} when the byte count is not a multiple of
 *   `channels × itemsize` (the message names the offset of the incomplete
 *   sample)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRaw, encodeRaw } from "./raw.ts";
 * const [a, b] = decodeRaw(encodeRaw([[1, 2], [3, 4]], "f64"), { format: "f64", channels: 2 });
 * assert(a[1] === 2 && b[0] === 3);
 * ```
 */
export function decodeRaw(
  bytes: Uint8Array,
  options: { format: RawFormat; channels?: number },
): Float64Array[] {
  const size = rawItemSize(options.format);
  const channels = checkChannels(options.channels ?? 1);
  if (channels > MAX_RAW_CHANNELS) {
    throw new RangeError(
      `channels = ${channels} exceeds the maximum of ${MAX_RAW_CHANNELS}`,
    );
  }
  const frame = size * channels;
  const n = Math.floor(bytes.length / frame);
  if (n * frame !== bytes.length) {
    throw new DataFormatError(
      `raw ${options.format} data of ${bytes.length} bytes is not a multiple of ${channels} channel(s) × ${size} bytes = ${frame}: incomplete sample ${n} at byte offset ${
        n * frame
      } (${bytes.length - n * frame} trailing bytes)`,
      { offset: n * frame },
    );
  }
  const out = Array.from({ length: channels }, () => new Float64Array(n));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f32 = size === 4;
  for (let i = 0, at = 0; i < n; i++) {
    for (let c = 0; c < channels; c++, at += size) {
      out[c][i] = f32 ? dv.getFloat32(at, true) : dv.getFloat64(at, true);
    }
  }
  return out;
}

/**
 * Encodes channels as interleaved little-endian samples.
 *
 * @param channels one array per channel, equal lengths
 * @param format `"f32"` or `"f64"`
 * @returns the bytes
 * @throws {TypeError} when channels differ in length or there are none
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRaw } from "./raw.ts";
 * assert(encodeRaw([new Float64Array(3)], "f32").length === 12);
 * ```
 */
export function encodeRaw(
  channels: readonly ArrayLike<number>[],
  format: RawFormat,
): Uint8Array {
  const size = rawItemSize(format);
  if (channels.length === 0) {
    throw new TypeError("encodeRaw: no channels given");
  }
  const n = channels[0].length;
  channels.forEach((c, i) => {
    if (c.length !== n) {
      throw new TypeError(
        `encodeRaw: channel ${i} has ${c.length} samples, expected ${n} (as channel 0)`,
      );
    }
  });
  const k = channels.length;
  const out = new Uint8Array(n * k * size);
  const dv = new DataView(out.buffer);
  for (let i = 0, at = 0; i < n; i++) {
    for (let c = 0; c < k; c++, at += size) {
      if (size === 4) dv.setFloat32(at, channels[c][i], true);
      else dv.setFloat64(at, channels[c][i], true);
    }
  }
  return out;
}

/**
 * Path of the sidecar of a raw file: `<file>.json`.
 * @param path the data file
 * @returns the sidecar path
 */
export function sidecarPath(path: PathLike): string | URL {
  return typeof path === "string"
    ? path + ".json"
    : new URL(path.href + ".json");
}

/**
 * Validates a sidecar object (e.g. parsed JSON) into a description.
 *
 * @param value the sidecar content
 * @returns the normalised description (`format` as `"f32"`/`"f64"`)
 * @throws {TypeError} when it is not an object or a field has the wrong type
 * @throws {RangeError} on a bad format, channel count, dt, sample rate, or
 *   inconsistent `dt`/`sampleRate`, or a units/labels list of the wrong length
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRawDescription } from "./raw.ts";
 * const d = parseRawDescription({ format: "float32", sampleRate: 20000 });
 * assert(d.format === "f32" && d.channels === 1 && d.dt === 5e-5);
 * ```
 */
export function parseRawDescription(value: unknown): RawDescription {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `raw sidecar must be a JSON object, got ${JSON.stringify(value)}`,
    );
  }
  const v = value as Record<string, unknown>;
  const fmt = v.format === "float32"
    ? "f32"
    : v.format === "float64"
    ? "f64"
    : v.format;
  if (fmt !== "f32" && fmt !== "f64") {
    throw new RangeError(
      `raw sidecar: format must be "f32" or "f64", got ${
        JSON.stringify(v.format)
      }`,
    );
  }
  const channels = v.channels === undefined ? 1 : v.channels;
  if (typeof channels !== "number") {
    throw new TypeError(
      `raw sidecar: channels must be a number, got ${JSON.stringify(channels)}`,
    );
  }
  const out: RawDescription = {
    format: fmt,
    channels: checkChannels(channels),
  };
  for (const key of ["dt", "sampleRate"] as const) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x !== "number" || !(x > 0) || !Number.isFinite(x)) {
      throw new RangeError(
        `raw sidecar: ${key} must be a positive number, got ${
          JSON.stringify(x)
        }`,
      );
    }
    out[key] = x;
  }
  if (out.dt !== undefined && out.sampleRate !== undefined) {
    if (Math.abs(out.dt * out.sampleRate - 1) > 1e-9) {
      throw new RangeError(
        `raw sidecar: dt ${out.dt} s and sampleRate ${out.sampleRate} Hz disagree`,
      );
    }
  } else if (out.sampleRate !== undefined) out.dt = 1 / out.sampleRate;
  else if (out.dt !== undefined) out.sampleRate = 1 / out.dt;
  for (const key of ["units", "labels"] as const) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x === "string" && key === "units") out.units = x;
    else if (Array.isArray(x) && x.every((s) => typeof s === "string")) {
      if (x.length !== out.channels) {
        throw new RangeError(
          `raw sidecar: ${key} lists ${x.length} entries for ${out.channels} channel(s)`,
        );
      }
      out[key] = x as string[];
    } else {
      throw new TypeError(
        `raw sidecar: ${key} must be ${
          key === "units" ? "a string or " : ""
        }a list of strings, got ${JSON.stringify(x)}`,
      );
    }
  }
  return out;
}

/**
 * Reads the sidecar of a raw file, if it exists.
 * @param path the data file (the sidecar is `<path>.json`)
 * @returns the description, or `undefined` when there is no sidecar
 * @throws {DataFormatError} when the sidecar is not valid JSON or its
 *   content is invalid (with the byte offset)
 */
export async function readRawDescription(
  path: PathLike,
): Promise<RawDescription | undefined> {
  const side = sidecarPath(path);
  if (!(await fileExists(side))) return undefined;
  return parseRawSidecar(await readFileText(side), String(side));
}

/** UTF-8 byte length of `text.slice(0, chars)`. */
function byteOffset(text: string, chars: number): number {
  return new TextEncoder().encode(text.slice(0, Math.max(0, chars))).length;
}

/**
 * Parses the text of a raw sidecar. Every problem of the file's content is a
 * DataFormatError with the byte offset: of the JSON syntax error, or of the
 * offending key.
 * @param text the sidecar's text
 * @param name the sidecar's name, for messages
 * @returns the description
 * @throws {DataFormatError} on invalid JSON or an invalid description
 */
export function parseRawSidecar(text: string, name: string): RawDescription {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    const at = m ? byteOffset(text, Number(m[1])) : 0;
    throw new DataFormatError(
      `raw sidecar ${name} is not valid JSON (byte ${at}): ${msg}`,
      { offset: at },
    );
  }
  try {
    const d = parseRawDescription(json);
    // a channel count no data file can hold would allocate before failing
    if (d.channels > MAX_RAW_CHANNELS) {
      throw new RangeError(
        `raw sidecar: channels = ${d.channels} exceeds the maximum of ${MAX_RAW_CHANNELS}`,
      );
    }
    return d;
  } catch (e) {
    if (!(e instanceof TypeError || e instanceof RangeError)) throw e;
    // the offset of the key named in the message, else the start
    const key = /raw sidecar: (\w+)/.exec(e.message)?.[1];
    const k = key ? text.indexOf(`"${key}"`) : -1;
    const at = k >= 0 ? byteOffset(text, k) : 0;
    throw new DataFormatError(
      `${
        e.message.replace(/^raw sidecar/, `raw sidecar ${name}`)
      } (byte ${at})`,
      { offset: at },
    );
  }
}

/** Most interleaved channels a raw recording may declare (4,096, a high-density array). */
export const MAX_RAW_CHANNELS: number = 4096;

/**
 * Reads a raw recording and its sidecar.
 *
 * @param path the data file
 * @param options description fields that override the sidecar (needed when
 *   there is no sidecar: at least `format`)
 * @returns the description and one array per channel
 * @throws {TypeError} when there is no sidecar and no `format` option
 * @throws {DataFormatError} when the file size is not a whole number of samples
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRaw, writeRaw } from "./raw.ts";
 * const path = await Deno.makeTempFile({ suffix: ".f32" });
 * await writeRaw(path, [[0.5, 1.5, 2.5]], { format: "f32", dt: 1e-4, units: "V" });
 * const rec = await readRaw(path);
 * assert(rec.data[0][2] === 2.5 && rec.dt === 1e-4);
 * await Deno.remove(path); await Deno.remove(path + ".json");
 * ```
 */
export async function readRaw(
  path: PathLike,
  options: Partial<RawDescription> = {},
): Promise<RawRecording> {
  const side = await readRawDescription(path);
  if (!side && !options.format) {
    throw new TypeError(
      `readRaw: no sidecar ${String(sidecarPath(path))} and no format option`,
    );
  }
  const desc = parseRawDescription({ ...side, ...options });
  const data = decodeRaw(await readFileBytes(path), desc);
  return { ...desc, data };
}

/**
 * Writes a raw recording and its sidecar `<path>.json`.
 *
 * @param path the data file
 * @param channels one array per channel, equal lengths
 * @param description format, dt or sampleRate, units, labels (`channels` is
 *   taken from the data)
 * @returns when both files are written
 * @throws {TypeError} or {RangeError} on an invalid description or ragged
 *   channels
 */
export async function writeRaw(
  path: PathLike,
  channels: readonly ArrayLike<number>[],
  description: Omit<RawDescription, "channels"> & { channels?: number },
): Promise<void> {
  const desc = parseRawDescription({
    ...description,
    channels: channels.length,
  });
  if (
    description.channels !== undefined &&
    description.channels !== channels.length
  ) {
    throw new TypeError(
      `writeRaw: description says ${description.channels} channels, data has ${channels.length}`,
    );
  }
  await writeFileBytes(path, encodeRaw(channels, desc.format));
  await writeFileText(sidecarPath(path), JSON.stringify(desc, null, 2) + "\n");
}
