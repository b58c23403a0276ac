import { test } from "node:test";
import assert from "node:assert/strict";
import {
  datasetParticipants,
  participantIds,
  byDatasetParticipants,
  concatDatasets,
  byDatasetPartition,
  Dataset,
  loadDataset,
  makeParticipants,
  partitionStatistics,
  splitParticipant,
  holdOutValidation,
  stratifiedSplit,
} from "../../lib/data/index";
import { labelDistributionFigure } from "../../lib/viz/labelDistribution";
import { Rng } from "../../lib/util/rng";

/** A tiny dataset whose feature value equals the sample index, so splits can be traced back. */
function indexedDataset(labels: number[]): Dataset {
  return {
    name: "toy",
    x: Float32Array.from(labels.map((_, i) => i)),
    y: Int32Array.from(labels),
    sampleShape: [1],
    numClasses: 3,
    classNames: ["a", "b", "c"],
  };
}

test("stratifiedSplit: exact sizes, disjoint, label proportions kept", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i < 600 ? 0 : i < 900 ? 1 : 2));
  const idx = Array.from({ length: 1000 }, (_, i) => i);
  const [a, b, c] = stratifiedSplit(labels, idx, [700, 200, 100], new Rng(1));
  assert.deepEqual([a.length, b.length, c.length], [700, 200, 100]);
  assert.equal(new Set([...a, ...b, ...c]).size, 1000);
  const share = (part: number[], l: number): number => part.filter((j) => labels[j] === l).length / part.length;
  for (const part of [a, b, c]) {
    assert.ok(Math.abs(share(part, 0) - 0.6) <= 0.011, `share of label 0: ${share(part, 0)}`);
    assert.ok(Math.abs(share(part, 2) - 0.1) <= 0.011, `share of label 2: ${share(part, 2)}`);
  }
  assert.throws(() => stratifiedSplit(labels, idx, [10, 20], new Rng(1)), /sizes \[10, 20\] add up to 30, but there are 1000 indices/);
});

test("splitParticipant: train/validation/test partition the participant's samples, stratified and seeded", () => {
  const labels = Array.from({ length: 300 }, (_, i) => i % 3);
  const ds = indexedDataset(labels);
  const indices = Array.from({ length: 100 }, (_, i) => 2 * i); // the even samples
  const p = splitParticipant(ds, indices, { validationFraction: 0.1, testFraction: 0.2, seed: 5, name: "toy/participant-0" });
  assert.deepEqual([p.train.y.length, p.validation.y.length, p.test.y.length], [70, 10, 20]);
  const got = [...p.train.x, ...p.validation.x, ...p.test.x].sort((a, b) => a - b);
  assert.deepEqual(got, indices);
  assert.equal(p.validation.name, "toy/participant-0/validation");
  for (const split of [p.train, p.test]) {
    const counts = [0, 0, 0];
    for (const l of split.y) counts[l]++;
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `stratified counts ${counts}`);
  }
  const again = splitParticipant(ds, indices, { validationFraction: 0.1, testFraction: 0.2, seed: 5 });
  assert.deepEqual(Array.from(again.test.x), Array.from(p.test.x));
  assert.throws(() => splitParticipant(ds, [0, 1], { seed: 1 }), /2 samples are too few for 1 validation \+ 1 test \+ at least 1 training sample/);
  assert.throws(() => splitParticipant(ds, indices, { seed: 1, testFraction: 1.2 }), /splitParticipant: testFraction must be in \[0, 1\), got 1.2/);
});

test("makeParticipants: Dirichlet split of shipped MNIST, sizes add up, deterministic", () => {
  const opts = { dataset: "mnist", partition: { kind: "dirichlet", alpha: 0.5 } as const, numParticipants: 5, seed: 11, limit: 2000 };
  const ps = makeParticipants(opts);
  assert.equal(ps.length, 5);
  const total = ps.reduce((a, p) => a + p.train.y.length + p.validation.y.length + p.test.y.length, 0);
  assert.equal(total, 2000);
  assert.equal(ps[2].train.name, "mnist/participant-2/train");
  const again = makeParticipants(opts);
  assert.deepEqual(Array.from(again[3].validation.y), Array.from(ps[3].validation.y));
  const shards = makeParticipants({ ...opts, partition: { kind: "shard", shardsPerParticipant: 2 } });
  const stats = partitionStatistics(shards).summary.objects() as Array<{ numLabels: number; size: number }>;
  for (const r of stats) assert.ok(r.numLabels <= 2);
});

test("byDatasetParticipants: MNIST / Fashion-MNIST / digits, one each, shared 28×28 shape", () => {
  const ps = byDatasetParticipants({ seed: 3, trainLimit: 500, testLimit: 100 });
  assert.equal(ps.length, 3);
  assert.deepEqual(ps.map((p) => p.train.name), ["mnist/train", "fashion-mnist/train", "digits/train"]);
  for (const p of ps) {
    assert.deepEqual([...p.train.sampleShape], [28, 28, 1]);
    assert.equal(p.train.y.length + p.validation.y.length, 500);
    assert.equal(p.validation.y.length, 50);
    assert.equal(p.test.y.length, 100);
  }
  assert.equal(ps[1].train.classNames[9], "Ankle boot");
});

test("concatDatasets + byDatasetPartition recover each source", () => {
  const a = loadDataset("digits", { limit: 30, resizeTo: [28, 28] });
  const b = loadDataset("mnist", { limit: 20 });
  const { dataset, domains } = concatDatasets([a, b]);
  assert.equal(dataset.y.length, 50);
  const [pa, pb] = byDatasetPartition(domains);
  assert.equal(pa.length, 30);
  assert.equal(pb.length, 20);
  assert.deepEqual(Array.from(pb, (j) => dataset.y[j]), Array.from(b.y));
  assert.throws(() => concatDatasets([loadDataset("digits", { limit: 2 }), b]), /concatDatasets: mnist\/train has sample shape \[28, 28, 1\] but digits\/train has \[8, 8, 1\]; load them with the same resizeTo/);
});

test("partitionStatistics: long-form counts and summary match hand counts", () => {
  const labels = [0, 0, 1, 2, 2, 2];
  const partition = [[0, 1, 2], [3, 4, 5]];
  const { counts, summary } = partitionStatistics({ labels, partition, numClasses: 3, classNames: ["a", "b", "c"] });
  assert.deepEqual(counts.columnNames(), ["participant", "label", "className", "count"]);
  assert.deepEqual(counts.array("count"), [2, 1, 0, 0, 0, 3]);
  assert.deepEqual(counts.array("className"), ["a", "b", "c", "a", "b", "c"]);
  const rows = summary.objects() as Array<{ participant: number; size: number; numLabels: number; labelEntropy: number }>;
  assert.deepEqual(rows.map((r) => [r.participant, r.size, r.numLabels]), [[0, 3, 2], [1, 3, 1]]);
  const h0 = -(2 / 3) * Math.log2(2 / 3) - (1 / 3) * Math.log2(1 / 3);
  assert.ok(Math.abs(rows[0].labelEntropy - h0) < 1e-12);
  assert.equal(rows[1].labelEntropy, 0);
});

test("labelDistributionFigure: one stacked trace per label, counts or shares, heatmap", () => {
  const { counts } = partitionStatistics({ labels: [0, 0, 1, 2, 2, 2], partition: [[0, 1, 2], [3, 4, 5]], classNames: ["a", "b", "c"] });
  const fig = labelDistributionFigure(counts);
  assert.equal(fig.data.length, 3);
  assert.equal(fig.layout.barmode, "stack");
  assert.deepEqual(fig.data.map((t) => t.name), ["a", "b", "c"]);
  assert.deepEqual(fig.data[0].y, [2, 0]);
  assert.deepEqual(fig.data[2].y, [0, 3]);
  const shares = labelDistributionFigure(counts, { normalize: true });
  assert.deepEqual(shares.data[0].y, [2 / 3, 0]);
  const heat = labelDistributionFigure(counts, { kind: "heatmap" });
  assert.equal(heat.data[0].type, "heatmap");
  assert.deepEqual(heat.data[0].z, [[2, 0], [1, 0], [0, 3]]);
});

test("holdOutValidation keeps the test file whole, splits train/validation by label, same seed → same split", () => {
  const train = loadDataset("digits", { split: "train", limit: 200 });
  const test = loadDataset("digits", { split: "test", limit: 50 });
  const a = holdOutValidation(train, test, { validationFraction: 0.2, seed: 7, name: "h" });
  const b = holdOutValidation(train, test, { validationFraction: 0.2, seed: 7, name: "h" });
  assert.equal(a.train.y.length, 160);
  assert.equal(a.validation.y.length, 40);
  assert.equal(a.test.y.length, 50);
  assert.deepEqual([a.train.name, a.validation.name, a.test.name], ["h/train", "h/validation", "h/test"]);
  assert.deepEqual(Array.from(a.validation.y), Array.from(b.validation.y));
  // Stratified: each label's validation share is within one sample of 20 %.
  for (let c = 0; c < 10; c++) {
    const total = Array.from(train.y).filter((y) => y === c).length;
    const inVal = Array.from(a.validation.y).filter((y) => y === c).length;
    assert.ok(Math.abs(inVal - total * 0.2) <= 1, `label ${c}: ${inVal} of ${total} in validation`);
  }
  const tiny = loadDataset("digits", { split: "train", limit: 1 });
  assert.throws(() => holdOutValidation(tiny, test, { validationFraction: 0.5, seed: 1, name: "tiny" }), /holdOutValidation\(tiny\): 1 training samples are too few to keep 1 for validation/);
});

test("participantIds: the one id scheme (zero-padded to the width of n − 1); datasetParticipants refuses a repeated id", () => {
  assert.deepEqual(participantIds(1), ["p0"]);
  assert.deepEqual(participantIds(3, "hospital-"), ["hospital-0", "hospital-1", "hospital-2"]);
  const twelve = participantIds(12);
  assert.equal(twelve[0], "p00");
  assert.equal(twelve[11], "p11");
  assert.deepEqual(participantIds(0), []);
  assert.throws(() => participantIds(-1), /participantIds: n must be an integer ≥ 0, got -1/);
  assert.throws(() => datasetParticipants({ sources: [{ id: "a", dataset: "digits" }, { id: "a", dataset: "mnist" }], seed: 0 }), /participant id "a" appears twice/);
});

test("datasetParticipants: tabular datasets are not resized; the split depends on the id and the seed only", () => {
  const [a] = datasetParticipants({ sources: [{ id: "bc", dataset: "breast-cancer" }], trainLimit: 100, testLimit: 20, resizeTo: [28, 28], seed: 4 });
  assert.deepEqual([...a.data.train.sampleShape], [30]);
  assert.equal(a.data.validation.y.length, 10);
  const [b] = datasetParticipants({ sources: [{ id: "bc", dataset: "breast-cancer" }], trainLimit: 100, testLimit: 20, seed: 4 });
  assert.deepEqual(b.data.validation.y, a.data.validation.y);
  assert.deepEqual(b.data.train.x, a.data.train.x);
});
