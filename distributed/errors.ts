/**
 * Errors of the distributed executor. Messages name the Redis host and port
 * but never the password.
 * @module
 */

/** Redis could not be reached, refused the credentials, or went away. */
export class RedisConnectionError extends Error {
  /** Host of the server (from the URL). */
  readonly host: string;
  /** Port of the server. */
  readonly port: number;

  /**
   * Create the error.
   * @param host host of the server
   * @param port port of the server
   * @param reason what failed (without credentials)
   * @param cause the underlying error
   */
  constructor(host: string, port: number, reason: string, cause?: unknown) {
    super(`Redis at ${host}:${port}: ${reason}`, { cause });
    this.name = "RedisConnectionError";
    this.host = host;
    this.port = port;
  }
}

/** A binary payload or job spec read from Redis is malformed or too large. */
export class PayloadError extends TypeError {
  /** Byte offset of the problem in the payload, when known. */
  readonly offset?: number;

  /**
   * Create the error.
   * @param message what is wrong, with the offending value
   * @param offset byte offset in the payload
   */
  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (byte ${offset})`);
    this.name = "PayloadError";
    this.offset = offset;
  }
}

/** One batch that failed on every attempt and went to the dead-letter stream. */
export interface DeadLetter {
  /** The batch id. */
  batch: string;
  /** The last error reported by a worker. */
  error: string;
  /** Attempts (deliveries) made. */
  attempts: number;
  /** The worker that gave up. */
  worker: string;
}

/** Some batches of a run failed on every attempt (see {@linkcode DeadLetter}). */
export class BatchFailedError extends Error {
  /** The failed batches. */
  readonly failed: readonly DeadLetter[];

  /**
   * Create the error.
   * @param failed the dead-lettered batches
   */
  constructor(failed: readonly DeadLetter[]) {
    const f = failed[0];
    super(
      `${failed.length} batch(es) failed on every attempt and went to the dead-letter stream; first: batch ${f?.batch} after ${f?.attempts} attempt(s) on ${f?.worker}: ${f?.error}`,
    );
    this.name = "BatchFailedError";
    this.failed = failed;
  }
}

/** A run did not finish within its time limit. */
export class ExecutorTimeoutError extends Error {
  /** Batches finished before the limit. */
  readonly done: number;
  /** Batches of the run. */
  readonly total: number;

  /**
   * Create the error.
   * @param ms the limit (ms)
   * @param done batches finished
   * @param total batches of the run
   */
  constructor(ms: number, done: number, total: number) {
    super(
      `the run did not finish within ${ms} ms: ${done} of ${total} batches done (are workers running on this queue?)`,
    );
    this.name = "ExecutorTimeoutError";
    this.done = done;
    this.total = total;
  }
}
