/**
 * A Trainer's per-epoch records (`TrainResult.history`, `fineTuneHead(...).history`) as a table, for
 * one run or one per participant. "wide": one row per epoch with trainLoss and valLoss (the format
 * of a run folder's local-phase.csv); "long": one row per epoch and split ("train" | "validation")
 * with a loss column, ready for `lineChart(t, { x: "epoch", y: "loss", dash: "split" })`.
 */
import type { Table } from "../federation/history";
import type { EpochRecord } from "../model/trainer";
import { tableOf } from "./historyInput";

/** Epoch records of one run, or of several runs keyed by participant (a Map or a plain object). */
export type EpochRecords = readonly EpochRecord[] | ReadonlyMap<string, readonly EpochRecord[]> | Readonly<Record<string, readonly EpochRecord[]>>;

/** Options of `epochCurves`. */
export interface EpochCurvesOptions {
  /** "wide" (default): epoch, trainLoss, valLoss; "long": epoch, split, loss. */
  readonly layout?: "wide" | "long";
}

/** Epoch records → table; keyed records get a leading participant column, in key order. */
export function epochCurves(records: EpochRecords, options: EpochCurvesOptions = {}): Table {
  const layout = options.layout ?? "wide";
  if (layout !== "wide" && layout !== "long") throw new Error(`epochCurves: layout must be "wide" or "long", got ${String(layout)}`);
  const keyed = !Array.isArray(records);
  const runs: Array<[string | undefined, readonly EpochRecord[]]> = !keyed
    ? [[undefined, records as readonly EpochRecord[]]]
    : records instanceof Map
      ? [...(records as ReadonlyMap<string, readonly EpochRecord[]>)]
      : Object.entries(records as Readonly<Record<string, readonly EpochRecord[]>>);
  const rows: Array<Record<string, unknown>> = [];
  for (const [participant, history] of runs) {
    if (!Array.isArray(history)) throw new Error(`epochCurves: the records of participant "${participant}" are not an array of epoch records`);
    for (const e of history) {
      const id = participant === undefined ? {} : { participant };
      if (layout === "wide") rows.push({ ...id, epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss });
      else rows.push({ ...id, epoch: e.epoch, split: "train", loss: e.trainLoss }, { ...id, epoch: e.epoch, split: "validation", loss: e.valLoss });
    }
  }
  const columns = layout === "wide" ? ["epoch", "trainLoss", "valLoss"] : ["epoch", "split", "loss"];
  return tableOf(keyed ? ["participant", ...columns] : columns, rows);
}
