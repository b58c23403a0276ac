import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "../../lib/kernels/index";
import { Rng } from "../../lib/util/rng";

function bits(t: tf.Tensor): number[] {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** Sums `values` of `shape` over `axes` on the current backend; returns shape and bits, checking nothing leaked. */
function sum(values: Float32Array, shape: number[], axes: number[], keepDims: boolean): { shape: number[]; bits: number[] } {
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const out = tf.tidy(() => {
    const s = tf.sum(tf.tensor(values, shape), axes, keepDims);
    return { shape: s.shape, bits: bits(s) };
  });
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
  assert.equal(tf.engine().backend.numDataIds(), dataIds, "backend data leaked");
  return out;
}

test("Sum over all leading axes on wasm (fedtune's sum_rows) equals the stock wasm kernel bit for bit and the cpu backend within float32 rounding; other axes go to stock", async () => {
  const rng = new Rng(1515);
  const shapes: number[][] = [[10, 24, 24, 32], [10, 8, 8, 64], [10, 512], [1, 7], [1, 1], [1, 3, 3, 5]];
  for (let i = 0; i < 30; i++) {
    const rank = 2 + rng.int(3);
    shapes.push(Array.from({ length: rank }, (_, d) => (d === 0 && i % 3 === 0 ? 1 : 1 + rng.int(d === rank - 1 ? 40 : 9))));
  }
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Magnitudes over 8 decades, so that any other summation order would round differently somewhere.
    const values = new Float32Array(n).map(() => (rng.int(30) === 0 ? -0 : rng.normal() * 10 ** (rng.int(8) - 4)));
    const leading = shape.slice(0, -1).map((_, i) => i);
    const cases: Array<[number[], boolean]> = [[leading, false], [leading, true], [[0], false], [[shape.length - 1], false]];
    for (const [axes, keepDims] of cases) {
      const name = `sum([${shape}], axes [${axes}], keepDims ${keepDims})`;
      await tf.setBackend("cpu");
      const cpu = sum(values, shape, axes, keepDims);
      await tf.setBackend("wasm");
      unregisterWasmTrainingKernels();
      const stock = sum(values, shape, axes, keepDims);
      registerWasmTrainingKernels();
      const got = sum(values, shape, axes, keepDims);
      assert.deepEqual(got.shape, cpu.shape, `${name}: shape`);
      assert.deepEqual(got.bits, stock.bits, `${name}: differs from the stock wasm Sum`);
      // The cpu backend adds in another order: each output within the rounding bound n·ε·Σ|x| of a float32 sum.
      const f = (b: number[]) => new Float32Array(new Uint32Array(b).buffer);
      const g = f(got.bits), c = f(cpu.bits);
      const reduced = n / g.length;
      const absSum = tf.tidy(() => tf.sum(tf.abs(tf.tensor(values, shape)), axes).dataSync() as Float32Array);
      g.forEach((v, i) => {
        const bound = 2 * reduced * 2 ** -24 * absSum[i] + 1e-30;
        assert.ok(Math.abs(v - c[i]) <= bound, `${name}: output ${i} is ${v}, cpu gives ${c[i]} (bound ${bound})`);
      });
    }
  }
});
