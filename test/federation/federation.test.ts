import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import type { Dataset, ParticipantData } from "../../lib/data/dataset";
import { buildMlp, getWeights, maxAbsDifference, Trainer, weightsEqual } from "../../lib/model/index";
import {
  createParticipants,
  FedAvg,
  Federation,
  federationRounds,
  FedPer,
  FedProx,
  Participant,
  runFederation,
  sampleDeviceProfiles,
  type RoundRecord,
} from "../../lib/federation/index";
import { blobParticipant } from "../model/fixtures";

function concat(parts: readonly Dataset[]): Dataset {
  const x = new Float32Array(parts.reduce((s, d) => s + d.x.length, 0));
  const y = new Int32Array(parts.reduce((s, d) => s + d.y.length, 0));
  let ox = 0;
  let oy = 0;
  for (const d of parts) {
    x.set(d.x, ox);
    y.set(d.y, oy);
    ox += d.x.length;
    oy += d.y.length;
  }
  return { ...parts[0], name: "union", x, y };
}

function blobData(n: number, sizes?: [number, number, number]): ParticipantData[] {
  // Non-IID: each participant favours two of four classes.
  return Array.from({ length: n }, (_, i) => {
    const w = [0.05, 0.05, 0.05, 0.05];
    w[i % 4] = 1;
    w[(i + 1) % 4] = 1;
    return blobParticipant({ dims: 6, numClasses: 4, seed: 10 + i, sizes: sizes ?? [30 + 7 * i, 10, 20], classWeights: w, spread: 1.5 });
  });
}

test("FedSGD equivalence: FedAvg of one full-batch step each = one centralised step on the union", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 1 }));
  const data = blobData(3);
  const w0 = trainer.getWeights();
  const fitConfig = { epochs: 1, batchSize: Number.POSITIVE_INFINITY, learningRate: 0.5, momentum: 0.9 };
  const result = await runFederation({
    participants: createParticipants(trainer, data),
    strategy: new FedAvg(),
    rounds: 1,
    fitConfig,
    initialWeights: w0,
    evaluation: { personal: false },
  });
  const central = trainer.train(w0, concat(data.map((d) => d.train)), undefined, { ...fitConfig, seed: 0 });
  const diff = maxAbsDifference(result.globalWeights, central.weights);
  assert.ok(diff < 1e-6, `max |FedAvg − centralised| = ${diff}`);
  assert.ok(maxAbsDifference(central.weights, w0) > 1e-2, "the step actually moved the weights");
  trainer.dispose();
});

test("FedProx with mu = 0 equals FedAvg bitwise; mu > 0 differs", async () => {
  await initBackend({ log: false });
  const data = blobData(4);
  const run = async (strategy: FedAvg): Promise<ReturnType<typeof getWeights>> => {
    const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 1 }));
    const r = await runFederation({
      participants: createParticipants(trainer, data),
      strategy,
      rounds: 2,
      fitConfig: { epochs: 2, batchSize: 8, learningRate: 0.1 },
      sampling: { fraction: 0.5, minParticipants: 2 },
      seed: 5,
      evaluation: { personal: false },
    });
    trainer.dispose();
    return r.globalWeights;
  };
  const avg = await run(new FedAvg());
  assert.ok(weightsEqual(avg, await run(new FedProx({ mu: 0 }))));
  assert.ok(!weightsEqual(avg, await run(new FedProx({ mu: 1 }))));
});

test("20 rounds: no tensor growth, same seed → identical history, other seed → different", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 2 }));
  const data = blobData(6, [16, 6, 8]);
  const profiles = sampleDeviceProfiles(6, 4, { dropoutProbability: 0.2, medianSamplesPerSecond: 400 });
  const w0 = getWeights(trainer.model); // the trainer's model holds whatever was loaded last, so pin the start
  const run = async (seed: number) => {
    const participants = createParticipants(trainer, data, { profiles });
    return runFederation({
      participants,
      strategy: new FedAvg(),
      rounds: 20,
      fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.05 },
      sampling: { fraction: 0.5, minParticipants: 2 },
      personalisation: new FedPer(),
      initialWeights: w0,
      localTraining: { earlyStopping: { patience: 1 } },
      seed,
      // Some rounds lose every sampled participant to dropout; this test is about memory, so skip them.
      onTooFewUpdates: "skip",
    });
  };
  await run(1); // warm-up: kernels and backend caches
  const before = tf.memory().numTensors;
  const a = await run(7);
  const after = tf.memory().numTensors;
  assert.equal(after, before, `tensors before ${before}, after ${after}`);
  const b = await run(7);
  const c = await run(8);
  assert.equal(a.roundsRun, 20);
  assert.deepEqual(b.rows, a.rows);
  assert.ok(weightsEqual(a.globalWeights, b.globalWeights));
  assert.notDeepEqual(c.rows, a.rows);
  assert.ok(a.failures.some((f) => f.reason === "dropped out"), "dropout happened with p = 0.2");
  trainer.dispose();
});

test("failures are recorded and the round goes on; async iterator and onRound see every round", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 2 }));
  const good = blobData(3);
  const participants = createParticipants(trainer, good);
  // A participant whose labels do not fit the model: its fit throws.
  const badTrain = { ...good[0].train, y: Int32Array.from(good[0].train.y, () => 9), name: "bad/train" };
  participants.push(new Participant({ id: "broken", data: { ...good[0], train: badTrain }, trainer }));
  const seen: number[] = [];
  const records: RoundRecord[] = [];
  const gen = federationRounds({
    participants,
    strategy: new FedAvg(),
    rounds: 3,
    fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.05 },
    evaluation: { personal: false },
    onRound: (r) => {
      seen.push(r.round);
    },
  });
  for (;;) {
    const step = await gen.next();
    if (step.done) {
      assert.equal(step.value.roundsRun, 3);
      break;
    }
    records.push(step.value);
  }
  assert.deepEqual(records.map((r) => r.round), [0, 1, 2, 3]);
  assert.deepEqual(seen, [0, 1, 2, 3]);
  for (const r of records.slice(1)) {
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0].participantId, "broken");
    assert.match(r.failures[0].reason, /^threw: .*label 9/);
    assert.equal(r.server.succeeded, 3);
    assert.equal(r.server.failed, 1);
  }
  trainer.dispose();
});

test("convergence: no improvement for `patience` rounds stops the run early", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 2 }));
  const r = await runFederation({
    participants: createParticipants(trainer, blobData(3)),
    strategy: new FedAvg(),
    rounds: 50,
    fitConfig: { epochs: 1, batchSize: 8, learningRate: 0 }, // nothing moves, so nothing improves
    convergence: { patience: 3 },
    evaluation: { personal: false },
  });
  assert.equal(r.roundsRun, 3);
  assert.equal(r.converged, true);
  assert.equal(r.bestRound, 0);
  trainer.dispose();
});

test("heterogeneity: deadlines make stragglers fail or do partial work; bytes and wall-clock are simulated", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 2 }));
  const data = blobData(2, [40, 10, 10]);
  const fast = { computeSamplesPerSecond: 1000, uploadMbps: 1, downloadMbps: 1 };
  const slow = { computeSamplesPerSecond: 10, uploadMbps: 1, downloadMbps: 1 };
  const make = () => [
    new Participant({ id: "fast", data: data[0], trainer, profile: fast }),
    new Participant({ id: "slow", data: data[1], trainer, profile: slow }),
  ];
  const bytes = (6 * 8 + 8 + 8 * 4 + 4) * 4; // 368 bytes of parameters
  const base = { strategy: new FedAvg(), rounds: 1, fitConfig: { epochs: 1, batchSize: 10, learningRate: 0.05 }, evaluation: { personal: false } };
  // Fast: 40 samples / 1000 + 2 × 368·8 / 1e6 s = 0.045888 s. Slow: 47 samples at 10/s ≈ 4.7 s > deadline 2 s.
  const strict = await runFederation({ ...base, participants: make(), heterogeneity: { deadlineSeconds: 2 } });
  assert.equal(strict.failures.length, 1);
  assert.match(strict.failures[0].reason, /^missed the deadline/);
  const server = (r: typeof strict, m: string) => r.rows.find((x) => x.round === 1 && x.participant === "server" && x.metric === m)?.value;
  assert.equal(server(strict, "simulatedSeconds"), 2);
  assert.equal(server(strict, "bytesUp"), bytes);
  assert.equal(server(strict, "bytesDown"), 2 * bytes);
  const fastSeconds = strict.rows.find((x) => x.participant === "fast" && x.metric === "simulatedSeconds")?.value ?? NaN;
  assert.ok(Math.abs(fastSeconds - (40 / 1000 + (2 * bytes * 8) / 1e6)) < 1e-12);
  // Partial work: the slow device does ⌊(2 − comms)·10 / 10⌋ = 1 step of 10 samples.
  const partial = await runFederation({ ...base, participants: make(), heterogeneity: { deadlineSeconds: 2, partialWork: true } });
  assert.equal(partial.failures.length, 0);
  const slowRow = (m: string) => partial.rows.find((x) => x.participant === "slow" && x.scope === "fit" && x.metric === m)?.value;
  assert.equal(slowRow("steps"), 1);
  assert.equal(slowRow("partial"), 1);
  trainer.dispose();
});

test("pretrain centrally → save → reload → federated fine-tuning of the head leaves the body bitwise intact", async () => {
  await initBackend({ log: false });
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const { saveModel, loadModel, freezeAllBut, headMask } = await import("../../lib/model/index");
  const data = blobData(4);
  const central = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [16], numClasses: 4, seed: 9 }));
  const pre = central.train(central.getWeights(), concat(data.map((d) => d.train)), concat(data.map((d) => d.validation)), {
    epochs: 20, batchSize: 16, learningRate: 0.05, momentum: 0.9, seed: 1, earlyStopping: { patience: 3 },
  });
  central.load(pre.weights);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-pretrained-"));
  await saveModel(central.model, dir);
  central.dispose();
  const model = await loadModel(dir);
  freezeAllBut(model, 1);
  const trainer = new Trainer(model);
  assert.ok(weightsEqual(trainer.getWeights(), pre.weights), "reloaded = pretrained");
  const r = await runFederation({
    participants: createParticipants(trainer, data),
    strategy: new FedAvg(),
    rounds: 3,
    initialWeights: pre.weights,
    fitConfig: { epochs: 2, batchSize: 8, learningRate: 0.01 },
    localTraining: { earlyStopping: { patience: 2 } },
    evaluation: { personal: false },
  });
  const head = headMask(model, 1);
  r.globalWeights.forEach((w, i) => {
    if (!head[i]) assert.ok(weightsEqual([w], [pre.weights[i]]), `${w.name} unchanged`);
  });
  assert.ok(!weightsEqual(r.globalWeights, pre.weights), "the head moved");
  const cached = r.rows.filter((x) => x.scope === "fit" && x.metric === "usedFeatureCache").map((x) => x.value);
  assert.ok(cached.length === 12 && cached.every((v) => v === 1), "frozen-feature cache used automatically");
  trainer.dispose();
  fs.rmSync(dir, { recursive: true });
});
