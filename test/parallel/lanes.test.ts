import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runInLanes } from "../../lib/parallel/lanes";
import { parseExperimentConfig, runRepetitions } from "../../lib/experiment/index";

/** A promise resolved by hand, to order the jobs exactly. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test("runInLanes: results in job order; a lane takes the next job as soon as its own is done", async () => {
  const gates = Array.from({ length: 5 }, gate);
  const started: Array<[number, number]> = [];
  const run = runInLanes(5, 2, async (lane, i) => {
    started.push([lane, i]);
    await gates[i].promise;
    return i * 10;
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [[0, 0], [1, 1]]);
  gates[1].open(); // lane 1 is free first: it takes job 2 while lane 0 still works on job 0
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [[0, 0], [1, 1], [1, 2]]);
  gates[0].open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started.slice(3), [[0, 3]]);
  for (const g of gates) g.open();
  assert.deepEqual(await run, [0, 10, 20, 30, 40]);
  assert.deepEqual(await runInLanes(2, 8, async (_l, i) => i), [0, 1], "more lanes than jobs");
  assert.deepEqual(await runInLanes(0, 2, async () => 1), []);
  await assert.rejects(runInLanes(1, 0, async () => 1), /lanes must be an integer ≥ 1, got 0/);
});

test("runInLanes: the first failure rejects at once and no lane starts another job", async () => {
  const g = gate();
  const started: number[] = [];
  const run = runInLanes(6, 2, async (_lane, i) => {
    started.push(i);
    if (i === 0) throw new Error("job 0 broke");
    await g.promise;
    return i;
  });
  await assert.rejects(run, /job 0 broke/);
  g.open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1], "job 1 was running; nothing started after the failure");
});

test("runRepetitions on worker threads: a failing repetition stops the set with an error naming its seed", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-lanes-"));
  try {
    const bad = parseExperimentConfig({ name: "fails", seeds: [1, 2, 3], model: { kind: "pretrained", path: path.join(dir, "no-such-model") } });
    await assert.rejects(runRepetitions(bad, { outDir: path.join(dir, "set"), jobs: 2, report: false }), /^Error: repetition with seed [12]: .*no-such-model/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
