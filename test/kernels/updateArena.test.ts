import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { UpdateArena, arenaLayout, updateArena, writeToArena } from "../../lib/kernels/updateArena";
import { weightedSumInto } from "../../lib/kernels/weightedSum";
import {
  configureWeightedSumThreads,
  prepareWeightedSumThread,
  releaseWeightedSumThread,
  weightedSumAll,
  weightedSumThreadStatus,
} from "../../lib/kernels/weightedSumThreads";
import type { WeightedSumTask } from "../../lib/kernels/weightedSumThreads";
import type { ModelWeights } from "../../lib/model/weights";
import { Rng } from "../../lib/util/rng";


const defaults = configureWeightedSumThreads({});

after(async () => {
  configureWeightedSumThreads(defaults);
  await releaseWeightedSumThread();
});

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(new Float32Array(a).buffer);
}

/** Random values with NaN (several payloads, both signs), ±Inf, ±0, huge and subnormal values sprinkled in. */
function randomValues(rng: Rng, n: number, specials: boolean): Float32Array {
  const out = new Float32Array(n);
  const scale = [1e-3, 1, 1e4][rng.int(3)];
  for (let k = 0; k < n; k++) out[k] = rng.normal() * scale;
  if (specials) {
    const raw = new Uint32Array(out.buffer);
    const pick = [0x7fc00000, 0xffc00000, 0x7fc01234, 0xffa00001, 0x7f800000, 0xff800000, 0x80000000, 0, 0x7f7fffff, 1];
    for (let j = 0; j < 1 + rng.int(6); j++) raw[rng.int(n)] = pick[rng.int(pick.length)];
  }
  return out;
}

/** `updates` written into `arena` as the pool's fit workers do, adopted as this thread's views. */
function resident(arena: UpdateArena, updates: ModelWeights[]): ModelWeights[] {
  const layout = arenaLayout(updates[0].map((w) => w.values.length));
  return updates.map((u) => {
    const block = arena.allocate(layout.bytes);
    assert.notEqual(block, undefined, "the arena has room");
    const written = writeToArena(arena.memory, block!, layout, u);
    assert.ok(written);
    return arena.adopt(block!, layout, written!);
  });
}

function tasksOf(updates: ModelWeights[]): WeightedSumTask[] {
  return updates[0].map((w, v) => ({ out: new Float32Array(w.values.length), inputs: updates.map((u) => u[v].values) }));
}

test("the weighted sum on updates resident in the arena equals the copy-in path bit for bit (1 and 2 threads, odd sizes, 1–3,000 participants, NaN payloads/±Inf/±0)", async () => {
  const arena = updateArena();
  assert.ok(arena, "shared WebAssembly memory is available in Node");
  configureWeightedSumThreads({ threads: 2, minInputBytes: 0, residentChunkBytes: 4096, helperOnly: false });
  assert.equal(await prepareWeightedSumThread(), true);
  const rng = new Rng(2615);
  const before = weightedSumThreadStatus();
  let cases = 0;
  for (const p of [1, 2, 3, 7, 10, 31, 300, 3000]) {
    for (let c = 0; c < 3; c++) {
      const maxSize = p >= 300 ? 500 : 30000;
      const sizes = Array.from({ length: 1 + rng.int(4) }, () => 1 + rng.int(rng.int(2) === 0 ? 40 : maxSize));
      const specials = c !== 0;
      const plain: ModelWeights[] = Array.from({ length: p }, () => sizes.map((n, v) => ({ name: `v${v}`, shape: [n], values: randomValues(rng, n, specials) })));
      const factors = Array.from({ length: p }, () => 1 + rng.int(rng.int(2) === 0 ? 50 : 60000));
      const total = factors.reduce((a, b) => a + b, 0);
      // The reference: the copy-in kernel on ordinary arrays, one call per variable (what the serial executor's round does).
      const want = sizes.map((n, v) => {
        const out = new Float32Array(n);
        const finite = weightedSumInto(out, plain.map((u) => u[v].values), factors, total);
        return { out, finite };
      });
      const updates = resident(arena!, plain);
      // Small chunks (many per variable, both threads busy) and the default 2 MiB (long rows: the kernel's touch-ahead runs).
      for (const [threads, helperOnly, residentChunkBytes] of [[1, false, 4096], [2, false, 4096], [2, true, 4096], [1, false, 2 << 20], [2, true, 2 << 20]] as const) {
        configureWeightedSumThreads({ threads, helperOnly, residentChunkBytes });
        const tasks = tasksOf(updates);
        const calls = weightedSumThreadStatus().residentCalls;
        const finite = weightedSumAll(tasks, factors, total);
        assert.equal(weightedSumThreadStatus().residentCalls, calls + 1, "the call summed in place");
        assert.equal(finite, want.every((w) => w.finite), `finite flag, p ${p}, sizes ${sizes}, threads ${threads}`);
        tasks.forEach((t, v) => assert.deepEqual(bits(t.out), bits(want[v].out), `p ${p}, variable ${v} of ${sizes}, threads ${threads}, helperOnly ${helperOnly}`));
      }
      // Inputs unchanged by the sum.
      updates.forEach((u, i) => u.forEach((w, v) => assert.deepEqual(bits(w.values), bits(plain[i][v].values))));
      cases++;
    }
  }
  assert.equal(cases, 24);
  assert.ok(weightedSumThreadStatus().helperChunks > before.helperChunks, "the helper summed resident chunks");
});

test("a kept update's values never change while later rounds reuse the arena's blocks (WeakRef per view; a full collection at the limit)", async () => {
  const rng = new Rng(7);
  const sizes = [1001, 37, 4096];
  const layout = arenaLayout(sizes);
  // Room for 8 blocks: the arena must reuse blocks from the third round on, asking V8 for full collections itself.
  const arena = new UpdateArena(64 << 20, 16 + 8 * layout.bytes);
  let fallbacks = 0;
  const make = (): ModelWeights => sizes.map((n, v) => ({ name: `v${v}`, shape: [n], values: randomValues(rng, n, true) }));
  const keptPlain = make();
  const [kept] = resident(arena, [keptPlain]);
  // Keep one variable's array only (a personalisation keeping a layer): its block must stay.
  const keptArray = kept[1].values;
  const keptBits = bits(keptArray);
  const seen = new Set<number>();
  for (let round = 0; round < 40; round++) {
    // An update that finds the arena full goes elsewhere (the pool: a SharedArrayBuffer), as the pool does.
    const updates: ModelWeights[] = [];
    for (const u of [make(), make(), make()]) {
      const block = arena.allocate(layout.bytes);
      if (block === undefined) {
        fallbacks++;
        continue;
      }
      updates.push(arena.adopt(block, layout, writeToArena(arena.memory, block, layout, u)!));
    }
    for (const u of updates) seen.add(arena.address(u[0].values)!);
    assert.ok(!seen.has(arena.address(keptArray)! - layout.offsets[1]), "the kept update's block is never handed out again");
    // Finalizers run on later turns of the event loop, as between a pool's jobs.
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.deepEqual(bits(keptArray), keptBits, "the kept update's values are unchanged");
  assert.deepEqual(bits(keptArray), bits(keptPlain[1].values));
  const s = arena.status();
  assert.ok(s.bytes <= 16 + 8 * layout.bytes + 65536, `the arena stayed within its limit (${JSON.stringify(s)})`);
  assert.ok(s.collections > 0, `the arena asked for full collections (${s.collections})`);
  assert.ok(seen.size <= 7, `the updates went through at most 7 blocks (${seen.size})`);
  assert.ok(120 - fallbacks > 40, `most updates found a block (${120 - fallbacks} of 120; ${s.collections} collections)`);
});

test("a full arena refuses allocations (callers fall back), and a released block is reused", () => {
  const arena = new UpdateArena(1 << 20);
  const layout = arenaLayout([100000]);
  const a = arena.allocate(layout.bytes);
  const b = arena.allocate(layout.bytes);
  assert.notEqual(a, undefined);
  assert.notEqual(b, undefined);
  assert.equal(arena.allocate(layout.bytes), undefined, "a third 400 kB block does not fit in 1 MiB");
  arena.release(a!);
  assert.equal(arena.allocate(layout.bytes), a, "the released block comes back");
  assert.throws(() => arena.release(12345), /not a block of this arena/);
  // An update that does not match the layout is not written.
  const w: ModelWeights = [{ name: "x", shape: [100001], values: new Float32Array(100001) }];
  assert.equal(writeToArena(arena.memory, b!, layout, w), undefined);
  // Inputs outside the arena take the copy-in path: the same bits.
  const inputs = [randomValues(new Rng(3), 999, true), randomValues(new Rng(4), 999, true)];
  const one = new Float32Array(999);
  weightedSumInto(one, inputs, [3, 5], 8);
  const tasks: WeightedSumTask[] = [{ out: new Float32Array(999), inputs }];
  weightedSumAll(tasks, [3, 5], 8);
  assert.deepEqual(bits(tasks[0].out), bits(one));
});

test("a script that summed arena updates on the helper and made the arena collect exits at once (nothing keeps it alive)", () => {
  const lib = (f: string): string => JSON.stringify(path.join(__dirname, "../../lib/kernels", f));
  const script = [
    `const t = require(${lib("weightedSumThreads.ts")});`,
    `const a = require(${lib("updateArena.ts")});`,
    "t.configureWeightedSumThreads({ minInputBytes: 0, residentChunkBytes: 1024 });",
    "t.prepareWeightedSumThread().then((ready) => {",
    "  const arena = a.updateArena();",
    "  const layout = a.arenaLayout([500]);",
    "  const inputs = [1, 2].map((v) => {",
    "    const b = arena.allocate(layout.bytes);",
    "    return arena.adopt(b, layout, a.writeToArena(arena.memory, b, layout, [{ name: 'x', shape: [500], values: new Float32Array(500).fill(v) }]))[0].values;",
    "  });",
    "  const out = new Float32Array(500);",
    "  t.weightedSumAll([{ out, inputs }], [1, 2], 3);",
    "  arena.limitBytes = arena.status().bytes;",
    "  while (arena.allocate(layout.bytes) !== undefined);",
    "  const s = t.weightedSumThreadStatus();",
    "  console.log(JSON.stringify({ ready, helper: s.helperCalls, resident: s.residentCalls, value: out[7], collections: arena.status().collections }));",
    "});",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `exit status ${r.status}, signal ${r.signal}: ${r.stderr}`);
  // (1·1 + 2·2) / 3 in float64, rounded to float32.
  assert.deepEqual(JSON.parse(r.stdout.trim()), { ready: true, helper: 1, resident: 1, value: Math.fround(5 / 3), collections: 1 });
});

test("past collectAfterBytes the arena collects on its own: dropped updates' blocks come back long before its limit; `hold` copies bit for bit", async () => {
  const rng = new Rng(11);
  const sizes = [1001, 37, 4096];
  const layout = arenaLayout(sizes);
  // A limit that 90 updates never reach: only the collections every 4 blocks' worth can bring blocks back.
  const arena = new UpdateArena(64 << 20, 64 << 20, 4 * layout.bytes);
  const make = (): ModelWeights => sizes.map((n, v) => ({ name: `v${v}`, shape: [n], values: randomValues(rng, n, true) }));
  const keptPlain = make();
  const kept = arena.hold(keptPlain)!;
  assert.deepEqual(kept.map((w) => bits(w.values)), keptPlain.map((w) => bits(w.values)), "hold copies every bit (NaN payloads, ±0, ±Inf)");
  for (const w of kept) assert.notEqual(arena.address(w.values), undefined, `${w.name} is a view of the arena`);
  for (let round = 0; round < 30; round++) {
    // Three updates a round, dropped at once (a round that aggregates and keeps nothing).
    for (let i = 0; i < 3; i++) assert.ok(arena.hold(make()) !== undefined, `round ${round}: the arena had room`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const s = arena.status();
  assert.ok(s.collections >= 3, `the arena asked for collections itself (${s.collections})`);
  assert.ok(s.blocksInUse + s.blocksFree <= 16, `91 updates went through at most 16 blocks, not 91 (${JSON.stringify(s)})`);
  assert.deepEqual(kept.map((w) => bits(w.values)), keptPlain.map((w) => bits(w.values)), "the kept update's values are unchanged");
});
