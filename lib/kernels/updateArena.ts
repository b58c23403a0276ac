/**
 * The update arena: one shared `WebAssembly.Memory` in which the worker pool's fit workers write their updates, so the
 * weighted sum (lib/kernels/weightedSumThreads.ts) reads them in place on both of its threads — no copy into a kernel's
 * memory first. Shared memory never moves: a view stays valid when the memory grows, and an address is a view's
 * `byteOffset`.
 *
 * Allocation happens on the main thread only: before it posts a fit job, the pool takes a block sized for the model's
 * variables (each on a 16-byte boundary, `arenaLayout`); the worker copies its update there (the copy it made into a
 * new SharedArrayBuffer before) or, if the update does not fit the layout, sends it the old way.
 *
 * Lifetime: a block is reused only once no view of it that the arena handed out is reachable. `adopt` registers every
 * view it makes with a FinalizationRegistry; when the last one is collected, the block is free. Every `collectAfterBytes`
 * handed out, and at its limit, the arena asks V8 for a full collection (`reclaim`), since
 * nothing else makes V8 run one for the arena's sake: without it every update would land on fresh pages (a page fault
 * per 4 KiB on first touch) until the limit. So whoever keeps an
 * update (a strategy, a personalisation, a test) keeps its values: GC timing may change which address a later update
 * gets, never a kept update's values. A view derived from one of them (`subarray`, `new Float32Array(v.buffer, …)`)
 * does not keep the block: copy what you keep beyond the update's own arrays (`slice`). Nothing in lib/
 * derives such views from updates.
 *
 * When the arena cannot grow (its limit, or no shared WebAssembly memory in this runtime), `allocate` says so and the
 * caller falls back to an ordinary SharedArrayBuffer: same values, the copy-in path of the sum.
 */
import * as v8 from "node:v8";
import * as vm from "node:vm";
import type { ModelWeights } from "../model/weights";
import { wasmApi } from "./webAssembly";
import type { WasmMemory } from "./webAssembly";

const PAGE = 65536;
/** Maximum of the arena's memory: 1 GiB (shared memory reserves its maximum up front; 64-bit address space is ample). */
const DEFAULT_MAX_BYTES = 1 << 30;
/**
 * Default `limitBytes`: 256 MiB. Blocks come back only when V8 collects their views, which happens in its full
 * collections; the arena's memory does not count towards the heap that V8 watches, so at the limit the arena asks for
 * one (`reclaim`); until blocks come back, updates go in SharedArrayBuffers (the copy-in path, same bits).
 */
const DEFAULT_LIMIT_BYTES = 256 << 20;
/**
 * Default `collectAfterBytes`: 32 MiB. Memory the arena has never handed out is fresh pages, each a minor page fault
 * on first touch (about 15–20 µs on the bench's VM: ~6 ms for the default CNN's 1.7 MB update, paid by the worker that
 * writes it), while a full collection of the bench's main thread takes ~20 ms. Collecting once per 32 MiB handed out
 * (~8,000 page faults, over 100 ms) lets later updates reuse blocks instead of growing into fresh pages.
 */
const DEFAULT_COLLECT_AFTER_BYTES = 32 << 20;

/** Where each variable of an update goes in a block, and the block's size (bytes). */
export interface ArenaLayout {
  /** Byte offset of each variable from the block's start (multiples of 16). */
  readonly offsets: readonly number[];
  readonly bytes: number;
}

/** Each of `lengths` floats on a 16-byte boundary, one after another. */
export function arenaLayout(lengths: readonly number[]): ArenaLayout {
  const offsets: number[] = [];
  let bytes = 0;
  for (const n of lengths) {
    offsets.push(bytes);
    bytes += Math.ceil(n / 4) * 16;
  }
  return { offsets, bytes: Math.max(16, bytes) };
}

/**
 * Copy `weights` into a block of `memory` at `block` laid out by `layout` (on any thread), and return them as views of
 * it; undefined (nothing written) if the variables are not the layout's (count or length).
 */
export function writeToArena(memory: WasmMemory, block: number, layout: ArenaLayout, weights: ModelWeights): ModelWeights | undefined {
  if (weights.length !== layout.offsets.length) return undefined;
  const ends = layout.offsets.map((o, v) => o + weights[v].values.length * 4);
  for (let v = 0; v < weights.length; v++) if (ends[v] > (layout.offsets[v + 1] ?? layout.bytes)) return undefined;
  const buffer = memory.buffer;
  return weights.map((w, v) => {
    const values = new Float32Array(buffer, block + layout.offsets[v], w.values.length);
    values.set(w.values);
    return { name: w.name, shape: w.shape.slice(), values };
  });
}

/** What an arena holds now (tests, benchmarks). */
export interface ArenaStatus {
  /** Bytes of the memory. */
  readonly bytes: number;
  /** Blocks handed out and not yet free (allocated, or adopted with a view still reachable). */
  readonly blocksInUse: number;
  /** Free blocks kept for reuse. */
  readonly blocksFree: number;
  /** Full collections the arena asked V8 for, each when it was at its limit. */
  readonly collections: number;
}

/** A shared wasm memory carved into blocks for updates (main thread; see the file comment). */
export class UpdateArena {
  /** The shared memory (post it to a worker to let it write into blocks). */
  readonly memory: WasmMemory;
  /** Allocations beyond this many bytes of memory are refused (the caller falls back); at most the memory's maximum. */
  limitBytes: number;
  /**
   * Once this many bytes were handed out (new or reused blocks) since the last full collection, the arena asks for one
   * (on a later turn of the event loop, after the caller has posted its job), so that blocks whose views died come back
   * while free ones remain, before the memory has to grow. Updates kept alive are never affected; only how often V8
   * collects.
   */
  collectAfterBytes: number;
  private top = 16;
  private allocatedSinceCollection = 0;
  private collectionScheduled = false;
  private readonly sizes = new Map<number, number>();
  private readonly free = new Map<number, number[]>();
  /** Adopted blocks: how many of their views are still reachable. */
  private readonly views = new Map<number, number>();
  private readonly buffers = new WeakSet<object>();
  private readonly registry = new FinalizationRegistry<number>((block) => this.collected(block));
  /** Full collections this arena asked for (see `reclaim`), and when it last did (ms). */
  private collections = 0;
  private lastCollection = -Infinity;
  private freedSinceCollection = 0;

  /**
   * A new arena whose memory can grow to `maxBytes` (rounded up to 64 KiB pages), allocating up to `limitBytes` of it.
   * Throws if shared WebAssembly memory is unavailable.
   */
  constructor(maxBytes = DEFAULT_MAX_BYTES, limitBytes = DEFAULT_LIMIT_BYTES, collectAfterBytes = DEFAULT_COLLECT_AFTER_BYTES) {
    const maximum = Math.max(1, Math.ceil(maxBytes / PAGE));
    this.memory = new wasmApi.Memory({ initial: 1, maximum, shared: true });
    this.limitBytes = Math.min(limitBytes, maximum * PAGE);
    this.collectAfterBytes = collectAfterBytes;
    this.buffers.add(this.memory.buffer);
  }

  /** The memory's current buffer (a new object after each grow, same memory). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** The address of `x` in this arena, or undefined if `x` is not a view of it. */
  address(x: Float32Array): number | undefined {
    return this.buffers.has(x.buffer) ? x.byteOffset : undefined;
  }

  /** A block of `bytes` (16-byte aligned) for this thread to fill or hand to a worker; undefined if the arena is full. */
  allocate(bytes: number): number | undefined {
    const size = Math.ceil(Math.max(16, bytes) / 16) * 16;
    this.allocatedSinceCollection += size;
    if (this.allocatedSinceCollection >= this.collectAfterBytes) this.collectSoon();
    const reuse = this.free.get(size)?.pop();
    if (reuse !== undefined) return reuse;
    const end = this.top + size;
    if (end > this.limitBytes) {
      this.reclaim();
      return undefined;
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return undefined;
      }
      this.buffer();
    }
    const block = this.top;
    this.top = end;
    this.sizes.set(block, size);
    return block;
  }

  /**
   * `weights` copied into a block of this arena and adopted (see `adopt`): the block is free again once none of the
   * returned views is reachable. Undefined (nothing copied) if the arena is full.
   */
  hold(weights: ModelWeights): ModelWeights | undefined {
    const layout = arenaLayout(weights.map((w) => w.values.length));
    const block = this.allocate(layout.bytes);
    if (block === undefined) return undefined;
    return this.adopt(block, layout, writeToArena(this.memory, block, layout, weights)!);
  }

  /** Give back a block that was allocated but never adopted (a job that failed, an update sent another way). */
  release(block: number): void {
    const size = this.sizes.get(block);
    if (size === undefined) throw new Error(`UpdateArena.release: ${block} is not a block of this arena`);
    if (this.views.has(block)) throw new Error(`UpdateArena.release: block ${block} has views in use`);
    const list = this.free.get(size);
    if (list === undefined) this.free.set(size, [block]);
    else if (!list.includes(block)) list.push(block);
  }

  /**
   * `weights` (as written into `block` by `writeToArena`, possibly on another thread, whose views this thread cannot
   * use as its own) as views of this arena, each registered: the block is free again once none is reachable.
   */
  adopt(block: number, layout: ArenaLayout, weights: ModelWeights): ModelWeights {
    if (!this.sizes.has(block) || this.views.has(block)) throw new Error(`UpdateArena.adopt: ${block} is not an allocated block of this arena, or is adopted already`);
    const buffer = this.buffer();
    const out = weights.map((w, v) => ({ name: w.name, shape: w.shape, values: new Float32Array(buffer, block + layout.offsets[v], w.values.length) }));
    if (out.length === 0) {
      this.release(block);
      return out;
    }
    this.views.set(block, out.length);
    for (const w of out) this.registry.register(w.values, block);
    return out;
  }

  /** Blocks in use and free, and the memory's size. */
  status(): ArenaStatus {
    let blocksFree = 0;
    for (const list of this.free.values()) blocksFree += list.length;
    return { bytes: this.memory.buffer.byteLength, blocksInUse: this.sizes.size - blocksFree, blocksFree, collections: this.collections };
  }

  /**
   * At the limit: ask V8 for a full collection (again only once the last one gave blocks back, or after 1 s), so that
   * blocks whose views are unreachable come back — their FinalizationRegistry callbacks run soon after, on a later turn
   * of the event loop; the update asking now goes in a SharedArrayBuffer. V8 runs finalizers only after its full collections, and the arena's memory does
   * not count towards the heap that schedules them, so without this a loop of rounds fills the arena and stays full
   * (measured: 30 pool rounds of 10 × 1.7 MB updates, no block came back). A collection costs milliseconds to tens of
   * them, once per limitBytes of updates.
   */
  private reclaim(): void {
    this.allocatedSinceCollection = 0;
    const now = performance.now();
    // Again at once if the last one gave blocks back; else (everything kept, or its finalizers not run yet) after 1 s.
    if (this.freedSinceCollection === 0 && now - this.lastCollection < 1000) return;
    this.freedSinceCollection = 0;
    const gc = fullCollection();
    if (gc === undefined) return;
    this.lastCollection = now;
    this.collections++;
    gc();
  }

  /**
   * Past `collectAfterBytes`: a collection (`reclaim`, with its back-off) on the next turn of the event loop, not now —
   * the caller is about to post a job, and a worker should not wait for this thread's collection. The pending turn does
   * not keep the process alive.
   */
  private collectSoon(): void {
    if (this.collectionScheduled) return;
    this.collectionScheduled = true;
    setImmediate(() => {
      this.collectionScheduled = false;
      this.reclaim();
    }).unref();
  }

  private collected(block: number): void {
    const left = (this.views.get(block) ?? 1) - 1;
    if (left > 0) {
      this.views.set(block, left);
      return;
    }
    this.views.delete(block);
    this.release(block);
    this.freedSinceCollection++;
  }
}

let gcFunction: (() => void) | null | undefined;

/** V8's full collection (`gc`, reached through node:v8 and node:vm), or undefined where this runtime has none. */
function fullCollection(): (() => void) | undefined {
  if (gcFunction === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      const gc = vm.runInNewContext("gc");
      gcFunction = typeof gc === "function" ? (gc as () => void) : null;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction ?? undefined;
}

let arena: UpdateArena | undefined;
let arenaUnavailable: string | undefined;

/** This thread's update arena, made on first use; undefined where shared WebAssembly memory is unavailable. */
export function updateArena(): UpdateArena | undefined {
  if (arena === undefined && arenaUnavailable === undefined) {
    try {
      arena = new UpdateArena();
    } catch (e) {
      arenaUnavailable = e instanceof Error ? e.message : String(e);
    }
  }
  return arena;
}
