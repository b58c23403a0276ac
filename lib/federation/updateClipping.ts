/**
 * Per-participant update clipping, the first half of DP federated averaging (McMahan et al. 2018,
 * "Learning Differentially Private Recurrent Language Models", https://arxiv.org/abs/1710.06963):
 * an update Δ = θᵢ − θ_global is scaled by min(1, C/‖Δ‖₂) so that no participant moves the
 * average by more than C/n, which is what the Gaussian noise is calibrated to.
 *
 * It is also the participants' one update transform: a strategy that wants updates clipped on the
 * participant (client-side DP) puts `clipNorm` into the fit instructions' open record, and the
 * local-fit path (`updateToSend`) applies it. The math lives here, in lib/federation, so that the
 * participant side needs nothing from lib/privacy.
 */
import type { ModelWeights } from "../model/weights";
import type { ConfigRecord } from "./types";
import { assertSameLayout, weightsL2Norm } from "./aggregate";

/** Element-wise a + s·b, rounded to float32 once (private: lib/model/weightOps.ts has the general helpers). */
function axpy(a: ModelWeights, s: number, b: ModelWeights): ModelWeights {
  assertSameLayout(a, b, "clipping", "second operand");
  return a.map((t, v) => {
    const y = b[v].values;
    const out = new Float32Array(t.values.length);
    for (let k = 0; k < out.length; k++) out[k] = t.values[k] + s * y[k];
    return { name: t.name, shape: t.shape.slice(), values: out };
  });
}

function scaled(a: ModelWeights, s: number): ModelWeights {
  return a.map((t) => ({ name: t.name, shape: t.shape.slice(), values: t.values.map((x) => s * x) }));
}

/** The result of clipping one update. */
export interface ClippedUpdate {
  /** The clipped update, ‖·‖₂ ≤ clipNorm. */
  readonly delta: ModelWeights;
  /** ‖Δ‖₂ before clipping. */
  readonly norm: number;
  /** The factor applied, min(1, clipNorm/norm). */
  readonly scale: number;
  /** 1 if the update was already within the bound (norm ≤ clipNorm), else 0: Andrew et al.'s bᵢ. */
  readonly normBit: 0 | 1;
}

/** Scale `delta` so that its global L2 norm is at most `clipNorm` (a copy; the input is unchanged). */
export function clipUpdate(delta: ModelWeights, clipNorm: number): ClippedUpdate {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) throw new Error(`clipUpdate: clipNorm must be > 0 and finite, got ${clipNorm}`);
  const norm = weightsL2Norm(delta);
  if (!Number.isFinite(norm)) throw new Error(`clipUpdate: update norm is not finite (${norm}); NaN or Inf in the update`);
  const scale = norm > clipNorm ? clipNorm / norm : 1;
  return { delta: scaled(delta, scale), norm, scale, normBit: norm <= clipNorm ? 1 : 0 };
}

/**
 * Participant-side clipping for the client-side DP variants: clip θ_local − θ_global to
 * `clipNorm` and return the weights to send (θ_global + clipped Δ) with the norm bit to report
 * as `metrics.dpNormBit` (needed by DpAdaptiveClipping with side "client").
 */
export function clipLocalWeights(
  local: ModelWeights,
  global: ModelWeights,
  clipNorm: number,
): { weights: ModelWeights; norm: number; normBit: 0 | 1 } {
  const c = clipUpdate(axpy(local, -1, global), clipNorm);
  return { weights: c.scale === 1 ? local : axpy(global, 1, c.delta), norm: c.norm, normBit: c.normBit };
}

/** The fit-instructions record key that asks participants to clip their update (an L2 norm > 0). */
export const CLIP_NORM_KEY = "clipNorm";

/** The metric in which a clipping participant reports whether its update was within the bound (1) or clipped (0). */
export const NORM_BIT_METRIC = "dpNormBit";

/** The clip norm a fit-instructions record asks for, or undefined; a malformed value is an error naming the key. */
export function clipNormIn(record: ConfigRecord | undefined): number | undefined {
  const c = record?.[CLIP_NORM_KEY];
  if (c === undefined) return undefined;
  if (typeof c !== "number" || !(c > 0) || !Number.isFinite(c)) throw new Error(`fit instructions: "${CLIP_NORM_KEY}" must be a number > 0, got ${JSON.stringify(c)}`);
  return c;
}
