import assert from "node:assert/strict";

/** max |actual − reference| / max(1, max |reference|): a kernel's error relative to the reference's magnitude. */
export function relativeError(actual: Float32Array, reference: Float32Array): number {
  assert.equal(actual.length, reference.length, "length");
  let maxDiff = 0;
  let maxRef = 1;
  for (let i = 0; i < actual.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - reference[i]));
    maxRef = Math.max(maxRef, Math.abs(reference[i]));
  }
  return maxDiff / maxRef;
}
