/**
 * Run several federated methods on the same participants, from the same starting weights and with
 * the same seed, and tabulate what each participant ends up with. The comparison a reader of the
 * document wants: local-only vs FedAvg vs FedAvg+FT vs FedPer vs Ditto, global vs personal, best
 * vs last. With `seeds`, every method runs once per seed (participants and starting weights may
 * depend on the seed) and `intervals` gives mean ± 95 % interval per method and participant.
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
import { meanInterval } from "../analysis/meanInterval";
import { runRepetitionGrid } from "../parallel/repetitionGrid";

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
  /** Each participant's data, with ids; or, with `seeds`, a function giving them for a seed. */
  readonly participants: ComparedParticipants | ((seed: number) => ComparedParticipants);
  /** Where every run starts (e.g. the pretrained model with a fresh head); or a function of the seed. */
  readonly initialWeights: ModelWeights | ((seed: number) => ModelWeights | Promise<ModelWeights>);
  readonly methods: readonly MethodSpec[];
  /**
   * Run every method once per seed (the federation's seed, and the seed given to `participants` and
   * `initialWeights` when they are functions); default one run with `seed` (or 0).
   */
  readonly seeds?: readonly number[];
  /** Called when a method's run finishes (progress for notebooks and CLIs). */
  readonly onMethodDone?: (label: string, result: FederationResult, seconds: number, seed: number) => void;
}

/** The participants of a comparison. */
export type ComparedParticipants = ReadonlyArray<{ readonly id: string; readonly data: ParticipantData }>;

/** What `compareMethods` returns. */
export interface MethodComparison {
  /** Full result of each run of the first seed, by label. */
  readonly runs: ReadonlyMap<string, FederationResult>;
  /** Full result of every run: by seed, then by label. */
  readonly runsBySeed: ReadonlyMap<number, ReadonlyMap<string, FederationResult>>;
  /**
   * One row per (method, participant): the accuracy of the model that participant would use —
   * its personal model when the method has one, else the global model — last and best over rounds,
   * plus the global model's last accuracy on the same test split. `bestAccuracy`/`bestRound` are
   * `lastSelectedMax`'s `maxOptimistic`/`maxRound` — an optimistic number, since choosing a round by
   * its test score leaks the test set; `selectedAccuracy` is the honest one (`selected`: the test
   * accuracy at the round whose validation loss was lowest, round 0 included). A `seed` column says
   * which run a row comes from.
   */
  readonly table: ColumnTable;
  /**
   * Mean ± 95 % interval over the seeds (Student t, `meanInterval`) of `lastAccuracy`,
   * `selectedAccuracy` and `globalLastAccuracy`: one row per (method, participant, measure) with
   * n, mean, std, halfWidth, lo, hi; participant "mean" is the unweighted mean over participants
   * within each seed. With one seed, halfWidth, lo and hi are NaN.
   */
  readonly intervals: ColumnTable;
  /** Seconds per run, by label (summed over the seeds). */
  readonly seconds: ReadonlyMap<string, number>;
}

/** The figures `intervals` summarises. */
const COMPARED_MEASURES = ["lastAccuracy", "selectedAccuracy", "globalLastAccuracy"] as const;

/** Run each method in turn (fresh participants and strategy each time), once per seed (`runRepetitionGrid`), and tabulate per-participant accuracy. */
export async function compareMethods(options: CompareMethodsOptions): Promise<MethodComparison> {
  const { methods, trainer, participants, initialWeights, onMethodDone, seeds, ...rest } = options;
  const labels = new Set<string>();
  for (const m of methods) {
    if (labels.has(m.label)) throw new Error(`compareMethods: method label "${m.label}" is used twice`);
    labels.add(m.label);
  }
  const seedList = seeds ?? [rest.seed ?? 0];
  // fedtune's one repetition loop (runRepetitionGrid), on one lane: for each seed its participants and start, then every method.
  const done = await runRepetitionGrid({
    caller: "compareMethods",
    seeds: seedList,
    methods: methods.length,
    perSeed: async (seed) => {
      const people = typeof participants === "function" ? participants(seed) : participants;
      const start = typeof initialWeights === "function" ? await initialWeights(seed) : initialWeights;
      return { people, start };
    },
    run: async ({ method, seed }, { people, start }) => {
      const m = methods[method];
      // Fresh participants per method: personal state must not leak from one method's run into the next.
      const named = people.map((p) => new Participant({ id: p.id, data: p.data, trainer }));
      const t0 = Date.now();
      const f = new Federation({ ...rest, seed, participants: named, trainer, initialWeights: start, strategy: m.strategy(), personalisation: m.personalisation() });
      await f.start();
      while (!f.done) await f.runRound();
      const result = f.result();
      const secs = (Date.now() - t0) / 1000;
      onMethodDone?.(m.label, result, secs, seed);
      return { label: m.label, seed, result, secs, rows: participantRows(result, m.label, seed, people.map((p) => p.id)) };
    },
  });
  const runsBySeed = new Map<number, Map<string, FederationResult>>(seedList.map((s) => [s, new Map()]));
  const seconds = new Map<string, number>();
  for (const d of done) {
    (runsBySeed.get(d.seed) as Map<string, FederationResult>).set(d.label, d.result);
    seconds.set(d.label, (seconds.get(d.label) ?? 0) + d.secs);
  }
  const rows = done.flatMap((d) => d.rows);
  const table = aq.from(rows);
  return { runs: runsBySeed.get(seedList[0]) as Map<string, FederationResult>, runsBySeed, table, intervals: comparisonIntervals(rows), seconds };
}

/** One row per participant of one run: the accuracy of the model that participant uses (personal, else global). */
function participantRows(result: FederationResult, method: string, seed: number, ids: readonly string[]): Array<Record<string, string | number>> {
  // "Best" has one definition: the verbs' (selected by validation; the max over rounds is the optimistic figure).
  const figures = lastSelectedMax(result.history, { metric: "accuracy" }).objects() as Array<{ participant: string; scope: string; last: number; selected: number; maxOptimistic: number; maxRound: number }>;
  return ids.map((id) => {
    const pick = (scope: string) => figures.find((f) => f.participant === id && f.scope === scope);
    const global = pick("global");
    const used = pick("personal") ?? global;
    return {
      method,
      participant: id,
      seed,
      lastAccuracy: used ? used.last : NaN,
      bestAccuracy: used ? used.maxOptimistic : NaN,
      bestRound: used ? used.maxRound : NaN,
      selectedAccuracy: used ? used.selected : NaN,
      globalLastAccuracy: global ? global.last : NaN,
    };
  });
}

/** Mean ± 95 % interval over seeds per (method, participant, measure), plus participant "mean" (over participants within a seed). */
function comparisonIntervals(rows: ReadonlyArray<Record<string, string | number>>): ColumnTable {
  const long: Array<{ method: string; participant: string; measure: string; value: number }> = [];
  const means = new Map<string, { method: string; seed: number; sums: number[]; count: number }>();
  for (const r of rows) {
    const key = `${r.method}\u0000${r.seed}`;
    const m = means.get(key) ?? { method: r.method as string, seed: r.seed as number, sums: COMPARED_MEASURES.map(() => 0), count: 0 };
    COMPARED_MEASURES.forEach((k, i) => {
      long.push({ method: r.method as string, participant: r.participant as string, measure: k, value: r[k] as number });
      m.sums[i] += r[k] as number;
    });
    m.count++;
    means.set(key, m);
  }
  for (const m of means.values()) COMPARED_MEASURES.forEach((k, i) => long.push({ method: m.method, participant: "mean", measure: k, value: m.sums[i] / m.count }));
  return meanInterval(aq.from(long), { by: ["method", "participant", "measure"] });
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

/** Options of `pairedDifference`. */
export interface PairedDifferenceOptions {
  /** A participant id, or "mean" (default): the unweighted mean over participants within each seed. */
  readonly participant?: string;
  /** The figure compared (default "lastAccuracy"). */
  readonly measure?: (typeof COMPARED_MEASURES)[number];
  /** Confidence level (default 0.95). */
  readonly level?: number;
}

/**
 * Method `a` minus method `b`, paired by seed (both ran on the same participants and start in each
 * seed): n, mean, std, halfWidth, lo, hi of the per-seed differences (Student t). `lo > 0` says `a`
 * beats `b` at that level; an interval holding 0 says the runs cannot tell them apart.
 */
export function pairedDifference(comparison: MethodComparison, a: string, b: string, options: PairedDifferenceOptions = {}): { n: number; mean: number; std: number; halfWidth: number; lo: number; hi: number } {
  const participant = options.participant ?? "mean";
  const measure = options.measure ?? "lastAccuracy";
  const rows = comparison.table.objects() as Array<Record<string, string | number>>;
  const valueOf = (method: string, seed: number): number => {
    const mine = rows.filter((r) => r.method === method && r.seed === seed && (participant === "mean" || r.participant === participant));
    if (mine.length === 0) throw new Error(`pairedDifference: no run of method "${method}" for participant "${participant}" with seed ${seed}`);
    return mine.reduce((s, r) => s + (r[measure] as number), 0) / mine.length;
  };
  const seeds = [...comparison.runsBySeed.keys()];
  const diffs = seeds.map((seed) => ({ value: valueOf(a, seed) - valueOf(b, seed) }));
  const g = meanInterval(aq.from(diffs), { level: options.level }).objects()[0] as { n: number; mean: number; std: number; halfWidth: number; lo: number; hi: number };
  return { n: g.n, mean: g.mean, std: g.std, halfWidth: g.halfWidth, lo: g.lo, hi: g.hi };
}
