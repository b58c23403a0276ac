import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import { createParticipants, FedAvg, historyTable, runFederation, sampleDeviceProfiles, type HistoryRow } from "../../lib/federation/index";
import { concatRuns, labelledRuns, labelRun, serverMetric, serverMetricAt, simulatedTimeline } from "../../lib/analysis/index";
import { blobParticipant } from "../model/fixtures";

const server = (round: number, metric: string, value: number): HistoryRow => ({ round, participant: "server", scope: "server", metric, value });
const run1 = historyTable([
  server(0, "globalAccuracy", 0.2),
  server(1, "simulatedSeconds", 3), server(1, "globalAccuracy", 0.5),
  server(2, "simulatedSeconds", 2), // round 2 not evaluated (evaluation every 3 rounds, say)
  server(3, "simulatedSeconds", 4), server(3, "globalAccuracy", 0.7),
  { round: 1, participant: "p", scope: "global", metric: "accuracy", value: 0.4 },
]);
const run2 = historyTable([server(0, "globalAccuracy", 0.1), server(1, "simulatedSeconds", 10), server(1, "globalAccuracy", 0.3)]);

test("labelRun adds constant columns; concatRuns stacks tables with the same columns", () => {
  const a = labelRun(run1, { method: "FedAvg", seed: 1 });
  assert.deepEqual(a.columnNames(), ["round", "participant", "scope", "metric", "value", "method", "seed"]);
  assert.deepEqual([...new Set(a.array("method"))], ["FedAvg"]);
  assert.deepEqual([...new Set(a.array("seed"))], [1]);
  const both = concatRuns([a, labelRun(run2, { seed: 2, method: "FedProx" })]);
  assert.equal(both.numRows(), run1.numRows() + run2.numRows());
  assert.deepEqual(both.columnNames(), a.columnNames());
  assert.deepEqual(labelledRuns([[{ method: "FedAvg", seed: 1 }, run1], [{ method: "FedProx", seed: 2 }, run2]]).objects(), both.objects());
  assert.throws(() => concatRuns([a, labelRun(run2, { method: "x" })]), /concatRuns: table 1 has different columns from table 0; lacks seed/);
  assert.throws(() => labelRun(a, { method: "y" }), /labelRun: the table already has a column "method"/);
  assert.throws(() => labelRun(run1, { alpha: NaN }), /labelRun: label "alpha" must be a string, a finite number or a boolean/);
  assert.throws(() => concatRuns([]), /concatRuns: no tables given/);
});

test("serverMetric is one server series per run, ordered by labels then round", () => {
  const both = concatRuns([labelRun(run2, { run: "b" }), labelRun(run1, { run: "a" })]);
  const t = serverMetric(both, "globalAccuracy");
  assert.deepEqual(t.columnNames(), ["run", "round", "metric", "value"]);
  assert.deepEqual((t.objects() as Array<Record<string, unknown>>).map((r) => [r.run, r.round, r.value]), [["a", 0, 0.2], ["a", 1, 0.5], ["a", 3, 0.7], ["b", 0, 0.1], ["b", 1, 0.3]]);
});

test("serverMetricAt reads one number and says what is wrong otherwise", () => {
  assert.equal(serverMetricAt(run1, "globalAccuracy", 1), 0.5);
  assert.equal(serverMetricAt(run1, "globalAccuracy", "last"), 0.7);
  assert.equal(serverMetricAt(run1, "simulatedSeconds", "last"), 4);
  assert.throws(() => serverMetricAt(run1, "globalAccuracy", 2), /no server "globalAccuracy" at round 2; recorded at rounds 0, 1, 3/);
  assert.throws(() => serverMetricAt(run1, "dpEpsilon", 1), /the history has no server metric "dpEpsilon"/);
  assert.throws(() => serverMetricAt(concatRuns([labelRun(run1, { run: "a" }), labelRun(run2, { run: "b" })]), "globalAccuracy", 1), /2 server "globalAccuracy" values at round 1 .*labels run.*filter one run first/);
});

test("simulatedTimeline: cumulative simulated seconds, unevaluated rounds still take time", () => {
  const t = simulatedTimeline(concatRuns([labelRun(run1, { run: "a" }), labelRun(run2, { run: "b" })]));
  assert.deepEqual(t.columnNames(), ["run", "round", "elapsedSeconds", "metric", "value"]);
  assert.deepEqual((t.objects() as Array<Record<string, unknown>>).map((r) => [r.run, r.round, r.elapsedSeconds, r.value]), [
    ["a", 0, 0, 0.2], ["a", 1, 3, 0.5], ["a", 3, 9, 0.7], // 3 + 2 + 4
    ["b", 0, 0, 0.1], ["b", 1, 10, 0.3],
  ]);
});

test("on a real heterogeneous run: round 0 at time 0, the timeline ends at the sum of the rounds' durations", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 2 }));
  const data = [1, 2, 3].map((seed) => blobParticipant({ dims: 4, numClasses: 3, seed }));
  const profiles = sampleDeviceProfiles(3, 5, { medianSamplesPerSecond: 40, medianUploadMbps: 0.5, medianDownloadMbps: 2, sigma: 1 });
  const r = await runFederation({
    participants: createParticipants(trainer, data, { profiles }), strategy: new FedAvg(), rounds: 3, seed: 5,
    initialWeights: trainer.getWeights(), fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.05, momentum: 0.9 },
  });
  const t = simulatedTimeline(r.history).objects() as Array<{ round: number; elapsedSeconds: number; value: number }>;
  const durations = serverMetric(r.history, "simulatedSeconds").array("value") as number[];
  assert.equal(durations.length, 3);
  assert.ok(durations.every((d) => d > 0));
  assert.deepEqual(t.map((x) => x.round), [0, 1, 2, 3]);
  assert.equal(t[0].elapsedSeconds, 0);
  assert.equal(t[3].elapsedSeconds, durations[0] + durations[1] + durations[2]);
  assert.deepEqual(t.map((x) => x.value), serverMetric(r.history, "globalAccuracy").array("value"));
  trainer.dispose();
});
