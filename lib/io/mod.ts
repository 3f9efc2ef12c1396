/**
 * Readers and writers for recordings and arrays: CSV (plain and the pandas /
 * brian2modelfitting layout), NPY and NPZ (NumPy), raw little-endian
 * float32/float64 with a JSON sidecar, and incremental chunked readers over
 * byte streams; ABF (Axon) and NWB 2.x icephys recordings (`readAbf`,
 * `readNwb`, `loadTraces`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpz, encodeNpz, parseCsvMatrix, readChunks } from "./mod.ts";
 * const m = parseCsvMatrix(",0,1\n0,1,2\n1,3,4\n");
 * const z = decodeNpz(encodeNpz({ x: m.data }));
 * assert(z.x.shape.join() === "2,2");
 * for await (const c of readChunks(new TextEncoder().encode("1\n2\n3\n"), { format: "csv", chunkSamples: 2 })) {
 *   assert(c.channels.length === 1);
 * }
 * ```
 * @module
 */

export { DataFormatError, type DataFormatPosition } from "./errors.ts";
export {
  type CsvMatrix,
  type CsvReadOptions,
  type CsvSource,
  type CsvWriteOptions,
  formatCsv,
  parseCsvMatrix,
  readCsvMatrix,
  writeCsv,
} from "./csv.ts";
export {
  type BinarySource,
  decodeNpy,
  encodeNpy,
  type NpyArray,
  type NpyData,
  type NpyDtype,
  type NpyInput,
  type NpyReadOptions,
  npyRows,
  type NpyWriteOptions,
  readNpy,
  writeNpy,
} from "./npy.ts";
export {
  decodeNpz,
  encodeNpz,
  type NpzWriteOptions,
  readNpz,
  writeNpz,
} from "./npz.ts";
export {
  decodeRaw,
  encodeRaw,
  MAX_RAW_CHANNELS,
  parseRawDescription,
  parseRawSidecar,
  type RawDescription,
  type RawFormat,
  rawItemSize,
  type RawRecording,
  readRaw,
  readRawDescription,
  sidecarPath,
  writeRaw,
} from "./raw.ts";
export {
  type ChunkFormat,
  type ChunkSource,
  MAX_CSV_LINE_BYTES,
  readChunks,
  type ReadChunksOptions,
  type RecordingChunk,
} from "./chunks.ts";
export {
  ABF_EPOCH_TYPES,
  ABF_OPERATION_MODES,
  type AbfChannel,
  type AbfChunkOptions,
  type AbfDac,
  type AbfEpoch,
  type AbfRecording,
  type AbfSweep,
  type AbfTag,
  readAbf,
  type ReadAbfOptions,
} from "./abf.ts";
export {
  NWB_RESPONSE_TYPES,
  NWB_STIMULUS_TYPES,
  type NwbRecording,
  type NwbSeries,
  type NwbSweep,
  readNwb,
  type ReadNwbOptions,
} from "./nwb.ts";
export {
  type LoadedTraces,
  loadTraces,
  type LoadTracesOptions,
  recordingChunks,
  type RecordingChunksOptions,
  type RecordingFormat,
  recordingFormat,
} from "./recordings.ts";
export { type ByteChunks, type PathLike } from "./files.ts";
