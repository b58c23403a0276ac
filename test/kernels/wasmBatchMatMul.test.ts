import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "../../lib/kernels/index";
import { planMatMul } from "../../lib/kernels/batchMatMul";
import { Rng } from "../../lib/util/rng";
import { relativeError } from "./relativeError";

function randomValues(rng: Rng, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

test("planMatMul transposes whatever moves fewer elements", () => {
  assert.equal(planMatMul(false, false, 5, 6, 7), "plain");
  // dense layer dW = xᵀ·dy, x [32, 6272], dy [32, 128]: transposing x (200k) beats dy + output (4k + 800k).
  assert.equal(planMatMul(true, false, 6272, 32, 128), "transposeInputs");
  // dense layer dx = dy·Wᵀ, W [6272, 128]: transposing W (800k) loses to dy + output (4k + 200k).
  assert.equal(planMatMul(false, true, 32, 128, 6272), "swapAndTransposeOutput");
  // Aᵀ·Bᵀ = (B·A)ᵀ: one output transpose when the output is the smallest.
  assert.equal(planMatMul(true, true, 2, 100, 2), "swapAndTransposeOutput");
  assert.equal(planMatMul(true, true, 100, 2, 100), "transposeInputs");
});

test("BatchMatMul on wasm matches cpu for every transpose combination, batch and broadcast shape", async () => {
  registerWasmTrainingKernels();
  const rng = new Rng(88);
  const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [];
  // 150 rows: a transposed product (a gradient) runs on fedtune's matmul even above SMALL_M rows.
  for (const [m, k, n] of [[3, 4, 5], [64, 7, 2], [2, 9, 40], [150, 10, 33]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        cases.push({ a: tA ? [k, m] : [m, k], b: tB ? [n, k] : [k, n], tA, tB });
        cases.push({ a: tA ? [3, k, m] : [3, m, k], b: tB ? [3, n, k] : [3, k, n], tA, tB });
        // Broadcast of a batch-free operand (tfjs's BatchMatMul broadcasts only when one side's batch size is 1).
        cases.push({ a: tA ? [2, 3, k, m] : [2, 3, m, k], b: tB ? [n, k] : [k, n], tA, tB });
        cases.push({ a: tA ? [k, m] : [m, k], b: tB ? [4, n, k] : [4, k, n], tA, tB });
      }
    }
  }
  for (const c of cases) {
    const aVals = randomValues(rng, c.a.reduce((x, y) => x * y, 1));
    const bVals = randomValues(rng, c.b.reduce((x, y) => x * y, 1));
    const compute = () => tf.tidy(() => {
      const out = tf.matMul(tf.tensor(aVals, c.a), tf.tensor(bVals, c.b), c.tA, c.tB);
      return { shape: out.shape, values: out.dataSync() as Float32Array };
    });
    await tf.setBackend("cpu");
    const ref = compute();
    await tf.setBackend("wasm");
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const got = compute();
    const name = `[${c.a}]${c.tA ? "ᵀ" : ""}·[${c.b}]${c.tB ? "ᵀ" : ""}`;
    assert.equal(tf.memory().numTensors, tensors, `${name}: tensors leaked`);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, `${name}: wasm intermediates leaked`);
    assert.deepEqual(got.shape, ref.shape, `${name}: shape`);
    assert.ok(relativeError(got.values, ref.values) < 1e-5, `${name}: error ${relativeError(got.values, ref.values)}`);
  }
});

test("an MLP's gradients on wasm match cpu (dense layers use transposed matmuls)", async () => {
  registerWasmTrainingKernels();
  const rng = new Rng(89);
  const xVals = randomValues(rng, 16 * 20);
  const w1 = randomValues(rng, 20 * 12);
  const w2 = randomValues(rng, 12 * 4);
  const compute = () => tf.tidy(() => {
    const x = tf.tensor2d(xVals, [16, 20]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.relu(tf.matMul(x, a)), b)));
    const [g1, g2] = tf.grads(f)([tf.tensor2d(w1, [20, 12]), tf.tensor2d(w2, [12, 4])]);
    return [g1.dataSync() as Float32Array, g2.dataSync() as Float32Array];
  });
  await tf.setBackend("cpu");
  const ref = compute();
  await tf.setBackend("wasm");
  const got = compute();
  ref.forEach((r, i) => assert.ok(relativeError(got[i], r) < 1e-4, `gradient ${i}: error ${relativeError(got[i], r)}`));
});

test("_FusedMatMul on wasm without bias and activation (fedtune's matmul) equals the stock XNNPACK kernel bit for bit; with a bias, relu or a transposed operand it is the stock kernel", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(89);
  const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
  const shapes: Array<[number, number, number]> = [[64, 128, 10], [1, 128, 10], [1, 1, 1], [10, 1024, 512], [33, 17, 9], [3, 7, 5], [128, 64, 11], [300, 64, 10], [512, 128, 10]];
  for (let i = 0; i < 12; i++) shapes.push([1 + rng.int(130), 1 + rng.int(300), 1 + rng.int(40)]);
  const fusedConfig = tf.getKernel("_FusedMatMul", "wasm")!;
  const tensors = tf.memory().numTensors;
  for (const [m, k, n] of shapes) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true]] as const) {
      const a = randomValues(rng, m * k);
      const b = randomValues(rng, k * n);
      const bias = randomValues(rng, n);
      const run = (withBias: boolean, activation: "linear" | "relu") => tf.tidy(() => bits(tf.fused.matMul({
        a: tf.tensor3d(a, tA ? [1, k, m] : [1, m, k]),
        b: tf.tensor3d(b, tB ? [1, n, k] : [1, k, n]),
        transposeA: tA,
        transposeB: tB,
        bias: withBias ? tf.tensor1d(bias) : undefined,
        activation,
      })));
      const ours = [run(false, "linear"), run(true, "relu")];
      // The stock kernel alone (fedtune's unregistered, the backend's own put back).
      unregisterWasmTrainingKernels();
      const stock = [run(false, "linear"), run(true, "relu")];
      registerWasmTrainingKernels();
      assert.equal(tf.getKernel("_FusedMatMul", "wasm")?.kernelFunc, fusedConfig.kernelFunc);
      assert.deepEqual(ours, stock, `[${m},${k}]·[${k},${n}] transposeA ${tA} transposeB ${tB}`);
    }
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
});

test("aᵀ·b on wasm (matmul_ta, a read in place) equals the product on an explicitly transposed a bit for bit, and cpu within float error", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(90);
  const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
  // [m, k, n]: the MLP's and the CNN head's weight gradients, batch 1, single rows and columns, odd sizes around the
  // 4-row and 8-column tiles, and random ones.
  const shapes: Array<[number, number, number]> = [[784, 64, 128], [128, 64, 10], [1024, 10, 512], [512, 10, 10], [1, 1, 1],
    [1, 7, 9], [9, 1, 3], [5, 3, 1], [4, 2, 8], [7, 13, 17], [130, 3, 33]];
  for (let i = 0; i < 12; i++) shapes.push([1 + rng.int(200), 1 + rng.int(70), 1 + rng.int(140)]);
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  for (const [m, k, n] of shapes) {
    const a = randomValues(rng, k * m);
    const b = randomValues(rng, k * n);
    const name = `[${k},${m}]ᵀ·[${k},${n}]`;
    const inPlace = tf.tidy(() => bits(tf.matMul(tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, n]), true, false)));
    const transposedFirst = tf.tidy(() => bits(tf.matMul(tf.transpose(tf.tensor2d(a, [k, m])), tf.tensor2d(b, [k, n]))));
    assert.deepEqual(inPlace, transposedFirst, `${name}: bits differ from the product on the transposed copy`);
    await tf.setBackend("cpu");
    const ref = tf.tidy(() => tf.matMul(tf.tensor2d(a, [k, m]), tf.tensor2d(b, [k, n]), true, false).dataSync() as Float32Array);
    await tf.setBackend("wasm");
    const got = new Float32Array(new Uint32Array(inPlace).buffer);
    assert.ok(relativeError(got, ref) < 1e-5, `${name}: error ${relativeError(got, ref)} against cpu`);
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
  assert.equal(tf.engine().backend.numDataIds(), dataIds, "wasm intermediates leaked");
});
