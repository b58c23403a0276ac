import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { fedAvgPaperMethods, pflMethods, runFedAvgPaper, runPflBenchmark, workerPlan } from "../../lib/reproduction/index";

// Tiny reproductions: a few clients and rounds on a few hundred shipped images.
const pfl = { numClients: 4, rounds: 2, seeds: [1, 2], methods: pflMethods().filter((m) => !m.label.startsWith("FedPer")), dataset: "mnist", limit: 400, partition: "pfllib" as const };
const paper = { numClients: 10, clientFraction: 0.3, target: 0.99, seeds: [3], methods: fedAvgPaperMethods({ fedSgd: 0.2, fedAvg: 0.2 }), trainLimit: 300, testLimit: 100 };

let dir = "";
before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-reproduce-workers-"));
});
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("workerPlan: runs on lanes first, the threads left over as each run's fit pool", () => {
  assert.deepEqual(workerPlan(1, 6), { lanes: 1, poolSize: 1 });
  assert.deepEqual(workerPlan(2, 6), { lanes: 2, poolSize: 1 });
  assert.deepEqual(workerPlan(2, 1), { lanes: 1, poolSize: 2 });
  assert.deepEqual(workerPlan(5, 2), { lanes: 2, poolSize: 2 });
  assert.throws(() => workerPlan(0, 2), /workers must be an integer ≥ 1, got 0/);
});

test("runPflBenchmark on 2 lanes (2 methods × 2 seeds on worker threads) and one run on a fit pool of 2: the curves of the serial run, bit for bit", async () => {
  const serial = await runPflBenchmark(pfl);
  const rounds: string[] = [];
  const lanes = await runPflBenchmark({ ...pfl, workers: 2, onRound: (r) => rounds.push(`${r.method}/${r.seed}/${r.round}`) });
  assert.deepEqual(lanes.curves.objects(), serial.curves.objects());
  assert.deepEqual(lanes.curves.columnNames(), serial.curves.columnNames());
  assert.deepEqual(lanes.seconds.array("seed"), [1, 1, 2, 2], "seconds per run, in (seed, method) order");
  assert.deepEqual([...rounds].sort(), ["Ditto (personal)/1/1", "Ditto (personal)/1/2", "Ditto (personal)/2/1", "Ditto (personal)/2/2", "FedAvg (global)/1/1", "FedAvg (global)/1/2", "FedAvg (global)/2/1", "FedAvg (global)/2/2"], "every round reported from the worker threads");
  const one = { ...pfl, seeds: [2], methods: pfl.methods.slice(1) };
  const pooled = await runPflBenchmark({ ...one, workers: 2 });
  assert.deepEqual(pooled.curves.objects(), serial.curves.filter((d: { seed: number; method: string }) => d.seed === 2 && d.method === "Ditto (personal)").objects());
});

test("runFedAvgPaper stopped after 2 rounds on 2 lanes and continued serially to 4 from the same checkpoints: the uninterrupted serial curves", async () => {
  const checkpoint = { dir: path.join(dir, "checkpoints"), every: 1 };
  await runFedAvgPaper({ ...paper, maxRounds: 2, checkpoint, workers: 2 });
  const trained: string[] = [];
  const resumed = await runFedAvgPaper({ ...paper, maxRounds: 4, checkpoint, onRound: (r) => trained.push(`${r.method.split(" ")[0]} ${r.round}`) });
  assert.deepEqual(trained, ["FedSGD 3", "FedSGD 4", "FedAvg 3", "FedAvg 4"], "only the missing rounds are trained");
  const fresh = await runFedAvgPaper({ ...paper, maxRounds: 4 });
  assert.deepEqual(resumed.curves.objects(), fresh.curves.objects());
  assert.deepEqual(resumed.rounds.objects(), fresh.rounds.objects());
});
