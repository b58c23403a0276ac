/**
 * How a round's local training is carried out. The round loop decides *who* trains and with what
 * config; a `FitExecutor` does the training — in this thread, one participant after another
 * (`serialFitExecutor`), or on a pool of worker threads. Results come back in job order, so
 * every executor gives the same history for the same seed.
 */
import type { ModelWeights } from "../model/weights";
import type { FitUpdate } from "./types";
import type { Participant, ParticipantFitConfig } from "./participant";
import type { Personalisation } from "./personalisation/personalisation";

/** One participant's local training in one round. (`seconds` in an outcome: wall-clock time of the fit where the executor measured it; the round loop's timeout reads it.) */
export interface FitJob {
  /** Who trains (its data, trainer and personal state). */
  readonly participant: Participant;
  /** The global weights it starts from. */
  readonly global: ModelWeights;
  /** Its local config this round (including its seed and any step limit). */
  readonly config: ParticipantFitConfig;
}

/** The outcome of one job: an update, or the error the participant raised. */
export type FitOutcome =
  | { readonly ok: true; readonly update: FitUpdate; readonly seconds?: number }
  | { readonly ok: false; readonly error: Error; readonly seconds?: number };

/** Runs a round's jobs; `outcomes[i]` answers `jobs[i]`. Must update each participant's personal state as `Participant.fit` does. */
export interface FitExecutor {
  /** Short name for logs, e.g. "serial" or "workers(2)". */
  readonly name: string;
  /** Train every job; never rejects for one participant's failure (that is an outcome). */
  run(jobs: readonly FitJob[], personalisation: Personalisation): Promise<FitOutcome[]>;
  /** Release threads or other resources. */
  dispose?(): Promise<void>;
}

/** The default executor: each job in turn on the participant's own (shared) trainer. */
export const serialFitExecutor: FitExecutor = {
  name: "serial",
  async run(jobs, personalisation) {
    return jobs.map((job): FitOutcome => {
      try {
        return { ok: true, update: job.participant.fit(job.global, job.config, personalisation) };
      } catch (e) {
        return { ok: false, error: e instanceof Error ? e : new Error(String(e)) };
      }
    });
  },
};
