import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { WASM_KERNELS_FILE } from "../../lib/kernels/wasmHeap";
import { Rng } from "../../lib/util/rng";

/** fedtune's wasm `matmul` on a memory of its own (it only needs `env.memory`). */
function wasmMatmul(): { memory: WebAssembly.Memory; matmul: (a: number, b: number, out: number, m: number, k: number, n: number) => void } {
  const memory = new WebAssembly.Memory({ initial: 256 }); // 16 MiB
  const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(WASM_KERNELS_FILE)), { env: { memory } });
  return { memory, matmul: (instance.exports as { matmul: (a: number, b: number, out: number, m: number, k: number, n: number) => void }).matmul };
}

/** The order the kernel promises: each output summed over k from 0 upward, one float32 multiply and one add per term. */
function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround(a[r * k + t] * b[t * n + j]));
      out[r * n + j] = s;
    }
  }
  return out;
}

test("wasm matmul equals the float32 k-ordered loop bit for bit: every row and column remainder, both loop orders, batch-10 dense shapes", () => {
  const { memory, matmul } = wasmMatmul();
  const rng = new Rng(1510);
  // m % 4 and n % 8 take every value; [10, 300, 200] takes the b-sweeping loop order (a small, b large), [200, 300, 10]
  // the other; [10, 1024, 512] and [1024, 512, 10] are the batch-10 dense layer's forward and input-gradient products.
  const shapes: number[][] = [[1, 1, 1], [10, 1024, 512], [1024, 512, 10], [10, 300, 200], [200, 300, 10], [25, 60, 32]];
  for (let i = 0; i < 60; i++) shapes.push([1 + rng.int(13), 1 + rng.int(40), 1 + rng.int(19)]);
  for (const [m, k, n] of shapes) {
    const a = new Float32Array(m * k).map(() => (rng.int(20) === 0 ? -0 : rng.normal() * 10 ** (rng.int(5) - 2)));
    const b = new Float32Array(k * n).map(() => (rng.int(20) === 0 ? -0 : rng.normal() * 10 ** (rng.int(5) - 2)));
    const heap = new Float32Array(memory.buffer);
    const aAt = 0, bAt = m * k, outAt = bAt + k * n;
    heap.set(a, aAt);
    heap.set(b, bAt);
    heap.fill(NaN, outAt, outAt + m * n + 4);
    matmul(aAt * 4, bAt * 4, outAt * 4, m, k, n);
    const got = heap.slice(outAt, outAt + m * n + 4);
    const want = reference(a, b, m, k, n);
    for (let i = 0; i < m * n; i++) {
      if (!Object.is(got[i], want[i])) assert.fail(`[${m},${k}]·[${k},${n}]: output ${i} is ${got[i]}, the ordered loop gives ${want[i]}`);
    }
    assert.ok(got.subarray(m * n).every((v) => Number.isNaN(v)), `[${m},${k}]·[${k},${n}]: wrote past its output`);
  }
});
