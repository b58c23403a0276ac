/** The Flower participant config is checked by the experiment's zod pieces: same defaults, errors naming the file and the field. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseParticipantConfig, readParticipantConfig } from "../../lib/flower/participantConfig";
import { ConfigError } from "../../lib/experiment/configError";
import { documentExperimentConfig } from "../../lib/experiment/experimentConfig";
import { LOCAL_TRAINING_DEFAULTS } from "../../lib/federation/localTrainingDefaults";

const minimal = { id: "clinic-1", dataset: "digits", participantIndex: 0, numParticipants: 3, seed: 21, model: { kind: "mlp", hiddenUnits: [16] } };

test("participant config: defaults are the experiment schema's (LOCAL_TRAINING_DEFAULTS, partition iid, fractions 0.1/0.2, method none)", () => {
  const c = parseParticipantConfig(minimal);
  assert.deepEqual(c.training, documentExperimentConfig().training);
  assert.equal(c.training.learningRate, LOCAL_TRAINING_DEFAULTS.learningRate);
  assert.equal(c.training.epochs, LOCAL_TRAINING_DEFAULTS.epochs);
  assert.equal(c.training.earlyStoppingPatience, LOCAL_TRAINING_DEFAULTS.earlyStoppingPatience);
  assert.deepEqual(c.partition, { kind: "iid" });
  assert.equal(c.validationFraction, 0.1);
  assert.equal(c.testFraction, 0.2);
  assert.equal(c.personalisation, undefined);
  assert.deepEqual(c.model, { kind: "mlp", hiddenUnits: [16], activation: "relu", batchNorm: false, seed: 0 });
});

test("participant config: a bad field's error names the file and the field, with what was wrong", () => {
  const bad = (patch: object, re: RegExp): void => {
    assert.throws(() => parseParticipantConfig({ ...minimal, ...patch }, "clinic-1.json"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^invalid participant config clinic-1\.json:\n/);
      assert.match(e.message, re);
      return true;
    });
  };
  bad({ training: { learningRate: -0.1 } }, /  - training\.learningRate: must be > 0, got -0\.1/);
  bad({ training: { patience: 2 } }, /  - training\.patience: unknown field; allowed fields of training: .*earlyStoppingPatience/);
  bad({ dataset: "digit" }, /  - dataset: "digit" is not allowed \(did you mean "digits"\?\)/);
  bad({ participantIndex: 3 }, /  - participantIndex: must be < numParticipants \(3\), got 3/);
  bad({ partition: { kind: "dirichlet" } }, /  - partition\.alpha: is required/);
  bad({ model: { kind: "pretrained" } }, /  - model\.kind: "pretrained" is not allowed; allowed values: mlp, cnn/);
  bad({ personalisation: { method: "fedper", headLayers: 0 } }, /  - personalisation\.headLayers: must be ≥ 1, got 0/);
  const { id: _id, ...noId } = minimal;
  assert.throws(() => parseParticipantConfig(noId, "x.json"), /invalid participant config x\.json:\n  - id: is required/);
});

test("participant config files: unreadable, not JSON, or invalid: the error names the file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-pc-"));
  try {
    const file = path.join(dir, "p.json");
    assert.throws(() => readParticipantConfig(file), new RegExp(`participant config ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: cannot read it`));
    fs.writeFileSync(file, "{ nope");
    assert.throws(() => readParticipantConfig(file), /: not valid JSON/);
    fs.writeFileSync(file, JSON.stringify({ ...minimal, seed: -1 }));
    assert.throws(() => readParticipantConfig(file), /invalid participant config .*p\.json:\n  - seed: must be ≥ 0, got -1/);
    for (const example of ["clinic-1", "clinic-2", "clinic-3"]) readParticipantConfig(path.join(__dirname, "..", "..", "examples", "flower", `${example}.json`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
