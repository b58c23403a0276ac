/**
 * Per-participant, per-round metrics from synthetic SuperNode reports and handler replies (no
 * SuperLink, no flwr): the round comes from the instruction, the metrics from the reply, the cost
 * from the report, joined by message id.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { participantRoundMetrics, PARTICIPANT_ROUND_COLUMNS, recordReplyMetrics } from "../../lib/flower/participantRoundMetrics";
import type { ReplyMetrics } from "../../lib/flower/participantRoundMetrics";
import type { ConfigValue, FlowerMessage, FlowerRecord, MessageReport, MetricValue, RecordDict } from "../../lib/flower/index";

function message(id: string, type: string, config: [string, ConfigValue][], groupId = ""): FlowerMessage {
  return {
    metadata: { runId: 5n, messageId: id, srcNodeId: 1n, dstNodeId: 9n, replyToMessageId: "", groupId, ttl: 60, messageType: type, createdAt: 0 },
    content: new Map<string, FlowerRecord>([["config", { kind: "config", values: new Map(config) }]]),
  };
}

function metricReply(values: [string, MetricValue][]): RecordDict {
  return new Map<string, FlowerRecord>([["metrics", { kind: "metric", values: new Map(values) }]]);
}

function report(messageId: string, messageType: string, bytesPulled: number, bytesPushed: number, totalSeconds: number, runId = 5n, error?: string): MessageReport {
  return {
    runId, messageType, messageId, accepted: true, bytesPulled, bytesPushed, grpcBytes: bytesPulled + bytesPushed + 100,
    handlerSeconds: totalSeconds / 2, totalSeconds, error: error ? { code: 2, reason: error } : undefined,
  };
}

test("recordReplyMetrics keeps the round and the scalar reply metrics, passes replies on and re-throws", async () => {
  const into: ReplyMetrics[] = [];
  const reply = metricReply([["num-examples", 120n], ["train-loss", 0.5], ["per-class", [1, 2]]]);
  const handler = recordReplyMetrics((m) => {
    if (m.metadata.messageType === "query") throw new Error("no queries");
    return reply;
  }, into);
  assert.equal(await handler(message("a", "train", [["server-round", 3n], ["lr", 0.1]])), reply);
  // No "server-round" in the config: Flower's group id is the round.
  await handler(message("b", "evaluate", [], "4"));
  await assert.rejects(Promise.resolve(handler(message("c", "query", []))), /no queries/);
  await handler(message("d", "evaluate", [], "not-a-round"));
  assert.deepEqual(
    into.map((r) => [r.messageId, r.messageType, r.serverRound, [...r.metrics]]),
    [
      ["a", "train", 3, [["num-examples", 120], ["train-loss", 0.5]]],
      ["b", "evaluate", 4, [["num-examples", 120], ["train-loss", 0.5]]],
      ["c", "query", undefined, []],
      ["d", "evaluate", undefined, [["num-examples", 120], ["train-loss", 0.5]]],
    ],
  );
});

test("participantRoundMetrics joins replies and reports into one row per participant and round", () => {
  const m = (id: string, type: string, round: number, values: [string, number][]): ReplyMetrics => ({ messageId: id, messageType: type, serverRound: round, metrics: new Map(values) });
  const table = participantRoundMetrics([
    {
      participant: "hospital-2",
      // Reports in arrival order; round 2 arrives before round 1 to check the sort.
      reports: [report("t2", "train", 1000, 900, 1.5), report("e2", "evaluate", 600, 50, 0.25), report("t1", "train", 1000, 900, 2), report("q", "query.x", 10, 10, 0.1), report("bad", "train", 5, 0, 0.01, 5n, "malformed")],
      replies: [
        m("t1", "train", 1, [["num-examples", 200], ["train-loss", 1.2], ["val-loss", 1.4], ["epochs", 3]]),
        m("t2", "train", 2, [["num-examples", 200], ["train-loss", 0.8], ["val-loss", 0.9], ["epochs", 2]]),
        m("e2", "evaluate", 2, [["num-examples", 50], ["loss", 0.7], ["accuracy", 0.82]]),
        m("never-pushed", "evaluate", 1, [["accuracy", 0.1]]),
      ],
    },
    {
      participant: "hospital-1",
      // A Python-style client: "loss" instead of "train-loss"; an evaluate that failed.
      reports: [report("t1b", "train", 1000, 800, 3), report("e1b", "evaluate", 600, 0, 0.5, 5n, "ValueError: boom")],
      replies: [m("t1b", "train", 1, [["num-examples", 80], ["loss", 2.0]]), m("e1b", "evaluate", 1, [])],
    },
  ]);
  assert.deepEqual(table.columnNames(), [...PARTICIPANT_ROUND_COLUMNS]);
  const rows = table.objects() as Record<string, unknown>[];
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => [r.participant, r.run, r.round]), [["hospital-2", "5", 1], ["hospital-2", "5", 2], ["hospital-1", "5", 1]]);
  // Round 1 of hospital-2: a train reply only, so the evaluate columns are NaN.
  assert.deepEqual(
    { ...rows[0] },
    {
      participant: "hospital-2", run: "5", round: 1, trainExamples: 200, trainLoss: 1.2, valLoss: 1.4, epochs: 3,
      evalExamples: NaN, evalLoss: NaN, accuracy: NaN, bytesIn: 1000, bytesOut: 900, grpcBytes: 2000, trainSeconds: 2, evalSeconds: NaN, error: "",
    },
  );
  // Round 2: train + evaluate bytes add up, seconds stay per message type.
  assert.equal(rows[1].bytesIn, 1600);
  assert.equal(rows[1].bytesOut, 950);
  assert.equal(rows[1].grpcBytes, 2000 + 750);
  assert.equal(rows[1].accuracy, 0.82);
  assert.equal(rows[1].evalLoss, 0.7);
  assert.equal(rows[1].evalSeconds, 0.25);
  assert.equal(rows[2].trainLoss, 2.0);
  assert.ok(Number.isNaN(rows[2].valLoss as number));
  assert.ok(Number.isNaN(rows[2].accuracy as number));
  assert.equal(rows[2].error, "evaluate: ValueError: boom");
});

test("participantRoundMetrics refuses ambiguous input and keeps its columns when empty", () => {
  const r = (id: string, round: number | undefined): ReplyMetrics => ({ messageId: id, messageType: "train", serverRound: round, metrics: new Map() });
  assert.throws(
    () => participantRoundMetrics([{ participant: "p", reports: [report("a", "train", 1, 1, 1), report("b", "train", 1, 1, 1)], replies: [r("a", 2), r("b", 2)] }]),
    /participant "p" answered two train messages in round 2 of run 5/,
  );
  assert.throws(() => participantRoundMetrics([{ participant: "p", reports: [report("a", "train", 1, 1, 1)], replies: [r("a", undefined)] }]), /"p": train message a of run 5 carries no round/);
  assert.throws(() => participantRoundMetrics([{ participant: "p", reports: [], replies: [] }, { participant: "p", reports: [], replies: [] }]), /"p" is given twice/);
  // Two runs: rows sorted by run id as a number, not as a string.
  const two = participantRoundMetrics([{ participant: "p", reports: [report("a", "train", 1, 1, 1, 10n), report("b", "train", 1, 1, 1, 9n)], replies: [r("a", 1), r("b", 1)] }]);
  assert.deepEqual(two.array("run"), ["9", "10"]);
  const empty = participantRoundMetrics([]);
  assert.equal(empty.numRows(), 0);
  assert.deepEqual(empty.columnNames(), [...PARTICIPANT_ROUND_COLUMNS]);
});
