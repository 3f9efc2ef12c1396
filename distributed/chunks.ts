/**
 * Simulations as an Observable of `(θ, x)` chunks, one per finished batch,
 * in arrival order, for streamed training: `npe.train({ source })` starts on
 * the first chunks while the workers keep simulating. At most the
 * executor's `maxInFlight` batches are outstanding (back-pressure on the
 * queue), and θ is drawn lazily per batch, so the coordinator holds only the
 * in-flight batches.
 * @module
 */
import { Observable } from "../streams/_deps.ts";
import { Matrix } from "../lib/inference/matrix.ts";
import type { TaggedMatrix } from "./codec.ts";
import {
  type BatchExecutor,
  LocalExecutor,
  type RunOptions,
} from "./executor.ts";
import { type SimulationJob, simulationWidth } from "./jobs.ts";

/** One chunk: the parameters of one batch and their simulated data. */
export interface DistributedChunk {
  /** Batch index (chunks arrive in any order; sort by it for a stable order). */
  index: number;
  /** Parameters, rows = simulations (f32, as NPE stores them). */
  theta: Matrix;
  /** Data x, rows = simulations. */
  x: Matrix;
}

/** Where θ comes from: a matrix, or a prior sampled lazily batch by batch. */
export type ThetaSource =
  | { rows: number; cols: number; data: ArrayLike<number> }
  | readonly (readonly number[])[]
  | {
    /** Anything with `sample(n, seed)` returning rows (e.g. `BoxUniform`). */
    prior: {
      sample(
        n: number,
        seed: number,
      ): { rows: number; cols: number; data: ArrayLike<number> };
    };
    /** Number of simulations in total. */
    count: number;
  };

/** Options of {@linkcode simulationChunks}. */
export interface SimulationChunksOptions extends RunOptions {
  /** Where to run (default: a {@linkcode LocalExecutor}). */
  executor?: BatchExecutor;
  /** Simulations per batch (= per chunk). Default 1000. */
  batchSize?: number;
  /** Batch `k` uses the simulation seed `seed + k`, and with a prior draws θ with the seed `seed + k`. Default 0. */
  seed?: number;
}

/**
 * Simulate θ through an executor; emit one `(θ, x)` chunk per batch.
 * @param job the simulation job
 * @param theta a matrix of θ, or `{ prior, count }` to draw θ per batch
 * @param options executor, batch size, seed, run id, failure handling
 * @returns an Observable of chunks (completes after the last batch; errors
 *   with the executor's typed errors)
 */
export function simulationChunks(
  job: SimulationJob,
  theta: ThetaSource,
  options: SimulationChunksOptions = {},
): Observable<DistributedChunk> {
  const size = options.batchSize ?? 1000;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${size}`);
  }
  const seed = options.seed ?? 0;
  const cols = job.params.length;
  const width = simulationWidth(job);
  let total: number;
  let draw: (k: number, n: number, s0: number) => Float64Array;
  if (Array.isArray(theta)) {
    const rows = theta as readonly (readonly number[])[];
    total = rows.length;
    draw = (_k, n, s0) => Float64Array.from(rows.slice(s0, s0 + n).flat());
  } else if ("prior" in theta) {
    total = theta.count;
    const prior = theta.prior;
    draw = (k, n) => {
      const m = prior.sample(n, seed + k);
      if (m.rows !== n || m.cols !== cols) {
        throw new TypeError(
          `the prior returned [${m.rows}, ${m.cols}] values for ${n} samples of ${cols} parameters`,
        );
      }
      return Float64Array.from(m.data);
    };
  } else {
    const m = theta as { rows: number; cols: number; data: ArrayLike<number> };
    total = m.rows;
    if (m.cols !== cols) {
      throw new TypeError(
        `theta has ${m.cols} columns, the job has ${cols} parameters`,
      );
    }
    draw = (_k, n, s0) =>
      Float64Array.from(
        Array.prototype.slice.call(m.data, s0 * cols, (s0 + n) * cols),
      );
  }
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(
      `the number of simulations must be >= 0, got ${total}`,
    );
  }
  const executor = options.executor ?? new LocalExecutor();
  return new Observable<DistributedChunk>((sub) => {
    const held = new Map<number, Float64Array>();
    function* batches(): Generator<TaggedMatrix> {
      for (let k = 0, s0 = 0; s0 < total; k++, s0 += size) {
        const n = Math.min(size, total - s0);
        const data = draw(k, n, s0);
        if (data.length !== n * cols) {
          throw new TypeError(
            `theta rows ${s0}..${s0 + n} have ${data.length} values, expected ${
              n * cols
            }`,
          );
        }
        held.set(k, data);
        yield { rows: n, cols, tag: seed + k, data };
      }
    }
    const it = executor.runBatches(job, batches(), options)[
      Symbol.asyncIterator
    ]();
    let stopped = false;
    (async () => {
      try {
        while (!stopped) {
          const r = await it.next();
          if (r.done) break;
          const b = r.value;
          const t = held.get(b.index)!;
          held.delete(b.index);
          if (b.result.cols !== width) {
            throw new TypeError(
              `batch ${b.batch} returned ${b.result.cols} columns, expected ${width}`,
            );
          }
          sub.next({
            index: b.index,
            theta: new Matrix(b.result.rows, cols, Float32Array.from(t)),
            x: new Matrix(
              b.result.rows,
              width,
              Float32Array.from(b.result.data),
            ),
          });
        }
        if (!stopped) sub.complete();
      } catch (e) {
        if (!stopped) sub.error(e);
      }
    })();
    return () => {
      stopped = true;
      it.return?.(undefined);
    };
  });
}
