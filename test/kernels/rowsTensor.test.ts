import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { rowsTensor } from "../../lib/kernels/rowsTensor";
import { Rng } from "../../lib/util/rng";

test("rowsTensor picks the rows, in idx order and with repeats, on wasm (in the heap) and cpu, without leaks", async () => {
  const rng = new Rng(91);
  for (const backend of ["wasm", "cpu"]) {
    await tf.setBackend(backend);
    for (const [rows, len, picks] of [[7, 5, 3], [1, 1, 1], [50, 784, 64], [9, 13, 9], [4, 3, 0]]) {
      const x = new Float32Array(rows * len);
      for (let i = 0; i < x.length; i++) x[i] = rng.normal();
      x[0] = -0;
      x[x.length - 1] = NaN;
      const idx = Int32Array.from({ length: picks }, () => rng.int(rows));
      if (picks > 2) idx[1] = idx[0];
      const tensors = tf.memory().numTensors;
      const dataIds = tf.engine().backend.numDataIds();
      const t = rowsTensor(x, len, idx, [picks, len]);
      const want = new Float32Array(picks * len);
      idx.forEach((i, r) => want.set(x.subarray(i * len, (i + 1) * len), r * len));
      assert.deepEqual(t.shape, [picks, len]);
      assert.equal(t.dtype, "float32");
      // Bit for bit (−0 and NaN included).
      assert.deepEqual(new Uint32Array((t.dataSync() as Float32Array).slice().buffer), new Uint32Array(want.buffer), `${backend} [${rows},${len}] picks ${picks}`);
      t.dispose();
      assert.equal(tf.memory().numTensors, tensors, `${backend}: tensors leaked`);
      assert.equal(tf.engine().backend.numDataIds(), dataIds, `${backend}: data leaked`);
    }
  }
});

test("rowsTensor refuses a shape that does not hold the rows and a row outside the array, leaking nothing", async () => {
  for (const backend of ["wasm", "cpu"]) {
    await tf.setBackend(backend);
    const x = new Float32Array(12);
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    assert.throws(() => rowsTensor(x, 4, Int32Array.of(0, 1), [3, 4]), /rowsTensor: shape \[3,4\] holds 12 values, 2 rows of 4 are 8/);
    assert.throws(() => rowsTensor(x, 4, Int32Array.of(0, 3), [2, 4]), /rowsTensor: row 3 is outside the 3 rows/);
    assert.throws(() => rowsTensor(x, 4, Int32Array.of(-1), [1, 4]), /rowsTensor: row -1 is outside the 3 rows/);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, `${backend}: data leaked`);
  }
});
