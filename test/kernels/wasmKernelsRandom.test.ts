import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "../../lib/kernels/index";
import { MAX_PATCH_FLOATS } from "../../lib/kernels/conv2d";
import { WASM_KERNELS_FILE } from "../../lib/kernels/wasmHeap";
import { WEIGHTED_SUM_WASM_FILE } from "../../lib/kernels/weightedSum";
import { WEIGHTED_SUM_SHARED_WASM_FILE } from "../../lib/kernels/weightedSumResident";
import { Rng } from "../../lib/util/rng";
import { relativeError } from "./relativeError";

type Shape4 = [number, number, number, number];

function values(rng: Rng, n: number, ints = false): Float32Array {
  const v = new Float32Array(n);
  // Small integers make ties (and all-negative windows) common, which is what max-pool gradients get wrong.
  for (let i = 0; i < n; i++) v[i] = ints ? rng.int(5) - 3 : rng.normal();
  return v;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Runs one kernel with fresh tensors on the current backend; returns its values and checks nothing leaked. */
function run(kernel: string, inputs: Record<string, [Float32Array, number[]]>, attrs: object): Float32Array {
  const tensorsBefore = tf.memory().numTensors;
  const dataBefore = tf.engine().backend.numDataIds();
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, [v, s]]) => [k, tf.tensor(v, s)]));
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  const got = out.dataSync() as Float32Array;
  tf.dispose([out, ...Object.values(ts)]);
  assert.equal(tf.memory().numTensors, tensorsBefore, `${kernel}: tensors leaked`);
  assert.equal(tf.engine().backend.numDataIds(), dataBefore, `${kernel}: backend data leaked`);
  return got;
}

async function both(kernel: string, inputs: Record<string, [Float32Array, number[]]>, attrs: object): Promise<{ cpu: Float32Array; wasm: Float32Array }> {
  await tf.setBackend("cpu");
  const cpu = run(kernel, inputs, attrs);
  await tf.setBackend("wasm");
  const wasm = run(kernel, inputs, attrs);
  return { cpu, wasm };
}

/** A random convolution: batch 1–3 (batch 1 every third case), odd and even sizes, 1–5 filters, strides 1–3, pads. */
function randomConv(rng: Rng, i: number): { x: Shape4; f: Shape4; strides: [number, number]; pad: "same" | "valid" | number } {
  const n = i % 3 === 0 ? 1 : 1 + rng.int(3);
  const fh = 1 + rng.int(5);
  const fw = 1 + rng.int(5);
  const pads = ["same", "valid", rng.int(3)] as const;
  const pad = pads[rng.int(3)];
  const h = fh + rng.int(9);
  const w = fw + rng.int(9);
  return { x: [n, h, w, 1 + rng.int(6)], f: [fh, fw, 0, 1 + rng.int(5)], strides: [1 + rng.int(3), 1 + rng.int(3)], pad };
}

test("Conv2DBackpropFilter and Conv2DBackpropInput on wasm match the cpu backend on 40 random shapes", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(15);
  for (let i = 0; i < 40; i++) {
    const c = randomConv(rng, i);
    const filterShape: Shape4 = [c.f[0], c.f[1], c.x[3], c.f[3]];
    const dyShape = tf.backend_util.computeConv2DInfo(c.x, filterShape, c.strides, 1, c.pad).outShape;
    const name = `x [${c.x}] filter [${filterShape}] strides [${c.strides}] pad ${c.pad}`;
    const x = values(rng, size(c.x));
    const f = values(rng, size(filterShape));
    const dy = values(rng, size(dyShape));
    const common = { strides: c.strides, pad: c.pad, dataFormat: "NHWC" };
    const dW = await both("Conv2DBackpropFilter", { x: [x, c.x], dy: [dy, dyShape] }, { ...common, filterShape });
    const dX = await both("Conv2DBackpropInput", { dy: [dy, dyShape], filter: [f, filterShape] }, { ...common, inputShape: c.x });
    assert.ok(relativeError(dW.wasm, dW.cpu) < 1e-5, `${name}: filter gradient error ${relativeError(dW.wasm, dW.cpu)}`);
    assert.ok(relativeError(dX.wasm, dX.cpu) < 1e-5, `${name}: input gradient error ${relativeError(dX.wasm, dX.cpu)}`);
  }
});

test("Conv2D on wasm (fedtune's im2col + matmul) matches the cpu backend on 40 random shapes, and the stock XNNPACK kernel bit for bit wherever that one is right", async () => {
  await tf.setBackend("wasm");
  const rng = new Rng(18);
  const cases = Array.from({ length: 40 }, (_, i) => randomConv(rng, i)).map((c) => ({ ...c, dilations: 1 }));
  // The issue's CNN at batch 10 (both layers on fedtune's path), batch 32's second layer (above MAX_PATCH_FLOATS: the
  // stock kernel), a dilated filter (the stock kernel), and a large strided one.
  cases.push({ x: [10, 28, 28, 1], f: [5, 5, 0, 32], strides: [1, 1], pad: "valid", dilations: 1 });
  cases.push({ x: [10, 12, 12, 32], f: [5, 5, 0, 64], strides: [1, 1], pad: "valid", dilations: 1 });
  cases.push({ x: [32, 12, 12, 32], f: [5, 5, 0, 64], strides: [1, 1], pad: "valid", dilations: 1 });
  cases.push({ x: [2, 9, 9, 3], f: [3, 3, 0, 4], strides: [1, 1], pad: "same", dilations: 2 });
  // Above MAX_PATCH_FLOATS but strided: stays on fedtune's path (the stock kernel is wrong on strided shapes).
  cases.push({ x: [8, 96, 96, 3], f: [5, 5, 0, 8], strides: [2, 2], pad: "same", dilations: 1 });
  const sameBits: string[] = [];
  const stockWrong: string[] = [];
  assert.ok(10 * 8 * 8 * 5 * 5 * 32 <= MAX_PATCH_FLOATS && 32 * 8 * 8 * 5 * 5 * 32 > MAX_PATCH_FLOATS, "the cases straddle MAX_PATCH_FLOATS");
  for (const c of cases) {
    const filterShape: Shape4 = [c.f[0], c.f[1], c.x[3], c.f[3]];
    const name = `x [${c.x}] filter [${filterShape}] strides [${c.strides}] pad ${c.pad} dilations ${c.dilations}`;
    const inputs = { x: [values(rng, size(c.x)), c.x] as [Float32Array, number[]], filter: [values(rng, size(filterShape)), filterShape] as [Float32Array, number[]] };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", dilations: c.dilations };
    registerWasmTrainingKernels();
    const r = await both("Conv2D", inputs, attrs);
    assert.ok(relativeError(r.wasm, r.cpu) < 1e-5, `${name}: error ${relativeError(r.wasm, r.cpu)}`);
    // The stock kernel is unsafe with numeric pads: where XNNPACK's output width differs from tfjs's (e.g. x [3,8,5,1]
    // filter [4,1,1,5] strides [1,2] pad 2) it writes rows of 5 into rows of 6, and past the output's end.
    if (typeof c.pad === "number") continue;
    unregisterWasmTrainingKernels();
    const stock = run("Conv2D", inputs, attrs);
    registerWasmTrainingKernels();
    // It is also wrong on some strided shapes (x [1,8,6,6] filter [4,1,6,4] strides [2,3] same: all zeros): compare
    // bits where it is right.
    if (relativeError(stock, r.cpu) > 1e-5) {
      stockWrong.push(name);
      continue;
    }
    const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
    assert.deepEqual(bits(r.wasm), bits(stock), `${name}: differs from the stock kernel`);
    sameBits.push(name);
  }
  assert.ok(sameBits.length >= 20, `bit-for-bit equal to the stock kernel on ${sameBits.length} shapes; stock wrong on ${stockWrong.join("; ")}`);
  for (const issueShape of ["x [10,28,28,1] filter [5,5,1,32]", "x [10,12,12,32] filter [5,5,32,64]", "x [32,12,12,32] filter [5,5,32,64]"]) {
    assert.ok(sameBits.some((n) => n.startsWith(issueShape)), `${issueShape} compared bit for bit`);
  }
});

test("BatchMatMul on wasm (fedtune's unpacked matmul below SMALL_M rows) matches the cpu backend on 40 random shapes", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(17);
  for (let i = 0; i < 40; i++) {
    // Row counts 1–140 cross SMALL_M (128); odd k and n exercise the 4-row and 8-column remainders.
    const m = i % 5 === 0 ? 1 : i % 7 === 0 ? 129 + rng.int(12) : 1 + rng.int(40);
    const k = 1 + rng.int(70);
    const n = 1 + rng.int(40);
    const transposeA = rng.int(2) === 1;
    const transposeB = rng.int(2) === 1;
    const aShape = transposeA ? [k, m] : [m, k];
    const bShape = transposeB ? [n, k] : [k, n];
    const r = await both("BatchMatMul", { a: [values(rng, m * k), aShape], b: [values(rng, k * n), bShape] }, { transposeA, transposeB });
    const name = `a [${aShape}]${transposeA ? "ᵀ" : ""} b [${bShape}]${transposeB ? "ᵀ" : ""}`;
    assert.ok(relativeError(r.wasm, r.cpu) < 1e-5, `${name}: error ${relativeError(r.wasm, r.cpu)}`);
  }
});

test("MaxPoolGrad on wasm matches the cpu backend on 40 random pools (bit for bit without overlap), ties and all-negative windows included", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const rng = new Rng(16);
  for (let i = 0; i < 40; i++) {
    const filterSize: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const strides: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const pad = rng.int(2) === 0 ? "same" : "valid";
    // Channel counts 1–9 exercise the four-lane path and its scalar remainder.
    const xShape: Shape4 = [i % 3 === 0 ? 1 : 1 + rng.int(3), filterSize[0] + rng.int(8), filterSize[1] + rng.int(8), 1 + rng.int(9)];
    const ints = i % 2 === 0;
    const x = values(rng, size(xShape), ints);
    const attrs = { filterSize, strides, pad };
    await tf.setBackend("cpu");
    const yShape = (tf.maxPool(tf.zeros(xShape) as tf.Tensor4D, filterSize, strides, pad)).shape;
    const dy = values(rng, size(yShape));
    const name = `x [${xShape}] pool [${filterSize}] strides [${strides}] ${pad}${ints ? " (integers)" : ""}`;
    const r = await both("MaxPoolGrad", { dy: [dy, yShape], input: [x, xShape], output: [new Float32Array(size(yShape)), yShape] }, attrs);
    if (strides[0] >= filterSize[0] && strides[1] >= filterSize[1]) {
      assert.deepEqual(r.wasm, r.cpu, name);
    } else {
      // Overlapping windows add up: the cpu backend sums in float64, this kernel in float32 (same order).
      assert.ok(relativeError(r.wasm, r.cpu) < 1e-6, `${name}: error ${relativeError(r.wasm, r.cpu)}`);
    }
  }
  tf.disposeVariables();
});

test("the stock wasm MaxPoolGrad bug is gone: an all-negative window passes its gradient on", async () => {
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]);
  const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, "valid")))(x);
  assert.deepEqual(Array.from(dx.dataSync()), [0, 1, 0, 0]);
  tf.dispose([x, dx]);
});

for (const [file, exports] of [
  [WASM_KERNELS_FILE, ["add_rows", "col2im", "im2col", "im2col_t", "matmul", "matmul_ta", "max_pool_grad", "momentum_update", "relu_grad", "sgd_update", "simd_peak", "softmax_grad", "sum_rows"]],
  [WEIGHTED_SUM_WASM_FILE, ["weighted_sum", "weighted_sum_rows"]],
  [WEIGHTED_SUM_SHARED_WASM_FILE, ["weighted_sum", "weighted_sum_rows"]],
] as const) {
  test(`the committed ${path.basename(file)} is safe to share a heap: imports only memory, no data`, () => {
    const bytes = fs.readFileSync(file);
    const mod = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`), ["env.memory:memory"]);
    assert.deepEqual(WebAssembly.Module.exports(mod).map((e) => e.name).sort(), exports);
    // Section id 11 is the data section (wasm binary format §5.5.2): the module must not write anything at instantiation.
    let at = 8;
    while (at < bytes.length) {
      const id = bytes[at++];
      let len = 0;
      for (let shift = 0; ; shift += 7) {
        const b = bytes[at++];
        len |= (b & 0x7f) << shift;
        if ((b & 0x80) === 0) break;
      }
      assert.notEqual(id, 11, `${path.basename(file)} has a data section`);
      at += len;
    }
  });
}

test("fedtune_kernels.wasm, weighted_sum.wasm, weighted_sum_shared.wasm and the native fedtune_native.node are the byte-identical builds of their C sources (where clang 14 is installed)", (t) => {
  const script = path.join(path.dirname(WASM_KERNELS_FILE), "build.sh");
  const probe = spawnSync("clang-14", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || !/clang version 14\.0\.6/.test(probe.stdout)) {
    t.skip("clang 14.0.6 not installed (apt-get install clang-14 lld-14 wabt): cannot rebuild the wasm kernels and the native addon here");
    return;
  }
  const check = spawnSync("bash", [script, "--check"], { encoding: "utf8" });
  assert.equal(check.status, 0, `build.sh --check failed: ${check.stderr}${check.stdout}`);
});
