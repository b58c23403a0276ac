/**
 * Run several federated methods on the same participants, from the same starting weights and with
 * the same seed, and tabulate what each participant ends up with. The comparison a reader of the
 * document wants: local-only vs FedAvg vs FedAvg+FT vs FedPer vs Ditto, global vs personal, best
 * vs last.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { ParticipantData } from "../data/dataset";
import type { ModelWeights } from "../model/weights";
import type { Trainer } from "../model/trainer";
import { Federation, FederationOptions, FederationResult } from "../federation/federation";
import { Participant } from "../federation/participant";
import type { Personalisation } from "../federation/personalisation/personalisation";
import type { Strategy } from "../federation/types";
import { lastSelectedMax } from "../analysis/lastSelectedMax";

/** One method to compare: a label, a strategy and a personalisation. */
export interface MethodSpec {
  readonly label: string;
  /** A fresh strategy per run (strategies keep server state). */
  readonly strategy: () => Strategy;
  readonly personalisation: () => Personalisation;
}

/** Options of `compareMethods`: everything a `Federation` takes except what varies per method. */
export interface CompareMethodsOptions extends Omit<FederationOptions, "participants" | "strategy" | "personalisation" | "initialWeights" | "trainer"> {
  readonly trainer: Trainer;
  /** Each participant's data, with ids. */
  readonly participants: ReadonlyArray<{ readonly id: string; readonly data: ParticipantData }>;
  /** Where every run starts (e.g. the pretrained model with a fresh head). */
  readonly initialWeights: ModelWeights;
  readonly methods: readonly MethodSpec[];
  /** Called when a method's run finishes (progress for notebooks and CLIs). */
  readonly onMethodDone?: (label: string, result: FederationResult, seconds: number) => void;
}

/** What `compareMethods` returns. */
export interface MethodComparison {
  /** Full result of each run, by label. */
  readonly runs: ReadonlyMap<string, FederationResult>;
  /**
   * One row per (method, participant): the accuracy of the model that participant would use —
   * its personal model when the method has one, else the global model — last and best over rounds,
   * plus the global model's last accuracy on the same test split. `bestAccuracy`/`bestRound` are
   * `lastSelectedMax`'s `maxOptimistic`/`maxRound` — an optimistic number, since choosing a round by
   * its test score leaks the test set; `selectedAccuracy` is the honest one (`selected`: the test
   * accuracy at the round whose validation loss was lowest, round 0 included).
   */
  readonly table: ColumnTable;
  /** Seconds per run, by label. */
  readonly seconds: ReadonlyMap<string, number>;
}

/** Run each method in turn (fresh participants and strategy each time) and tabulate per-participant accuracy. */
export async function compareMethods(options: CompareMethodsOptions): Promise<MethodComparison> {
  const { methods, trainer, participants, initialWeights, onMethodDone, ...rest } = options;
  const labels = new Set<string>();
  for (const m of methods) {
    if (labels.has(m.label)) throw new Error(`compareMethods: method label "${m.label}" is used twice`);
    labels.add(m.label);
  }
  const runs = new Map<string, FederationResult>();
  const seconds = new Map<string, number>();
  const rows: Array<Record<string, string | number>> = [];
  for (const m of methods) {
    // Fresh participants per method: personal state must not leak from one method's run into the next.
    const named = participants.map((p) => new Participant({ id: p.id, data: p.data, trainer }));
    const t0 = Date.now();
    const f = new Federation({ ...rest, participants: named, trainer, initialWeights, strategy: m.strategy(), personalisation: m.personalisation() });
    await f.start();
    while (!f.done) await f.runRound();
    const result = f.result();
    const secs = (Date.now() - t0) / 1000;
    runs.set(m.label, result);
    seconds.set(m.label, secs);
    onMethodDone?.(m.label, result, secs);
    // "Best" has one definition: the verbs' (selected by validation; the max over rounds is the optimistic figure).
    const figures = lastSelectedMax(result.history, { metric: "accuracy" }).objects() as Array<{ participant: string; scope: string; last: number; selected: number; maxOptimistic: number; maxRound: number }>;
    for (const p of participants) {
      const pick = (scope: string) => figures.find((f) => f.participant === p.id && f.scope === scope);
      const global = pick("global");
      const used = pick("personal") ?? global;
      rows.push({
        method: m.label,
        participant: p.id,
        lastAccuracy: used ? used.last : NaN,
        bestAccuracy: used ? used.maxOptimistic : NaN,
        bestRound: used ? used.maxRound : NaN,
        selectedAccuracy: used ? used.selected : NaN,
        globalLastAccuracy: global ? global.last : NaN,
      });
    }
  }
  return { runs, table: aq.from(rows), seconds };
}

/** Lines "round r: id loss, id loss, …" of each participant's local training loss per round (the document's printout). */
export function localLossLines(result: FederationResult, metric = "trainLoss"): string[] {
  const byRound = new Map<number, string[]>();
  for (const r of result.rows) {
    if (r.scope !== "fit" || r.metric !== metric) continue;
    const list = byRound.get(r.round) ?? [];
    list.push(`${r.participant} ${r.value.toFixed(4)}`);
    byRound.set(r.round, list);
  }
  return [...byRound.entries()].sort((a, b) => a[0] - b[0]).map(([round, parts]) => `round ${round}: ${parts.join(", ")}`);
}
