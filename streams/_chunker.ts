/**
 * Private: collects interleaved sample values into `RecordingChunk`s of a
 * fixed number of samples (the last one holds the rest), like
 * `lib/io/chunks.ts` does for files.
 * @module
 */
import type { RecordingChunk } from "../lib/io/chunks.ts";

/** Fixed-size chunk builder over interleaved values. */
export class SampleChunker {
  /** Chunks completed and not yet taken. */
  readonly ready: RecordingChunk[] = [];
  #bufs: Float64Array[] = [];
  #fill = 0;
  #ch = 0;
  #start = 0;

  /**
   * @param channels values per sample
   * @param size samples per chunk
   */
  constructor(readonly channels: number, readonly size: number) {
    this.#alloc();
  }

  #alloc(): void {
    this.#bufs = Array.from(
      { length: this.channels },
      () => new Float64Array(this.size),
    );
  }

  /** Complete samples received so far. */
  get samples(): number {
    return this.#start + this.#fill;
  }

  /** Whether a sample is partly filled (some but not all channels). */
  get partial(): boolean {
    return this.#ch !== 0;
  }

  /** Appends one value (the next channel of the current sample). */
  value(v: number): void {
    this.#bufs[this.#ch][this.#fill] = v;
    if (++this.#ch === this.channels) {
      this.#ch = 0;
      if (++this.#fill === this.size) this.flush();
    }
  }

  /** Appends interleaved values. */
  values(src: ArrayLike<number>): void {
    const n = src.length;
    if (this.channels === 1) {
      let i = 0;
      while (i < n) {
        const room = Math.min(this.size - this.#fill, n - i);
        const b = this.#bufs[0];
        for (let j = 0; j < room; j++) b[this.#fill + j] = src[i + j];
        this.#fill += room;
        i += room;
        if (this.#fill === this.size) this.flush();
      }
      return;
    }
    for (let i = 0; i < n; i++) this.value(src[i]);
  }

  /** Emits the partly filled chunk, if any (at the end of the stream). */
  flush(): void {
    const n = this.#fill;
    if (n === 0) return;
    this.ready.push({
      start: this.#start,
      samples: n,
      channels: n === this.size
        ? this.#bufs
        : this.#bufs.map((b) => b.slice(0, n)),
    });
    this.#start += n;
    this.#fill = 0;
    this.#alloc();
  }
}
