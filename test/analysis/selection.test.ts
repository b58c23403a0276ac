import { test } from "node:test";
import assert from "node:assert/strict";
import { historyTable, type HistoryRow } from "../../lib/federation/history";
import { improvesValidation, lastSelectedMax, lastValues, maxOverRounds, selectedByValidation } from "../../lib/analysis/index";

const row = (round: number, participant: string, scope: HistoryRow["scope"], metric: string, value: number): HistoryRow => ({ round, participant, scope, metric, value });

// Participant a, global model: round 0 has the lowest validation loss (training made it worse on validation).
// Participant a, personal model: evaluated on rounds 1–3; valLoss ties between rounds 1 and 3 → round 1.
// Participant b, global: a NaN validation loss at round 2 (never chosen), accuracy peaks at round 2.
// Participant c, global: no validation loss at all (no validation split).
const rows: HistoryRow[] = [
  row(0, "a", "global", "accuracy", 0.3), row(0, "a", "global", "valLoss", 0.9),
  row(1, "a", "global", "accuracy", 0.6), row(1, "a", "global", "valLoss", 1.1),
  row(2, "a", "global", "accuracy", 0.7), row(2, "a", "global", "valLoss", 1.0),
  row(1, "a", "personal", "accuracy", 0.75), row(1, "a", "personal", "valLoss", 0.4),
  row(2, "a", "personal", "accuracy", 0.8), row(2, "a", "personal", "valLoss", 0.5),
  row(3, "a", "personal", "accuracy", 0.85), row(3, "a", "personal", "valLoss", 0.4),
  row(0, "b", "global", "accuracy", 0.2), row(0, "b", "global", "valLoss", 2.0),
  row(1, "b", "global", "accuracy", 0.5), row(1, "b", "global", "valLoss", 1.5),
  row(2, "b", "global", "accuracy", 0.9), row(2, "b", "global", "valLoss", NaN),
  row(3, "b", "global", "accuracy", NaN), row(3, "b", "global", "valLoss", 1.6),
  row(1, "c", "global", "accuracy", 0.4), row(2, "c", "global", "accuracy", 0.45),
  row(0, "server", "server", "globalAccuracy", 0.25), row(0, "server", "server", "globalValLoss", 1.2),
  row(1, "server", "server", "globalAccuracy", 0.55), row(1, "server", "server", "globalValLoss", 1.0),
  row(2, "server", "server", "globalAccuracy", 0.6), row(2, "server", "server", "globalValLoss", 1.0),
];
const history = historyTable(rows);
const pick = (t: ReturnType<typeof historyTable>): Array<[string, string, string, number, number]> =>
  (t.objects() as Array<{ participant: string; scope: string; metric: string; round: number; value: number }>).map((r) => [r.participant, r.scope, r.metric, r.round, r.value]);

test("lastValues: the value at the last recorded round of every series, NaN kept", () => {
  const t = lastValues(history, { metric: "accuracy" });
  assert.deepEqual(t.columnNames(), ["participant", "scope", "metric", "round", "value", "selection"]);
  assert.deepEqual(pick(t), [
    ["a", "global", "accuracy", 2, 0.7],
    ["a", "personal", "accuracy", 3, 0.85],
    ["b", "global", "accuracy", 3, NaN],
    ["c", "global", "accuracy", 2, 0.45],
  ]);
  assert.deepEqual(t.array("selection"), ["last", "last", "last", "last"]);
  // Without a metric filter: one row per series (9 series in the history above).
  assert.equal(lastValues(history).numRows(), 9);
});

test("selectedByValidation: lowest validation loss, round 0 included, ties → earliest, NaN never chosen", () => {
  const t = selectedByValidation(history);
  assert.deepEqual(pick(t), [
    ["a", "global", "accuracy", 0, 0.3], // round 0 has the lowest valLoss (0.9)
    ["a", "personal", "accuracy", 1, 0.75], // 0.4 at rounds 1 and 3 → round 1
    ["b", "global", "accuracy", 1, 0.5], // round 2's NaN valLoss is no candidate
    ["c", "global", "accuracy", NaN, NaN], // nothing to select by
  ]);
  assert.deepEqual(t.array("selection"), new Array(4).fill("selected by validation"));
  // The server's figures: globalValLoss ties at rounds 1 and 2 → round 1.
  assert.deepEqual(pick(selectedByValidation(history, { metric: "globalAccuracy", validationMetric: "globalValLoss" })), [["server", "server", "globalAccuracy", 1, 0.55]]);
  // A round whose metric was not recorded is no candidate, even with the lowest validation loss.
  const gap = historyTable([row(1, "x", "personal", "valLoss", 0.1), row(2, "x", "personal", "valLoss", 0.2), row(2, "x", "personal", "accuracy", 0.6)]);
  assert.deepEqual(pick(selectedByValidation(gap)), [["x", "personal", "accuracy", 2, 0.6]]);
});

test("improvesValidation is the rule the loop's own tracker can share", () => {
  assert.equal(improvesValidation(0.5, NaN), true);
  assert.equal(improvesValidation(0.5, Infinity), true);
  assert.equal(improvesValidation(0.4, 0.5), true);
  assert.equal(improvesValidation(0.5, 0.5), false, "a tie keeps the earlier round");
  assert.equal(improvesValidation(NaN, 0.5), false);
  assert.equal(improvesValidation(NaN, NaN), false);
});

test("maxOverRounds: the optimistic maximum, NaNs ignored, ties → earliest", () => {
  const t = maxOverRounds(history, { metric: "accuracy" });
  assert.deepEqual(pick(t), [
    ["a", "global", "accuracy", 2, 0.7],
    ["a", "personal", "accuracy", 3, 0.85],
    ["b", "global", "accuracy", 2, 0.9],
    ["c", "global", "accuracy", 2, 0.45],
  ]);
  assert.deepEqual(t.array("selection"), new Array(4).fill("max (optimistic)"));
  const ties = historyTable([row(1, "x", "global", "accuracy", 0.5), row(2, "x", "global", "accuracy", 0.5), row(3, "y", "global", "accuracy", NaN)]);
  assert.deepEqual(pick(maxOverRounds(ties)), [["x", "global", "accuracy", 1, 0.5], ["y", "global", "accuracy", NaN, NaN]]);
});

test("lastSelectedMax puts the three figures side by side, and label columns pass through", () => {
  const labelled = historyTable(rows).derive({ method: () => "FedAvg" });
  const t = lastSelectedMax(labelled);
  assert.deepEqual(t.columnNames(), ["method", "participant", "scope", "metric", "last", "lastRound", "selected", "selectedRound", "maxOptimistic", "maxRound"]);
  assert.deepEqual(t.objects()[0], { method: "FedAvg", participant: "a", scope: "global", metric: "accuracy", last: 0.7, lastRound: 2, selected: 0.3, selectedRound: 0, maxOptimistic: 0.7, maxRound: 2 });
  assert.deepEqual(t.objects()[3], { method: "FedAvg", participant: "c", scope: "global", metric: "accuracy", last: 0.45, lastRound: 2, selected: NaN, selectedRound: NaN, maxOptimistic: 0.45, maxRound: 2 });
});

test("verbs accept plain rows, keep their columns on an empty history, and name a missing column", () => {
  assert.deepEqual(pick(lastValues(rows.slice(0, 4), { metric: "accuracy" })), [["a", "global", "accuracy", 1, 0.6]]);
  assert.deepEqual(selectedByValidation([]).columnNames(), ["participant", "scope", "metric", "round", "value", "selection"]);
  assert.throws(() => maxOverRounds(historyTable(rows).select("round", "participant", "metric", "value")), /maxOverRounds: table lacks column "scope"/);
});
