/**
 * Private: lets long loops over in-memory sources give the event loop a
 * turn (a loop of resolved promises only runs microtasks, which would
 * starve timers, I/O and unsubscription from other tasks).
 * @module
 */

/** Yields to the macrotask queue at most every `ms` milliseconds of work. */
export class EventLoopYield {
  #last = performance.now();
  /** @param ms work between yields (default 20 ms) */
  constructor(readonly ms = 20) {}
  /** Yields when `ms` elapsed since the last yield. */
  async maybe(): Promise<void> {
    const now = performance.now();
    if (now - this.#last < this.ms) return;
    await new Promise<void>((r) => setTimeout(r, 0));
    this.#last = performance.now();
  }
}
