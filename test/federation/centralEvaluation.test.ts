// Central evaluation: the server's `evaluate(round, weights)` on a held-out test set gives
// centralAccuracy/centralLoss rows for every round, equal to evaluating that round's global model by
// hand, and changes nothing else in the history.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer, type ModelWeights } from "../../lib/model/index";
import { CentralEvaluation, createParticipants, FedAvg, runFederation, type HistoryRow } from "../../lib/federation/index";
import { SecureAggregation } from "../../lib/privacy/index";
import { gaussianBlobs, blobParticipant } from "../model/fixtures";

const fitConfig = { epochs: 1, batchSize: 8, learningRate: 0.3, momentum: 0.9 };

test("CentralEvaluation adds the global model's central accuracy and loss per round, and nothing else changes", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 7 }));
  const data = [1, 2, 3].map((seed) => blobParticipant({ dims: 4, numClasses: 3, seed, classWeights: seed === 1 ? [5, 1, 1] : [1, 1, 5] }));
  const central = gaussianBlobs({ dims: 4, numClasses: 3, n: 90, seed: 99, name: "central" });
  const initialWeights = trainer.getWeights();
  const plain = await runFederation({ participants: createParticipants(trainer, data), strategy: new FedAvg(), rounds: 3, seed: 3, initialWeights, fitConfig });
  const weightsByRound: ModelWeights[] = [];
  const tensors = tf.memory().numTensors;
  const withCentral = await runFederation({
    participants: createParticipants(trainer, data),
    strategy: new CentralEvaluation(new FedAvg(), { trainer, data: central }),
    rounds: 3,
    seed: 3,
    initialWeights,
    fitConfig,
    observers: [(record) => void (weightsByRound[record.round] = record.globalWeights)],
  });
  assert.equal(tf.memory().numTensors, tensors, "no tensor leaks");
  const isCentral = (r: HistoryRow) => r.metric.startsWith("central");
  assert.deepEqual(withCentral.rows.filter((r) => !isCentral(r)), plain.rows, "every other row is bitwise the same");
  assert.equal(withCentral.strategy, "FedAvg");
  for (let round = 0; round <= 3; round++) {
    const at = (metric: string) => withCentral.rows.find((r) => r.round === round && r.participant === "server" && r.metric === metric)?.value;
    const e = trainer.evaluate(weightsByRound[round], central);
    assert.deepEqual([at("centralAccuracy"), at("centralLoss"), at("centralExamples")], [e.accuracy, e.loss, 90], `round ${round}`);
  }
  // By hand: accuracy is the share of argmax predictions equal to the label.
  const last = weightsByRound[3];
  trainer.evaluate(last, central);
  const pred = tf.tidy(() => (trainer.model.predict(tf.tensor2d(central.x as Float32Array, [90, 4])) as tf.Tensor).argMax(-1).dataSync());
  const correct = Array.from(pred).filter((p, i) => p === central.y[i]).length;
  assert.equal(withCentral.rows.find((r) => r.round === 3 && r.metric === "centralAccuracy")?.value, correct / 90);
  trainer.dispose();
});

test("CentralEvaluation keeps the inner strategy's weighted mean (so secure aggregation still wraps it) and names bad options", () => {
  const trainer = { evaluate: () => ({ loss: 0, accuracy: 0, numExamples: 0 }) } as unknown as Trainer;
  const data = gaussianBlobs({ dims: 2, numClasses: 2, n: 4, seed: 1, name: "c" });
  assert.equal(new CentralEvaluation(new FedAvg(), { trainer, data }).weightedMean, true);
  assert.doesNotThrow(() => new SecureAggregation(new CentralEvaluation(new FedAvg(), { trainer, data }), { threshold: 2 }));
  assert.throws(() => new CentralEvaluation(new FedAvg(), { trainer, data: { ...data, y: new Int32Array(0) } }), /CentralEvaluation: the central test set "c" is empty/);
  assert.throws(() => new CentralEvaluation({} as FedAvg, { trainer, data }), /CentralEvaluation: the wrapped strategy must be a Strategy/);
});
