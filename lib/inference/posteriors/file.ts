/**
 * Saving and loading posteriors to files (the file system is reached through
 * `lib/io/files.ts`, the one module of the library that touches it).
 * @module
 */
import { DirectPosterior, type LoadOptions } from "./direct_posterior.ts";
import { MCMCPosterior } from "./mcmc_posterior.ts";
import {
  RatioPosterior,
  type RatioPosteriorLoadOptions,
} from "./ratio_posterior.ts";
import { PosteriorFileError, posteriorFileKind } from "./_format.ts";
import { readFileBytes, writeFileBytes } from "../../io/files.ts";

export { PosteriorFileError };

/** What {@linkcode loadPosterior} returns: the posterior class of the file's kind. */
export type LoadedPosterior = DirectPosterior | MCMCPosterior | RatioPosterior;

/**
 * Rebuilds a posterior from the bytes of a posterior file, dispatching on
 * its kind tag: `"DirectPosterior"` (NPE) → {@linkcode DirectPosterior},
 * `"LikelihoodPosterior"` (NLE) → {@linkcode MCMCPosterior},
 * `"RatioPosterior"` (NRE) → {@linkcode RatioPosterior}.
 * @param bytes the file
 * @param options prior / embedding net when they were user objects
 * @returns the posterior
 * @throws {PosteriorFileError} for a foreign, corrupt or unknown-kind file
 *   (with the byte offset); the error of the matching kind's loader otherwise
 */
export async function posteriorFromBytes(
  bytes: Uint8Array,
  options: LoadOptions = {},
): Promise<LoadedPosterior> {
  const kind = posteriorFileKind(bytes);
  switch (kind) {
    case "DirectPosterior":
      return await DirectPosterior.fromBytes(bytes, options);
    case "LikelihoodPosterior":
      return await MCMCPosterior.fromBytes(bytes, options);
    case "RatioPosterior":
      return await RatioPosterior.fromBytes(bytes, { prior: options.prior });
    default:
      throw new PosteriorFileError(
        `unknown posterior kind ${
          JSON.stringify(kind)
        } in the header (byte 16); this library reads DirectPosterior, LikelihoodPosterior and RatioPosterior files`,
        16,
        kind,
      );
  }
}

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
  posterior: { toBytes(): Uint8Array },
  path: string | URL,
): Promise<void> {
  await writeFileBytes(path, posterior.toBytes());
}

/**
 * Reads a posterior written by {@linkcode savePosterior}, of any kind: an
 * NPE file gives a {@linkcode DirectPosterior}, an NLE file an
 * {@linkcode MCMCPosterior}, an NRE file a {@linkcode RatioPosterior}.
 * @param path file path
 * @param options prior / embedding net when they were user objects
 * @returns the posterior
 * @throws {PosteriorFileError} (a RangeError) for a foreign, corrupt,
 *   newer-version or unknown-kind file, with the byte offset
 */
export async function loadPosterior(
  path: string | URL,
  options: LoadOptions = {},
): Promise<LoadedPosterior> {
  return await posteriorFromBytes(await readFileBytes(path), options);
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
  return await RatioPosterior.fromBytes(await readFileBytes(path), options);
}
