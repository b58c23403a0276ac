/**
 * The WebAssembly API as far as fedtune's wasm modules use it, declared by hand: tslab's compiler config has no DOM lib,
 * where TypeScript declares `WebAssembly`.
 */
export interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** A WebAssembly.Memory: its current buffer (replaced on every grow; a SharedArrayBuffer if shared) and grow(pages of 64 KiB). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The global `WebAssembly` object, typed. */
export const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
