import { test } from "node:test";
import assert from "node:assert/strict";
import { weightedSumInto } from "../../lib/kernels/weightedSum";
import { weightedAverage } from "../../lib/federation/aggregate";
import { Rng } from "../../lib/util/rng";

/** The textbook loop the wasm kernel must equal bit for bit: Float64 sum in participant order, one fround at the end. */
function textbook(inputs: readonly Float32Array[], factors: readonly number[], total: number): Float32Array {
  const len = inputs[0].length;
  const acc = new Float64Array(len);
  inputs.forEach((x, i) => {
    for (let k = 0; k < len; k++) acc[k] += factors[i] * x[k];
  });
  const out = new Float32Array(len);
  for (let k = 0; k < len; k++) out[k] = Math.fround(acc[k] / total);
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function randomCase(rng: Rng, p: number, len: number): { inputs: Float32Array[]; factors: number[]; total: number } {
  const scale = [1e-3, 1, 1e4][rng.int(3)];
  const inputs = Array.from({ length: p }, () => {
    const x = new Float32Array(len);
    for (let k = 0; k < len; k++) x[k] = rng.normal() * scale;
    return x;
  });
  const factors = Array.from({ length: p }, () => 1 + rng.int(rng.int(2) === 0 ? 50 : 60000));
  return { inputs, factors, total: factors.reduce((a, b) => a + b, 0) };
}

test("weightedSumInto equals the textbook Float64 loop bit for bit (random lengths incl. odd and < 8, 1–3,000 participants)", () => {
  const rng = new Rng(15);
  // Around the kernel's 16-wide body, its 4-wide rest and its scalar tail, and around block widths.
  const lengths = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16, 17, 19, 20, 31, 32, 33, 47, 63, 64, 65, 1000, 1637, 6553, 6556, 20011, 100003];
  // 3,000 participants: a block row is the kernel's minimum of 64 coordinates.
  const participants = [1, 2, 3, 4, 5, 7, 10, 13, 20, 40, 300, 3000];
  let cases = 0;
  for (const len of lengths) {
    for (const p of participants) {
      if (len * p > 3_000_000) continue;
      const { inputs, factors, total } = randomCase(rng, p, len);
      const out = new Float32Array(len);
      assert.equal(weightedSumInto(out, inputs, factors, total), true, `finite, len ${len}, p ${p}`);
      const want = textbook(inputs, factors, total);
      assert.deepEqual(bits(out), bits(want), `len ${len}, p ${p}`);
      cases++;
    }
  }
  assert.ok(cases > 150, `${cases} cases`);
});

test("weightedSumInto keeps the textbook loop's signed zeros and rounding at the float32 edges", () => {
  // −0 everywhere: 0 + n·(−0) = +0 in the loop, and in the kernel (SIMD and scalar tail).
  const negZero = [new Float32Array(19).fill(-0), new Float32Array(19).fill(-0)];
  const out = new Float32Array(19);
  weightedSumInto(out, negZero, [3, 4], 7);
  assert.deepEqual(bits(out), bits(textbook(negZero, [3, 4], 7)));
  assert.ok(out.every((v) => Object.is(v, 0)), "+0, not −0");
  // Subnormals and the largest floats (the sum exceeds float32 but not float64; the mean is back in range).
  const edge = [Float32Array.from({ length: 21 }, (_, k) => (k % 2 ? 1.4e-45 : 3.4e38)), Float32Array.from({ length: 21 }, (_, k) => (k % 3 ? -1.4e-45 : 3.4e38))];
  const e = new Float32Array(21);
  assert.equal(weightedSumInto(e, edge, [5, 9], 14), true);
  assert.deepEqual(bits(e), bits(textbook(edge, [5, 9], 14)));
});

test("weightedSumInto reports NaN and ±Inf outputs, in the SIMD body and in the tail", () => {
  // 23 values: the 16-wide body (0–15), the 4-wide rest (16–19), the scalar tail (20–22).
  for (const at of [0, 5, 8, 15, 16, 17, 19, 20, 22]) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const inputs = [new Float32Array(23).fill(1), new Float32Array(23).fill(2)];
      inputs[1][at] = bad;
      const out = new Float32Array(23);
      assert.equal(weightedSumInto(out, inputs, [1, 1], 2), false, `${bad} at ${at}`);
      assert.ok(Number.isNaN(out[at]) || !Number.isFinite(out[at]));
      assert.equal(out[at === 0 ? 1 : 0], 1.5, "the other outputs are still computed");
    }
  }
  // Finite inputs whose float32 mean overflows.
  const big = [new Float32Array(9).fill(3.4e38), new Float32Array(9).fill(3.4e38)];
  big[1][8] = -3.4e38;
  const o = new Float32Array(9);
  assert.equal(weightedSumInto(o, big, [1, 1e6], 1), false);
});

test("weightedSumInto reports a NaN in any block of a long sum and still computes the other blocks bit for bit", () => {
  const rng = new Rng(16);
  const len = 300_007; // several blocks of 2 participants, and a short last one
  for (const at of [0, 65_535, 65_536, 131_071, 300_006]) {
    const { inputs, factors, total } = randomCase(rng, 2, len);
    inputs[0][at] = NaN;
    const out = new Float32Array(len);
    assert.equal(weightedSumInto(out, inputs, factors, total), false, `NaN at ${at}`);
    assert.deepEqual(bits(out), bits(textbook(inputs, factors, total)), `NaN at ${at}: every output as the loop's`);
  }
});

test("weightedSumInto refuses inputs of the wrong length or a missing factor", () => {
  const out = new Float32Array(4);
  assert.throws(() => weightedSumInto(out, [new Float32Array(4), new Float32Array(3)], [1, 1], 2), /input #1 has 3 values, expected 4/);
  assert.throws(() => weightedSumInto(out, [new Float32Array(4)], [1, 1], 2), /1 inputs but 2 factors/);
});

test("weightedAverage (on the wasm sum) equals the textbook loop bit for bit on a CNN's layer sizes", () => {
  const rng = new Rng(7);
  const sizes = [800, 32, 51200, 64, 1024 * 512, 512, 5120, 10];
  const updates = Array.from({ length: 20 }, (_, i) => ({
    participantId: `p${i}`,
    numExamples: 1 + rng.int(3000),
    weights: sizes.map((s, v) => ({ name: `w${v}`, shape: [s], values: Float32Array.from({ length: s }, () => rng.normal() * 0.1) })),
  }));
  const total = updates.reduce((a, u) => a + u.numExamples, 0);
  const got = weightedAverage(updates);
  sizes.forEach((_, v) => {
    const want = textbook(updates.map((u) => u.weights[v].values), updates.map((u) => u.numExamples), total);
    assert.deepEqual(bits(got[v].values), bits(want), `variable w${v}`);
  });
});
