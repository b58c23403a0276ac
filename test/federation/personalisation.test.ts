import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend";
import type { ParticipantData } from "../../lib/data/dataset";
import { makeParticipants } from "../../lib/data/index";
import { batchNormMask, buildMlp, byteSize, headMask, l2Distance, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import {
  createParticipants,
  Ditto,
  FedAvg,
  FedAvgFineTune,
  FedBN,
  FedPer,
  FedRep,
  LocalOnly,
  Participant,
  runFederation,
  serverSeries,
} from "../../lib/federation/index";
import { blobParticipant } from "../model/fixtures";

const config = { epochs: 2, batchSize: 8, learningRate: 0.05, momentum: 0.9, proximalMu: 0, seed: 3 };

function setup(batchNorm = false): { trainer: Trainer; p: Participant; global: ModelWeights } {
  const trainer = new Trainer(buildMlp({ inputShape: [5], hiddenUnits: [8, 6], numClasses: 3, seed: 1, batchNorm }));
  const data: ParticipantData = blobParticipant({ dims: 5, numClasses: 3, seed: 4 });
  return { trainer, p: new Participant({ id: "a", data, trainer }), global: trainer.getWeights() };
}

/** Tensors where `mask` is true are bitwise equal in a and b. */
function equalWhere(a: ModelWeights, b: ModelWeights, mask: readonly boolean[]): boolean {
  return a.every((t, i) => !mask[i] || weightsEqual([t], [b[i]]));
}

test("FedPer sends the body, keeps the head, and its personal model is global body + own head", async () => {
  await initBackend({ log: false });
  const { trainer, p, global } = setup();
  const method = new FedPer();
  const head = headMask(trainer.model, 1);
  const update = p.fit(global, config, method);
  assert.ok(equalWhere(update.weights, global, head), "sent head = global head");
  const state = p.state.weights;
  assert.ok(state && !equalWhere(state, global, head), "own head trained");
  assert.ok(!equalWhere(update.weights, global, head.map((h) => !h)), "body trained");
  // A new global body (here: the sent one) combines with the personal head.
  const personal = p.personalWeights(update.weights, method, 0);
  assert.ok(equalWhere(personal, update.weights, head.map((h) => !h)));
  assert.ok(state && equalWhere(personal, state, head));
  assert.equal(byteSize(global, method.sharedMask(trainer)), (5 * 8 + 8 + 8 * 6 + 6) * 4);
  trainer.dispose();
});

test("FedBN keeps every batch-norm tensor local", async () => {
  await initBackend({ log: false });
  const { trainer, p, global } = setup(true);
  const bn = batchNormMask(trainer.model);
  assert.equal(bn.filter((b) => b).length, 8);
  const update = p.fit(global, { ...config, trainable: "all" }, new FedBN());
  assert.ok(equalWhere(update.weights, global, bn), "sent BN tensors are the global ones");
  assert.ok(p.state.weights && !equalWhere(p.state.weights, global, bn), "local BN statistics moved");
  trainer.dispose();
});

test("FedRep trains the head first and the body second, and sends only the body", async () => {
  await initBackend({ log: false });
  const { trainer, p, global } = setup();
  const update = p.fit(global, config, new FedRep({ headEpochs: 3, bodyEpochs: 1 }));
  const head = headMask(trainer.model, 1);
  assert.ok(equalWhere(update.weights, global, head));
  assert.equal(update.metrics["head.epochs"], 3);
  assert.equal(update.metrics.epochs, 1);
  assert.ok(p.state.weights && !equalWhere(p.state.weights, global, head));
  trainer.dispose();
});

test("Ditto: λ pulls the personal model towards the global one; the update is plain local training", async () => {
  await initBackend({ log: false });
  const dist: number[] = [];
  for (const lambda of [0, 1, 5]) {
    const { trainer, p, global } = setup();
    const update = p.fit(global, config, new Ditto({ lambda }));
    const plain = trainer.train(global, p.data.train, p.data.validation, { ...config, seed: config.seed });
    assert.ok(weightsEqual(update.weights, plain.weights), "sent weights = ordinary local training");
    assert.ok(p.state.weights);
    dist.push(l2Distance(p.state.weights, global));
    trainer.dispose();
  }
  assert.ok(dist[0] > dist[1] && dist[1] > dist[2], `distances ${dist.join(", ")}`);
});

test("FedAvg+FT fine-tunes only the head, from the global weights, with early stopping", async () => {
  await initBackend({ log: false });
  const { trainer, p, global } = setup();
  const personal = p.personalWeights(global, new FedAvgFineTune({ learningRate: 0.05, epochs: 30, earlyStopping: { patience: 2 } }), 1);
  const head = headMask(trainer.model, 1);
  assert.ok(equalWhere(personal, global, head.map((h) => !h)), "body bitwise unchanged");
  assert.ok(!equalWhere(personal, global, head), "head fine-tuned");
  assert.ok(trainer.evaluate(personal, p.data.validation).loss <= trainer.evaluate(global, p.data.validation).loss);
  trainer.dispose();
});

test("local-only never changes or transfers the global model", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [5], hiddenUnits: [8], numClasses: 3, seed: 1 }));
  const data = [1, 2, 3].map((s) => blobParticipant({ dims: 5, numClasses: 3, seed: s }));
  const w0 = trainer.getWeights();
  const r = await runFederation({
    participants: createParticipants(trainer, data),
    strategy: new FedAvg(),
    rounds: 2,
    initialWeights: w0,
    fitConfig: { epochs: 2, batchSize: 8, learningRate: 0.05 },
    personalisation: new LocalOnly(),
    convergence: { patience: 5, scope: "personal" },
  });
  assert.ok(weightsEqual(r.globalWeights, w0));
  assert.deepEqual(serverSeries(r.history, "bytesUp").value, [0, 0]);
  const acc = serverSeries(r.history, "personalAccuracy").value;
  assert.ok(acc[1] > serverSeries(r.history, "globalAccuracy").value[2], "local models beat the untouched global one");
  trainer.dispose();
});

test("shipped digits, 2 classes per participant: FedPer and FedAvg+FT personal accuracy beat FedAvg global accuracy", async () => {
  await initBackend({ log: false });
  const data = makeParticipants({ dataset: "digits", partition: { kind: "shard", shardsPerParticipant: 2 }, numParticipants: 10, seed: 1 });
  const run = async (personalisation?: FedPer | FedAvgFineTune) => {
    const trainer = new Trainer(buildMlp({ inputShape: [8, 8, 1], hiddenUnits: [32], numClasses: 10, seed: 1 }));
    const r = await runFederation({
      participants: createParticipants(trainer, data),
      strategy: new FedAvg(),
      rounds: 3,
      fitConfig: { epochs: 2, batchSize: 16, learningRate: 0.05 },
      personalisation,
      evaluation: { every: 3 },
      seed: 3,
    });
    trainer.dispose();
    const last = (m: string) => serverSeries(r.history, m).value.at(-1) ?? NaN;
    return { global: last("globalAccuracy"), personal: last("personalAccuracy") };
  };
  const fedAvg = await run();
  const fedPer = await run(new FedPer());
  const ft = await run(new FedAvgFineTune({ learningRate: 0.01 }));
  console.log(`# digits shards: FedAvg global ${fedAvg.global.toFixed(3)}, FedPer personal ${fedPer.personal.toFixed(3)}, FedAvg+FT personal ${ft.personal.toFixed(3)}`);
  assert.ok(fedAvg.global < 0.85, `FedAvg global accuracy ${fedAvg.global}`);
  assert.ok(fedPer.personal > fedAvg.global + 0.1, `FedPer personal ${fedPer.personal} vs FedAvg global ${fedAvg.global}`);
  assert.ok(ft.personal > fedAvg.global + 0.1, `FedAvg+FT personal ${ft.personal} vs FedAvg global ${fedAvg.global}`);
});
