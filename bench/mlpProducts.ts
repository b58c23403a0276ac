/**
 * The ceiling of bench item 3's MLP case: the matrix products of one training step of the MLP 784-128-10 at batch 64,
 * timed alone on fedtune's wasm BatchMatMul (the kernel the step calls, transposes included), to hold against
 * PyTorch's whole step and against `torch.mm` on the same products (bench/torch_baseline.py, mode "gemm").
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/util/rng";
import { WasmHeap } from "../lib/kernels/wasmHeap";

/** One product op(A)·op(B) as the gradient tape runs it: operand shapes as stored, and the transpose flags. */
export interface Product {
  readonly name: string;
  readonly a: readonly [number, number];
  readonly b: readonly [number, number];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/**
 * The products of one SGD step of a dense 784-`hidden`-10 network at `batch`: both forward products, the head's input
 * gradient and both weight gradients (the first layer's input gradient is not computed: the input is no variable).
 */
export function mlpStepProducts(batch: number, inputs = 784, hidden = 128, classes = 10): Product[] {
  return [
    { name: "forward 1: x·W1", a: [batch, inputs], b: [inputs, hidden], transposeA: false, transposeB: false },
    { name: "forward 2: h·W2", a: [batch, hidden], b: [hidden, classes], transposeA: false, transposeB: false },
    { name: "head input gradient: dy·W2ᵀ", a: [batch, classes], b: [hidden, classes], transposeA: false, transposeB: true },
    { name: "head weight gradient: hᵀ·dy", a: [batch, hidden], b: [batch, classes], transposeA: true, transposeB: false },
    { name: "hidden weight gradient: xᵀ·dh", a: [batch, inputs], b: [batch, hidden], transposeA: true, transposeB: false },
  ];
}

/** Multiply-adds of `products`. */
export function multiplyAdds(products: readonly Product[]): number {
  return products.reduce((sum, p) => {
    const m = p.transposeA ? p.a[1] : p.a[0];
    const k = p.transposeA ? p.a[0] : p.a[1];
    const n = p.transposeB ? p.b[0] : p.b[1];
    return sum + m * k * n;
  }, 0);
}

/** Milliseconds per call of `once`: the fastest of `reps` loops of `calls` calls, after one warm-up call. */
function fastestMs(once: () => void, calls: number, reps: number): number {
  once();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) once();
    best = Math.min(best, (performance.now() - t0) / calls);
  }
  return best;
}

/**
 * Milliseconds for all of `products` once on the current backend's BatchMatMul kernel (seeded operands, outputs
 * read back so the work is done): the fastest of `reps` loops of `calls` rounds each, after one warm-up round.
 */
export function productsMs(products: readonly Product[], calls: number, reps: number, seed: number): number {
  const rng = new Rng(seed);
  const operand = (shape: readonly [number, number]) => {
    const v = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    return tf.tensor2d(v, [shape[0], shape[1]]);
  };
  const operands = products.map((p) => ({ p, a: operand(p.a), b: operand(p.b) }));
  const once = () => {
    for (const { p, a, b } of operands) {
      const out = tf.matMul(a, b, p.transposeA, p.transposeB);
      out.dataSync();
      out.dispose();
    }
  };
  try {
    return fastestMs(once, calls, reps);
  } finally {
    tf.dispose(operands.flatMap(({ a, b }) => [a, b]));
  }
}

/** Floating-point operations per round of `simd_peak` (lib/kernels/wasm): 12 chains × 4 lanes × a multiply and an add. */
const PEAK_FLOPS_PER_ROUND = 96;

/**
 * This machine's peak GFLOP/s of wasm SIMD128 float32 arithmetic with separate multiplies and adds (no FMA, as every
 * fedtune kernel): fedtune's register-only `simd_peak` loop on the current (wasm) backend, `rounds` rounds per call,
 * the fastest of `reps` calls after a warm-up. What the matrix products could reach if loads, stores and loop control
 * were free.
 */
export function simdPeakGflops(rounds: number, reps: number): number {
  const heap = new WasmHeap(tf.backend(), "simdPeakGflops");
  const out = heap.output([4]);
  try {
    const at = heap.offset(out);
    heap.kernels.simd_peak(at, 0.999, 0.001, 1000);
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      heap.kernels.simd_peak(at, 0.999, 0.001, rounds);
      best = Math.min(best, performance.now() - t0);
    }
    const sum = heap.view(out)[0];
    if (!Number.isFinite(sum)) throw new Error(`simdPeakGflops: the chains' sum is ${sum}, expected a finite number`);
    return (PEAK_FLOPS_PER_ROUND * rounds) / best / 1e6;
  } finally {
    tf.backend().disposeData(out.dataId);
  }
}

/**
 * Milliseconds for all of `products` once on fedtune's product kernel alone, with no tfjs around it: the kernel table
 * in use (`"in use"`: the native products where they run) or the wasm one (`"wasm"`), op(A)ᵀ read in place by
 * `matmul_ta`, op(B) as a stored [k, n] operand (the same multiply-adds). Fastest of `reps` loops of `calls` rounds.
 */
export function productKernelsMs(products: readonly Product[], which: "in use" | "wasm", calls: number, reps: number, seed: number): number {
  const heap = new WasmHeap(tf.backend(), "productKernelsMs");
  const kernels = which === "wasm" ? heap.wasmKernels : heap.kernels;
  const rng = new Rng(seed);
  const infos: tf.TensorInfo[] = [];
  const operand = (rows: number, cols: number) => {
    const info = heap.output([rows, cols]);
    infos.push(info);
    const v = heap.view(info);
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    return info;
  };
  try {
    const calls1 = products.map((p) => {
      const m = p.transposeA ? p.a[1] : p.a[0];
      const k = p.transposeA ? p.a[0] : p.a[1];
      const n = p.transposeB ? p.b[0] : p.b[1];
      const a = operand(p.transposeA ? k : m, p.transposeA ? m : k), b = operand(k, n), out = operand(m, n);
      return { m, k, n, ta: p.transposeA, a: heap.offset(a), b: heap.offset(b), out: heap.offset(out) };
    });
    return fastestMs(() => {
      for (const c of calls1) (c.ta ? kernels.matmul_ta : kernels.matmul)(c.a, c.b, c.out, c.m, c.k, c.n);
    }, calls, reps);
  } finally {
    for (const info of infos) tf.backend().disposeData(info.dataId);
  }
}
