import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import {
  DirectoryStateStore, loadParticipant, parseParticipantConfig, personalisedHandler, readFitSettings, weightsToArrayRecord, arrayRecordToWeights,
} from "../../lib/flower/index";
import { localTrainingOf } from "../../lib/experiment/trainingSettings";
import type { ConfigValue, FlowerMessage, FlowerRecord, PersonalisedTrainRecord, RecordDict } from "../../lib/flower/index";
import { l2Distance } from "../../lib/model/weightOps";

const participantJson = {
  id: "site-a", dataset: "breast-cancer", participantIndex: 0, numParticipants: 2, seed: 3,
  model: { kind: "mlp", hiddenUnits: [8], seed: 1 }, training: { epochs: 2, batchSize: 32, learningRate: 0.05, earlyStoppingPatience: 0 },
};

function message(type: string, arrays: Extract<FlowerRecord, { kind: "array" }>, config: [string, ConfigValue][]): FlowerMessage {
  return {
    metadata: { runId: 1n, messageId: "m", srcNodeId: 1n, dstNodeId: 2n, replyToMessageId: "", groupId: "1", ttl: 100, messageType: type, createdAt: 0 },
    content: new Map<string, FlowerRecord>([["arrays", arrays], ["config", { kind: "config", values: new Map(config) }]]),
  };
}

const metric = (reply: RecordDict, key: string): number => {
  const m = reply.get("metrics");
  assert.ok(m && m.kind === "metric");
  return Number(m.values.get(key));
};

test("readFitSettings: the record overrides the participant; unknown keys and methods are errors naming them", () => {
  const config = parseParticipantConfig({ ...participantJson, personalisation: { method: "ditto", lambda: 0.5 } });
  const own = readFitSettings(undefined, config);
  assert.deepEqual(own.personalisation, { method: "ditto", lambda: 0.5 });
  assert.equal(own.local.learningRate, 0.05);
  // Without a record, the node trains as the runner maps the same training section (plus μ 0 and its layers).
  assert.deepEqual(own.local, { ...localTrainingOf(config.training), proximalMu: 0, trainable: "all" });
  const patient = parseParticipantConfig({ ...participantJson, training: { ...participantJson.training, earlyStoppingPatience: 3, dropLastPartialBatch: true } });
  assert.deepEqual(readFitSettings(new Map([["lr", 0.2]]), patient).local, { ...localTrainingOf(patient.training), learningRate: 0.2, proximalMu: 0, trainable: "all" });
  assert.deepEqual(localTrainingOf(patient.training).earlyStopping, { patience: 3 });
  const s = readFitSettings(new Map<string, ConfigValue>([["personalisation", "fedper"], ["head-layers", 1n], ["clip-norm", 0.5], ["lr", 0.1], ["server-round", 3n], ["proximal-mu", 0.01]]), config);
  assert.deepEqual(s.personalisation, { method: "fedper", headLayers: 1 });
  assert.equal(s.clipNorm, 0.5);
  assert.equal(s.local.learningRate, 0.1);
  assert.equal(s.local.proximalMu, 0.01);
  assert.equal(s.serverRound, 3);
  assert.deepEqual(readFitSettings(new Map([["ditto-lambda", 2]]), config).personalisation, { method: "ditto", lambda: 2 });
  assert.throws(() => readFitSettings(new Map([["personalisation", "fedprox-ft"]]), config), /"personalisation" "fedprox-ft" is not a fedtune method \(none, local-only, fedavg-ft, fedper, fedrep, ditto, fedbn\)/);
  assert.throws(() => readFitSettings(new Map([["learning_rate", 0.1]]), config), /key\(s\) "learning_rate" unknown to fedtune's node/);
  assert.throws(() => readFitSettings(new Map<string, ConfigValue>([["personalisation", "fedper"], ["ditto-lambda", 1]]), config), /"ditto-lambda" do not apply to this method/);
  assert.throws(() => readFitSettings(new Map([["clip-norm", -1]]), config), /"clip-norm" must be > 0/);
  assert.throws(() => parseParticipantConfig({ ...participantJson, personalisation: { method: "fedperr" } }, "p.json"), /invalid participant config p\.json:\n  - personalisation\.method: "fedperr" is not allowed \(did you mean "fedper"\?\)/);
});

test("personalisedHandler: FedPer sends only the body, keeps its head across rounds and restarts; clipping bounds the update", async () => {
  await tf.setBackend("cpu");
  const p = loadParticipant(parseParticipantConfig({ ...participantJson, personalisation: { method: "fedper" } }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-state-"));
  const tensors = tf.memory().numTensors;
  try {
    const trains: PersonalisedTrainRecord[] = [];
    const handler = personalisedHandler(p, { stateStore: new DirectoryStateStore(dir, p.config.id, p.initialWeights), onTrain: (r) => trains.push(r) });
    const global = weightsToArrayRecord(p.initialWeights);
    const r1 = await handler(message("train", global, [["server-round", 1n]]));
    const sent = r1.get("arrays");
    assert.ok(sent && sent.kind === "array");
    assert.deepEqual([...sent.arrays.keys()], ["hidden_1/kernel", "hidden_1/bias"], "FedPer sends the body only");
    assert.equal(metric(r1, "num-examples"), p.data.train.y.length);
    assert.ok(fs.existsSync(path.join(dir, "site-a.fedper.npz")), "state written to the state directory");

    // Evaluate: the personal model (trained head) differs from the global one.
    const e1 = await handler(message("evaluate", global, [["server-round", 1n]]));
    assert.ok(metric(e1, "personal-accuracy") >= 0 && metric(e1, "accuracy") >= 0);
    assert.notEqual(metric(e1, "personal-loss"), metric(e1, "loss"));

    // A "restarted" node (new handler, new store on the same directory) continues with its own head.
    const restarted = personalisedHandler(p, { stateStore: new DirectoryStateStore(dir, p.config.id, p.initialWeights) });
    const e2 = await restarted(message("evaluate", global, [["server-round", 1n]]));
    assert.equal(metric(e2, "personal-loss"), metric(e1, "personal-loss"));
    const fresh = personalisedHandler(p);
    const e3 = await fresh(message("evaluate", global, [["server-round", 1n]]));
    assert.equal(metric(e3, "personal-loss"), metric(e3, "loss"), "without state the personal model is the global one");

    // Client-side DP clipping: the update sent is within the clip norm, and the reply says so.
    const clip = 0.05;
    const r2 = await handler(message("train", global, [["server-round", 2n], ["clip-norm", clip]]));
    const last = trains[trains.length - 1];
    assert.equal(metric(r2, "clip-norm"), clip);
    assert.equal(metric(r2, "clipped"), 1);
    const sent2 = r2.get("arrays") as Extract<FlowerRecord, { kind: "array" }>;
    const body = p.initialWeights.slice(0, 2);
    const norm = l2Distance(arrayRecordToWeights(sent2, body), body);
    assert.ok(norm <= clip * (1 + 1e-6), `update norm ${norm} ≤ ${clip}`);
    assert.ok(Math.abs(metric(r2, "update-norm") - norm) < 1e-9);
    assert.deepEqual(last.sharedNames, ["hidden_1/kernel", "hidden_1/bias"]);

    // Bad records: errors naming the key; the handler keeps working afterwards.
    await assert.rejects(async () => handler(message("train", global, [["personalisation", "fedsgd"]])), /"fedsgd" is not a fedtune method/);
    await assert.rejects(async () => handler(message("train", global, [["local_epochs", 2n]])), /"local_epochs" unknown/);
    const r3 = await handler(message("train", global, [["server-round", 3n], ["personalisation", "local-only"]]));
    assert.deepEqual([...(r3.get("arrays") as Extract<FlowerRecord, { kind: "array" }>).arrays.keys()], [], "local-only sends nothing");
    assert.equal(tf.memory().numTensors, tensors, "no tensor leaks");
  } finally {
    p.trainer.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
