import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import {
  configureWeightedSumThreads,
  prepareWeightedSumThread,
  releaseWeightedSumThread,
  weightedSumAll,
  weightedSumThreadStatus,
} from "../../lib/kernels/weightedSumThreads";
import type { WeightedSumTask } from "../../lib/kernels/weightedSumThreads";
import { weightedAverage } from "../../lib/federation/aggregate";
import type { WeightedWeights } from "../../lib/federation/aggregate";
import { toSharedWeights } from "../../lib/model/sharedWeights";
import { Rng } from "../../lib/util/rng";

// Small chunks, so that small inputs still make several and both threads take part.
const SMALL = { threads: 2, minInputBytes: 0, chunkBytes: 4096, helperOnly: false } as const;

const defaults = configureWeightedSumThreads({});

after(async () => {
  configureWeightedSumThreads(defaults);
  await releaseWeightedSumThread();
});

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** `p` participants' values of variables of the given sizes, each participant's variables back to back in one buffer. */
function randomInputs(rng: Rng, p: number, sizes: readonly number[], shared: boolean, specials: boolean): Float32Array[][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const scale = [1e-3, 1, 1e4][rng.int(3)];
  return Array.from({ length: p }, () => {
    const all = new Float32Array(shared ? new SharedArrayBuffer(total * 4) : new ArrayBuffer(total * 4));
    for (let k = 0; k < total; k++) all[k] = rng.normal() * scale;
    if (specials) {
      const pick = [NaN, Infinity, -Infinity, -0, 0, 3.4e38, -3.4e38, 1.4e-45];
      for (let j = 0; j < 1 + rng.int(4); j++) all[rng.int(total)] = pick[rng.int(pick.length)];
    }
    let at = 0;
    return sizes.map((n) => {
      const v = all.subarray(at, at + n);
      at += n;
      return v;
    });
  });
}

/** The tasks of one weighted sum over `inputs[participant][variable]`, with fresh outputs. */
function tasksOf(inputs: Float32Array[][], sizes: readonly number[]): WeightedSumTask[] {
  return sizes.map((n, v) => ({ out: new Float32Array(n), inputs: inputs.map((x) => x[v]) }));
}

test("the 2-thread weighted sum equals the 1-thread one bit for bit (random and odd sizes, 1–3,000 participants, NaN/±Inf/±0)", async () => {
  configureWeightedSumThreads(SMALL);
  assert.equal(await prepareWeightedSumThread(), true, "the helper thread starts");
  const rng = new Rng(1515);
  const before = weightedSumThreadStatus().helperCalls;
  let cases = 0;
  for (const p of [1, 2, 3, 7, 10, 31, 300, 3000]) {
    for (let c = 0; c < 4; c++) {
      // 1–5 variables of random (often odd) sizes; the split falls inside one of them or on a boundary.
      const maxSize = p >= 300 ? 700 : 40000;
      const sizes = Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(rng.int(2) === 0 ? 40 : maxSize));
      const specials = c % 2 === 1;
      const inputs = randomInputs(rng, p, sizes, true, specials);
      const factors = Array.from({ length: p }, () => 1 + rng.int(rng.int(2) === 0 ? 50 : 60000));
      const total = factors.reduce((a, b) => a + b, 0);
      configureWeightedSumThreads({ threads: 1 });
      const one = tasksOf(inputs, sizes);
      const finiteOne = weightedSumAll(one, factors, total);
      // Both threads claiming chunks, and every chunk from the helper (its output path, deterministically).
      for (const helperOnly of [false, true]) {
        configureWeightedSumThreads({ threads: 2, helperOnly });
        const two = tasksOf(inputs, sizes);
        const finiteTwo = weightedSumAll(two, factors, total);
        assert.equal(finiteTwo, finiteOne, `finite flag, p ${p}, sizes ${sizes}, helperOnly ${helperOnly}`);
        sizes.forEach((_, v) => assert.deepEqual(bits(two[v].out), bits(one[v].out), `p ${p}, sizes ${sizes}, variable ${v}, helperOnly ${helperOnly}`));
      }
      configureWeightedSumThreads({ helperOnly: false });
      cases++;
    }
  }
  const used = weightedSumThreadStatus().helperCalls - before;
  // Every case of at least 2 chunks went through the helper (twice: shared, then helper only).
  assert.ok(used >= cases && used <= 2 * cases, `${used} helper calls for ${cases} cases`);
});

test("the helper reports NaN and ±Inf in its chunks: the result is non-finite, the other outputs are right", async () => {
  configureWeightedSumThreads({ ...SMALL, helperOnly: true });
  assert.equal(await prepareWeightedSumThread(), true);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const n = 1001;
    const inputs = [0, 1].map(() => new Float32Array(new SharedArrayBuffer(n * 4)).fill(1));
    inputs[1][n - 3] = bad;
    const before = weightedSumThreadStatus();
    const out = new Float32Array(n);
    assert.equal(weightedSumAll([{ out, inputs }], [2, 3], 5), false, `${bad}`);
    const now = weightedSumThreadStatus();
    assert.equal(now.helperCalls, before.helperCalls + 1);
    assert.equal(now.helperChunks - before.helperChunks, Math.ceil(n / 512), "the helper summed every chunk (512 coordinates each)");
    assert.ok(!Number.isFinite(out[n - 3]));
    assert.equal(out[0], 1);
    assert.equal(out[n - 1], 1);
  }
  configureWeightedSumThreads({ helperOnly: false });
});

test("NaN bits stay the 1-thread ones whichever thread sums a chunk: NaN made by Inf − Inf and carried from the inputs", async () => {
  configureWeightedSumThreads({ ...SMALL, chunkBytes: 12 * 64 });
  assert.equal(await prepareWeightedSumThread(), true);
  for (const n of [1, 5, 17, 63, 1003, 1006]) {
    // Each participant's two variables of n values back to back in one shared buffer: the split lands in either.
    const buffers = [0, 1, 2].map(() => new Float32Array(new SharedArrayBuffer(2 * n * 4)));
    for (let k = 0; k < 2 * n; k++) {
      buffers[0][k] = k % 3 === 0 ? Infinity : k % 3 === 1 ? NaN : 1;
      buffers[1][k] = k % 3 === 0 ? -Infinity : 2;
      buffers[2][k] = k % 5 === 0 ? -NaN : 3;
    }
    const tasks = (): WeightedSumTask[] => [0, 1].map((v) => ({ out: new Float32Array(n), inputs: buffers.map((x) => x.subarray(v * n, (v + 1) * n)) }));
    configureWeightedSumThreads({ threads: 1 });
    const one = tasks();
    weightedSumAll(one, [2, 3, 5], 10);
    for (const helperOnly of [false, true]) {
      configureWeightedSumThreads({ threads: 2, helperOnly });
      const two = tasks();
      weightedSumAll(two, [2, 3, 5], 10);
      [0, 1].forEach((v) => assert.deepEqual(bits(two[v].out), bits(one[v].out), `n ${n}, variable ${v}, helperOnly ${helperOnly}`));
    }
    configureWeightedSumThreads({ helperOnly: false });
  }
});

test("the threshold: inputs of minInputBytes use the helper, 4 bytes fewer stay on this thread", async () => {
  configureWeightedSumThreads({ ...SMALL, minInputBytes: 4 * 6 * 1000 });
  assert.equal(await prepareWeightedSumThread(), true);
  const rng = new Rng(7);
  for (const [n, helped] of [[1000, true], [999, false], [1001, true]] as const) {
    const inputs = randomInputs(rng, 6, [n], true, false);
    const factors = [1, 2, 3, 4, 5, 6];
    const before = weightedSumThreadStatus().helperCalls;
    const two = tasksOf(inputs, [n]);
    weightedSumAll(two, factors, 21);
    assert.equal(weightedSumThreadStatus().helperCalls - before, helped ? 1 : 0, `${6 * n * 4} input bytes`);
    configureWeightedSumThreads({ threads: 1 });
    const one = tasksOf(inputs, [n]);
    weightedSumAll(one, factors, 21);
    configureWeightedSumThreads({ threads: 2 });
    assert.deepEqual(bits(two[0].out), bits(one[0].out));
  }
});

test("falls back to one thread for unshared inputs, with threads: 1, and after the helper died; bits unchanged", async () => {
  configureWeightedSumThreads(SMALL);
  assert.equal(await prepareWeightedSumThread(), true);
  const rng = new Rng(8);
  const sizes = [513, 7, 2048];
  const shared = randomInputs(rng, 5, sizes, true, false);
  const plain = shared.map((vars) => vars.map((x) => x.slice()));
  const factors = [3, 1, 4, 1, 5];
  const reference = tasksOf(shared, sizes);
  let before = weightedSumThreadStatus().helperCalls;
  weightedSumAll(reference, factors, 14);
  assert.equal(weightedSumThreadStatus().helperCalls, before + 1);

  // One unshared input among shared ones: the helper could not read it.
  const mixed = shared.map((vars, i) => (i === 2 ? plain[i] : vars));
  for (const inputs of [plain, mixed]) {
    before = weightedSumThreadStatus().helperCalls;
    const t = tasksOf(inputs, sizes);
    weightedSumAll(t, factors, 14);
    assert.equal(weightedSumThreadStatus().helperCalls, before, "no helper call");
    sizes.forEach((_, v) => assert.deepEqual(bits(t[v].out), bits(reference[v].out)));
  }

  configureWeightedSumThreads({ threads: 1 });
  before = weightedSumThreadStatus().helperCalls;
  const single = tasksOf(shared, sizes);
  weightedSumAll(single, factors, 14);
  assert.equal(weightedSumThreadStatus().helperCalls, before);
  sizes.forEach((_, v) => assert.deepEqual(bits(single[v].out), bits(reference[v].out)));
  assert.equal(await prepareWeightedSumThread(), false, "threads: 1 starts no helper");

  // The helper gone (released): the next call runs here and starts a new helper for later calls.
  configureWeightedSumThreads({ threads: 2 });
  await releaseWeightedSumThread();
  assert.equal(weightedSumThreadStatus().running, false, "released");
  before = weightedSumThreadStatus().helperCalls;
  const afterRelease = tasksOf(shared, sizes);
  weightedSumAll(afterRelease, factors, 14);
  assert.equal(weightedSumThreadStatus().helperCalls, before);
  sizes.forEach((_, v) => assert.deepEqual(bits(afterRelease[v].out), bits(reference[v].out)));
  assert.equal(weightedSumThreadStatus().running, true, "that call started a new helper");
  assert.equal(await prepareWeightedSumThread(), true);
  // Released while still starting: a later one starts and gets ready all the same.
  await releaseWeightedSumThread();
  const starting = prepareWeightedSumThread();
  await releaseWeightedSumThread();
  assert.equal(await starting, false);
  assert.equal(await prepareWeightedSumThread(), true);
  assert.equal(weightedSumThreadStatus().unavailable, undefined);
});

test("configureWeightedSumThreads refuses bad options, naming them", () => {
  assert.throws(() => configureWeightedSumThreads({ threads: 3 as 1 }), /threads must be 1 or 2, got 3/);
  assert.throws(() => configureWeightedSumThreads({ minInputBytes: -1 }), /minInputBytes must be ≥ 0, got -1/);
  assert.throws(() => configureWeightedSumThreads({ chunkBytes: 0 }), /chunkBytes must be > 0, got 0/);
  assert.equal(defaults.minInputBytes, 4 << 20, "the default threshold");
});

test("weightedSumAll names the variable's problem: a wrong input length or factor count", () => {
  const x = new Float32Array(new SharedArrayBuffer(40));
  assert.throws(() => weightedSumAll([{ out: new Float32Array(10), inputs: [x, x.subarray(1)] }], [1, 1], 2), /weightedSumAll: input #1 has 9 values, expected 10/);
  assert.throws(() => weightedSumAll([{ out: new Float32Array(10), inputs: [x] }], [1, 1], 2), /weightedSumAll: 1 inputs but 2 factors/);
});

test("weightedAverage over shared updates (as the worker pool sends them) equals it over plain copies, bit for bit", async () => {
  configureWeightedSumThreads(SMALL);
  assert.equal(await prepareWeightedSumThread(), true);
  const rng = new Rng(9);
  const sizes = [800, 32, 51200, 64, 1001, 10];
  const updates: WeightedWeights[] = Array.from({ length: 4 }, (_, i) => ({
    participantId: `p${i}`,
    numExamples: 1 + rng.int(500),
    weights: sizes.map((n, v) => ({ name: `v${v}`, shape: [n], values: Float32Array.from({ length: n }, () => rng.normal()) })),
  }));
  const shared = updates.map((u) => ({ ...u, weights: toSharedWeights(u.weights) }));
  shared.forEach((u, i) =>
    u.weights.forEach((w, v) => {
      assert.ok(w.values.buffer instanceof SharedArrayBuffer);
      assert.equal(w.values.byteOffset % 16, 0, "each variable starts on a 16-byte boundary");
      assert.deepEqual(bits(w.values), bits(updates[i].weights[v].values));
    }),
  );
  const before = weightedSumThreadStatus().helperCalls;
  const a = weightedAverage(shared);
  assert.equal(weightedSumThreadStatus().helperCalls, before + 1);
  const b = weightedAverage(updates);
  a.forEach((w, v) => {
    assert.ok(!(w.values.buffer instanceof SharedArrayBuffer), "the result is an ordinary array");
    assert.deepEqual(bits(w.values), bits(b[v].values));
  });
  // A non-finite value still names its participant.
  shared[2].weights[2].values[40000] = NaN;
  assert.throws(() => weightedAverage(shared), /participant "p2" has a non-finite value \(NaN\/Inf\) in "v2"/);
});

test("the helper never keeps a process alive: a script that used it and did not release it exits at once", () => {
  const script = [
    `const t = require(${JSON.stringify(path.join(__dirname, "../../lib/kernels/weightedSumThreads.ts"))});`,
    "t.configureWeightedSumThreads({ minInputBytes: 0, chunkBytes: 1024 });",
    "t.prepareWeightedSumThread().then((ready) => {",
    "  const x = new Float32Array(new SharedArrayBuffer(4000));",
    "  t.weightedSumAll([{ out: new Float32Array(500), inputs: [x.subarray(0, 500), x.subarray(500)] }], [1, 2], 3);",
    "  console.log(JSON.stringify({ ready, calls: t.weightedSumThreadStatus().helperCalls }));",
    "});",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `exit status ${r.status}, signal ${r.signal}: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { ready: true, calls: 1 });
});
