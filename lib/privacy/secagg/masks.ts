/**
 * The masks of Bonawitz et al.: a 32-byte seed expanded by a PRG (AES-256-CTR, today's
 * `expandMask`) into a uniform vector mod 2³², added or subtracted in place. The self-mask PRG(b_u)
 * is always added by its owner; the pairwise mask PRG(s_{u,v}) is added by the smaller id of the
 * pair and subtracted by the larger, so it cancels in the sum.
 */
import { expandMask } from "../secureAggregation";

/** target ← target + sign·PRG(seed) mod 2³², in place. */
export function applyMask(target: Uint32Array, seed: Buffer, sign: 1 | -1): void {
  const mask = expandMask(seed, target.length);
  if (sign === 1) for (let k = 0; k < target.length; k++) target[k] = (target[k] + mask[k]) >>> 0;
  else for (let k = 0; k < target.length; k++) target[k] = (target[k] - mask[k]) >>> 0;
}

/** The sign with which `own` applies the pairwise mask it shares with `peer`: +1 if own < peer, else −1. */
export function pairSign(own: string, peer: string): 1 | -1 {
  return own < peer ? 1 : -1;
}
