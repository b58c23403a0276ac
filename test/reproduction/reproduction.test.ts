import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { loadDataset } from "../../lib/data/loadDataset";
import { Trainer } from "../../lib/model/trainer";
import { CentralEvaluation, FedAvg, Participant, runFederation } from "../../lib/federation/index";
import { roundsToTarget } from "../../lib/analysis/roundsToTarget";
import {
  buildMnist2nn,
  buildPflCnn,
  fedAvgPaperMethods,
  pathologicalClients,
  pflMethods,
  runFedAvgPaper,
  runPflBenchmark,
  twoLabelClients,
} from "../../lib/reproduction/index";

const countParams = (m: tf.LayersModel): number => m.countParams();
const labelsOf = (y: Int32Array): Set<number> => new Set(y);

test("the published models: the 2NN has 199,210 parameters, PFLlib's CNN 582,026", async () => {
  await initBackend({ log: false });
  const nn = buildMnist2nn(1);
  const cnn = buildPflCnn(1);
  assert.equal(countParams(nn), 784 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10);
  assert.equal(countParams(nn), 199210);
  assert.equal(countParams(cnn), 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 4 * 4 * 64 * 512 + 512 + 512 * 10 + 10);
  assert.equal(countParams(cnn), 582026);
  nn.dispose();
  cnn.dispose();
});

test("pathological and two-label splits: at most 2 labels per client, disjoint, everything dealt", () => {
  const mnist = loadDataset("mnist", { split: "train", limit: 2000 });
  const clients = pathologicalClients(mnist, 50, 3);
  assert.equal(clients.length, 50);
  assert.equal(clients.reduce((s, c) => s + c.train.y.length, 0), 2000);
  for (const c of clients) {
    assert.ok(labelsOf(c.train.y).size <= 2, `${c.train.name} holds ${labelsOf(c.train.y).size} labels`);
    assert.equal(c.validation.y.length + c.test.y.length, 0, "all of a client's data trains");
  }
  const fashion = loadDataset("fashion-mnist", { split: "train", limit: 1000 });
  const pfl = twoLabelClients(fashion, 20, 4);
  assert.equal(pfl.reduce((s, c) => s + c.train.y.length + c.test.y.length, 0), 1000);
  for (const c of pfl) {
    const n = c.train.y.length + c.test.y.length;
    assert.equal(c.test.y.length, Math.round(n * 0.25));
    assert.ok(labelsOf(c.train.y).size <= 2);
    for (const l of labelsOf(c.test.y)) assert.ok(labelsOf(c.train.y).has(l), "test labels are the client's own");
  }
});

test("roundsToTarget: first round at or above the target per run; NaN (not the last round) when never reached", () => {
  const series = aq.from([
    { method: "a", seed: 1, round: 0, value: 0.1 },
    { method: "a", seed: 1, round: 1, value: 0.5 },
    { method: "a", seed: 1, round: 2, value: 0.8 },
    { method: "a", seed: 1, round: 3, value: 0.7 },
    { method: "a", seed: 1, round: 4, value: 0.9 },
    { method: "b", seed: 1, round: 0, value: 0.1 },
    { method: "b", seed: 1, round: 1, value: 0.79 },
  ]);
  const rows = roundsToTarget(series, 0.8).objects() as Array<{ method: string; rounds: number; reached: boolean; lastRound: number }>;
  assert.deepEqual(rows.map((r) => [r.method, r.rounds, r.reached, r.lastRound]), [["a", 2, true, 4], ["b", NaN, false, 1]]);
  assert.throws(() => roundsToTarget(series, Number.NaN), /target must be a finite number/);
  assert.throws(() => roundsToTarget(aq.from([{ round: 1 }]), 0.5), /lacks column "value"/);
});

test("CentralEvaluation scores the global model on the held-out set, and can skip the participants", async () => {
  await initBackend({ log: false });
  const train = loadDataset("mnist", { split: "train", limit: 300 });
  const test = loadDataset("mnist", { split: "test", limit: 200 });
  const trainer = new Trainer(buildMnist2nn(2));
  const clients = pathologicalClients(train, 5, 1);
  const before = tf.memory().numTensors;
  const result = await runFederation({
    participants: clients.map((d, i) => new Participant({ id: `c${i}`, data: d, trainer })),
    strategy: new CentralEvaluation(new FedAvg(), { trainer, data: test, participants: false }),
    rounds: 2,
    trainer,
    fitConfig: { epochs: 1, batchSize: 10, learningRate: 0.1, momentum: 0 },
    seed: 1,
  });
  assert.equal(tf.memory().numTensors, before);
  const central = result.rows.filter((r) => r.participant === "server" && r.metric === "centralAccuracy" && r.round === 2);
  assert.equal(central.length, 1);
  assert.equal(central[0].value, trainer.evaluate(result.globalWeights, test).accuracy);
  assert.equal(result.rows.filter((r) => r.scope === "global" && r.participant !== "server").length, 0, "no participant evaluated");
  const empty = { ...test, x: new Float32Array(0), y: new Int32Array(0), name: "nothing" };
  assert.throws(() => new CentralEvaluation(new FedAvg(), { trainer, data: empty }), /CentralEvaluation: the central test set "nothing" is empty/);
  trainer.dispose();
});

test("runFedAvgPaper: stops at the target, deterministic per seed", async () => {
  await initBackend({ log: false });
  const options = {
    numClients: 10, clientFraction: 0.3, target: 0.5, maxRounds: 8, seeds: [1],
    methods: fedAvgPaperMethods({ fedSgd: 0.2, fedAvg: 0.2 }), trainLimit: 500, testLimit: 200,
  };
  const a = await runFedAvgPaper(options);
  const b = await runFedAvgPaper(options);
  assert.deepEqual(a.curves.objects(), b.curves.objects());
  for (const r of a.rounds.objects() as Array<{ method: string; rounds: number; reached: boolean; lastRound: number }>) {
    if (r.reached) assert.equal(r.lastRound, r.rounds, `${r.method} ran on after reaching the target`);
    else assert.equal(r.lastRound, 8);
  }
  await assert.rejects(runFedAvgPaper({ ...options, clientFraction: 0 }), /clientFraction must be in \(0, 1\]/);
});

test("runPflBenchmark: one curve point per method and round, personal models beat the global one on 2-label clients", async () => {
  await initBackend({ log: false });
  const r = await runPflBenchmark({ numClients: 6, rounds: 1, seeds: [2], methods: pflMethods(), limit: 240 });
  const last = r.curves.filter((d: { round: number }) => d.round === 1).objects() as Array<{ method: string; value: number }>;
  assert.deepEqual(last.map((x) => x.method), ["FedAvg (global)", "FedPer (personal)", "Ditto (personal)"]);
  const acc = new Map(last.map((x) => [x.method, x.value]));
  assert.ok((acc.get("FedPer (personal)") as number) > (acc.get("FedAvg (global)") as number));
  assert.ok((acc.get("Ditto (personal)") as number) > (acc.get("FedAvg (global)") as number));
});
