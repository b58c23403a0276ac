/**
 * Seeded Gaussian noise for model weights: the second half of the Gaussian mechanism. Noise
 * comes from an `Rng` (never Math.random) so that a seeded DP run is reproducible, which is what
 * a lab needs; a deployment would use a cryptographically secure source instead.
 */
import type { ModelWeights } from "../model/weights";
import type { Rng } from "../util/rng";

/** A copy of `w` with independent N(0, std²) noise added to every coordinate (computed in Float64). */
export function addGaussianNoise(w: ModelWeights, std: number, rng: Rng): ModelWeights {
  if (!(Number.isFinite(std) && std >= 0)) throw new Error(`addGaussianNoise: std must be ≥ 0 and finite, got ${std}`);
  return w.map((t) => {
    const out = new Float32Array(t.values.length);
    for (let k = 0; k < out.length; k++) out[k] = std === 0 ? t.values[k] : t.values[k] + std * rng.normal();
    return { name: t.name, shape: t.shape.slice(), values: out };
  });
}
