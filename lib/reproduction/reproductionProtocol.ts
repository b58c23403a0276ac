/** Messages between a reproduction (`runPflBenchmark`, `runFedAvgPaper` with `workers`) and its reproduction worker threads. */
import type { PersonalisationSpec } from "../federation/personalisation/personalisationSpec";
import type { SerialisedError } from "../parallel/workerThread";
import type { FedAvgPaperOptions, PaperMethod } from "./fedAvgPaper";
import type { PflBenchmarkOptions } from "./pflBenchmark";

/** What a worker needs besides the method and seed: the options as data (no methods, seeds or callbacks). */
type JobOptions<O> = Omit<O, "methods" | "seeds" | "onRound" | "onRun">;

/** One (method, seed) run of a reproduction, as data: the worker runs it with the same function on this one method and seed. */
export type ReproductionJob =
  | { readonly kind: "pfllib"; readonly options: JobOptions<PflBenchmarkOptions>; readonly method: { readonly label: string; readonly personalisation: PersonalisationSpec }; readonly seed: number }
  | { readonly kind: "mcmahan"; readonly options: JobOptions<FedAvgPaperOptions>; readonly method: PaperMethod; readonly seed: number };

/** Main thread → worker: run this job. */
export type ReproductionMessage = ReproductionJob & { readonly type: "run"; readonly id: number };

/** Worker → main thread: ready, a round trained (the reproduction's `onRound` argument), the run's per-round series (rows, unlabelled) or its error. */
export type ReproductionReply =
  | { readonly type: "ready"; readonly backend: string }
  | { readonly type: "event"; readonly id: number; readonly round: Readonly<Record<string, string | number>> }
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly series: ReadonlyArray<Record<string, unknown>> }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: SerialisedError };
