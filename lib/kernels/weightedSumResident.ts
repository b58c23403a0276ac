/**
 * The weighted sum on inputs that already live in the update arena (lib/kernels/updateArena.ts): weighted_sum_rows of
 * weighted_sum_shared.wasm, instantiated on the arena's shared memory (once per thread and memory), reads every
 * participant's row where it is — the same kernel loop as the copy-in path (lib/kernels/weightedSum.ts), so the same
 * bits. Both threads of lib/kernels/weightedSumThreads.ts call it on their chunks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { wasmApi } from "./webAssembly";
import type { WasmMemory } from "./webAssembly";

/** The committed shared-memory build of weighted_sum.c (see lib/kernels/wasm/build.sh). */
export const WEIGHTED_SUM_SHARED_WASM_FILE = path.join(__dirname, "wasm", "weighted_sum_shared.wasm");

/** weighted_sum_rows(rows, p, k0, f, total, out, m): every address a byte offset in the shared memory. */
export type ResidentSum = (rows: number, p: number, k0: number, f: number, total: number, out: number, m: number) => number;

let compiled: object | undefined;
const instances = new WeakMap<object, ResidentSum>();

/** The kernel on `memory` (a shared WebAssembly.Memory), instantiated on first use on this thread. */
export function residentSum(memory: WasmMemory): ResidentSum {
  let fn = instances.get(memory);
  if (fn === undefined) {
    compiled ??= new wasmApi.Module(fs.readFileSync(WEIGHTED_SUM_SHARED_WASM_FILE));
    const kernel = new wasmApi.Instance(compiled, { env: { memory } }).exports as { weighted_sum_rows: ResidentSum };
    fn = kernel.weighted_sum_rows;
    instances.set(memory, fn);
  }
  return fn;
}

/**
 * Sum chunk `i` of a resident job in place: `args` holds 4 ints per chunk — its participants' row table, first
 * coordinate, output address and length (written by weightedSumThreads' residentPlan). Both threads decode chunks here.
 * Returns false if an output is NaN or ±Inf.
 */
export function sumResidentChunk(fn: ResidentSum, args: Int32Array, i: number, participants: number, factorsAt: number, total: number): boolean {
  return fn(args[4 * i], participants, args[4 * i + 1], factorsAt, total, args[4 * i + 2], args[4 * i + 3]) !== 0;
}
