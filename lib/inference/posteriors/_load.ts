/**
 * Loading shared by the posterior files (`fromBytes` of the direct, likelihood
 * and ratio posteriors): the prior from the file's description unless the
 * caller supplies one, and the density estimator from its configuration.
 * @module
 */
import {
  asPrior,
  type Prior,
  type PriorDescription,
  type UserPrior,
} from "../priors/prior.ts";
import { priorFromDescription } from "../priors/from_description.ts";
import {
  DensityEstimator,
  type EmbeddingNetSpec,
  type EstimatorConfig,
} from "../estimators/density_estimator.ts";
import { PosteriorFileError, unpackKind } from "./_format.ts";

/**
 * Runs a rebuild step of a loaded file; its errors become
 * {@linkcode PosteriorFileError}s naming the kind, except the TypeErrors that
 * ask the caller for a user prior or embedding net.
 * @param kind the file's kind
 * @param what what is being rebuilt, for the message
 * @param offset where in the file its description is
 * @param step the step
 * @returns what the step returns
 */
export async function rebuilding<T>(
  kind: string,
  what: string,
  offset: number,
  step: () => T | Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if (e instanceof PosteriorFileError) throw e;
    if (
      e instanceof TypeError &&
      /pass it (again|explicitly)/.test(e.message)
    ) throw e;
    throw new PosteriorFileError(
      `corrupt ${kind} file: cannot rebuild the ${what} it describes: ${
        (e as Error)?.message ?? String(e)
      }`,
      offset,
      kind,
    );
  }
}

/**
 * The prior of a loaded posterior: the one given, else the file's description.
 * @param given a prior supplied by the caller (needed for user priors)
 * @param description the prior description stored in the file
 * @returns the prior
 * @throws {TypeError} when the file holds a user prior and none is given
 */
export function loadedPrior(
  given: Prior | UserPrior | undefined,
  description: PriorDescription,
): Prior {
  return given ? asPrior(given) : priorFromDescription(description);
}

/**
 * Unpacks a posterior file whose network is a density estimator and rebuilds
 * the estimator and the prior.
 * @param bytes the file
 * @param kind expected header kind
 * @param options prior / embedding net to supply when they were user objects
 * @returns the header, prior and estimator
 * @throws {PosteriorFileError} (a RangeError) for another kind or a damaged
 *   file, with the byte offset
 */
export async function loadEstimatorFile<
  H extends { estimator: EstimatorConfig; prior: PriorDescription },
>(
  bytes: Uint8Array,
  kind: string,
  options: { prior?: Prior | UserPrior; embeddingNet?: EmbeddingNetSpec },
): Promise<{ header: H; prior: Prior; estimator: DensityEstimator }> {
  const { header, weights } = unpackKind<H>(bytes, kind, "estimator");
  const prior = await rebuilding(
    kind,
    "prior",
    16,
    () => loadedPrior(options.prior, header.prior),
  );
  const estimator = await rebuilding(
    kind,
    "density estimator",
    16,
    () =>
      DensityEstimator.fromConfig(
        header.estimator,
        weights,
        options.embeddingNet,
      ),
  );
  return { header, prior, estimator };
}
