import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/kernels/index";
import { Rng } from "../../lib/util/rng";

registerWasmTrainingKernels();

type Case = { shape: number[]; dtype: "float32" | "int32" | "bool"; indexShape: number[]; axis: number; batchDims: number };

/** tf.gather on the current backend with fresh tensors; its values, shape and dtype, and a check that nothing leaked. */
function gather(c: Case, values: number[], ids: number[]): { values: number[]; shape: number[]; dtype: string } {
  const before = tf.memory().numTensors;
  const dataBefore = tf.engine().backend.numDataIds();
  const x = tf.tensor(values, c.shape, c.dtype);
  const i = tf.tensor(ids, c.indexShape, "int32");
  const out = tf.gather(x, i, c.axis, c.batchDims);
  const result = { values: Array.from(out.dataSync()), shape: out.shape, dtype: out.dtype };
  tf.dispose([x, i, out]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  assert.equal(tf.engine().backend.numDataIds(), dataBefore, "backend data leaked");
  return result;
}

function randomCase(rng: Rng, k: number): Case {
  const rank = 1 + rng.int(4);
  // Batch-1 and size-1 dimensions every few cases; odd sizes throughout.
  const shape = Array.from({ length: rank }, (_, d) => (k % 4 === 0 && d === 0 ? 1 : 1 + rng.int(7)));
  const batchDims = rank > 1 && k % 5 === 0 ? 1 : 0;
  const axis = batchDims + rng.int(rank - batchDims);
  const indexShape = [...shape.slice(0, batchDims), ...Array.from({ length: 1 + rng.int(2) }, () => rng.int(6))];
  const dtype = (["float32", "int32", "bool"] as const)[k % 3];
  return { shape, dtype, indexShape, axis, batchDims };
}

test("GatherV2 on wasm equals the cpu backend on 120 random shapes (axes, batchDims, float32/int32/bool, empty index lists)", async () => {
  const rng = new Rng(21);
  for (let k = 0; k < 120; k++) {
    const c = randomCase(rng, k);
    const n = c.shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => (c.dtype === "float32" ? rng.normal() : c.dtype === "int32" ? rng.int(1000) - 500 : rng.int(2)));
    const ids = Array.from({ length: c.indexShape.reduce((a, b) => a * b, 1) }, () => rng.int(c.shape[c.axis]));
    await tf.setBackend("cpu");
    const want = gather(c, values, ids);
    await tf.setBackend("wasm");
    const got = gather(c, values, ids);
    assert.deepEqual(got, want, `case ${k}: ${JSON.stringify(c)}`);
  }
});

test("GatherV2 on wasm copies a training batch bit for bit (what model.fit and the Trainer do every step)", async () => {
  await tf.setBackend("wasm");
  const rng = new Rng(22);
  const x = Float32Array.from({ length: 500 * 784 }, () => rng.normal());
  // Bit patterns the copy must keep: −0, a subnormal, NaN, ±Inf.
  x.set([-0, 1e-45, NaN, Infinity, -Infinity], 784 * 3);
  const ids = [3, 499, 0, 3, 250, 17, 42, 3, 128, 64];
  const xt = tf.tensor(x, [500, 784]);
  const out = tf.tidy(() => tf.gather(xt, tf.tensor1d(ids, "int32")));
  const got = new Uint32Array((out.dataSync() as Float32Array).slice().buffer);
  const bits = new Uint32Array(x.buffer);
  ids.forEach((id, j) => assert.deepEqual(got.subarray(j * 784, (j + 1) * 784), bits.subarray(id * 784, (id + 1) * 784), `row ${j} (= x[${id}])`));
  tf.dispose([xt, out]);
});

test("GatherV2 on wasm rejects an index out of range with the stock kernel's message", async () => {
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const high = tf.tensor1d([0, 2], "int32");
  const low = tf.tensor1d([-1], "int32");
  assert.throws(() => tf.gather(x, high), /GatherV2: the index value 2 is not in \[0, 1\]/);
  assert.throws(() => tf.gather(x, low, 1), /GatherV2: the index value -1 is not in \[0, 1\]/);
  tf.dispose([x, high, low]);
  assert.equal(tf.memory().numTensors, before, "nothing leaked by the refused gathers");
});
