/**
 * Loader for the sbibm reference data: observations, true parameters and the
 * 10,000 reference posterior samples (bzip2-compressed CSV, decompressed with
 * `seek-bzip`).
 *
 * The data folder is `tests/fixtures/sbibm/` of this repository, which holds
 * the observations and true parameters of all 10 observations of every task
 * but the reference posteriors only of those the tests use (see its
 * README.md). For the full set (the benches' sweeps), point the environment
 * variable `NEUROFIT_SBIBM_DIR` at a complete copy of sbibm's data folder.
 * @module
 */

import Bunzip from "seek-bzip";
import { Matrix } from "../../lib/inference/matrix.ts";
import type { TaskName } from "./tasks.ts";

/** Parsed CSV: header names and numeric rows. */
export interface Csv {
  /** Column names. */
  header: string[];
  /** Row-major values. */
  values: Matrix;
}

/**
 * The sbibm data folder as a file URL ending in `/`.
 *
 * @returns `NEUROFIT_SBIBM_DIR` when set, else `tests/fixtures/sbibm/`.
 */
export function dataDir(): URL {
  let env: string | undefined;
  try {
    env = Deno.env.get("NEUROFIT_SBIBM_DIR");
  } catch {
    env = undefined; // no --allow-env: use the default location
  }
  if (env) {
    const withSlash = env.endsWith("/") ? env : env + "/";
    return withSlash.startsWith("file:")
      ? new URL(withSlash)
      : new URL(`file://${withSlash}`);
  }
  return new URL("../../tests/fixtures/sbibm/", import.meta.url);
}

/**
 * Parse a numeric CSV with one header row.
 *
 * @param text CSV text.
 * @returns header and values.
 * @throws {TypeError} if a row has a different number of fields or a field is not a number.
 */
export function parseCsv(text: string): Csv {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new TypeError("empty CSV");
  const header = lines[0].split(",").map((s) => s.trim());
  const cols = header.length;
  const rows = lines.length - 1;
  const values = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) {
    const fields = lines[i + 1].split(",");
    if (fields.length !== cols) {
      throw new TypeError(
        `CSV row ${i + 1} has ${fields.length} fields, expected ${cols}`,
      );
    }
    for (let j = 0; j < cols; j++) {
      const v = Number(fields[j]);
      if (
        fields[j].trim() === "" ||
        Number.isNaN(v) && fields[j].trim().toLowerCase() !== "nan"
      ) {
        throw new TypeError(
          `CSV row ${i + 1} column ${j + 1} is not a number: "${fields[j]}"`,
        );
      }
      values.data[i * cols + j] = v;
    }
  }
  return { header, values };
}

function obsDir(task: TaskName, observation: number): URL {
  if (!Number.isInteger(observation) || observation < 1 || observation > 10) {
    throw new RangeError(
      `observation must be an integer in 1..10, got ${observation}`,
    );
  }
  return new URL(`${task}/num_observation_${observation}/`, dataDir());
}

async function readCsv(url: URL): Promise<Csv> {
  return parseCsv(await Deno.readTextFile(url));
}

/**
 * The observation `x_o` of a task.
 *
 * @param task task name.
 * @param observation observation number, 1..10.
 * @returns the observed data vector.
 * @throws {RangeError} for an observation number outside 1..10.
 */
export async function loadObservation(
  task: TaskName,
  observation: number,
): Promise<number[]> {
  const csv = await readCsv(
    new URL("observation.csv", obsDir(task, observation)),
  );
  return Array.from(csv.values.row(0));
}

/**
 * The parameters that generated observation `observation`.
 *
 * @param task task name.
 * @param observation observation number, 1..10.
 * @returns the true parameter vector.
 * @throws {RangeError} for an observation number outside 1..10.
 */
export async function loadTrueParameters(
  task: TaskName,
  observation: number,
): Promise<number[]> {
  const csv = await readCsv(
    new URL("true_parameters.csv", obsDir(task, observation)),
  );
  return Array.from(csv.values.row(0));
}

/**
 * The 10,000 reference posterior samples of an observation.
 *
 * @param task task name.
 * @param observation observation number, 1..10.
 * @returns a `10000 × dimTheta` Matrix.
 * @throws {RangeError} for an observation number outside 1..10.
 */
export async function loadReferenceSamples(
  task: TaskName,
  observation: number,
): Promise<Matrix> {
  const url = new URL(
    "reference_posterior_samples.csv.bz2",
    obsDir(task, observation),
  );
  let compressed: Uint8Array;
  try {
    compressed = await Deno.readFile(url);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Deno.errors.NotFound(
      `no reference posterior for ${task} observation ${observation} at ` +
        `${url.pathname} (the bundled tests/fixtures/sbibm holds only those ` +
        `the tests use; set NEUROFIT_SBIBM_DIR to a full sbibm data folder)`,
    );
  }
  const raw: Uint8Array = Bunzip.decode(compressed);
  return parseCsv(new TextDecoder().decode(raw)).values;
}
