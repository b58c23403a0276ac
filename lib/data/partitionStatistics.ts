/**
 * Statistics of a partition as arquero tables: label counts per participant (long form, every
 * participant × label pair including zeros) and a per-participant summary with the label entropy
 * (in bits; log2(numClasses) for a perfectly balanced participant, 0 for a single-label one).
 */
import * as aq from "arquero";
import { ParticipantData } from "./dataset";
import { Partition } from "./partition/partitionArgs";

/** A partition given as labels + index lists instead of materialised participants. */
export interface LabelPartition {
  readonly labels: ArrayLike<number>;
  readonly partition: Partition;
  readonly numClasses?: number;
  readonly classNames?: readonly string[];
}

/** Which splits of ParticipantData to count (default "all"). */
export type StatisticsSplit = "train" | "validation" | "test" | "all";

/** The two tables returned by `partitionStatistics`. */
export interface PartitionStatistics {
  /** Columns participant, label, className, count. */
  readonly counts: aq.ColumnTable;
  /** Columns participant, size, numLabels, labelEntropy (bits). */
  readonly summary: aq.ColumnTable;
}

/** Shannon entropy in bits of a vector of counts. */
export function labelEntropy(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h;
}

/** Label-count matrix [participant][label] of participants or of a labels + partition pair. */
export function labelCountMatrix(
  input: readonly ParticipantData[] | LabelPartition,
  split: StatisticsSplit = "all",
): { counts: number[][]; classNames: readonly string[] } {
  if (Array.isArray(input)) {
    const participants = input as readonly ParticipantData[];
    if (participants.length === 0) throw new Error("partitionStatistics: no participants");
    const numClasses = participants[0].train.numClasses;
    const counts = participants.map((p, i) => {
      const row = new Array<number>(numClasses).fill(0);
      const parts = split === "all" ? [p.train, p.validation, p.test] : [p[split]];
      for (const ds of parts) {
        for (const l of ds.y) {
          if (l >= numClasses) throw new Error(`partitionStatistics: participant ${i} has label ${l} outside [0, ${numClasses})`);
          row[l]++;
        }
      }
      return row;
    });
    return { counts, classNames: participants[0].train.classNames };
  }
  const { labels, partition } = input as LabelPartition;
  let max = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  const numClasses = (input as LabelPartition).numClasses ?? max + 1;
  const counts = partition.map((indices, i) => {
    const row = new Array<number>(numClasses).fill(0);
    for (const j of indices) {
      const l = labels[j];
      if (l === undefined) throw new Error(`partitionStatistics: participant ${i} holds index ${j}, outside [0, ${labels.length})`);
      if (l >= numClasses) throw new Error(`partitionStatistics: label ${l} outside [0, ${numClasses})`);
      row[l]++;
    }
    return row;
  });
  const classNames = (input as LabelPartition).classNames ?? Array.from({ length: numClasses }, (_, c) => String(c));
  return { counts, classNames };
}

/** Label counts and per-participant summary of a partition, as arquero tables. */
export function partitionStatistics(input: readonly ParticipantData[] | LabelPartition, options: { split?: StatisticsSplit } = {}): PartitionStatistics {
  const { counts, classNames } = labelCountMatrix(input, options.split ?? "all");
  const participant: number[] = [];
  const label: number[] = [];
  const className: string[] = [];
  const count: number[] = [];
  counts.forEach((row, i) =>
    row.forEach((c, l) => {
      participant.push(i);
      label.push(l);
      className.push(classNames[l] ?? String(l));
      count.push(c);
    }),
  );
  return {
    counts: aq.table({ participant, label, className, count }),
    summary: aq.table({
      participant: counts.map((_, i) => i),
      size: counts.map((row) => row.reduce((a, b) => a + b, 0)),
      numLabels: counts.map((row) => row.filter((c) => c > 0).length),
      labelEntropy: counts.map(labelEntropy),
    }),
  };
}
