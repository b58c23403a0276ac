/**
 * fedtune participants as SuperNodes of a REAL Flower 1.23 SuperLink running the kit's FedAvg
 * ServerApp (../shared/flower/apps/fedavg). Skipped, with how to enable it, where flwr is absent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { weightedAverage } from "../../lib/federation/aggregate";
import type { ModelWeights } from "../../lib/model/weights";
import { decodeNpz, encodeNpz, loadParticipant, parseParticipantConfig, personalisedHandler, SuperNode } from "../../lib/flower/index";
import type { FlowerParticipant, SuperNodeEvent } from "../../lib/flower/index";
import { findFlowerKit, freeSuperLinkPorts, KitSuperLink } from "../../scripts/flower/kit";
import { until } from "../until";

const found = findFlowerKit();
const skip = "skip" in found ? `Flower integration skipped: ${found.skip}` : false;
const ROUNDS = 3;
const NODES = 3;


/** Weighted test accuracy of `weights` over all participants' local test splits. */
function federatedAccuracy(participants: readonly FlowerParticipant[], weights: ModelWeights): number {
  let correct = 0;
  let n = 0;
  for (const p of participants) {
    const e = p.trainer.evaluate(weights, p.data.test);
    correct += e.accuracy * e.numExamples;
    n += e.numExamples;
  }
  return correct / n;
}

test("three fedtune SuperNodes run FedAvg with a real Flower SuperLink", { skip, timeout: 900_000 }, async (t) => {
  await tf.setBackend("cpu");
  const kit = (found as { kit: string }).kit;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-flower-"));
  const link = new KitSuperLink(kit, path.join(work, "superlink"), await freeSuperLinkPorts());
  const participants = Array.from({ length: NODES }, (_, i) =>
    loadParticipant(
      parseParticipantConfig({
        id: `hospital-${i + 1}`, dataset: "digits", partition: { kind: "dirichlet", alpha: 1 }, participantIndex: i, numParticipants: NODES, seed: 11,
        model: { kind: "mlp", hiddenUnits: [32], seed: 5 }, training: { epochs: 3, batchSize: 32, momentum: 0.9, earlyStoppingPatience: 1 },
      }),
    ),
  );
  // What each participant sent in each round, to recompute FedAvg with fedtune's own arithmetic.
  const sent = participants.map(() => new Map<number, { weights: ModelWeights; numExamples: number }>());
  const events: SuperNodeEvent[][] = participants.map(() => []);
  const nodes = participants.map(
    (p, i) =>
      new SuperNode({
        address: link.fleetAddress, insecure: true, heartbeatIntervalSeconds: 120, pollIntervalMs: 100,
        reconnect: { initialDelayMs: 500, maxDelayMs: 2000, giveUpAfterMs: 300_000 },
        handler: personalisedHandler(p, { onTrain: (r) => sent[i].set(r.serverRound, { weights: r.sent, numExamples: r.numExamples }) }),
        log: (line) => events[i].length < 1000 && t.diagnostic(`${p.config.id}: ${line}`),
        onEvent: (e) => events[i].push(e),
      }),
  );
  const running: Promise<void>[] = [];
  try {
    await link.start();
    nodes.forEach((n) => running.push(n.run()));
    const initial = participants[0].initialWeights;
    fs.writeFileSync(path.join(work, "init.npz"), encodeNpz(initial));
    const t0 = Date.now();
    const run = await link.startRun(path.join(kit, "apps/fedavg"), {
      "num-server-rounds": ROUNDS, "min-nodes": NODES, lr: 0.05, "round-timeout": 300,
      "initial-arrays": path.join(work, "init.npz"), "final-arrays": path.join(work, "final.npz"), "history-json": path.join(work, "history.json"),
    }, 180);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(run.code, 0, `run failed: ${run.stderr}\n--- superlink.log\n${link.logTail()}`);

    // Final global weights = fedtune's weightedAverage of the last round's updates (flwr sums in float32).
    const final = decodeNpz(fs.readFileSync(path.join(work, "final.npz")));
    const expected = weightedAverage(sent.map((s, i) => ({ ...(s.get(ROUNDS) as { weights: ModelWeights; numExamples: number }), participantId: `hospital-${i + 1}` })));
    assert.deepEqual([...final.keys()], initial.map((w) => w.name));
    let maxDiff = 0;
    for (const w of expected) {
      const got = final.get(w.name);
      assert.ok(got && got.values instanceof Float32Array, `final array ${w.name} is float32`);
      assert.deepEqual(got.shape, w.shape);
      for (let k = 0; k < w.values.length; k++) {
        const d = Math.abs(got.values[k] - w.values[k]);
        maxDiff = Math.max(maxDiff, d);
        assert.ok(d <= 1e-6 * Math.max(1, Math.abs(w.values[k])), `${w.name}[${k}]: flwr ${got.values[k]}, fedtune ${w.values[k]}`);
      }
    }
    const finalWeights: ModelWeights = expected.map((w) => ({ ...w, values: (final.get(w.name) as { values: Float32Array }).values }));
    const before = federatedAccuracy(participants, initial);
    const after = federatedAccuracy(participants, finalWeights);
    const history = JSON.parse(fs.readFileSync(path.join(work, "history.json"), "utf8")) as { rounds: { round: number; evaluate: { accuracy: number; loss: number } }[] };
    const acc = history.rounds.map((r) => r.evaluate.accuracy);
    assert.ok(after > before + 0.3, `accuracy must improve: ${before.toFixed(3)} → ${after.toFixed(3)}`);
    assert.ok(acc[ROUNDS - 1] >= acc[0], `federated evaluate accuracy per round ${acc}`);
    assert.ok(Math.abs(acc[ROUNDS - 1] - after) < 1e-6, `history accuracy ${acc[ROUNDS - 1]} = accuracy of the final weights ${after}`);

    const trainReports = nodes[0].reports.filter((r) => r.messageType === "train");
    const evalReports = nodes[0].reports.filter((r) => r.messageType === "evaluate");
    t.diagnostic(`run of ${ROUNDS} rounds × ${NODES} TypeScript SuperNodes: ${seconds.toFixed(1)} s (${(seconds / ROUNDS).toFixed(2)} s/round)`);
    t.diagnostic(`max |flwr FedAvg − fedtune weightedAverage| = ${maxDiff.toExponential(2)}; accuracy ${before.toFixed(3)} → ${after.toFixed(3)}; per round ${acc.map((a) => a.toFixed(3)).join(", ")}`);
    t.diagnostic(
      `hospital-1 per round: train ${trainReports[0].bytesPulled} B in / ${trainReports[0].bytesPushed} B out, evaluate ${evalReports[0].bytesPulled} B in / ${evalReports[0].bytesPushed} B out, ` +
        `gRPC payload ${trainReports[0].grpcBytes + evalReports[0].grpcBytes} B; train handler ${trainReports.map((r) => r.handlerSeconds.toFixed(2)).join("/")} s, total ${trainReports.map((r) => r.totalSeconds.toFixed(2)).join("/")} s`,
    );

    // The SuperLink dies in the middle of a run: every participant reports it, re-joins the restarted SuperLink, then leaves cleanly.
    const longRun = await link.startRun(path.join(kit, "apps/fedavg"), {
      "num-server-rounds": 100, "min-nodes": NODES, lr: 0.05,
      "initial-arrays": path.join(work, "init.npz"), "final-arrays": path.join(work, "final2.npz"), "history-json": path.join(work, "history2.json"),
    });
    assert.equal(longRun.code, 0, longRun.stderr);
    const handled = nodes.map((n) => n.reports.length);
    await until(() => nodes.every((n, i) => n.reports.length > handled[i]), "a message of the second run on every node", 300_000);
    await link.stop();
    await until(() => events.every((ev) => ev.some((e) => e.type === "disconnected")), "every node to report the lost SuperLink");
    for (const ev of events) {
      const lost = ev.find((e) => e.type === "disconnected");
      assert.ok(lost && lost.type === "disconnected" && /unreachable|no longer knows/.test(lost.reason), JSON.stringify(lost));
    }
    const connectedBefore = events.map((ev) => ev.filter((e) => e.type === "connected").length);
    await link.start();
    await until(() => events.every((ev, i) => ev.filter((e) => e.type === "connected").length > connectedBefore[i]), "every node to re-join");
    t.diagnostic(`after the SuperLink restart: nodes ${nodes.map((n) => n.nodeId).join(", ")} re-joined`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.allSettled(running);
    await link.stop().catch(() => undefined);
    participants.forEach((p) => p.trainer.dispose());
    if (!process.env.KEEP_FLOWER_TEST) fs.rmSync(work, { recursive: true, force: true });
  }
  for (const ev of events) assert.equal(ev[ev.length - 1].type, "stopped");
});
