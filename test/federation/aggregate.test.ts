import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelWeights } from "../../lib/model/weights";
import {
  coordinateMedian,
  krum,
  krumSelect,
  squaredL2Distance,
  weightsL2Distance,
  trimmedMean,
  unweightedAverage,
  weightedAverage,
  weightsL2Norm,
} from "../../lib/federation/aggregate";
import { Rng } from "../../lib/util/rng";

/** Two variables: "w" [2] and "b" [1,1]. */
function model(w0: number, w1: number, b: number): ModelWeights {
  return [
    { name: "w", shape: [2], values: Float32Array.from([w0, w1]) },
    { name: "b", shape: [1, 1], values: Float32Array.from([b]) },
  ];
}

test("weightedAverage matches the hand computation for sizes 1, 2, 3", () => {
  const out = weightedAverage([
    { weights: model(1, 0, 0.1), numExamples: 1 },
    { weights: model(2, 3, 0.2), numExamples: 2 },
    { weights: model(4, -1, 0.3), numExamples: 3 },
  ]);
  // w0 = (1·1 + 2·2 + 3·4)/6 = 17/6; w1 = (0 + 6 − 3)/6 = 1/2; b = (0.1 + 0.4 + 0.9)/6 (from float32 inputs)
  assert.equal(out[0].values[0], Math.fround(17 / 6));
  assert.equal(out[0].values[1], 0.5);
  const b = (1 * Math.fround(0.1) + 2 * Math.fround(0.2) + 3 * Math.fround(0.3)) / 6;
  assert.equal(out[1].values[0], Math.fround(b));
  assert.deepEqual(out[1].shape, [1, 1]);
  assert.equal(out[0].name, "w");
});

test("weightedAverage with equal sizes is the plain mean, and one update is returned bitwise", () => {
  const a = model(1, 2, 3);
  const b = model(3, 6, -3);
  const eq = weightedAverage([
    { weights: a, numExamples: 7 },
    { weights: b, numExamples: 7 },
  ]);
  assert.deepEqual(Array.from(eq[0].values), [2, 4]);
  assert.deepEqual(Array.from(eq[1].values), [0]);
  const odd = model(Math.fround(0.1), Math.fround(1 / 3), Math.fround(1e-30));
  const one = weightedAverage([{ weights: odd, numExamples: 37 }]);
  assert.deepEqual(Buffer.from(one[0].values.buffer), Buffer.from(odd[0].values.buffer));
  assert.notEqual(one[0].values, odd[0].values, "a copy, not the same buffer");
});

test("weightedAverage rejects bad inputs with errors naming participant, variable and shapes", () => {
  const bad: ModelWeights = [
    { name: "w", shape: [1, 2], values: new Float32Array(2) },
    { name: "b", shape: [1, 1], values: new Float32Array(1) },
  ];
  assert.throws(
    () =>
      weightedAverage([
        { weights: model(1, 2, 3), numExamples: 1, participantId: "alice" },
        { weights: bad, numExamples: 1, participantId: "bob" },
      ]),
    /participant "bob" variable "w" has shape \[1,2\], expected \[2\]/,
  );
  assert.throws(() => weightedAverage([]), /at least 1 update, got 0/);
  assert.throws(
    () => weightedAverage([{ weights: model(1, 2, 3), numExamples: 0, participantId: "carol" }]),
    /participant "carol" numExamples must be a positive integer \(a count of examples\), got 0/,
  );
  // A fractional count is not a number of examples (it would silently reweight the average).
  assert.throws(
    () =>
      weightedAverage([
        { weights: model(1, 2, 3), numExamples: 3, participantId: "a" },
        { weights: model(1, 2, 3), numExamples: 2.5, participantId: "half" },
      ]),
    /participant "half" numExamples must be a positive integer \(a count of examples\), got 2\.5/,
  );
  assert.throws(
    () =>
      weightedAverage([
        { weights: model(1, 2, 3), numExamples: 1, participantId: "a" },
        { weights: model(NaN, 2, 3), numExamples: 1, participantId: "nan-sender" },
      ]),
    /participant "nan-sender" has a non-finite value \(NaN\/Inf\) in "w"/,
  );
  assert.throws(
    () => weightedAverage([{ weights: model(1, 2, 3), numExamples: 1 }, { weights: [model(1, 2, 3)[0]], numExamples: 1 }]),
    /update #1 has 1 variables, expected 2/,
  );
});

test("unweightedAverage ignores sizes", () => {
  const out = unweightedAverage([{ weights: model(1, 0, 0) }, { weights: model(2, 3, 0) }, { weights: model(4, -1, 0) }]);
  assert.equal(out[0].values[0], Math.fround(7 / 3));
  assert.equal(out[0].values[1], Math.fround(2 / 3));
});

test("coordinateMedian and trimmedMean by hand", () => {
  const ups = [model(1, 10, 5), model(2, 20, 4), model(3, 30, 3), model(100, -50, 2)].map((weights) => ({ weights }));
  const med = coordinateMedian(ups);
  // sorted w0: 1,2,3,100 → (2+3)/2; w1: −50,10,20,30 → 15; b: 2,3,4,5 → 3.5
  assert.deepEqual(Array.from(med[0].values), [2.5, 15]);
  assert.deepEqual(Array.from(med[1].values), [3.5]);
  const odd = coordinateMedian(ups.slice(0, 3));
  assert.deepEqual(Array.from(odd[0].values), [2, 20]);
  // β = 0.25 with 4 updates cuts 1 from each end.
  const tm = trimmedMean(ups, 0.25);
  assert.deepEqual(Array.from(tm[0].values), [2.5, 15]);
  // β = 0.2 with 4 updates cuts ⌊0.8⌋ = 0: the plain mean.
  const none = trimmedMean(ups, 0.2);
  assert.equal(none[0].values[0], Math.fround(106 / 4));
  assert.throws(() => trimmedMean(ups, 0.5), /beta must be in \[0, 0.5\), got 0.5/);
});

test("krum scores by hand and multi-Krum averages the best", () => {
  const one = (x: number): ModelWeights => [{ name: "x", shape: [1], values: Float32Array.from([x]) }];
  const ups = [0, 1, 2, 10].map((x, i) => ({ weights: one(x), numExamples: i + 1 }));
  // f = 1: n − f − 2 = 1 nearest neighbour (squared distance).
  const { scores, selected } = krumSelect(ups, 1, 2);
  assert.deepEqual(scores, [1, 1, 1, 64]);
  assert.deepEqual(selected, [0, 1]);
  assert.deepEqual(Array.from(krum(ups, 1, 0)[0].values), [0]);
  // multi-Krum m = 2: weighted average of x=0 (n=1) and x=1 (n=2) = 2/3.
  assert.equal(krum(ups, 1, 2)[0].values[0], Math.fround(2 / 3));
  assert.throws(() => krum(ups, -1, 0), /numMalicious must be an integer ≥ 0, got -1/);
});

test("norms and distances over all variables", () => {
  const a = model(3, 4, 0);
  const b = model(1, 1, 1);
  assert.equal(weightsL2Norm(a), 5);
  assert.equal(squaredL2Distance(a, b), 4 + 9 + 1);
  assert.equal(weightsL2Distance(a, b), Math.sqrt(14));
});

test("weightedAverage is exact-then-rounded on a larger random case", () => {
  const rng = new Rng(7);
  const n = 1000;
  const ups = [3, 5, 11].map((numExamples) => ({
    numExamples,
    weights: [{ name: "v", shape: [n], values: Float32Array.from({ length: n }, () => rng.normal()) }] as ModelWeights,
  }));
  const out = weightedAverage(ups);
  for (let k = 0; k < n; k++) {
    const exact = (3 * ups[0].weights[0].values[k] + 5 * ups[1].weights[0].values[k] + 11 * ups[2].weights[0].values[k]) / 19;
    assert.equal(out[0].values[k], Math.fround(exact));
  }
});
