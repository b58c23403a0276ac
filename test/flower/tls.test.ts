/**
 * A REAL Flower 1.23 SuperLink over TLS (certificates made with openssl here): TypeScript
 * SuperNodes complete a run; a node that does not trust the certificate fails fast naming the
 * certificate problem; a plain-text node is told to pass --root-certificates; no DEP0123 warning
 * (IP address as TLS server name). Skipped, with how to enable it, where flwr is absent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { encodeNpz, loadParticipant, parseParticipantConfig, personalisedHandler, SuperNode } from "../../lib/flower/index";
import type { SuperNodeOptions } from "../../lib/flower/index";
import { findFlowerKit, freeSuperLinkPorts, KitSuperLink } from "../../scripts/flower/kit";
import { makeTestCertificates } from "./certificates";

const found = findFlowerKit();
const skip = "skip" in found ? `Flower TLS integration skipped: ${found.skip}` : false;

/** Run a node that must fail; resolves to its error, how long it took and how often it retried. */
async function failure(options: SuperNodeOptions): Promise<{ message: string; ms: number; retries: number }> {
  let retries = 0;
  const node = new SuperNode({ ...options, onEvent: (e) => void (e.type === "disconnected" && retries++) });
  const t0 = Date.now();
  try {
    await node.run();
  } catch (e) {
    return { message: (e as Error).message, ms: Date.now() - t0, retries };
  }
  throw new Error("the node was expected to fail");
}

test("TypeScript SuperNodes over TLS: a run completes; untrusted or plain connections fail fast and say why", { skip, timeout: 600_000 }, async (t) => {
  await tf.setBackend("cpu");
  const kit = (found as { kit: string }).kit;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-flower-tls-"));
  const certs = makeTestCertificates(path.join(work, "certs"));
  const link = new KitSuperLink(kit, path.join(work, "superlink"), await freeSuperLinkPorts(), { caCertFile: certs.caCert, certFile: certs.serverCert, keyFile: certs.serverKey });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on("warning", onWarning);
  const participants = [0, 1].map((i) =>
    loadParticipant(parseParticipantConfig({
      id: `site-${i + 1}`, dataset: "breast-cancer", participantIndex: i, numParticipants: 2, seed: 4,
      model: { kind: "mlp", hiddenUnits: [8], seed: 2 }, training: { epochs: 2, batchSize: 32, earlyStoppingPatience: 0 },
    })),
  );
  const log = (line: string): void => t.diagnostic(line);
  const common = { address: link.fleetAddress, heartbeatIntervalSeconds: 60, pollIntervalMs: 100, log, reconnect: { initialDelayMs: 500, giveUpAfterMs: 300_000 } };
  const nodes = participants.map((p) => new SuperNode({ ...common, rootCertificates: fs.readFileSync(certs.caCert), handler: personalisedHandler(p) }));
  const running: Promise<void>[] = [];
  try {
    await link.start();

    // Untrusted CA: fails at the first attempt (not retried for the 5 minutes the policy allows), naming the certificate problem.
    const untrusted = await failure({ ...common, rootCertificates: fs.readFileSync(certs.otherCaCert), handler: () => new Map() });
    t.diagnostic(`untrusted certificate, after ${untrusted.ms} ms: ${untrusted.message}`);
    assert.match(untrusted.message, /certificate/);
    assert.match(untrusted.message, /self-signed certificate in certificate chain|unable to (get|verify)/);
    assert.doesNotMatch(untrusted.message, /unreachable/);
    assert.equal(untrusted.retries, 0, `retried ${untrusted.retries} times`);

    // Plain text against the TLS SuperLink: the hint names --root-certificates.
    const plain = await failure({ ...common, insecure: true, handler: () => new Map() });
    t.diagnostic(`plain connection, after ${plain.ms} ms: ${plain.message}`);
    assert.match(plain.message, /speaks TLS/);
    assert.match(plain.message, /--root-certificates/);
    assert.equal(plain.retries, 0, `retried ${plain.retries} times`);

    // The real run over TLS (Fleet and Control API both TLS).
    nodes.forEach((n) => running.push(n.run()));
    fs.writeFileSync(path.join(work, "init.npz"), encodeNpz(participants[0].initialWeights));
    const run = await link.startRun(path.join(kit, "apps/fedavg"), {
      "num-server-rounds": 2, "min-nodes": 2, lr: 0.05, "round-timeout": 300,
      "initial-arrays": path.join(work, "init.npz"), "final-arrays": path.join(work, "final.npz"), "history-json": path.join(work, "history.json"),
    }, 90);
    assert.equal(run.code, 0, `TLS run failed: ${run.stderr}\n--- superlink.log\n${link.logTail()}`);
    const history = JSON.parse(fs.readFileSync(path.join(work, "history.json"), "utf8")) as { rounds: { evaluate: { accuracy: number } }[] };
    assert.equal(history.rounds.length, 2);
    assert.ok(history.rounds[1].evaluate.accuracy > 0.5, `accuracy over TLS ${history.rounds[1].evaluate.accuracy}`);
    for (const n of nodes) assert.equal(n.reports.filter((r) => r.accepted && !r.error).length, 4, "2 train + 2 evaluate replies per node");
    assert.deepEqual(warnings.filter((w) => /DEP0123|TLS ServerName/.test(w)), [], "no warning about an IP address as TLS server name");
  } finally {
    process.off("warning", onWarning);
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.allSettled(running);
    await link.stop().catch(() => undefined);
    participants.forEach((p) => p.trainer.dispose());
    if (!process.env.KEEP_FLOWER_TEST) fs.rmSync(work, { recursive: true, force: true });
  }
});
