/**
 * fedtune's own ServerApp (flower/fedtune_app) driving three TypeScript SuperNodes on a REAL
 * Flower 1.23 SuperLink, on a label-skewed split (digits, 4 single-label shards per node):
 * - FedPer and Ditto, chosen by the ServerApp's config record, 3 rounds each: the personal models
 *   beat the global one; FedPer nodes send only the body and the ServerApp aggregates it by name;
 * - a config record the nodes do not understand: every node answers with an error reply naming
 *   the key, the run still completes and the nodes stay connected;
 * - client-side DP clipping: every reply's update norm ≤ the clip norm, and the replies say so.
 * Skipped, with how to enable it, where flwr is absent.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { decodeNpz, encodeNpz, loadParticipant, parseParticipantConfig, personalisedHandler, SuperNode } from "../../lib/flower/index";
import type { FlowerParticipant, PersonalisedTrainRecord } from "../../lib/flower/index";
import { findFlowerKit, freeSuperLinkPorts, KitSuperLink } from "../../scripts/flower/kit";

const found = findFlowerKit();
const skip = "skip" in found ? `Flower integration skipped: ${found.skip}` : false;
const NODES = 3;
const APP = path.resolve(__dirname, "../../flower/fedtune_app");

interface History {
  rounds: { round: number; train: Record<string, number>; evaluate: Record<string, number>; central: Record<string, number> }[];
  replies: { round: number; step: string; node: number; metrics?: Record<string, number>; error?: string; arrays?: string[] }[];
  "train-config": Record<string, unknown>;
}

let work = "";
let link: KitSuperLink;
let participants: FlowerParticipant[] = [];
let nodes: SuperNode[] = [];
let running: Promise<void>[] = [];
const trains: PersonalisedTrainRecord[][] = [];

before(async () => {
  if (skip) return;
  await tf.setBackend("cpu");
  const kit = (found as { kit: string }).kit;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-flower-app-"));
  link = new KitSuperLink(kit, path.join(work, "superlink"), await freeSuperLinkPorts());
  participants = Array.from({ length: NODES }, (_, i) =>
    loadParticipant(parseParticipantConfig({
      id: `clinic-${i + 1}`, dataset: "digits", partition: { kind: "shard", shardsPerParticipant: 4 }, participantIndex: i, numParticipants: NODES, seed: 21,
      model: { kind: "mlp", hiddenUnits: [32], seed: 5 }, training: { epochs: 2, batchSize: 32, learningRate: 0.05, momentum: 0.9, earlyStoppingPatience: 0 },
    })),
  );
  fs.writeFileSync(path.join(work, "init.npz"), encodeNpz(participants[0].initialWeights));
  nodes = participants.map((p, i) => {
    trains.push([]);
    return new SuperNode({
      address: link.fleetAddress, insecure: true, heartbeatIntervalSeconds: 120, pollIntervalMs: 100, log: () => undefined,
      reconnect: { initialDelayMs: 500, maxDelayMs: 2000, giveUpAfterMs: 300_000 },
      handler: personalisedHandler(p, { onTrain: (r) => trains[i].push(r) }),
    });
  });
  await link.start();
  running = nodes.map((n) => n.run());
});

after(async () => {
  if (skip) return;
  await Promise.all(nodes.map((n) => n.stop()));
  await Promise.allSettled(running);
  await link.stop().catch(() => undefined);
  participants.forEach((p) => p.trainer.dispose());
  if (!process.env.KEEP_FLOWER_TEST) fs.rmSync(work, { recursive: true, force: true });
});

/** Run fedtune_app with `config`; returns its history and timing and bytes per node per round. */
async function runApp(name: string, rounds: number, config: Record<string, string | number | boolean>): Promise<{ history: History; secondsPerRound: number; bytesPerNodeRound: number }> {
  const reports0 = nodes.map((n) => n.reports.length);
  const t0 = Date.now();
  const run = await link.startRun(APP, {
    "num-server-rounds": rounds, "min-nodes": NODES, "round-timeout": 300,
    "initial-arrays": path.join(work, "init.npz"), "final-arrays": path.join(work, `${name}.npz`), "history-json": path.join(work, `${name}.json`),
    ...config,
  }, 110);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(run.code, 0, `run ${name} failed: ${run.stderr}\n--- superlink.log\n${link.logTail(40)}`);
  const history = JSON.parse(fs.readFileSync(path.join(work, `${name}.json`), "utf8")) as History;
  const reports = nodes.flatMap((n, i) => n.reports.slice(reports0[i]));
  const bytes = reports.reduce((s, r) => s + r.bytesPulled + r.bytesPushed, 0);
  return { history, secondsPerRound: seconds / rounds, bytesPerNodeRound: bytes / NODES / rounds };
}

for (const method of ["fedper", "ditto"] as const) {
  test(`fedtune_app + 3 TypeScript SuperNodes: ${method} for 3 rounds, personal accuracy above the global model's`, { skip, timeout: 600_000 }, async (t) => {
    const before = trains.map((x) => x.length);
    const { history, secondsPerRound, bytesPerNodeRound } = await runApp(method, 3, { personalisation: method, lr: 0.05, "local-epochs": 2 });
    assert.equal(history.rounds.length, 3);
    assert.deepEqual(history.replies.filter((r) => r.error), [], "no error replies");
    const last = history.rounds[2].evaluate;
    t.diagnostic(
      `${method}: 3 rounds, ${secondsPerRound.toFixed(2)} s/round, ${(bytesPerNodeRound / 1024).toFixed(1)} KiB per node per round; ` +
        `accuracy per round global ${history.rounds.map((r) => r.evaluate.accuracy.toFixed(3)).join("/")}, personal ${history.rounds.map((r) => r.evaluate["personal-accuracy"].toFixed(3)).join("/")}`,
    );
    assert.ok(last["personal-accuracy"] > last.accuracy + 0.05, `personal ${last["personal-accuracy"]} > global ${last.accuracy}`);
    const sent = trains.map((x, i) => x.slice(before[i]));
    for (const s of sent) {
      assert.equal(s.length, 3);
      assert.equal(s[0].settings.personalisation.method, method, "the method came from the ServerApp's config record");
    }
    const trainReplies = history.replies.filter((r) => r.step === "train");
    if (method === "fedper") {
      for (const r of trainReplies) assert.deepEqual(r.arrays, ["hidden_1/kernel", "hidden_1/bias"], "FedPer sends the body only");
      // The ServerApp's global head is never trained (nobody sends it); its body is the weighted mean of the bodies sent.
      const final = decodeNpz(fs.readFileSync(path.join(work, "fedper.npz")));
      const init = participants[0].initialWeights;
      assert.deepEqual([...(final.get("head/kernel")?.values ?? [])], [...init[2].values]);
      const bodies = sent.map((s) => ({ w: s[2].sent[0].values, n: s[2].numExamples }));
      const total = bodies.reduce((a, b) => a + b.n, 0);
      const k = final.get("hidden_1/kernel")?.values as Float32Array;
      for (const j of [0, 17, 1000, k.length - 1]) {
        const expected = bodies.reduce((a, b) => a + (b.n / total) * b.w[j], 0);
        assert.ok(Math.abs(k[j] - expected) < 1e-6, `hidden_1/kernel[${j}]: ${k[j]} vs ${expected}`);
      }
    } else {
      for (const r of trainReplies) assert.equal(r.arrays?.length, 4, "Ditto sends the whole global model");
    }
  });
}

test("fedtune_app: a config key or method the nodes do not know is an error reply naming it; the nodes stay connected", { skip, timeout: 600_000 }, async () => {
  const nodeIds = nodes.map((n) => n.nodeId);
  const { history } = await runApp("bad-config", 1, { "extra-config": "learning_rate=0.1" });
  const train = history.replies.filter((r) => r.step === "train");
  assert.equal(train.length, NODES);
  for (const r of train) assert.match(r.error ?? "", /"learning_rate" unknown to fedtune's node/);
  const bad = await runApp("bad-method", 1, { personalisation: "fedsgd", "federated-evaluate": false });
  for (const r of bad.history.replies) assert.match(r.error ?? "", /"fedsgd" is not a fedtune method/);
  assert.deepEqual(nodes.map((n) => n.nodeId), nodeIds, "same node ids: nobody reconnected");
});

test("fedtune_app: client-side DP clipping — every reply's update norm ≤ the clip norm, and the replies say so; central evaluation", { skip, timeout: 600_000 }, async (t) => {
  const clip = 0.5;
  const before = trains.map((x) => x.length);
  // The central test set: every node's test split (the ServerApp evaluates the global MLP on it with numpy).
  const tests = participants.map((p) => p.data.test);
  const x = new Float32Array(tests.reduce((n, d) => n + d.x.length, 0));
  const y = new Float32Array(tests.reduce((n, d) => n + d.y.length, 0));
  tests.reduce((o, d) => (x.set(d.x, o), o + d.x.length), 0);
  tests.reduce((o, d) => (y.set(d.y, o), o + d.y.length), 0);
  const central = { ...tests[0], name: "central", x, y: Int32Array.from(y) };
  fs.writeFileSync(path.join(work, "central.npz"), encodeNpz([{ name: "x", shape: [y.length, ...tests[0].sampleShape], values: x }, { name: "y", shape: [y.length], values: y }]));
  const { history, secondsPerRound, bytesPerNodeRound } = await runApp("dp", 2, { "clip-norm": clip, lr: 0.05, "central-test-set": path.join(work, "central.npz") });
  const final = decodeNpz(fs.readFileSync(path.join(work, "dp.npz")));
  const finalWeights = participants[0].initialWeights.map((w) => ({ ...w, values: final.get(w.name)?.values as Float32Array }));
  const e = participants[0].trainer.evaluate(finalWeights, central);
  const c = history.rounds[1].central;
  assert.equal(c["num-examples"], y.length);
  assert.ok(Math.abs(c.accuracy - e.accuracy) < 1e-9, `central accuracy (numpy) ${c.accuracy} = fedtune's ${e.accuracy}`);
  assert.ok(Math.abs(c.loss - e.loss) < 1e-4, `central loss (numpy) ${c.loss} ≈ fedtune's ${e.loss}`);
  const replies = history.replies.filter((r) => r.step === "train");
  assert.equal(replies.length, 2 * NODES);
  for (const r of replies) {
    assert.equal(r.metrics?.["clip-norm"], clip);
    assert.ok((r.metrics?.["update-norm"] ?? Infinity) <= clip * (1 + 1e-6), `reply update norm ${r.metrics?.["update-norm"]} ≤ ${clip}`);
  }
  assert.ok(replies.some((r) => r.metrics?.clipped === 1), "at least one update had to be clipped at this norm");
  // Recompute each sent update's norm from the arrays themselves.
  for (const s of trains.flatMap((x, i) => x.slice(before[i]))) {
    let sq = 0;
    s.sent.forEach((w, i) => w.values.forEach((v, k) => (sq += (v - s.global[i].values[k]) ** 2)));
    assert.ok(Math.sqrt(sq) <= clip * (1 + 1e-6), `sent update norm ${Math.sqrt(sq)}`);
  }
  t.diagnostic(`dp clip ${clip}: 2 rounds, ${secondsPerRound.toFixed(2)} s/round, ${(bytesPerNodeRound / 1024).toFixed(1)} KiB/node/round; update norms ${replies.map((r) => r.metrics?.["update-norm"]?.toFixed(3)).join(", ")}; accuracy ${history.rounds.map((r) => r.evaluate.accuracy.toFixed(3)).join("/")}`);
});
