/** Issue 18: secure aggregation in the experiment config (`privacy.kind: "secure-aggregation"`) and a real `fedtune run` with it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildStrategy, ConfigError, configHelpText, parseExperimentConfig, runExperiment } from "../../lib/experiment/index";
import type { HistoryRow } from "../../lib/federation/history";
import { SecureAggregation } from "../../lib/privacy/index";

const base = { data: { kind: "partition", dataset: "digits", participants: 4, limit: 400, partitioner: { kind: "iid" } }, model: { kind: "mlp", hiddenUnits: [16] } };

function issueAt(raw: unknown, p: string): string {
  try {
    parseExperimentConfig(raw, "sa.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    const hit = e.issues.find((i) => i.path === p);
    assert.ok(hit, `no issue at ${p}; got ${JSON.stringify(e.issues)}`);
    return hit.message;
  }
  assert.fail("config was accepted");
}

test("privacy.kind secure-aggregation: defaults, and buildStrategy wraps the strategy with the chosen protocol and dropouts", () => {
  const c = parseExperimentConfig({ ...base, privacy: { kind: "secure-aggregation", threshold: 3 } });
  assert.deepEqual(c.privacy, { kind: "secure-aggregation", protocol: "bonawitz", threshold: 3, clipValue: 16, dropout: { advertiseKeys: 0, shareKeys: 0, maskedInput: 0, unmasking: 0 } });
  assert.equal(c.federation.onTooFewUpdates, "fail");
  const s = buildStrategy(c);
  assert.ok(s instanceof SecureAggregation);
  assert.equal(s.name, "SecureAggregation(FedAvg, t=3)");
  assert.equal(s.protocol.name, "bonawitz");
  const p = buildStrategy(
    parseExperimentConfig({ ...base, federation: { strategy: { name: "FedProx", options: { mu: 0.1 } } }, privacy: { kind: "secure-aggregation", protocol: "pairwise", threshold: 2, clipValue: 4, dropout: { maskedInput: 0.2 } } }),
  ) as SecureAggregation;
  assert.equal(p.name, `SecureAggregation(${p.inner.name}, t=2, pairwise)`);
  assert.equal(p.clipValue, 4);
  assert.deepEqual(p.dropout, { advertiseKeys: 0, shareKeys: 0, maskedInput: 0.2, unmasking: 0 });
});

test("secure-aggregation config errors name the field", () => {
  const sa = (o: object, extra: object = {}) => ({ ...base, ...extra, privacy: { kind: "secure-aggregation", ...o } });
  assert.match(issueAt(sa({}), "privacy.threshold"), /required/);
  assert.match(issueAt(sa({ threshold: 1 }), "privacy.threshold"), /≥ 2, got 1/);
  assert.match(issueAt(sa({ threshold: 5 }), "privacy.threshold"), /is 5 but there are only 4 participants/);
  assert.match(issueAt(sa({ threshold: 3 }, { federation: { sampling: { fraction: 0.5 } } }), "privacy.threshold"), /is 3 but only 2 of the 4 participants are sampled per round \(federation\.sampling\); every round would be refused/);
  assert.match(issueAt(sa({ threshold: 2, protocol: "bonawits" }), "privacy.protocol"), /"bonawits" is not allowed \(did you mean "bonawitz"\?\).*bonawitz, pairwise/);
  assert.match(issueAt(sa({ threshold: 2, dropout: { unmask: 0.1 } }), "privacy.dropout.unmask"), /unknown field; allowed fields of privacy\.dropout: advertiseKeys, shareKeys, maskedInput, unmasking/);
  assert.match(issueAt(sa({ threshold: 2, dropout: { shareKeys: 1.5 } }), "privacy.dropout.shareKeys"), /≤ 1, got 1\.5/);
  assert.match(issueAt(sa({ threshold: 2, protocol: "pairwise", dropout: { shareKeys: 0.1 } }), "privacy.dropout.shareKeys"), /is 0\.1, but the pairwise protocol has only the maskedInput step; use protocol "bonawitz"/);
  assert.match(issueAt(sa({ threshold: 2 }, { federation: { strategy: { name: "FedMedian" } } }), "federation.strategy.name"), /is "FedMedian", but privacy\.kind "secure-aggregation" needs a weighted mean \(FedAvg or FedProx, weighted\)/);
  assert.match(issueAt(sa({ threshold: 2 }, { federation: { strategy: { name: "FedAvg", options: { weighted: false } } } }), "federation.strategy.name"), /is "FedAvg" with weighted: false, but/);
  assert.match(issueAt(sa({ threshold: 2, noiseMultiplier: 1 }), "privacy.noiseMultiplier"), /unknown field/);
  assert.match(issueAt({ ...base, federation: { onTooFewUpdates: "continue" } }, "federation.onTooFewUpdates"), /allowed values: fail, skip/);
});

test("fedtune run --help documents the secure-aggregation fields", () => {
  const help = configHelpText();
  assert.match(help, /when privacy\.kind = "secure-aggregation":/);
  for (const f of ["privacy.protocol", "privacy.threshold", "privacy.clipValue", "privacy.dropout.advertiseKeys", "privacy.dropout.shareKeys", "privacy.dropout.maskedInput", "privacy.dropout.unmasking"]) {
    assert.ok(help.includes(f), `help lacks ${f}`);
  }
  assert.match(help, /federation\.onTooFewUpdates .*default "fail"/);
});

test("a real run with Bonawitz secure aggregation and dropouts at every step: server metrics per step, no update norms, refused rounds skipped, no leaks", async () => {
  await initBackend({ log: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-secagg-"));
  const before = tf.memory().numTensors;
  try {
    const config = parseExperimentConfig({
      ...base,
      name: "secagg",
      seed: 2,
      localPhase: { enabled: false },
      training: { learningRate: 0.05, batchSize: 16 },
      federation: { rounds: 4, onTooFewUpdates: "skip" },
      personalisation: { method: "none" },
      privacy: { kind: "secure-aggregation", threshold: 3, dropout: { advertiseKeys: 0.1, shareKeys: 0.1, maskedInput: 0.1, unmasking: 0.1 } },
    });
    const r = await runExperiment(config, { outDir: path.join(dir, "run"), report: false });
    const rows = r.history.objects() as HistoryRow[];
    const server = (metric: string) => rows.filter((x) => x.participant === "server" && x.metric === metric).map((x) => x.value);
    assert.deepEqual(server("secureAggregation"), [1, 1, 1, 1]);
    for (const m of ["droppedAtAdvertiseKeys", "droppedAtShareKeys", "droppedAfterMasking", "droppedAtUnmasking"]) assert.equal(server(m).length, 4, m);
    assert.ok(!rows.some((x) => x.metric === "updateNorm"), "the server saw no single update");
    const refused = server("secureAggregationRefused").length;
    assert.equal(server("skipped").reduce((a, b) => a + b, 0), refused, "only refused rounds are skipped");
    const globalAcc = server("globalAccuracy");
    assert.ok(globalAcc[globalAcc.length - 1] > globalAcc[0] + 0.1, `the model learns under secure aggregation: ${globalAcc.join(", ")}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});
