/**
 * The chunk type shared by the chunked readers.
 * @module
 */

/** A block of consecutive samples of every channel. */
export interface RecordingChunk {
  /** Index of the chunk's first sample in the recording (0-based). */
  start: number;
  /** Number of samples in this chunk. */
  samples: number;
  /** One array of length `samples` per channel. */
  channels: Float64Array[];
}
