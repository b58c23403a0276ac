/**
 * FedAvg's exact weighted sum on wasm SIMD (lib/kernels/wasm/weighted_sum.c): out[k] = fround(Σᵢ fᵢ·xᵢ[k] / total),
 * every product and sum a float64 operation in participant order — bitwise the textbook JavaScript loop's result.
 *
 * Why wasm: JavaScript's scalar loop converts and accumulates one coordinate at a time and reaches ~9 % of memcpy's
 * input bandwidth; the wasm loop keeps 16 coordinates' float64 sums in SIMD registers while the participants stream
 * past. Its inputs must be in its memory, so each block of coordinates is copied in once (a memcpy that stays in
 * cache) and its result copied out. No tfjs: the module has a memory of its own, not a backend's heap.
 *
 * Where the time goes (2026-12-01, 10 × 583 k floats, best of 200 single calls, same process): the sum alone on
 * inputs already in wasm memory takes ≈ 2–3× a memcpy of those inputs (float32 → float64 widening, multiply and add
 * on 128-bit SIMD against a memcpy that runs on 512-bit registers), the copy in ≈ 0.6×, the fresh result array ≈ 0.2×.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WasmMemory, wasmApi } from "./webAssembly";

/** The committed build of weighted_sum.c (see lib/kernels/wasm/build.sh). */
export const WEIGHTED_SUM_WASM_FILE = path.join(__dirname, "wasm", "weighted_sum.wasm");

interface WeightedSumExports {
  weighted_sum(xs: number, p: number, stride: number, f: number, total: number, out: number, m: number): number;
}


const PAGE = 65536;
/**
 * Input bytes per block (all participants' slices of it), copied in and then summed while still in the L2 cache.
 * Measured on this project's machine (10 × 583 k floats, best of 200 calls, 64 KiB to 2 MiB): 512 KiB is the fastest,
 * 7–9 % ahead of 256 KiB; from 768 KiB on the block no longer stays cached and it gets slower again.
 */
export const BLOCK_BYTES = 1 << 19;

/** The instance and its memory (one per thread: aggregation is synchronous). */
let state: { fn: WeightedSumExports; memory: WasmMemory } | undefined;

function instance(bytesNeeded: number): NonNullable<typeof state> {
  if (state === undefined) {
    const memory = new wasmApi.Memory({ initial: 1 });
    const module = new wasmApi.Module(fs.readFileSync(WEIGHTED_SUM_WASM_FILE));
    const fn = new wasmApi.Instance(module, { env: { memory } }).exports as unknown as WeightedSumExports;
    state = { fn, memory };
  }
  const have = state.memory.buffer.byteLength;
  if (have < bytesNeeded) state.memory.grow(Math.ceil((bytesNeeded - have) / PAGE));
  return state;
}

/** Throw, naming `context`, unless there is one factor per input and every input has out.length values. */
export function checkWeightedSum(context: string, out: Float32Array, inputs: readonly Float32Array[], factors: readonly number[]): void {
  if (factors.length !== inputs.length) throw new Error(`${context}: ${inputs.length} inputs but ${factors.length} factors`);
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i].length !== out.length) throw new Error(`${context}: input #${i} has ${inputs[i].length} values, expected ${out.length}`);
  }
}

/**
 * out[k] = fround(((0 + f₀·x₀[k]) + f₁·x₁[k] + …) / total) for every k, in float64 in participant order (bitwise the
 * plain loop's result). Every input has out.length values; `factors` has one entry per input. Returns false if any
 * output is NaN or ±Inf.
 */
export function weightedSumInto(out: Float32Array, inputs: readonly Float32Array[], factors: readonly number[], total: number): boolean {
  checkWeightedSum("weightedSumInto", out, inputs, factors);
  const p = inputs.length;
  const len = out.length;
  if (p === 0 || len === 0) {
    out.fill(0);
    return true;
  }
  // Block width in coordinates: a multiple of 4 (16-byte rows), ≥ 64, with p rows of it ≈ BLOCK_BYTES.
  const stride = Math.max(64, Math.min(Math.ceil(len / 4) * 4, Math.floor(BLOCK_BYTES / 4 / p / 4) * 4));
  // Layout: factors (p float64), then p rows of `stride` floats, then `stride` output floats. Rows and output sit at the
  // same address modulo 8 as the first input and the output: V8 copies from or to a SharedArrayBuffer 4× slower when
  // source and destination differ modulo 8 (measured 2.8 vs 0.7 ms for 10 × 210 k floats); the kernel's loads and
  // stores do not need alignment.
  const factorsAt = 0;
  const rowsAt = Math.ceil((p * 8) / 16) * 16 + (inputs[0].byteOffset & 7);
  const outAt = Math.ceil((rowsAt + p * stride * 4) / 16) * 16 + (out.byteOffset & 7);
  const { fn, memory } = instance(outAt + stride * 4);
  const buffer = memory.buffer;
  new Float64Array(buffer, factorsAt, p).set(factors);
  const rows = new Float32Array(buffer, rowsAt, p * stride);
  const result = new Float32Array(buffer, outAt, stride);
  let finite = true;
  for (let start = 0; start < len; start += stride) {
    const m = Math.min(stride, len - start);
    for (let i = 0; i < p; i++) rows.set(inputs[i].subarray(start, start + m), i * stride);
    if (fn.weighted_sum(rowsAt, p, stride, factorsAt, total, outAt, m) === 0) finite = false;
    out.set(m === stride ? result : result.subarray(0, m), start);
  }
  return finite;
}
