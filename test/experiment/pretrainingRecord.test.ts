// The runner reads a pretrained body's pretraining.json with the one reader (lib/model/pretrainingInfo):
// a record that is there but wrong stops the run before anything is written, naming file and field.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseExperimentConfig, runExperiment } from "../../lib/experiment/index";
import { PRETRAINED_CNN_DIR } from "../../lib/scenario/documentScenario";

test("a malformed pretraining.json beside a pretrained model is an error naming the file and the field; no run folder is left", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-body-record-"));
  try {
    const model = path.join(dir, "model");
    fs.cpSync(PRETRAINED_CNN_DIR, model, { recursive: true });
    const file = path.join(model, "pretraining.json");
    const good = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...good, seconds: "fast" }));
    const config = parseExperimentConfig({ name: "bad-body", model: { kind: "pretrained", path: model }, federation: { rounds: 1 } });
    const outDir = path.join(dir, "run");
    await assert.rejects(runExperiment(config, { outDir }), (e: Error) => e.message.includes(file) && /field "seconds" must be a number, got "fast"/.test(e.message));
    assert.equal(fs.existsSync(outDir), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
