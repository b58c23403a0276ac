/**
 * Checkpointing as an observer of finished rounds: the one mechanism the round loop's
 * `checkpoint` option and `fedtune run` both use to write a checkpoint (atomically, see
 * checkpoint.ts) every `every` rounds and after the last one.
 */
import { saveCheckpoint } from "./checkpoint";
import type { FederationSnapshot } from "./snapshot";

/** What an observer sees after each round (round 0 = the initial evaluation). */
export interface FinishedRound {
  readonly round: number;
  /** True when this was the last round. */
  readonly done: boolean;
}

/** Called after every finished round with the record and something that can snapshot the run; may be async. */
export type RoundObserver<R extends FinishedRound = FinishedRound> = (record: R, run: { snapshot(): FederationSnapshot }) => void | Promise<void>;

/** Checks `{ dir, every }`, naming the option and the value. */
export function checkCheckpointOptions(options: { readonly dir: string; readonly every?: number }): void {
  if (!(typeof options.dir === "string" && options.dir.length > 0)) {
    throw new Error(`Federation: checkpoint.dir must be a non-empty path, got ${JSON.stringify(options.dir)}`);
  }
  const every = options.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`Federation: checkpoint.every must be an integer ≥ 1, got ${every}`);
}

/** An observer that writes a checkpoint to `dir` every `every` rounds (default 1) and after the last round. */
export function checkpointObserver(options: { readonly dir: string; readonly every?: number }): RoundObserver {
  checkCheckpointOptions(options);
  const every = options.every ?? 1;
  return (record, run) => {
    if (record.round % every === 0 || record.done) saveCheckpoint(options.dir, run.snapshot());
  };
}
