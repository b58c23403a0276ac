import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { listDatasets, loadDataset } from "../../lib/data/loadDataset";
import { pflPathologicalPartition } from "../../lib/data/partition/pflPathologicalPartition";
import { fedAvgPaperMethods, pflBenchmarkData, pflMethods, runFedAvgPaper, runPflBenchmark } from "../../lib/reproduction/index";
import { runCheckpointDir } from "../../lib/reproduction/resumableFederation";

/** Labels 0..9, `perClass` of each, in blocks (label-sorted, as a dataset's order may be). */
function blockLabels(perClass: number): Int32Array {
  return Int32Array.from({ length: 10 * perClass }, (_, i) => Math.floor(i / perClass));
}

test("pflPathologicalPartition deals labels as PFLlib's separate_data: label c to the first 4 participants with room, consecutive pieces", () => {
  const labels = blockLabels(100);
  const parts = pflPathologicalPartition(labels, { numParticipants: 20, classesPerParticipant: 2, seed: 3, balance: true });
  // PFLlib: ceil(20 / 10 × 2) = 4 participants per label; participants 0–3 have room for labels 0 and 1, 4–7 for 2 and 3, …
  parts.forEach((p, i) => {
    const held = [...new Set(p.map((j) => labels[j]))].sort();
    const first = 2 * Math.floor(i / 4);
    assert.deepEqual(held, [first, first + 1], `participant ${i}`);
    assert.equal(p.length, 50, "balance: 100 / 4 = 25 of each of 2 labels");
  });
  // Participant 1's piece of label 0 is samples 25..49 (consecutive, in dataset order).
  assert.deepEqual(parts[1].slice(0, 25), Array.from({ length: 25 }, (_, k) => 25 + k));
  assert.equal(new Set(parts.flat()).size, 1000, "disjoint and complete");
});

test("pflPathologicalPartition unbalanced: pieces in PFLlib's [max(share/10, least/classes), share) range, the last the rest; seeded", () => {
  const labels = blockLabels(700);
  const a = pflPathologicalPartition(labels, { numParticipants: 20, classesPerParticipant: 2, seed: 9 });
  const b = pflPathologicalPartition(labels, { numParticipants: 20, classesPerParticipant: 2, seed: 9 });
  const c = pflPathologicalPartition(labels, { numParticipants: 20, classesPerParticipant: 2, seed: 10 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // share = 700 / 4 = 175; least = floor(min(40, 7000 / 20 / 2)) = 40; low = floor(max(17.5, 4)) = 17.
  for (let label = 0; label < 10; label++) {
    const holders = Array.from({ length: 4 }, (_, k) => 4 * Math.floor(label / 2) + k);
    const pieces = holders.map((p) => a[p].filter((j) => labels[j] === label).length);
    for (const s of pieces.slice(0, 3)) assert.ok(s >= 17 && s < 175, `label ${label}: piece ${s}`);
    assert.equal(pieces.reduce((x, y) => x + y, 0), 700);
  }
  assert.throws(() => pflPathologicalPartition(labels, { numParticipants: 20, classesPerParticipant: 11, seed: 1 }), /classesPerParticipant must be an integer in \[1, 10\], got 11/);
  assert.throws(() => pflPathologicalPartition(blockLabels(3), { numParticipants: 20, classesPerParticipant: 2, seed: 1 }), /label 0 has 3 samples/);
});

test("fashion-mnist-full: loading it unbuilt names the Debian package and the command; another dataset's file under its name is refused", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-optional-"));
  try {
    fs.copyFileSync(path.join(__dirname, "..", "..", "data", "manifest.json"), path.join(dir, "manifest.json"));
    assert.throws(
      () => loadDataset("fashion-mnist-full", { dataDir: dir }),
      (e: Error) => /optional dataset "fashion-mnist-full" has not been built/.test(e.message) && /apt-get install dataset-fashion-mnist/.test(e.message) && /npm run data/.test(e.message),
    );
    // Build a small optional folder by hand (a copy of the shipped Fashion-MNIST files under the optional name is refused: the header names its dataset).
    const optional = path.join(dir, "optional", "fashion-mnist-full");
    fs.mkdirSync(optional, { recursive: true });
    const shipped = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "data", "manifest.json"), "utf8"));
    for (const split of ["train", "test"]) {
      fs.copyFileSync(path.join(__dirname, "..", "..", "data", "fashion-mnist", `${split}.bin.gz`), path.join(optional, `${split}.bin.gz`));
    }
    const files = Object.fromEntries(["train", "test"].map((s) => [`fashion-mnist-full/${s}.bin.gz`, shipped.files[`fashion-mnist/${s}.bin.gz`]]));
    fs.writeFileSync(path.join(dir, "optional", "manifest.json"), JSON.stringify({ format: "fedtune-data-manifest", version: 1, files }));
    assert.throws(() => loadDataset("fashion-mnist-full", { dataDir: dir }), /optional[/\\]fashion-mnist-full[/\\]train\.bin\.gz: .*name/);
    assert.ok(!listDatasets({ dataDir: dir }).some((d) => d.name === "fashion-mnist-full"), "the committed list only, by default");
    const listed = listDatasets({ dataDir: dir, includeOptional: true }).find((d) => d.name === "fashion-mnist-full");
    assert.deepEqual([listed?.trainCount, listed?.testCount], [10000, 2000], "optional datasets built here, with their manifest's counts");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("fashion-mnist-full, when `npm run data` has built it here: 60,000 + 10,000 images, the first 10,000 equal to the shipped subset", { skip: !fs.existsSync(path.join(__dirname, "..", "..", "data", "optional", "manifest.json")) && "not built on this machine" }, () => {
  const full = loadDataset("fashion-mnist-full", { split: "test" });
  assert.equal(full.y.length, 10000);
  const shipped = loadDataset("fashion-mnist", { split: "test" });
  assert.deepEqual(full.y.subarray(0, 2000), shipped.y);
  assert.deepEqual(full.x.subarray(0, 2000 * 784), shipped.x);
});

test("runFedAvgPaper with checkpoints: stopped after 3 rounds and run again to 5, the curves equal an uninterrupted 5-round run", async () => {
  await initBackend({ log: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-resume-"));
  try {
    const base = { numClients: 10, clientFraction: 0.3, target: 0.99, seeds: [1], methods: fedAvgPaperMethods({ fedSgd: 0.2, fedAvg: 0.2 }).slice(1), trainLimit: 300, testLimit: 100 };
    const trained: number[] = [];
    await runFedAvgPaper({ ...base, maxRounds: 3, checkpoint: { dir, every: 2 } });
    assert.ok(fs.existsSync(path.join(runCheckpointDir(dir, "FedAvg (E=5, B=10)", 1), "checkpoint.json")));
    const resumed = await runFedAvgPaper({ ...base, maxRounds: 5, checkpoint: { dir, every: 2 }, onRound: (r) => trained.push(r.round) });
    assert.deepEqual(trained, [4, 5], "only the missing rounds are trained");
    const fresh = await runFedAvgPaper({ ...base, maxRounds: 5 });
    assert.deepEqual(resumed.curves.objects(), fresh.curves.objects());
    assert.equal(runCheckpointDir("/x", "FedSGD (E=1, B=∞)", 2), path.join("/x", "fedsgd-e-1-b-inf-seed-2"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("pflBenchmarkData pool: the training file then the test file, as PFLlib's generate_FashionMNIST pools them; runPflBenchmark runs on it", async () => {
  const train = loadDataset("mnist", { split: "train" });
  const test = loadDataset("mnist", { split: "test" });
  const pooled = pflBenchmarkData({ dataset: "mnist", pool: true });
  assert.equal(pooled.y.length, 10000);
  assert.deepEqual(pooled.y.subarray(8000), test.y);
  assert.deepEqual(pooled.x.subarray(0, 784 * 8000), train.x);
  const cut = pflBenchmarkData({ dataset: "mnist", pool: true, limit: 8400 });
  assert.deepEqual(cut.y, pooled.y.subarray(0, 8400));
  assert.equal(pflBenchmarkData({ dataset: "mnist" }).y.length, 8000, "without pool: the training file");
  await initBackend({ log: false });
  const r = await runPflBenchmark({ numClients: 4, rounds: 1, seeds: [1], methods: pflMethods().slice(0, 1), dataset: "mnist", pool: true, limit: 800, partition: "pfllib" });
  assert.deepEqual(r.curves.array("round"), [1]);
});
