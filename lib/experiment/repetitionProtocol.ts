/** Messages between `runRepetitions` and its repetition workers, and what one repetition yields. */
import type { ExperimentConfig } from "./experimentConfig";
import type { ProgressEvent } from "./progress";
import type { SerialisedError } from "../parallel/workerThread";
import type { ParticipantResult } from "./resultsTable";

/** What one repetition (one seed) produced: its final table and where its run folder is. */
export interface RepetitionOutcome {
  readonly seed: number;
  /** The repetition's own run folder (a complete single run). */
  readonly outDir: string;
  /** Its final table rows (per participant, then "mean"). */
  readonly results: readonly ParticipantResult[];
  readonly roundsRun: number;
  readonly converged: boolean;
  /** Wall-clock seconds of the repetition. */
  readonly seconds: number;
  readonly backend: string;
  readonly warnings: readonly string[];
  /** How this invocation got it: run now, resumed from its checkpoint, or kept from an earlier invocation (verified, not rerun). */
  readonly how: "ran" | "resumed" | "kept";
}

/** Main thread → worker: run this single-seed config into this folder. */
export interface RepetitionRequest {
  readonly config: ExperimentConfig;
  readonly outDir: string;
  readonly report: boolean;
  /** Continue the interrupted run already in `outDir` (its config.json is the same config). */
  readonly resume: boolean;
  /** Send the run's progress events back (`RepetitionReply` "progress"). */
  readonly progress: boolean;
}

/** Main thread → worker, as a numbered request of a `WorkerThread`. */
export interface RepetitionMessage extends RepetitionRequest {
  readonly type: "repetition";
  readonly id: number;
}

/** Worker → main thread: ready, a repetition's progress, its outcome or its error. */
export type RepetitionReply =
  | { readonly type: "ready"; readonly backend: string }
  | { readonly type: "event"; readonly id: number; readonly seed: number; readonly event: ProgressEvent }
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly outcome: RepetitionOutcome }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: SerialisedError };
