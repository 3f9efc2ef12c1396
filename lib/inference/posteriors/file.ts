/**
 * Saving and loading posteriors to files (the only module of the inference
 * engine that touches the file system).
 * @module
 */
import { DirectPosterior, type LoadOptions } from "./direct_posterior.ts";
import {
  RatioPosterior,
  type RatioPosteriorLoadOptions,
} from "../methods/nre.ts";

/**
 * Writes a posterior to `path` in the versioned neurofit format.
 * @param posterior the posterior (a `DirectPosterior`, or any posterior with
 *   `toBytes()` such as the `RatioPosterior` of NRE)
 * @param path file path
 * @returns resolves when written
 * @example
 * ```ts
 * import { savePosterior, loadPosterior } from "./file.ts";
 * import { BoxUniform } from "../priors/box_uniform.ts";
 * import { NPE } from "../methods/npe.ts";
 * const prior = new BoxUniform({ low: [0], high: [1] });
 * const theta = prior.sample(200, 1);
 * const npe = new NPE({ prior, densityEstimator: "mdn" });
 * npe.appendSimulations(theta, theta);
 * await npe.train({ maxEpochs: 1, showProgress: false });
 * const path = await Deno.makeTempFile();
 * const posterior = npe.buildPosterior();
 * await savePosterior(posterior, path);
 * const loaded = await loadPosterior(path);
 * console.log(loaded.thetaDim); // 1
 * loaded.dispose();
 * posterior.dispose();
 * await Deno.remove(path);
 * npe.dispose();
 * ```
 */
export async function savePosterior(
  posterior: DirectPosterior | { toBytes(): Uint8Array },
  path: string | URL,
): Promise<void> {
  await Deno.writeFile(path, posterior.toBytes());
}

/**
 * Reads a posterior written by {@linkcode savePosterior}.
 * @param path file path
 * @param options prior / embedding net when they were user objects
 * @returns the posterior
 * @throws {RangeError} for a foreign, corrupt or newer-version file
 */
export async function loadPosterior(
  path: string | URL,
  options: LoadOptions = {},
): Promise<DirectPosterior> {
  return await DirectPosterior.fromBytes(await Deno.readFile(path), options);
}

/**
 * Reads an NRE posterior written by {@linkcode savePosterior}.
 * @param path file path
 * @param options `{ prior }` when the saved prior was a user prior
 * @returns the posterior
 * @throws {RangeError} for a foreign, corrupt or newer-version file
 */
export async function loadRatioPosterior(
  path: string | URL,
  options: RatioPosteriorLoadOptions = {},
): Promise<RatioPosterior> {
  return await RatioPosterior.fromBytes(await Deno.readFile(path), options);
}
