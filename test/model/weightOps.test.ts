import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelWeights } from "../../lib/model/weights";
import {
  addWeights,
  byteSize,
  cloneWeights,
  l2Distance,
  l2Norm,
  maxAbsDifference,
  mergeWeights,
  nonFiniteWeights,
  numParameters,
  scaleWeights,
  subtractWeights,
  weightsDelta,
  weightsEqual,
} from "../../lib/model/weightOps";

const a: ModelWeights = [
  { name: "d/kernel", shape: [2, 2], values: Float32Array.from([1, 2, 3, 4]) },
  { name: "d/bias", shape: [2], values: Float32Array.from([0.5, -0.5]) },
];
const b: ModelWeights = [
  { name: "d/kernel", shape: [2, 2], values: Float32Array.from([0, 1, 1, 2]) },
  { name: "d/bias", shape: [2], values: Float32Array.from([0.5, 0.5]) },
];

test("add, subtract, delta and scale match hand computation", () => {
  assert.deepEqual(Array.from(addWeights(a, b)[0].values), [1, 3, 4, 6]);
  assert.deepEqual(Array.from(subtractWeights(a, b)[1].values), [0, -1]);
  assert.deepEqual(Array.from(weightsDelta(a, b)[0].values), [1, 1, 2, 2]);
  assert.deepEqual(Array.from(scaleWeights(a, 2)[1].values), [1, -1]);
  assert.deepEqual(a[0].values, Float32Array.from([1, 2, 3, 4]), "inputs are not mutated");
});

test("norms, sizes and equality", () => {
  // ‖a‖² = 1+4+9+16+0.25+0.25 = 30.5
  assert.equal(l2Norm(a), Math.sqrt(30.5));
  // a−b = [1,1,2,2,0,-1] → 1+1+4+4+0+1 = 11
  assert.equal(l2Distance(a, b), Math.sqrt(11));
  assert.equal(maxAbsDifference(a, b), 2);
  assert.equal(numParameters(a), 6);
  assert.equal(byteSize(a), 24);
  assert.equal(byteSize(a, [false, true]), 8);
  assert.ok(weightsEqual(a, cloneWeights(a)));
  assert.ok(!weightsEqual(a, b));
});

test("merge takes masked tensors from the other weights", () => {
  const m = mergeWeights(a, b, [false, true]);
  assert.deepEqual(Array.from(m[0].values), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(m[1].values), [0.5, 0.5]);
});

test("structure mismatches are named", () => {
  const wrong: ModelWeights = [a[0], { name: "d/bias", shape: [3], values: new Float32Array(3) }];
  assert.throws(() => addWeights(a, wrong), /addWeights: the second weights variable "d\/bias" has shape \[3\], expected \[2\]/);
  assert.throws(() => addWeights(a, [a[0]]), /has 1 variables, expected 2/);
});

test("nonFiniteWeights names tensors with NaN or Infinity", () => {
  const bad: ModelWeights = [a[0], { name: "d/bias", shape: [2], values: Float32Array.from([NaN, 1]) }];
  assert.deepEqual(nonFiniteWeights(bad), ["d/bias"]);
  assert.deepEqual(nonFiniteWeights(a), []);
});
