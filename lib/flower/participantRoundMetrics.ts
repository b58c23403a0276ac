/**
 * Per-participant, per-round metrics of a Flower federation, seen from the TypeScript SuperNodes.
 * A `MessageReport` says what a message cost (bytes, seconds) but not which round it belonged to
 * nor what the participant answered; `recordReplyMetrics` wraps a node's handler to keep exactly
 * that (the round and the reply's MetricRecord), and `participantRoundMetrics` joins both by
 * message id into one arquero table: one row per participant, run and server round.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { MessageHandler, MessageReport } from "./superNode";
import type { FlowerMessage, RecordDict } from "./records";

/** What one participant answered to one instruction: its round and the reply's scalar metrics. */
export interface ReplyMetrics {
  /** Id of the instruction (the `messageId` of its `MessageReport`). */
  readonly messageId: string;
  readonly messageType: string;
  /** Flower's server round: the config's "server-round", else a numeric group id; undefined if neither. */
  readonly serverRound: number | undefined;
  /** Scalar values of the reply's MetricRecords (integers as numbers); empty when the handler threw. */
  readonly metrics: ReadonlyMap<string, number>;
}

/** The messages of one participant, as its SuperNode saw them. */
export interface ParticipantMessages {
  /** Name in the table, e.g. "hospital-1". */
  readonly participant: string;
  /** `SuperNode.reports` of the participant's node. */
  readonly reports: readonly MessageReport[];
  /** What `recordReplyMetrics` recorded for the same node. */
  readonly replies: readonly ReplyMetrics[];
}

/** The round an instruction belongs to: Flower strategies send "server-round" in the config and the round as group id. */
function serverRoundOf(message: FlowerMessage): number | undefined {
  for (const record of message.content?.values() ?? []) {
    if (record.kind !== "config") continue;
    const v = record.values.get("server-round");
    if (typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))) return Number(v);
  }
  const group = message.metadata.groupId;
  return /^\d+$/.test(group) ? Number(group) : undefined;
}

function scalarMetrics(reply: RecordDict): Map<string, number> {
  const out = new Map<string, number>();
  for (const record of reply.values()) {
    if (record.kind !== "metric") continue;
    for (const [k, v] of record.values) if (typeof v === "number" || typeof v === "bigint") out.set(k, Number(v));
  }
  return out;
}

/**
 * Wrap a SuperNode handler so that every instruction's round and reply metrics are appended to
 * `into`. The reply itself is passed on untouched; a throw is recorded (no metrics) and re-thrown,
 * so the node still sends its error reply.
 */
export function recordReplyMetrics(handler: MessageHandler, into: ReplyMetrics[]): MessageHandler {
  return async (message: FlowerMessage): Promise<RecordDict> => {
    const base = { messageId: message.metadata.messageId, messageType: message.metadata.messageType, serverRound: serverRoundOf(message) };
    let reply: RecordDict;
    try {
      reply = await handler(message);
    } catch (e) {
      into.push({ ...base, metrics: new Map() });
      throw e;
    }
    into.push({ ...base, metrics: scalarMetrics(reply) });
    return reply;
  };
}

/** One row of `participantRoundMetrics` (NaN where the participant sent no such reply). */
export interface ParticipantRoundRow {
  readonly participant: string;
  /** Flower run id, as a decimal string (run ids are 64-bit). */
  readonly run: string;
  readonly round: number;
  /** From the train reply: "num-examples", "train-loss" (or "loss"), "val-loss", "epochs". */
  readonly trainExamples: number;
  readonly trainLoss: number;
  readonly valLoss: number;
  readonly epochs: number;
  /** From the evaluate reply: "num-examples", "loss", "accuracy". */
  readonly evalExamples: number;
  readonly evalLoss: number;
  readonly accuracy: number;
  /** Object bytes pulled (instructions) and pushed (replies) in this round, train + evaluate. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** gRPC payload bytes of the round's messages, both directions. */
  readonly grpcBytes: number;
  /** Seconds from pulling the instruction to the reply being pushed. */
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  /** Error replies of the round ("train: reason"), "" when none. */
  readonly error: string;
}

/** Column order of the table (also when it has no rows). */
export const PARTICIPANT_ROUND_COLUMNS: readonly (keyof ParticipantRoundRow)[] = [
  "participant", "run", "round", "trainExamples", "trainLoss", "valLoss", "epochs",
  "evalExamples", "evalLoss", "accuracy", "bytesIn", "bytesOut", "grpcBytes", "trainSeconds", "evalSeconds", "error",
];

type MutableRow = { -readonly [K in keyof ParticipantRoundRow]: ParticipantRoundRow[K] };

/**
 * One row per participant, run and server round: the train and evaluate metrics the participant
 * replied with, and what those messages cost. Rows follow the participants' order, then run, then
 * round. Only "train" and "evaluate" messages count (also "train.<x>"); reports without a recorded
 * reply (the handler never saw a malformed message) and replies without a report (never pushed)
 * are left out, as they carry no round or no cost. Two messages of one type in the same round of
 * one participant are an error, because their metrics could not be told apart.
 */
export function participantRoundMetrics(participants: readonly ParticipantMessages[]): ColumnTable {
  const rows: MutableRow[] = [];
  const seen = new Set<string>();
  for (const p of participants) {
    if (seen.has(p.participant)) throw new Error(`participantRoundMetrics: participant "${p.participant}" is given twice`);
    seen.add(p.participant);
    const replies = new Map(p.replies.map((r) => [r.messageId, r]));
    const byRound = new Map<string, MutableRow>();
    const own: MutableRow[] = [];
    for (const report of p.reports) {
      const type = report.messageType.split(".")[0];
      if (type !== "train" && type !== "evaluate") continue;
      const reply = replies.get(report.messageId);
      if (!reply) continue;
      if (reply.serverRound === undefined) {
        throw new Error(`participantRoundMetrics: participant "${p.participant}": ${report.messageType} message ${report.messageId} of run ${report.runId} carries no round (no config "server-round" and no numeric group id)`);
      }
      const run = report.runId.toString();
      const key = `${run}/${reply.serverRound}`;
      let row = byRound.get(key);
      if (!row) {
        row = emptyRow(p.participant, run, reply.serverRound);
        byRound.set(key, row);
        own.push(row);
      }
      const m = reply.metrics;
      const metric = (name: string): number => m.get(name) ?? NaN;
      if (type === "train") {
        if (!Number.isNaN(row.trainSeconds)) throw duplicate(p.participant, type, reply.serverRound, run);
        row.trainExamples = metric("num-examples");
        row.trainLoss = m.get("train-loss") ?? metric("loss");
        row.valLoss = metric("val-loss");
        row.epochs = metric("epochs");
        row.trainSeconds = report.totalSeconds;
      } else {
        if (!Number.isNaN(row.evalSeconds)) throw duplicate(p.participant, type, reply.serverRound, run);
        row.evalExamples = metric("num-examples");
        row.evalLoss = metric("loss");
        row.accuracy = metric("accuracy");
        row.evalSeconds = report.totalSeconds;
      }
      row.bytesIn += report.bytesPulled;
      row.bytesOut += report.bytesPushed;
      row.grpcBytes += report.grpcBytes;
      if (report.error) row.error = [row.error, `${type}: ${report.error.reason}`].filter((s) => s !== "").join("; ");
    }
    own.sort((a, b) => compareRuns(a.run, b.run) || a.round - b.round);
    rows.push(...own);
  }
  const columns: Record<string, unknown[]> = {};
  for (const c of PARTICIPANT_ROUND_COLUMNS) columns[c] = rows.map((r) => r[c]);
  return aq.table(columns);
}

function emptyRow(participant: string, run: string, round: number): MutableRow {
  return {
    participant, run, round,
    trainExamples: NaN, trainLoss: NaN, valLoss: NaN, epochs: NaN,
    evalExamples: NaN, evalLoss: NaN, accuracy: NaN,
    bytesIn: 0, bytesOut: 0, grpcBytes: 0, trainSeconds: NaN, evalSeconds: NaN, error: "",
  };
}

function duplicate(participant: string, type: string, round: number, run: string): Error {
  return new Error(`participantRoundMetrics: participant "${participant}" answered two ${type} messages in round ${round} of run ${run}`);
}

/** Run ids are decimal strings of 64-bit integers: compare them as numbers. */
function compareRuns(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
