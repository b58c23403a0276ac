/**
 * How a round's local training is carried out. The round loop decides *who* trains and with what
 * config; a `FitExecutor` does the training — in this thread, one participant after another
 * (`serialFitExecutor`), or on a pool of worker threads. Results come back in job order, so
 * every executor gives the same history for the same seed. Executors change nothing: an outcome
 * carries the participant's new personal state, and the loop commits it only if the round succeeds.
 */
import type { ModelWeights } from "../model/weights";
import type { Evaluation } from "../model/trainer";
import type { FitUpdate } from "./types";
import type { Participant, ParticipantFitConfig, Split } from "./participant";
import type { Personalisation, PersonalState } from "./personalisation/personalisation";

/** One participant's local training in one round. */
export interface FitJob {
  /** Who trains (its data, trainer and personal state). */
  readonly participant: Participant;
  /** The global weights it starts from. */
  readonly global: ModelWeights;
  /** Its local config this round (including its seed and any step limit). */
  readonly config: ParticipantFitConfig;
}

/**
 * The outcome of one job: the update and the participant's new personal state, or the error it
 * raised. `seconds` is the wall-clock time of the fit (the loop's timeout reads it).
 */
export type FitOutcome =
  | { readonly ok: true; readonly update: FitUpdate; readonly newState: PersonalState; readonly seconds?: number }
  | { readonly ok: false; readonly error: Error; readonly seconds?: number };

/** One evaluation: `weights` on one participant's split. */
export interface EvaluateJob {
  readonly participant: Participant;
  readonly weights: ModelWeights;
  readonly split: Split;
}

/** Runs a round's jobs; `outcomes[i]` answers `jobs[i]`. Changes no participant (states come back in the outcomes). */
export interface FitExecutor {
  /** Short name for logs, e.g. "serial" or "workers(2)". */
  readonly name: string;
  /** Train every job; never rejects for one participant's failure (that is an outcome). Calls `onJobDone` as each job finishes. */
  run(jobs: readonly FitJob[], personalisation: Personalisation, onJobDone?: JobListener): Promise<FitOutcome[]>;
  /** Evaluate every job (results in job order); default: in this thread, one after another (`evaluateSerially`). */
  evaluate?(jobs: readonly EvaluateJob[]): Promise<Evaluation[]>;
  /** Release threads or other resources. */
  dispose?(): Promise<void>;
}

/** Told as each job of a run finishes (in completion order): the job's index and its outcome. */
export type JobListener = (index: number, outcome: FitOutcome) => void;

/** Evaluations in this thread, one after another, on each participant's trainer. */
export async function evaluateSerially(jobs: readonly EvaluateJob[]): Promise<Evaluation[]> {
  return jobs.map((j) => j.participant.evaluate(j.weights, j.split));
}

/** The default executor: each job in turn on the participant's own (shared) trainer, each timed. */
export const serialFitExecutor: FitExecutor = {
  name: "serial",
  async run(jobs, personalisation, onJobDone) {
    return jobs.map((job, i): FitOutcome => {
      const t0 = performance.now();
      let outcome: FitOutcome;
      try {
        const { update, newState } = job.participant.train(job.global, job.config, personalisation);
        outcome = { ok: true, update, newState, seconds: (performance.now() - t0) / 1000 };
      } catch (e) {
        outcome = { ok: false, error: e instanceof Error ? e : new Error(String(e)), seconds: (performance.now() - t0) / 1000 };
      }
      onJobDone?.(i, outcome);
      return outcome;
    });
  },
  evaluate: evaluateSerially,
};

/** Evaluate `jobs` with `executor` (called as its method, so a class's `this` holds), or serially when it has no `evaluate`. */
export function evaluateWith(executor: FitExecutor, jobs: readonly EvaluateJob[]): Promise<Evaluation[]> {
  return executor.evaluate ? executor.evaluate(jobs) : evaluateSerially(jobs);
}

/** A wrapper's `evaluate` and `dispose`: `inner`'s, called as its methods. */
export function passThrough(inner: FitExecutor): Pick<FitExecutor, "evaluate" | "dispose"> {
  return {
    evaluate: inner.evaluate === undefined ? undefined : (jobs) => evaluateWith(inner, jobs),
    dispose: inner.dispose === undefined ? undefined : async () => inner.dispose?.(),
  };
}

/** `inner`, also telling `onFit` about each finished fit (participant id and outcome): progress reporting for serial and pool runs alike. */
export function withProgress(inner: FitExecutor, onFit: (participantId: string, outcome: FitOutcome) => void): FitExecutor {
  return {
    name: inner.name,
    run: (jobs, personalisation, onJobDone) =>
      inner.run(jobs, personalisation, (i, outcome) => {
        onFit(jobs[i].participant.id, outcome);
        onJobDone?.(i, outcome);
      }),
    ...passThrough(inner),
  };
}
