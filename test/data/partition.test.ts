import { test } from "node:test";
import assert from "node:assert/strict";
import {
  byDatasetPartition,
  dirichletPartition,
  iidPartition,
  labelEntropy,
  loadDataset,
  Partition,
  partitionStatistics,
  quantitySkewPartition,
  shardPartition,
} from "../../lib/data/index";

/** 10 classes, unequal class sizes (200 + 20·c), in a scrambled but fixed order. */
function syntheticLabels(): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < 10; c++) for (let k = 0; k < 200 + 20 * c; k++) out.push(c);
  // Deterministic interleave so labels are not sorted.
  const n = out.length;
  const res = new Int32Array(n);
  for (let i = 0; i < n; i++) res[i] = out[(i * 7919) % n];
  return res;
}

/** Every index in [0, n) appears exactly once across the partition. */
function assertExactCover(partition: Partition, n: number): void {
  const seen = new Uint8Array(n);
  let total = 0;
  for (const part of partition) {
    for (const j of part) {
      assert.ok(Number.isInteger(j) && j >= 0 && j < n, `index ${j} out of range`);
      assert.equal(seen[j], 0, `index ${j} assigned twice`);
      seen[j] = 1;
    }
    total += part.length;
  }
  assert.equal(total, n, "sizes add up to the number of samples");
}

function meanEntropy(labels: Int32Array, p: Partition): number {
  const rows = partitionStatistics({ labels, partition: p }).summary.objects() as Array<{ labelEntropy: number }>;
  return rows.reduce((a, r) => a + r.labelEntropy, 0) / rows.length;
}

const labels = syntheticLabels();
const N = labels.length; // 2900

const partitioners: Array<[string, (seed: number) => Partition]> = [
  ["iid", (seed) => iidPartition(labels, { numParticipants: 7, seed })],
  ["dirichlet 0.5", (seed) => dirichletPartition(labels, { numParticipants: 7, alpha: 0.5, seed })],
  ["shard k=2", (seed) => shardPartition(labels, { numParticipants: 7, shardsPerParticipant: 2, seed })],
  ["quantity lognormal", (seed) => quantitySkewPartition(labels, { numParticipants: 7, seed })],
  ["quantity power-law", (seed) => quantitySkewPartition(labels, { numParticipants: 7, seed, distribution: "power-law", minSize: 5 })],
];

for (const [name, make] of partitioners) {
  test(`${name}: every sample assigned exactly once, sizes add up`, () => {
    const p = make(42);
    assert.equal(p.length, 7);
    assertExactCover(p, N);
  });
  test(`${name}: same seed gives the same partition, another seed a different one`, () => {
    assert.deepEqual(make(42), make(42));
    assert.notDeepEqual(make(42), make(43));
  });
}

test("iid: sizes differ by at most one and every participant sees every label", () => {
  const p = iidPartition(labels, { numParticipants: 7, seed: 1 });
  const sizes = p.map((q) => q.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  const s = partitionStatistics({ labels, partition: p }).summary.objects() as Array<{ numLabels: number }>;
  for (const r of s) assert.equal(r.numLabels, 10);
});

test("dirichlet: alpha 1000 is near-IID, alpha 0.1 concentrates labels (MNIST train labels)", () => {
  const y = loadDataset("mnist").y;
  const max = Math.log2(10);
  const iidLike = meanEntropy(y, dirichletPartition(y, { numParticipants: 10, alpha: 1000, seed: 7 }));
  const skewed = meanEntropy(y, dirichletPartition(y, { numParticipants: 10, alpha: 0.1, seed: 7 }));
  assert.ok(iidLike > max - 0.05, `alpha 1000: mean entropy ${iidLike} should be near log2(10) = ${max}`);
  assert.ok(skewed < max / 2, `alpha 0.1: mean entropy ${skewed} should be far below log2(10)`);
  // Near-IID also in label shares: each participant's share of each label within 3 points of the global share.
  const p = dirichletPartition(y, { numParticipants: 10, alpha: 1000, seed: 7 });
  const global = new Array<number>(10).fill(0);
  for (const l of y) global[l] += 1 / y.length;
  for (const part of p) {
    const local = new Array<number>(10).fill(0);
    for (const j of part) local[y[j]] += 1 / part.length;
    for (let c = 0; c < 10; c++) assert.ok(Math.abs(local[c] - global[c]) < 0.03, `label ${c}: ${local[c]} vs ${global[c]}`);
  }
});

test("dirichlet: minSize is respected, and an impossible minSize fails with a clear error", () => {
  // Seed 2 without a minimum leaves one participant with 42 samples; minSize 50 forces a redraw.
  const free = dirichletPartition(labels, { numParticipants: 8, alpha: 0.1, seed: 2, minSize: 0 });
  assert.ok(Math.min(...free.map((q) => q.length)) < 50);
  const p = dirichletPartition(labels, { numParticipants: 8, alpha: 0.1, seed: 2, minSize: 50 });
  assertExactCover(p, N);
  for (const q of p) assert.ok(q.length >= 50, `participant size ${q.length} < 50`);
  assert.throws(
    () => dirichletPartition(labels.subarray(0, 50), { numParticipants: 10, alpha: 0.001, seed: 3, minSize: 5, maxAttempts: 3 }),
    /dirichletPartition: no partition gives every participant >= minSize 5 samples after 3 attempts/,
  );
});

test("shard: at most k labels per participant", () => {
  for (const k of [1, 2, 3]) {
    const p = shardPartition(labels, { numParticipants: 10, shardsPerParticipant: k, seed: k });
    assertExactCover(p, N);
    for (const part of p) {
      const distinct = new Set(Array.from(part, (j) => labels[j]));
      assert.ok(distinct.size <= k, `participant holds ${distinct.size} labels with k = ${k}`);
    }
  }
  // McMahan's setting on the shipped MNIST subset: 100 participants × 2 shards.
  const y = loadDataset("mnist").y;
  const p = shardPartition(y, { numParticipants: 100, shardsPerParticipant: 2, seed: 1 });
  assertExactCover(p, y.length);
  for (const part of p) assert.ok(new Set(Array.from(part, (j) => y[j])).size <= 2);
});

test("quantity skew: sizes are unequal, at least minSize, labels still mixed", () => {
  const p = quantitySkewPartition(labels, { numParticipants: 10, seed: 5, sigma: 1.5, minSize: 30 });
  const sizes = p.map((q) => q.length);
  assert.ok(Math.min(...sizes) >= 30);
  assert.ok(Math.max(...sizes) > 3 * Math.min(...sizes), `sizes ${sizes} should be skewed`);
  const equal = quantitySkewPartition(labels, { numParticipants: 10, seed: 5, sigma: 0 });
  assert.ok(Math.max(...equal.map((q) => q.length)) - Math.min(...equal.map((q) => q.length)) <= 1, "sigma 0 gives equal sizes");
});

test("byDatasetPartition groups indices by source", () => {
  const p = byDatasetPartition(Int32Array.from([0, 1, 2, 0, 2, 2]));
  assert.deepEqual(p, [[0, 3], [1], [2, 4, 5]]);
  assert.throws(() => byDatasetPartition([0, -1]), /byDatasetPartition: domains must be integers >= 0, got -1 at index 1/);
});

test("argument errors name the function, the argument and the value", () => {
  assert.throws(() => dirichletPartition(labels, { numParticipants: 5, alpha: -1, seed: 0 }), /^Error: dirichletPartition: alpha must be > 0, got -1$/);
  assert.throws(() => iidPartition(labels, { numParticipants: 0, seed: 0 }), /iidPartition: numParticipants must be an integer >= 1, got 0/);
  assert.throws(() => iidPartition([0, 1], { numParticipants: 3, seed: 0 }), /iidPartition: numParticipants \(3\) exceeds the number of samples \(2\)/);
  assert.throws(() => shardPartition(labels, { numParticipants: 2, shardsPerParticipant: 0, seed: 0 }), /shardPartition: shardsPerParticipant must be an integer >= 1, got 0/);
  assert.throws(() => shardPartition(labels, { numParticipants: 2, shardsPerParticipant: 2, seed: 0 }), /4 shards cannot cover the 10 labels/);
  assert.throws(() => quantitySkewPartition(labels, { numParticipants: 2, seed: 0, sigma: -2 }), /quantitySkewPartition: sigma must be >= 0, got -2/);
  assert.throws(() => iidPartition([0, 1.5], { numParticipants: 1, seed: 0 }), /iidPartition: labels must be integers >= 0, got 1.5 at index 1/);
});

test("labelEntropy matches hand computation", () => {
  assert.equal(labelEntropy([5, 5]), 1);
  assert.equal(labelEntropy([7, 0, 0]), 0);
  assert.ok(Math.abs(labelEntropy([1, 1, 2]) - 1.5) < 1e-12);
  assert.equal(labelEntropy([]), 0);
});
