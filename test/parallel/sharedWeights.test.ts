import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { SharedWeightsMemo, toSharedWeights } from "../../lib/model/sharedWeights";
import { UpdateArena } from "../../lib/kernels/updateArena";
import type { ModelWeights } from "../../lib/model/weights";
import { Rng } from "../../lib/util/rng";

/** Seeded weights of odd sizes (including an empty tensor), with NaN payloads, signed zeros, subnormals and infinities. */
function weights(seed: number): ModelWeights {
  const rng = new Rng(seed);
  const sizes = [[3, 5], [1], [0], [7, 1, 3], [1031]];
  return sizes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let k = 0; k < n; k++) values[k] = rng.normal();
    const bits = new Uint32Array(values.buffer);
    const special = [0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f800000, 0xff800000];
    special.forEach((b, j) => j < n && (bits[j] = b));
    return { name: `layer_${i}/kernel`, shape, values };
  });
}

const bitsOf = (w: ModelWeights) => w.map((t) => Array.from(new Uint32Array(t.values.buffer, t.values.byteOffset, t.values.length)));

test("toSharedWeights: one SharedArrayBuffer, same names, shapes and bit patterns (NaN payloads too); the original stays untouched", () => {
  const w = weights(1);
  const before = bitsOf(w);
  const shared = toSharedWeights(w);
  const buffers = new Set(shared.map((t) => t.values.buffer));
  assert.equal(buffers.size, 1);
  assert.ok([...buffers][0] instanceof SharedArrayBuffer);
  // Each tensor starts on a 16-byte boundary: 15, 1, 0, 21 and 1,031 floats take 16, 4, 0, 24 and 1,032.
  assert.equal((([...buffers][0]) as SharedArrayBuffer).byteLength, 4 * (16 + 4 + 0 + 24 + 1032));
  assert.deepEqual(shared.map((t) => [t.name, t.shape]), w.map((t) => [t.name, t.shape]));
  assert.deepEqual(bitsOf(shared), before);
  shared[0].values[0] = 42;
  assert.deepEqual(bitsOf(w), before);
});

test("posting shared weights copies nothing: the receiver sees the same memory, bit for bit", () => {
  const w = weights(2);
  const shared = toSharedWeights(w);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(shared);
  const received = receiveMessageOnPort(port2)!.message as ModelWeights;
  port1.close();
  received[4].values[7] = -1;
  assert.equal(shared[4].values[7], -1, "the same memory on both sides");
  assert.deepEqual(bitsOf(received), bitsOf(shared));
  for (const t of received) assert.ok(t.values.buffer instanceof SharedArrayBuffer);
});

test("SharedWeightsMemo: one shared copy per weights object", () => {
  const memo = new SharedWeightsMemo();
  const a = weights(4);
  const b = weights(4);
  assert.equal(memo.of(a), memo.of(a));
  assert.notEqual(memo.of(a), memo.of(b));
  assert.deepEqual(bitsOf(memo.of(b)), bitsOf(b));
});

test("SharedWeightsMemo with the update arena: the copy is a block of the arena, bit for bit; a full arena falls back to a SharedArrayBuffer", () => {
  const arena = new UpdateArena(1 << 20);
  const memo = new SharedWeightsMemo(arena);
  const a = weights(5);
  const shared = memo.of(a);
  assert.equal(memo.of(a), shared, "one copy per weights object");
  assert.deepEqual(bitsOf(shared), bitsOf(a));
  for (const t of shared) assert.notEqual(arena.address(t.values), undefined, `${t.name} in the arena`);
  const full = new SharedWeightsMemo(new UpdateArena(1 << 20, 16));
  const fallback = full.of(a);
  assert.deepEqual(bitsOf(fallback), bitsOf(a));
  assert.ok(fallback.every((t) => t.values.buffer instanceof SharedArrayBuffer && t.values.buffer === fallback[0].values.buffer), "one SharedArrayBuffer of its own");
});
