import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import { createParticipants, FedAvg, FedPer, runFederation } from "../../lib/federation/index";
import { blobParticipant } from "../model/fixtures";

test("1,000 virtual participants share one model: bounded memory, no tensor growth", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: 1 }));
  const data = Array.from({ length: 1000 }, (_, i) => blobParticipant({ dims: 4, numClasses: 3, seed: i, sizes: [8, 4, 4] }));
  const participants = createParticipants(trainer, data);
  const w0 = trainer.getWeights();
  const tensorsBefore = tf.memory().numTensors;
  const t0 = Date.now();
  const r = await runFederation({
    participants,
    strategy: new FedAvg(),
    rounds: 3,
    initialWeights: w0,
    sampling: { fraction: 0.02 },
    fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.05 },
    personalisation: new FedPer(),
    seed: 1,
  });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.equal(r.personalWeights.size, 1000);
  // 20 sampled per round; every participant evaluated globally and personally each round.
  const sampled = r.rows.filter((x) => x.participant === "server" && x.metric === "sampled").map((x) => x.value);
  assert.deepEqual(sampled, [20, 20, 20]);
  const personalised = participants.filter((p) => p.state.weights !== undefined).length;
  assert.ok(personalised > 20 && personalised <= 60, `${personalised} participants hold personal state`);
  console.log(`# 1000 participants × 3 rounds: ${seconds.toFixed(1)} s, ${r.rows.length} history rows`);
  trainer.dispose();
});
