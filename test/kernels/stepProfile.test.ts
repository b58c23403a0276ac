import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/kernels/index";
import { MLP_STEP, stepProfile } from "../../bench/stepProfile";
import { simdPeakGflops } from "../../bench/mlpProducts";

test("the step profile times every kernel of an MLP step, adds up to the step, and puts the kernel registrations back", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const before = tf.getKernelsForBackend("wasm").map((k) => [k.kernelName, k.kernelFunc] as const);
  const tensors = tf.memory().numTensors;
  const p = await stepProfile(8, 5, 3, MLP_STEP);
  const after = tf.getKernelsForBackend("wasm").map((k) => [k.kernelName, k.kernelFunc] as const);
  assert.equal(after.length, before.length);
  const funcs = new Map(after);
  for (const [name, f] of before) assert.equal(funcs.get(name), f, `${name} is registered as before`);
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
  // Rows (kernels and "outside kernels") add up to the profiled step.
  const total = p.rows.reduce((a, r) => a + r.ms, 0);
  assert.ok(Math.abs(total - p.profiledStepMs) < 1e-9 * Math.max(1, p.profiledStepMs));
  assert.equal(p.rows.filter((r) => r.kernel === "outside kernels").length, 1);
  // One step of a 784-128-10 MLP: the first layer's forward product and weight gradient (xᵀ·dh), the head's weight
  // gradient and input gradient, each one BatchMatMul (the head's forward product is a _FusedMatMul).
  const products = p.rows.filter((r) => r.kernel === "BatchMatMul").reduce((a, r) => a + r.calls, 0);
  assert.equal(products, 4);
  assert.ok(p.rows.some((r) => r.kernel === "BatchMatMul" && r.inputShapes === "[8,784] [8,128]"), "xᵀ·dh as one call on x as stored");
  assert.ok(p.rows.every((r) => r.kernel === "outside kernels" || r.ms >= 0));
});

test("the wasm SIMD peak is a positive rate and leaves nothing on the backend", async () => {
  await tf.setBackend("wasm");
  const dataIds = tf.engine().backend.numDataIds();
  const gflops = simdPeakGflops(100_000, 2);
  assert.ok(Number.isFinite(gflops) && gflops > 0, `got ${gflops}`);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});
