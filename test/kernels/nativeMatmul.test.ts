import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { WASM_KERNELS_FILE } from "../../lib/kernels/wasmHeap";
import { NATIVE_ENV, nativeProducts, productPath, type NativeIsa, type NativeProducts } from "../../lib/kernels/native";
import { Rng } from "../../lib/util/rng";

type Product = (a: number, b: number, out: number, m: number, k: number, n: number) => void;

/** Calls `f` with FEDTUNE_NATIVE set to `value` (undefined: unset), restoring it after. */
function withSetting<T>(value: string | undefined, f: () => T): T {
  const before = process.env[NATIVE_ENV];
  if (value === undefined) delete process.env[NATIVE_ENV];
  else process.env[NATIVE_ENV] = value;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env[NATIVE_ENV];
    else process.env[NATIVE_ENV] = before;
  }
}

/** The instruction sets this machine can run the native products with (none off x86-64 Linux or without AVX2). */
function availableIsas(): NativeIsa[] {
  const best = withSetting(undefined, () => nativeProducts());
  if (best === undefined) return [];
  return best.isa === "avx512" ? ["avx512", "avx2"] : ["avx2"];
}
const ISAS = availableIsas();
const skip = ISAS.length === 0 ? `native products not available here: ${productPath()}` : false;

/** fedtune's wasm matmul and matmul_ta on a memory of their own (they only need `env.memory`). */
function wasmProducts(): { memory: WebAssembly.Memory; matmul: Product; matmul_ta: Product } {
  const memory = new WebAssembly.Memory({ initial: 512 }); // 32 MiB
  const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(WASM_KERNELS_FILE)), { env: { memory } });
  const exports = instance.exports as unknown as { matmul: Product; matmul_ta: Product };
  return { memory, matmul: exports.matmul, matmul_ta: exports.matmul_ta };
}

/** The order both kernels promise: each output summed from +0 over k upward, one float32 multiply and one add per term. */
function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transposedA: boolean): Float32Array {
  const out = new Float32Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround((transposedA ? a[t * m + r] : a[r * k + t]) * b[t * n + j]));
      out[r * n + j] = s;
    }
  }
  return out;
}

function randomValues(rng: Rng, n: number): Float32Array {
  // -0 in both operands: an output whose products are all -0 must still be +0 (summed from +0), as in wasm.
  return new Float32Array(n).map(() => (rng.int(20) === 0 ? -0 : rng.normal() * 10 ** (rng.int(5) - 2)));
}

test("native matmul and matmul_ta equal wasm's and the k-ordered float32 loop bit for bit, on AVX-512 and AVX2, every row and column remainder", { skip }, () => {
  const { memory, matmul, matmul_ta } = wasmProducts();
  const rng = new Rng(1507);
  // m % 6 (the native tile's rows) and n % 32, n % 16 (its AVX-512 and AVX2 column blocks) take every value; [10, 1024,
  // 512] and [1024, 512, 10] are the batch-10 dense layer's products, [64, 784, 128] the MLP's, [640, 800, 64] the
  // issue CNN's second convolution at batch 10; [10, 300, 200] takes the b-sweeping loop order, [200, 300, 10] the other.
  const shapes: number[][] = [[1, 1, 1], [1, 5, 1], [3, 0, 5], [10, 1024, 512], [1024, 512, 10], [64, 784, 128], [640, 800, 64],
    [10, 300, 200], [200, 300, 10], [25, 60, 33]];
  for (let i = 0; i < 60; i++) shapes.push([1 + rng.int(14), 1 + rng.int(40), 1 + rng.int(70)]);
  for (const isa of ISAS) {
    const native = withSetting(isa, () => nativeProducts()) as NativeProducts;
    assert.equal(native.isa, isa);
    for (const transposedA of [false, true]) {
      for (const [m, k, n] of shapes) {
        const label = `${isa} ${transposedA ? "aᵀ·b" : "a·b"} [${m},${k}]·[${k},${n}]`;
        const a = randomValues(rng, m * k);
        const b = randomValues(rng, k * n);
        const heap = new Float32Array(memory.buffer);
        // a, b, then the wasm output and the native one, each output with 4 guard floats before and after.
        const aAt = 0, bAt = m * k, wasmAt = bAt + k * n + 4, nativeAt = wasmAt + m * n + 8;
        heap.set(a, aAt);
        heap.set(b, bAt);
        heap.fill(NaN, wasmAt - 4, nativeAt + m * n + 4);
        (transposedA ? matmul_ta : matmul)(aAt * 4, bAt * 4, wasmAt * 4, m, k, n);
        (transposedA ? native.matmulTa : native.matmul)(memory.buffer, aAt * 4, bAt * 4, nativeAt * 4, m, k, n);
        const want = reference(a, b, m, k, n, transposedA);
        for (let i = 0; i < m * n; i++) {
          if (!Object.is(heap[wasmAt + i], want[i])) assert.fail(`${label}: wasm output ${i} is ${heap[wasmAt + i]}, the ordered loop gives ${want[i]}`);
          if (!Object.is(heap[nativeAt + i], want[i])) assert.fail(`${label}: native output ${i} is ${heap[nativeAt + i]}, the ordered loop gives ${want[i]}`);
        }
        for (const at of [nativeAt - 4, nativeAt + m * n]) {
          assert.ok(heap.subarray(at, at + 4).every((v) => Number.isNaN(v)), `${label}: native wrote outside its output`);
        }
      }
    }
  }
});

test("native matmul refuses an operand outside the heap or a bad setting with a clear error, and writes nothing", { skip }, () => {
  const native = withSetting(undefined, () => nativeProducts()) as NativeProducts;
  const heap = new ArrayBuffer(4096);
  const floats = new Float32Array(heap).fill(7);
  // out [16, 16] at byte 3072 needs 1,024 bytes: 4,096 is one float too few.
  assert.throws(() => native.matmul(heap, 0, 1024, 3076, 16, 16, 16), /matmul: an operand lies outside the heap/);
  assert.throws(() => native.matmulTa(heap, 0, 4000, 0, 16, 16, 16), /matmul: an operand lies outside the heap/);
  assert.throws(() => native.matmul(heap, 2, 1024, 2048, 4, 4, 4), /outside the heap/, "a misaligned offset");
  assert.throws(() => native.matmul(heap, 0, 1024, 2048, -1, 4, 4), /negative or huge size/);
  assert.ok(floats.every((v) => v === 7), "nothing written");
  native.matmul(heap, 0, 1024, 3072, 16, 16, 16); // the largest that fits
  assert.equal(floats[1023], 16 * 49);
  assert.throws(() => withSetting("sse", () => nativeProducts()), /FEDTUNE_NATIVE=sse: expected 0, 1, avx2 or avx512/);
  assert.equal(withSetting("0", () => nativeProducts()), undefined);
  assert.match(withSetting("0", () => productPath()), /^wasm \(turned off by FEDTUNE_NATIVE=0\)$/);
});

test("training issue 15's CNN and the bench MLP gives the same weights and history with native products (AVX-512, AVX2) as with wasm's", { skip }, () => {
  const script = path.join(__dirname, "fixtures", "trainHashes.ts");
  const run = (setting: string) => {
    const child = spawnSync(process.execPath, ["--import", "tsx", script], {
      encoding: "utf8",
      env: { ...process.env, [NATIVE_ENV]: setting },
      cwd: path.join(__dirname, "..", ".."),
    });
    assert.equal(child.status, 0, `FEDTUNE_NATIVE=${setting}: ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split("\n").pop() as string) as { backend: string; products: string; hashes: Record<string, string> };
  };
  const wasm = run("0");
  assert.equal(wasm.backend, "wasm");
  assert.match(wasm.products, /^wasm /);
  assert.equal(Object.keys(wasm.hashes).length, 3);
  for (const isa of ISAS) {
    const native = run(isa);
    assert.equal(native.products, `native ${isa}`);
    assert.deepEqual(native.hashes, wasm.hashes, `native ${isa} trains bit-identically to wasm`);
  }
});

test("with the native products, a Conv2D over MAX_PATCH_FLOATS runs in chunks of samples and a BatchMatMul over SMALL_M rows on fedtune's kernels, bit-identical to XNNPACK's", { skip }, async () => {
  const tf = await import("@tensorflow/tfjs");
  await import("@tensorflow/tfjs-backend-wasm");
  const { registerWasmTrainingKernels, unregisterWasmTrainingKernels } = await import("../../lib/kernels/index");
  const { MAX_PATCH_FLOATS } = await import("../../lib/kernels/conv2d");
  const { SMALL_M } = await import("../../lib/kernels/batchMatMul");
  await tf.setBackend("wasm");
  const rng = new Rng(1508);
  const random = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  // 23 samples of 8·8 positions × 800 patch entries: 1.18 M floats, chunks of 10, 10 and 3 samples. 13 samples of 24·24
  // positions × 25 entries (grey input): 187 k floats, one chunk. 300 × 33 · 33 × 17 rows over SMALL_M.
  const x = random([23, 12, 12, 32]), f = random([5, 5, 32, 64]), xs = random([13, 28, 28, 1]), fs1 = random([5, 5, 1, 32]);
  const a = random([SMALL_M + 172, 33]), b = random([33, 17]);
  assert.ok(23 * 64 * 800 > 2 * MAX_PATCH_FLOATS, "the first convolution needs three chunks");
  const runs = [
    () => tf.conv2d(x as never, f as never, 1, "valid"),
    () => tf.conv2d(xs as never, fs1 as never, 1, "valid"),
    () => tf.matMul(a, b),
  ];
  const before = tf.memory().numTensors;
  registerWasmTrainingKernels();
  const ours = runs.map((r) => tf.tidy(() => r().dataSync().slice()));
  unregisterWasmTrainingKernels();
  const stock = runs.map((r) => tf.tidy(() => r().dataSync().slice()));
  registerWasmTrainingKernels();
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  ours.forEach((values, i) => {
    assert.equal(values.length, stock[i].length);
    for (let j = 0; j < values.length; j++) {
      if (!Object.is(values[j], stock[i][j])) assert.fail(`case ${i}: element ${j} is ${values[j]}, XNNPACK gives ${stock[i][j]}`);
    }
  });
  tf.dispose([x, f, xs, fs1, a, b]);
});
