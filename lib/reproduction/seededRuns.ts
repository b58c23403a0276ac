/**
 * The reproductions' methods × seeds (`runRepetitionGrid`, fedtune's one repetition loop): for each
 * seed, a fresh model and whatever the seed decides (the split), then every method from the same
 * initial weights; each run's per-round series is labelled with its method and seed, and its
 * wall-clock seconds are kept. On one lane the runs go one after another on this thread and share
 * the seed's trainer; with `lanes` > 1 each run goes to `runElsewhere` (a worker thread per lane,
 * `reproductionWorkers`), which must give the series `run` would.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type * as tf from "@tensorflow/tfjs";
import { Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import { concatRuns, labelRun } from "../analysis/labelRuns";
import { runRepetitionGrid } from "../parallel/repetitionGrid";

/** What one run gets: the seed, the seed's shared trainer, initial weights and prepared data. */
export interface SeededRunContext<P> {
  readonly seed: number;
  readonly trainer: Trainer;
  readonly initialWeights: ModelWeights;
  readonly prepared: P;
}

/** Options of `seededRuns`. */
export interface SeededRunsOptions<M extends { readonly label: string }, P> {
  readonly seeds: readonly number[];
  readonly methods: readonly M[];
  /** The model of a seed (its initial weights are every method's start). */
  readonly buildModel: (seed: number) => tf.LayersModel;
  /** What else a seed decides (e.g. the clients' split). */
  readonly prepare: (seed: number) => P;
  /** One run; returns its per-round series (round, value, …). */
  readonly run: (method: M, context: SeededRunContext<P>) => Promise<ColumnTable>;
  /** Runs at once (default 1: one after another on this thread); more than 1 needs `runElsewhere`. */
  readonly lanes?: number;
  /** With `lanes` > 1: one run on lane `lane` somewhere else (e.g. that lane's worker thread); returns the series `run` gives. */
  readonly runElsewhere?: (method: M, seed: number, lane: number) => Promise<ColumnTable>;
  /** Called after each run (in the order runs end) with its labelled series. */
  readonly onRun?: (method: M, seed: number, series: ColumnTable, seconds: number) => void;
}

/** Every method for every seed; returns the labelled series (method, seed, …) in (seed, method) order and seconds per run (method, seed, seconds). */
export async function seededRuns<M extends { readonly label: string }, P>(options: SeededRunsOptions<M, P>): Promise<{ curves: ColumnTable; seconds: ColumnTable }> {
  if (options.methods.length === 0) throw new Error("seededRuns: methods must not be empty");
  const lanes = options.lanes ?? 1;
  const elsewhere = options.runElsewhere;
  if (lanes > 1 && !elsewhere) throw new Error(`seededRuns: lanes ${lanes} needs runElsewhere (runs on this thread share a trainer, one at a time)`);
  const done = await runRepetitionGrid({
    caller: "seededRuns",
    seeds: options.seeds,
    methods: options.methods.length,
    lanes,
    perSeed: lanes > 1 ? undefined : (seed: number): SeededRunContext<P> => {
      const prepared = options.prepare(seed);
      const trainer = new Trainer(options.buildModel(seed));
      return { seed, trainer, initialWeights: trainer.getWeights(), prepared };
    },
    release: (context) => context?.trainer.dispose(),
    run: async ({ method, seed }, context: SeededRunContext<P> | undefined, lane) => {
      const m = options.methods[method];
      const t0 = Date.now();
      const raw = elsewhere && lanes > 1 ? await elsewhere(m, seed, lane) : await options.run(m, context as SeededRunContext<P>);
      const series = labelRun(raw, { method: m.label, seed });
      const seconds = (Date.now() - t0) / 1000;
      options.onRun?.(m, seed, series, seconds);
      return { series, time: { method: m.label, seed, seconds } };
    },
  });
  return { curves: concatRuns(done.map((d) => d.series)), seconds: aq.from(done.map((d) => d.time)) };
}
