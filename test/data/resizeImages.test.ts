import { test } from "node:test";
import assert from "node:assert/strict";
import { resizeImages } from "../../lib/data/index";

test("enlarging a constant image keeps it constant; shrinking averages areas", () => {
  const constant = new Float32Array(2 * 4 * 4).fill(0.25);
  for (const v of resizeImages(constant, 2, [4, 4, 1], [9, 7])) assert.ok(Math.abs(v - 0.25) < 1e-6);
  // 4×4 of blocks → 2×2: each output is the mean of one 2×2 block.
  const img = Float32Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 2, 4, 0, 0, 6, 8]);
  assert.deepEqual(Array.from(resizeImages(img, 1, [4, 4, 1], [2, 2])), [1, 0, 0, 5]);
});

test("bilinear enlarging with half-pixel centres matches hand computation", () => {
  // 1×2 image [0, 1] → 1×4: sources at -0.25, 0.25, 0.75, 1.25 → clamp → 0, 0.25, 0.75, 1.
  const out = resizeImages(Float32Array.from([0, 1]), 1, [1, 2, 1], [1, 4]);
  assert.deepEqual(Array.from(out), [0, 0.25, 0.75, 1]);
});

test("channels are resized independently; mean intensity is preserved when shrinking by an integer factor", () => {
  const x = new Float32Array(6 * 6 * 2);
  for (let i = 0; i < 36; i++) {
    x[2 * i] = i / 35;
    x[2 * i + 1] = 1 - i / 35;
  }
  const y = resizeImages(x, 1, [6, 6, 2], [3, 3]);
  let m0 = 0;
  let m1 = 0;
  for (let i = 0; i < 9; i++) {
    m0 += y[2 * i] / 9;
    m1 += y[2 * i + 1] / 9;
  }
  assert.ok(Math.abs(m0 - 0.5) < 1e-6 && Math.abs(m1 - 0.5) < 1e-6);
  assert.throws(() => resizeImages(x, 1, [36, 2], [3, 3]), /sampleShape must be \[height, width, channels\]/);
});
