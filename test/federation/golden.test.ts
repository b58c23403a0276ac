import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { GOLDEN_CASES, goldenHash } from "./golden/cases";

const recorded = JSON.parse(fs.readFileSync(path.join(__dirname, "golden", "hashes.json"), "utf8")) as Record<string, string>;

test("every golden case has a recorded hash", () => {
  assert.deepEqual(Object.keys(GOLDEN_CASES).sort(), Object.keys(recorded).sort());
});

for (const [name, run] of Object.entries(GOLDEN_CASES)) {
  test(`golden: ${name} gives the recorded history and weights, bit for bit`, async () => {
    await initBackend({ log: false });
    const before = tf.memory().numTensors;
    const out = await run();
    assert.ok(out.rows.length > 0, "the case produced history rows");
    assert.equal(goldenHash(out), recorded[name], `${name}: history or weights differ from the recording`);
    assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  });
}
