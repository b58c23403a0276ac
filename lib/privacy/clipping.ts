/**
 * Per-participant update clipping (McMahan et al. 2018). The arithmetic lives in
 * lib/federation/updateClipping.ts, because participants apply it as an update transform; this
 * module keeps the privacy package's names.
 */
export { clipUpdate, clipLocalWeights } from "../federation/updateClipping";
export type { ClippedUpdate } from "../federation/updateClipping";
