// compareMethods over several seeds: each seed's runs equal a one-seed comparison with that seed,
// and the intervals are mean ± t·s/√n of the per-seed figures, computed here by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import { FedAvg, FedPer, NoPersonalisation } from "../../lib/federation/index";
import { compareMethods, pairedDifference } from "../../lib/scenario/compareMethods";
import { blobParticipant } from "../model/fixtures";

const fitConfig = { epochs: 1, batchSize: 8, learningRate: 0.3, momentum: 0.9 };
const methods = [
  { label: "FedAvg", strategy: () => new FedAvg(), personalisation: () => new NoPersonalisation() },
  { label: "FedPer", strategy: () => new FedAvg(), personalisation: () => new FedPer({ headLayers: 1 }) },
];
// The participants' data depend on the seed, as a seeded split would.
const participantsFor = (seed: number) =>
  [1, 2, 3].map((i) => ({ id: `p${i}`, data: blobParticipant({ dims: 4, numClasses: 3, seed: 10 * seed + i, classWeights: i === 1 ? [5, 1, 1] : [1, 1, 5] }) }));

test("compareMethods with seeds: seed k's runs equal a one-seed comparison with seed k; intervals by hand", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 7 }));
  const start = trainer.getWeights();
  const before = tf.memory().numTensors;
  const c = await compareMethods({ trainer, participants: participantsFor, initialWeights: () => start, rounds: 3, seeds: [4, 9, 11], fitConfig, methods });
  const one = await compareMethods({ trainer, participants: participantsFor(9), initialWeights: start, rounds: 3, seed: 9, fitConfig, methods });
  assert.equal(tf.memory().numTensors, before);
  for (const m of methods) {
    assert.deepEqual(c.runsBySeed.get(9)!.get(m.label)!.rows, one.runs.get(m.label)!.rows, `${m.label}, seed 9`);
  }
  assert.deepEqual([...c.runsBySeed.keys()], [4, 9, 11]);
  assert.equal(c.runs, c.runsBySeed.get(4));
  const rows = c.table.objects() as Array<{ method: string; participant: string; seed: number; lastAccuracy: number }>;
  assert.equal(rows.length, 3 * 2 * 3);
  const iv = c.intervals.objects() as Array<{ method: string; participant: string; measure: string; n: number; mean: number; halfWidth: number; lo: number; hi: number }>;
  for (const method of ["FedAvg", "FedPer"]) {
    for (const participant of ["p2", "mean"]) {
      const xs = [4, 9, 11].map((s) => {
        const mine = rows.filter((r) => r.method === method && r.seed === s && (participant === "mean" || r.participant === participant));
        return mine.reduce((a, r) => a + r.lastAccuracy, 0) / mine.length;
      });
      const mean = (xs[0] + xs[1] + xs[2]) / 3;
      const s = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
      const half = (4.3026527 * s) / Math.sqrt(3);
      const got = iv.find((r) => r.method === method && r.participant === participant && r.measure === "lastAccuracy")!;
      assert.equal(got.n, 3);
      assert.ok(Math.abs(got.mean - mean) < 1e-12, `${method} ${participant} mean`);
      assert.ok(Math.abs(got.halfWidth - half) < 1e-6 && Math.abs(got.hi - (mean + half)) < 1e-6 && Math.abs(got.lo - (mean - half)) < 1e-6, `${method} ${participant} interval`);
    }
  }
  await assert.rejects(compareMethods({ trainer, participants: participantsFor, initialWeights: start, rounds: 1, seeds: [1, 1], fitConfig, methods }), /seeds lists a seed twice/);
  trainer.dispose();
});

test("pairedDifference: per-seed differences of two methods, mean ± t·s/√n by hand", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 7 }));
  const start = trainer.getWeights();
  const c = await compareMethods({ trainer, participants: participantsFor, initialWeights: start, rounds: 2, seeds: [1, 2, 3], fitConfig, methods });
  const rows = c.table.objects() as Array<{ method: string; participant: string; seed: number; lastAccuracy: number }>;
  const at = (m: string, s: number) => rows.find((r) => r.method === m && r.seed === s && r.participant === "p1")!.lastAccuracy;
  const xs = [1, 2, 3].map((s) => at("FedPer", s) - at("FedAvg", s));
  const mean = (xs[0] + xs[1] + xs[2]) / 3;
  const half = (4.3026527 * Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / 2)) / Math.sqrt(3);
  const d = pairedDifference(c, "FedPer", "FedAvg", { participant: "p1" });
  assert.equal(d.n, 3);
  assert.ok(Math.abs(d.mean - mean) < 1e-12 && Math.abs(d.halfWidth - half) < 1e-6 && Math.abs(d.lo - (mean - half)) < 1e-6);
  assert.throws(() => pairedDifference(c, "FedProx", "FedAvg"), /no run of method "FedProx"/);
  trainer.dispose();
});
