import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/kernels/index";
import { RELU_GRAD, SOFTMAX_GRAD } from "../../lib/kernels/activationGrads";
import { Rng } from "../../lib/util/rng";
import { withoutKernel } from "./withoutKernel";

/** Bit patterns, every NaN written as one pattern (NaN payloads are not specified by wasm's arithmetic). */
const bits = (t: tf.Tensor) => {
  const v = t.dataSync() as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length), (b, i) => (Number.isNaN(v[i]) ? 0x7fc00000 : b));
};

function randomShapes(rng: Rng): number[][] {
  const shapes = [[64, 128], [1, 10], [1, 1], [10, 24, 24, 32], [7], [3, 5, 7], [2, 1000], [0, 4]];
  for (let i = 0; i < 20; i++) {
    const rank = 1 + rng.int(4);
    shapes.push(Array.from({ length: rank }, (_, d) => (d === 0 && i % 4 === 0 ? 1 : 1 + rng.int(d === rank - 1 ? 33 : 9))));
  }
  return shapes;
}

const SPECIALS = [NaN, 0, -0, 1e-45, -1e-45, Infinity, -Infinity, 3e38, -3e38, 1e-38];

function values(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.int(8) === 0 ? SPECIALS[rng.int(SPECIALS.length)] : rng.normal() * 10 ** (rng.int(6) - 3)));
}

/**
 * For random shapes: the gradient of `op` on wasm runs fedtune's kernel `kernel` and equals, bit for bit, the gradient
 * with that kernel unregistered (tfjs's composition); `input` makes the op's input values, dy gets edge values too.
 */
async function checkGradient(kernel: string, op: (t: tf.Tensor) => tf.Tensor, seed: number, input: (rng: Rng, n: number) => Float32Array): Promise<void> {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(seed);
  const tensors = tf.memory().numTensors;
  for (const shape of randomShapes(rng)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = input(rng, n);
    const dy = values(rng, n);
    const grad = () => tf.tidy(() => bits(tf.grad(op)(tf.tensor(x, shape), tf.tensor(dy, shape))));
    const kernels = (await tf.profile(grad)).kernels.map((k) => k.name);
    if (n > 0) assert.ok(kernels.includes(kernel), `[${shape}]: fedtune's kernel ran`);
    assert.deepEqual(grad(), withoutKernel(kernel, grad), `[${shape}]`);
  }
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
}

test("Relu's gradient on wasm (fedtune's relu_grad) equals tfjs's dy·cast(step(x)) bit for bit, NaN, signed zeros and infinities included", () =>
  checkGradient(RELU_GRAD, (t) => tf.relu(t), 3131, values));

test("Softmax's gradient on wasm (fedtune's softmax_grad) equals tfjs's dy·y − Σ(dy·y)·y bit for bit", () =>
  checkGradient(SOFTMAX_GRAD, (t) => tf.softmax(t), 3232, (rng, n) => Float32Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(3) - 1))));

test("Relu and Softmax gradients on the cpu backend are tfjs's own (within float32 rounding of the wasm ones)", async () => {
  const rng = new Rng(3333);
  const x = Float32Array.from({ length: 6 * 7 }, () => rng.normal());
  const dy = Float32Array.from({ length: 6 * 7 }, () => rng.normal());
  const run = () => tf.tidy(() => {
    const [r, s] = [tf.relu, tf.softmax].map((f) => Array.from(tf.grad((t: tf.Tensor) => f(t))(tf.tensor2d(x, [6, 7]), tf.tensor2d(dy, [6, 7])).dataSync()));
    return { r, s };
  });
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const wasm = run();
  await tf.setBackend("cpu");
  const cpu = run();
  await tf.setBackend("wasm");
  assert.deepEqual(cpu.r, wasm.r);
  cpu.s.forEach((v, i) => assert.ok(Math.abs(v - wasm.s[i]) <= 1e-6 * (1 + Math.abs(v)), `softmax grad ${i}: ${v} vs ${wasm.s[i]}`));
});
