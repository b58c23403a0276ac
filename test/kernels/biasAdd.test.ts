import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "../../lib/kernels/index";
import { Rng } from "../../lib/util/rng";

/** Bit patterns, every NaN as one pattern (NaN payloads are not specified by wasm's arithmetic). */
const bits = (t: tf.Tensor) => {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.slice().buffer), (b, i) => (Number.isNaN(v[i]) ? 0x7fc00000 : b));
};

const SPECIALS = [NaN, 0, -0, 1e-45, Infinity, -Infinity, 3e38, -3e38];

test("Add of a bias on wasm (fedtune's add_rows) equals the stock kernel bit for bit; other broadcasts and dtypes are the stock kernel's", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(5151);
  const cases: Array<[number[], number[]]> = [[[64, 128], [128]], [[64, 10], [10]], [[1, 10], [10]], [[1, 1], [1]], [[10, 24, 24, 32], [1, 1, 1, 32]],
    [[10, 8, 8, 64], [64]], [[7], [7]], [[3, 5], [1, 5]], [[0, 4], [4]],
    // not a bias: the stock kernel
    [[10], [3, 10]], [[4, 1], [4, 6]], [[2, 3], [2, 3]], [[5, 6], []]];
  for (let i = 0; i < 20; i++) {
    const rank = 1 + rng.int(4);
    const shape = Array.from({ length: rank }, (_, d) => (d === 0 && i % 4 === 0 ? 1 : 1 + rng.int(d === rank - 1 ? 37 : 7)));
    cases.push([shape, rng.int(2) === 0 ? [shape[rank - 1]] : [...shape.slice(0, -1).map(() => 1), shape[rank - 1]]]);
  }
  const values = (n: number) => Float32Array.from({ length: n }, () => (rng.int(10) === 0 ? SPECIALS[rng.int(SPECIALS.length)] : rng.normal() * 10 ** (rng.int(8) - 4)));
  const tensors = tf.memory().numTensors;
  for (const [sa, sb] of cases) {
    const a = values(sa.reduce((x, y) => x * y, 1));
    const b = values(sb.reduce((x, y) => x * y, 1));
    const add = () => tf.tidy(() => ({ f32: bits(tf.add(tf.tensor(a, sa), tf.tensor(b, sb))), i32: Array.from(tf.add(tf.tensor(a, sa, "int32"), tf.tensor(b, sb, "int32")).dataSync()) }));
    const ours = add();
    unregisterWasmTrainingKernels();
    const stock = add();
    registerWasmTrainingKernels();
    assert.deepEqual(ours, stock, `[${sa}] + [${sb}]`);
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
});
