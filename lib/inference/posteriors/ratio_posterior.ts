/**
 * The posterior of neural ratio estimation ({@linkcode RatioPosterior}): MCMC
 * on Σ_k log r(x_o^k, θ) + log p(θ) with a trained ratio classifier, saved and
 * loaded in the neurofit posterior format (kind tag `"RatioPosterior"`).
 * @module
 */
import type { Matrix, MatrixLike } from "../matrix.ts";
import {
  asPrior,
  type Prior,
  type PriorDescription,
  type UserPrior,
} from "../priors/prior.ts";
import {
  RatioClassifier,
  type RatioClassifierConfig,
} from "../estimators/ratio_classifier.ts";
import { MCMCPosterior, type MCMCPosteriorOptions } from "./mcmc_posterior.ts";
import { pack, unpackKind } from "./_format.ts";
import { loadedPrior, rebuilding } from "./_load.ts";
import {
  ratioGradPotential,
  ratioPotential,
} from "../potentials/ratio_potential.ts";
import { observationRows } from "../potentials/likelihood_potential.ts";

interface RatioHeader {
  format: "neurofit-posterior";
  kind: "RatioPosterior";
  classifier: RatioClassifierConfig;
  prior: PriorDescription;
  defaultX: number[][] | null;
  mcmc: MCMCPosteriorOptions;
}

/** Options of {@linkcode RatioPosterior.fromBytes}. */
export interface RatioPosteriorLoadOptions {
  /** The prior, required when the saved prior was a user (custom) prior; otherwise overrides it. */
  prior?: Prior | UserPrior;
}

/**
 * The MCMC posterior of NRE: an {@linkcode MCMCPosterior} on the potential
 * Σ_k log r(x_o^k, θ) + log p(θ), which can be saved and loaded.
 */
export class RatioPosterior extends MCMCPosterior {
  #net: RatioClassifier;
  #mcmc: MCMCPosteriorOptions;
  #dx: Matrix | null = null;

  /**
   * Creates the posterior.
   * @param classifier the trained ratio classifier (owned from now on)
   * @param prior the prior
   * @param options see {@linkcode MCMCPosteriorOptions}
   * @throws {TypeError} on a dimension mismatch
   * @throws {RangeError} for an unknown method or bad sizes
   */
  constructor(
    classifier: RatioClassifier,
    prior: Prior | UserPrior,
    options: MCMCPosteriorOptions = {},
  ) {
    const p = asPrior(prior);
    if (p.dim !== classifier.config.thetaDim) {
      throw new TypeError(
        `prior dim ${p.dim} != ratio classifier theta dim ${classifier.config.thetaDim}`,
      );
    }
    super(
      {
        xDim: classifier.config.xDim,
        potential: (xo: Matrix) => ratioPotential(classifier, p, xo),
        gradPotential: (xo: Matrix) => ratioGradPotential(classifier, p, xo),
        dispose: () => classifier.dispose(),
      },
      p,
      options,
    );
    this.#net = classifier;
    this.#mcmc = { ...options };
  }

  /** The ratio classifier. */
  get classifier(): RatioClassifier {
    return this.#net;
  }

  /**
   * Sets the observation used when `x` is not passed.
   * @param x a vector, or iid observations as rows
   * @returns this posterior
   * @throws {TypeError} on a dimension mismatch
   */
  override setDefaultX(x: ArrayLike<number> | MatrixLike): this {
    super.setDefaultX(x);
    this.#dx = observationRows(x, this.xDim);
    return this;
  }

  /**
   * Serialises the posterior (classifier configuration with z-score
   * statistics, prior description, default x, sampler options, weights) into
   * the versioned neurofit format.
   * @returns the bytes
   */
  override toBytes(): Uint8Array {
    const header: RatioHeader = {
      format: "neurofit-posterior",
      kind: "RatioPosterior",
      classifier: this.#net.config,
      prior: this.prior.describe(),
      defaultX: this.#dx ? this.#dx.toArray() : null,
      mcmc: this.#mcmc,
    };
    return pack(header, this.#net.getWeights());
  }

  /**
   * Rebuilds a posterior saved with {@linkcode RatioPosterior.toBytes}.
   * @param bytes the file contents
   * @param options `{ prior }` when the saved prior was a user prior
   * @returns the posterior
   * @throws {RangeError} for a foreign, corrupt or newer-version file
   * @throws {TypeError} when a custom prior is needed but missing
   */
  static override async fromBytes(
    bytes: Uint8Array,
    options: RatioPosteriorLoadOptions = {},
  ): Promise<RatioPosterior> {
    const { header, weights } = unpackKind<RatioHeader>(
      bytes,
      "RatioPosterior",
      "classifier",
    );
    const kind = "RatioPosterior";
    const prior = await rebuilding(
      kind,
      "prior",
      16,
      () => loadedPrior(options.prior, header.prior),
    );
    const net = await rebuilding(
      kind,
      "ratio classifier",
      16,
      () => RatioClassifier.fromConfig(header.classifier, weights),
    );
    const p = await rebuilding(kind, "posterior", 16, () => {
      try {
        return new RatioPosterior(net, prior, header.mcmc);
      } catch (e) {
        net.dispose();
        throw e;
      }
    });
    if (header.defaultX) {
      await rebuilding(kind, "default observation", 16, () => {
        try {
          p.setDefaultX(header.defaultX!);
        } catch (e) {
          p.dispose();
          throw e;
        }
      });
    }
    return p;
  }
}
