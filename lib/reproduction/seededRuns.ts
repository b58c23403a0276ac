/**
 * The repetition loop both reproductions share: for each seed, a fresh model and whatever the seed
 * decides (the split), then every method from the same initial weights; each run's per-round
 * series is labelled with its method and seed, and its wall-clock seconds are kept.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type * as tf from "@tensorflow/tfjs";
import { Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import { concatRuns, labelRun } from "../analysis/labelRuns";

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
  /** Called after each run with its labelled series. */
  readonly onRun?: (method: M, seed: number, series: ColumnTable, seconds: number) => void;
}

/** Every method for every seed; returns the labelled series (method, seed, …) and seconds per run (method, seed, seconds). */
export async function seededRuns<M extends { readonly label: string }, P>(options: SeededRunsOptions<M, P>): Promise<{ curves: ColumnTable; seconds: ColumnTable }> {
  if (options.seeds.length === 0) throw new Error("seededRuns: seeds must not be empty");
  if (options.methods.length === 0) throw new Error("seededRuns: methods must not be empty");
  const curves: ColumnTable[] = [];
  const times: Array<{ method: string; seed: number; seconds: number }> = [];
  for (const seed of options.seeds) {
    const prepared = options.prepare(seed);
    const trainer = new Trainer(options.buildModel(seed));
    const initialWeights = trainer.getWeights();
    try {
      for (const m of options.methods) {
        const t0 = Date.now();
        const series = labelRun(await options.run(m, { seed, trainer, initialWeights, prepared }), { method: m.label, seed });
        const seconds = (Date.now() - t0) / 1000;
        curves.push(series);
        times.push({ method: m.label, seed, seconds });
        options.onRun?.(m, seed, series, seconds);
      }
    } finally {
      trainer.dispose();
    }
  }
  return { curves: concatRuns(curves), seconds: aq.from(times) };
}
