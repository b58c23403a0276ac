import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { arrayRecordToWeights, loadParticipant, parseParticipantConfig, personalisedHandler, SuperNode, weightsToArrayRecord } from "../../lib/flower/index";
import type { ConfigValue, FlowerRecord, MessageMetadata, SuperNodeEvent } from "../../lib/flower/index";
import { until } from "../until";
import { FakeSuperLink } from "./fakeSuperLink";

const quiet = (): void => undefined;

function instruction(type: string, content: Map<string, FlowerRecord>, createdAt = Date.now() / 1000): { metadata: MessageMetadata; content: Map<string, FlowerRecord> } {
  return {
    metadata: { runId: 7n, messageId: "", srcNodeId: 1n, dstNodeId: 1000n, replyToMessageId: "", groupId: "", ttl: 43200, messageType: type, createdAt },
    content,
  };
}


test("a SuperNode trains on `train`, evaluates on `evaluate`, and answers bad messages with error replies", async () => {
  await tf.setBackend("cpu");
  const config = parseParticipantConfig({
    id: "p0", dataset: "breast-cancer", participantIndex: 0, numParticipants: 2, seed: 3,
    model: { kind: "mlp", hiddenUnits: [8] }, training: { epochs: 2, batchSize: 16, learningRate: 0.1, momentum: 0.5, earlyStoppingPatience: 0 },
  });
  const participant = loadParticipant(config);
  const link = new FakeSuperLink();
  const port = await link.start();
  const node = new SuperNode({ address: `127.0.0.1:${port}`, insecure: true, handler: personalisedHandler(participant), pollIntervalMs: 20, log: quiet });
  const running = node.run();
  const tensorsBefore = tf.memory().numTensors;

  const init = participant.initialWeights;
  const cfg = { kind: "config" as const, values: new Map<string, ConfigValue>([["server-round", 1n], ["lr", 0.2]]) };
  const train = instruction("train", new Map<string, FlowerRecord>([["arrays", weightsToArrayRecord(init)], ["config", cfg]]));
  const trainId = link.enqueue(train);
  link.enqueue(instruction("evaluate", new Map<string, FlowerRecord>([["arrays", weightsToArrayRecord(init)], ["config", cfg]])));
  link.enqueue(instruction("query.bogus", new Map<string, FlowerRecord>([["config", cfg]])));
  // Malformed: the Array's .npy is truncated (hashes re-computed, so only the content is wrong).
  link.enqueue(instruction("train", new Map<string, FlowerRecord>([
    ["arrays", { kind: "array", arrays: new Map([["head/bias", { dtype: "float32", shape: [2], stype: "numpy.ndarray", data: new Uint8Array([0x93, 1, 2]) }]]) }],
    ["config", cfg],
  ])));
  // Malformed on the wire: an object whose content does not hash to its id.
  link.enqueue(instruction("evaluate", new Map<string, FlowerRecord>([["config", cfg]])), (objects) => {
    const [id, c] = [...objects].find(([, v]) => Buffer.from(v.subarray(0, 12)).toString() === "ConfigRecord") as [string, Uint8Array];
    const bad = Uint8Array.from(c);
    bad[bad.length - 1] ^= 0xff;
    objects.set(id, bad);
  });
  try {
    await until(() => link.replies.length === 5 && node.reports.length === 5, "5 replies");

    const [trainReply, evalReply, bogus, badNpy, badHash] = link.replies;
    const md = trainReply.message.metadata;
    assert.equal(md.replyToMessageId, trainId);
    assert.equal(md.srcNodeId, node.nodeId);
    assert.equal(md.dstNodeId, 1n);
    assert.equal(md.messageType, "train");
    assert.ok(md.createdAt > 1740700800 && md.createdAt < 1e11, `createdAt in seconds, got ${md.createdAt}`);
    assert.ok(Math.abs(md.createdAt + md.ttl - (train.metadata.createdAt + 43200)) < 1e-6, "reply expires with the instruction");
    const metrics = trainReply.message.content?.get("metrics");
    assert.ok(metrics && metrics.kind === "metric");
    assert.equal(metrics.values.get("num-examples"), BigInt(participant.data.train.y.length));
    const arrays = trainReply.message.content?.get("arrays");
    assert.ok(arrays && arrays.kind === "array");
    const trained = arrayRecordToWeights(arrays, init);
    assert.notDeepEqual(trained[0].values, init[0].values, "training changed the weights");

    const em = evalReply.message.content?.get("metrics");
    assert.ok(em && em.kind === "metric");
    assert.equal(em.values.get("num-examples"), BigInt(participant.data.test.y.length));
    const acc = em.values.get("accuracy") as number;
    assert.ok(acc >= 0 && acc <= 1);

    assert.equal(bogus.message.content, undefined);
    assert.match(bogus.message.error?.reason ?? "", /handles "train" and "evaluate" messages, not "query.bogus"/);
    assert.equal(bogus.message.error?.code, 2);
    assert.match(badNpy.message.error?.reason ?? "", /array "head\/bias": not a .npy file|ArrayRecord lacks array/);
    assert.match(badHash.message.error?.reason ?? "", /malformed message: object [0-9a-f]{64}: content hashes to/);
    assert.equal(node.reports.length, 5);
    assert.ok(node.reports.every((r) => r.accepted));
    assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor leaks across messages");

    await node.stop();
    await running;
    assert.ok(link.calls.includes("DeactivateNode") && link.calls.includes("UnregisterNode"));
    assert.ok(link.calls.lastIndexOf("SendNodeHeartbeat") < link.calls.indexOf("DeactivateNode"));
  } finally {
    await node.stop();
    link.kill();
    participant.trainer.dispose();
  }
});

test("a SuperNode reports a lost SuperLink, re-joins it after a restart, and leaves cleanly", async () => {
  let link = new FakeSuperLink();
  const port = await link.start();
  const events: SuperNodeEvent[] = [];
  const node = new SuperNode({
    address: `127.0.0.1:${port}`, insecure: true, handler: () => new Map(), pollIntervalMs: 20, log: quiet,
    reconnect: { initialDelayMs: 100, maxDelayMs: 200, giveUpAfterMs: 300_000 }, onEvent: (e) => events.push(e),
  });
  const running = node.run();
  try {
    await until(() => events.some((e) => e.type === "connected"), "first connection");
    const first = node.nodeId;
    link.kill();
    await until(() => events.some((e) => e.type === "disconnected"), "disconnect report");
    const lost = events.find((e) => e.type === "disconnected");
    assert.ok(lost && lost.type === "disconnected");
    assert.match(lost.reason, new RegExp(`SuperLink at 127.0.0.1:${port} is unreachable`));
    link = new FakeSuperLink();
    await link.start(port);
    await until(() => events.filter((e) => e.type === "connected").length === 2, "re-connection");
    assert.notEqual(node.nodeId, undefined);
    assert.equal(first, 1000n);
    await node.stop();
    await running;
    assert.deepEqual(link.calls.slice(-2), ["DeactivateNode", "UnregisterNode"]);
    assert.equal(events[events.length - 1].type, "stopped");
  } finally {
    await node.stop();
    link.kill();
  }
});

test("a SuperNode gives up with a clear error when nothing listens, or when the SuperLink rejects it", async () => {
  const probe = new FakeSuperLink();
  const port = await probe.start();
  probe.kill(); // now nothing listens on `port`
  // The policy, not the clock: retries at 100 ms then 200 ms; the next wait (400 ms) would pass 500 ms, so it gives up
  // (on a loaded machine the attempts themselves take longer, so it may give up after fewer retries — never more).
  const retries: number[] = [];
  const node = new SuperNode({
    address: `127.0.0.1:${port}`, insecure: true, handler: () => new Map(), log: quiet, reconnect: { initialDelayMs: 100, giveUpAfterMs: 500 },
    onEvent: (e) => void (e.type === "disconnected" && retries.push(e.retryInMs)),
  });
  await assert.rejects(node.run(), new RegExp(`SuperLink at 127.0.0.1:${port} is unreachable .*UNAVAILABLE.*; gave up after`));
  assert.ok(retries.length >= 1 && retries.length <= 2, `retried after ${retries.join(", ")} ms`);
  assert.deepEqual(retries, [100, 200].slice(0, retries.length));

  const strict = new FakeSuperLink();
  strict.rejectRegistration = true;
  const p2 = await strict.start();
  const refused = new SuperNode({ address: `127.0.0.1:${p2}`, insecure: true, handler: () => new Map(), log: quiet });
  await assert.rejects(refused.run(), /the SuperLink at 127\.0\.0\.1:\d+ rejected the node: Fleet.RegisterNode failed: UNAUTHENTICATED "Public key not recognized"/);
  strict.kill();
  assert.throws(() => new SuperNode({ address: "127.0.0.1:1", handler: () => new Map(), heartbeatIntervalSeconds: 5, insecure: true }), /heartbeatIntervalSeconds must be in \[10, 1800\], got 5/);
  assert.throws(() => new SuperNode({ address: "127.0.0.1:1", handler: () => new Map() }), /rootCertificates for TLS, or insecure: true/);
});
