import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { serialFitExecutor } from "../../lib/federation/executor";
import { createWorkerPool } from "../../lib/parallel/workerPoolFitExecutor";
import { withFaults } from "../../lib/federation/faults";
import { faultyThroughExecutor, goldenHash } from "./golden/cases";

const recorded = JSON.parse(fs.readFileSync(path.join(__dirname, "golden", "hashes.json"), "utf8")) as Record<string, string>;

test("fault injection as an executor wrapper gives the faulty participants' recorded history, serially and on a worker pool", async () => {
  await initBackend({ log: false });
  assert.equal(goldenHash(await faultyThroughExecutor(serialFitExecutor)), recorded.faulty, "serial");
  const pool = createWorkerPool({ size: 2 });
  try {
    assert.equal(goldenHash(await faultyThroughExecutor(pool)), recorded.faulty, "worker pool: the faults are no longer bypassed");
  } finally {
    await pool.dispose();
  }
});

test("withFaults names a bad fault kind and the participant", () => {
  assert.throws(() => withFaults(serialFitExecutor, { p0: { kind: "explode" as "nan" } }), /fault of participant p0: kind must be one of throw, nan/);
});
