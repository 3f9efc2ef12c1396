/**
 * Rebuilds a built-in prior from its JSON description (used when loading posteriors).
 * @module
 */
import { BoxUniform } from "./box_uniform.ts";
import { LogNormal } from "./log_normal.ts";
import { MultipleIndependent } from "./multiple_independent.ts";
import { Normal } from "./normal.ts";
import type { Prior, PriorDescription } from "./prior.ts";

/**
 * Builds a prior from a {@linkcode PriorDescription}.
 * @param d the description
 * @returns the prior
 * @throws {TypeError} for unknown types and for `custom` priors (supply the prior yourself)
 * @example
 * ```ts
 * import { priorFromDescription } from "./from_description.ts";
 * const p = priorFromDescription({ type: "BoxUniform", low: [0], high: [2] });
 * console.log(p.dim); // 1
 * ```
 */
export function priorFromDescription(d: PriorDescription): Prior {
  switch (d?.type) {
    case "BoxUniform":
      return new BoxUniform({ low: d.low, high: d.high });
    case "Normal":
      return new Normal({ mean: d.mean, covariance: d.covariance });
    case "LogNormal":
      return new LogNormal({ mean: d.mean, std: d.std });
    case "MultipleIndependent":
      return new MultipleIndependent(d.priors.map(priorFromDescription));
    case "custom":
      throw new TypeError(
        `the saved prior is a custom (user) prior of dim ${d.dim}; pass it explicitly when loading`,
      );
    default:
      throw new TypeError(
        `unknown prior description type ${
          JSON.stringify((d as { type?: unknown })?.type)
        }`,
      );
  }
}
