import { test } from "node:test";
import assert from "node:assert/strict";
import { historyTable, meanAndStd, serverSeries, type HistoryRow } from "../../lib/federation/history";
import { meanStd, summarise } from "../../lib/analysis/index";
import { sampleParticipants, sampleSize } from "../../lib/federation/sampling";
import { dropsOut, sampleDeviceProfiles, simulateTiming, stepsWithinDeadline } from "../../lib/federation/heterogeneity";
import { Rng } from "../../lib/util/rng";

const rows: HistoryRow[] = [
  { round: 1, participant: "a", scope: "global", metric: "accuracy", value: 0.5 },
  { round: 2, participant: "a", scope: "global", metric: "accuracy", value: 0.8 },
  { round: 3, participant: "a", scope: "global", metric: "accuracy", value: 0.7 },
  { round: 1, participant: "b", scope: "global", metric: "accuracy", value: 0.9 },
  { round: 3, participant: "b", scope: "global", metric: "accuracy", value: 0.6 },
  { round: 1, participant: "a", scope: "global", metric: "loss", value: 2 },
  { round: 2, participant: "a", scope: "global", metric: "loss", value: 1 },
  { round: 3, participant: "a", scope: "global", metric: "loss", value: 1.5 },
  { round: 1, participant: "server", scope: "server", metric: "globalAccuracy", value: 0.6 },
  { round: 2, participant: "server", scope: "server", metric: "globalAccuracy", value: 0.65 },
];

test("historyTable has the long-format columns", () => {
  const t = historyTable(rows);
  assert.deepEqual(t.columnNames(), ["round", "participant", "scope", "metric", "value"]);
  assert.equal(t.numRows(), rows.length);
});

test("summarise gives final and selected-by-validation values; meanStd averages either across participants", () => {
  const withVal: HistoryRow[] = [
    ...rows,
    { round: 1, participant: "a", scope: "global", metric: "valLoss", value: 0.9 },
    { round: 2, participant: "a", scope: "global", metric: "valLoss", value: 0.4 },
    { round: 3, participant: "a", scope: "global", metric: "valLoss", value: 0.4 }, // a tie keeps round 2
    { round: 1, participant: "b", scope: "global", metric: "valLoss", value: NaN }, // NaN never chosen
    { round: 3, participant: "b", scope: "global", metric: "valLoss", value: 0.7 },
  ];
  const s = summarise(historyTable(withVal)).objects() as Array<Record<string, unknown>>;
  const get = (p: string, m: string) => s.find((r) => r.participant === p && r.metric === m);
  assert.deepEqual(get("a", "accuracy"), { participant: "a", scope: "global", metric: "accuracy", final: 0.7, finalRound: 3, selected: 0.8, selectedRound: 2 });
  assert.deepEqual(get("a", "loss"), { participant: "a", scope: "global", metric: "loss", final: 1.5, finalRound: 3, selected: 1, selectedRound: 2 });
  assert.deepEqual([get("b", "accuracy")?.selected, get("b", "accuracy")?.selectedRound], [0.6, 3]);
  const server = get("server", "globalAccuracy");
  assert.deepEqual([server?.final, server?.selected], [0.65, NaN], "server rows have no validation loss of their own");
  const m = meanStd(withVal).objects() as Array<Record<string, number | string>>;
  const acc = m.find((r) => r.metric === "accuracy");
  assert.ok(acc);
  assert.equal(acc.count, 2);
  assert.ok(Math.abs((acc.mean as number) - 0.65) < 1e-12);
  assert.ok(Math.abs((acc.std as number) - Math.sqrt(0.005)) < 1e-12); // values 0.7, 0.6
  assert.equal(m.some((r) => r.metric === "globalAccuracy"), false);
  const selected = meanStd(withVal, { of: "selected" }).objects() as Array<Record<string, number | string>>;
  assert.ok(Math.abs((selected.find((r) => r.metric === "accuracy")?.mean as number) - 0.7) < 1e-12); // 0.8 and 0.6
  assert.deepEqual(meanAndStd([1, NaN, 3]), { mean: 2, std: Math.SQRT2, count: 2 });
  assert.deepEqual(serverSeries(rows, "globalAccuracy"), { round: [1, 2], value: [0.6, 0.65] });
});

test("sampling: max(min, ⌊fraction·n⌋), seeded, sorted, validated", () => {
  assert.equal(sampleSize(10, { fraction: 0.25 }), 2);
  assert.equal(sampleSize(10, { fraction: 0.05, minParticipants: 3 }), 3);
  assert.equal(sampleSize(10, {}), 10);
  const a = sampleParticipants(100, { fraction: 0.1 }, new Rng(1));
  assert.deepEqual(a, sampleParticipants(100, { fraction: 0.1 }, new Rng(1)));
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.throws(() => sampleSize(5, { minParticipants: 6 }), /minParticipants is 6 but there are only 5 participants/);
  assert.throws(() => sampleSize(5, { fraction: 0 }), /fraction must be in \(0, 1\], got 0/);
});

test("heterogeneity arithmetic", () => {
  const p = { computeSamplesPerSecond: 100, uploadMbps: 1, downloadMbps: 8, latencySeconds: 0.1 };
  // 1e6 bytes down at 8 Mbit/s = 1 s (+0.1), 200 samples = 2 s, 1e6 bytes up at 1 Mbit/s = 8 s (+0.1).
  const t = simulateTiming(p, 200, 1e6, 1e6);
  assert.ok(Math.abs(t.totalSeconds - 11.2) < 1e-12);
  // Deadline 12 s: comms take 9.2 s, 2.8 s · 100 samples/s / 10 per batch = 28 steps.
  assert.equal(stepsWithinDeadline(p, 12, 10, 1e6, 1e6), 28);
  assert.equal(stepsWithinDeadline(p, 5, 10, 1e6, 1e6), 0);
  assert.equal(stepsWithinDeadline(undefined, 5, 10, 1e6, 1e6), undefined);
  const rng = new Rng(3);
  let drops = 0;
  for (let i = 0; i < 2000; i++) if (dropsOut({ ...p, dropoutProbability: 0.3 }, rng)) drops++;
  assert.ok(Math.abs(drops / 2000 - 0.3) < 0.04, `dropout rate ${drops / 2000}`);
  const profiles = sampleDeviceProfiles(500, 1, { medianSamplesPerSecond: 200 });
  const speeds = profiles.map((q) => q.computeSamplesPerSecond).sort((x, y) => x - y);
  assert.ok(speeds[250] > 170 && speeds[250] < 235, `median speed ${speeds[250]}`);
  assert.deepEqual(profiles, sampleDeviceProfiles(500, 1, { medianSamplesPerSecond: 200 }));
});
