import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/kernels/index";
import { momentumUpdateInPlace, sgdUpdateInPlace, useFusedSgdUpdates } from "../../lib/kernels/sgdUpdate";
import { SgdMomentum } from "../../lib/model/sgdMomentum";
import { Rng } from "../../lib/util/rng";

/** Random values with the awkward ones mixed in: signed zeros, subnormals, huge and tiny magnitudes. */
function values(rng: Rng, n: number): Float32Array {
  const special = [0, -0, 1e-40, -1e-40, 3e38, -3e38, 1e-30];
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.int(10) === 0 ? special[rng.int(special.length)] : rng.normal() * 10 ** (rng.int(7) - 3);
  return v;
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) assert.fail(`${what}: element ${i} is ${got[i]}, tfjs cpu gives ${want[i]}`);
  }
}

/** A variable that is the only holder of its data (as the Trainer's are once their initial tensors are gone). */
function variableOf(v: Float32Array, shape: number[] = [v.length]): tf.Variable {
  const t = tf.tensor(v, shape);
  const w = tf.variable(t);
  t.dispose();
  return w;
}

/** Sizes with every remainder of the 4-wide SIMD loop, batch-1-like single values and a dense layer's kernel. */
const SIZES = [1, 2, 3, 4, 5, 7, 8, 31, 33, 250, 1023, 10 * 512 + 3];

test("sgd_update gives tfjs cpu's θ − lr·g bit for bit, in place, on random sizes", async () => {
  registerWasmTrainingKernels();
  const rng = new Rng(15);
  for (const n of SIZES) {
    const w0 = values(rng, n);
    const g = values(rng, n);
    const lr = [0.005, 0.1, 1e-7, 0][rng.int(4)];
    await tf.setBackend("cpu");
    const want = tf.tidy(() => tf.sub(tf.tensor1d(w0), tf.mul(tf.scalar(lr), tf.tensor1d(g))).dataSync() as Float32Array);
    await tf.setBackend("wasm");
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const w = variableOf(w0);
    const gt = tf.tensor1d(g);
    const id = w.dataId;
    assert.equal(sgdUpdateInPlace(w, gt, lr), true, `n=${n}: fused update ran`);
    assert.equal(w.dataId, id, `n=${n}: updated in place`);
    sameBits(w.dataSync() as Float32Array, want, `sgd n=${n} lr=${lr}`);
    tf.dispose([w, gt]);
    assert.equal(tf.memory().numTensors, before, `n=${n}: tensors leaked`);
    assert.equal(tf.engine().backend.numDataIds(), dataIds, `n=${n}: backend data leaked`);
  }
});

test("momentum_update gives tfjs cpu's v ← m·v + g; θ − lr·v bit for bit, in place, on random sizes", async () => {
  registerWasmTrainingKernels();
  const rng = new Rng(16);
  for (const n of SIZES) {
    const w0 = values(rng, n);
    const v0 = values(rng, n);
    const g = values(rng, n);
    const lr = [0.005, 0.3][rng.int(2)];
    const m = [0.9, 0.5, 0.99][rng.int(3)];
    await tf.setBackend("cpu");
    const [wantW, wantV] = tf.tidy(() => {
      const v = tf.add(tf.mul(tf.scalar(m), tf.tensor1d(v0)), tf.tensor1d(g));
      return [tf.sub(tf.tensor1d(w0), tf.mul(tf.scalar(lr), v)).dataSync() as Float32Array, v.dataSync() as Float32Array];
    });
    await tf.setBackend("wasm");
    const w = variableOf(w0);
    const v = tf.tensor1d(v0);
    const gt = tf.tensor1d(g);
    assert.equal(momentumUpdateInPlace(w, v, gt, lr, m), true, `n=${n}: fused update ran`);
    sameBits(v.dataSync() as Float32Array, wantV, `velocity n=${n}`);
    sameBits(w.dataSync() as Float32Array, wantW, `weights n=${n}`);
    tf.dispose([w, v, gt]);
  }
});

test("the fused update refuses, changing nothing, when the buffer is shared, the dtype or size differs, or the backend is cpu", async () => {
  registerWasmTrainingKernels();
  await tf.setBackend("wasm");
  const w = variableOf(new Float32Array([1, 2, 3]));
  const g = tf.tensor1d([1, 1, 1]);
  const alias = tf.clone(w); // shares w's buffer on wasm (fedtune's Identity)
  assert.equal(sgdUpdateInPlace(w, g, 0.5), false, "a clone shares the variable's data");
  assert.deepEqual(Array.from(alias.dataSync()), [1, 2, 3]);
  alias.dispose();
  assert.equal(sgdUpdateInPlace(w, tf.tensor1d([1, 1]), 0.5), false, "size mismatch");
  assert.equal(sgdUpdateInPlace(w, tf.tensor1d([1, 1, 1], "int32"), 0.5), false, "int32 gradient");
  assert.equal(momentumUpdateInPlace(w, g, g, 0.5, 0.9), false, "velocity and gradient are one buffer");
  const was = useFusedSgdUpdates(false);
  assert.equal(sgdUpdateInPlace(w, g, 0.5), false, "turned off");
  useFusedSgdUpdates(was);
  assert.deepEqual(Array.from(w.dataSync()), [1, 2, 3], "nothing changed");
  await tf.setBackend("cpu");
  const wc = variableOf(new Float32Array([1, 2, 3]));
  assert.equal(sgdUpdateInPlace(wc, tf.tensor1d([1, 1, 1]), 0.5), false, "cpu backend");
  tf.disposeVariables();
  await tf.setBackend("wasm");
  tf.disposeVariables();
});

test("after an in-place update the backend's cached XNNPACK operators see the new weights", async () => {
  registerWasmTrainingKernels();
  await tf.setBackend("wasm");
  const rng = new Rng(17);
  // a plain product with > 128 rows runs on XNNPACK, which caches its packed b by tensor id.
  const a = tf.tensor2d(values(rng, 200 * 6), [200, 6]);
  const w = variableOf(values(rng, 6 * 9), [6, 9]);
  const g = tf.tensor2d(values(rng, 6 * 9), [6, 9]);
  tf.tidy(() => tf.matMul(a, w).dataSync()); // fills the cache for w's current id
  assert.equal(sgdUpdateInPlace(w, g, 0.25), true);
  const got = tf.tidy(() => tf.matMul(a, w).dataSync() as Float32Array);
  const want = tf.tidy(() => tf.matMul(a, tf.tensor2d(w.dataSync() as Float32Array, [6, 9])).dataSync() as Float32Array);
  sameBits(got, want, "product after the update");
  tf.dispose([a, w, g]);
});

test("SgdMomentum steps on wasm (fused) equal those on cpu (tfjs ops), bit for bit, with and without momentum", async () => {
  registerWasmTrainingKernels();
  for (const momentum of [0, 0.9]) {
    const rng = new Rng(18 + momentum);
    const shapes = [[5, 3], [7], [1], [33, 4]];
    const starts = shapes.map((s) => values(rng, s.reduce((x, y) => x * y, 1)));
    const gradSteps = [0, 1, 2].map(() => starts.map((s) => values(rng, s.length)));
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const vars = starts.map((s, i) => variableOf(s, shapes[i]));
      const opt = new SgdMomentum(vars, 0.05, momentum);
      for (const grads of gradSteps) {
        const gs = grads.map((g, i) => tf.tensor(g, shapes[i]));
        opt.step(gs);
        tf.dispose(gs);
      }
      opt.dispose();
      const out = vars.map((v) => v.dataSync() as Float32Array);
      tf.dispose(vars);
      assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
      return out;
    };
    const cpu = await run("cpu");
    const wasm = await run("wasm");
    wasm.forEach((w, i) => sameBits(w, cpu[i], `momentum ${momentum}, variable ${i}`));
  }
});

test("Identity on wasm shares its input's data, and each holder can be disposed on its own", async () => {
  registerWasmTrainingKernels();
  await tf.setBackend("wasm");
  const dataIds = tf.engine().backend.numDataIds();
  const x = tf.tensor2d([1, -0, 3.5, 1e-40], [2, 2]);
  const y = tf.clone(x);
  assert.equal(y.dataId, x.dataId);
  assert.equal(tf.engine().backend.numDataIds(), dataIds + 1, "one buffer for both");
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, -0, 3.5, 1e-40].map(Math.fround));
  y.dispose();
  assert.equal(tf.engine().backend.numDataIds(), dataIds, "the buffer is freed with its last holder");
});
