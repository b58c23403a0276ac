/**
 * Stage 5 of a round, convergence: track the best round by a validation loss (the weighted
 * validation loss of the global or the personal models) and stop when it has not improved by
 * `minDelta` for `patience` rounds. The best round's global weights are kept (`bestGlobalWeights`);
 * "best" follows validationRule.ts, the same rule as lib/analysis's `selectedByValidation`.
 */
import type { ModelWeights } from "../model/weights";
import { improvesValidation } from "./validationRule";

/** The convergence criterion of a run. */
export interface ConvergenceOptions {
  /** Rounds without improvement before stopping (integer ≥ 1). */
  readonly patience: number;
  /** Smallest decrease that counts as an improvement; default 0. */
  readonly minDelta?: number;
  /** Which models' validation loss is watched; default "global". */
  readonly scope?: "global" | "personal";
}

/** The best round so far. */
export interface BestRound {
  readonly loss: number;
  readonly round: number;
  readonly weights: ModelWeights;
}

/** The tracker's state (part of a snapshot). */
export interface ConvergenceState {
  readonly best: BestRound;
  readonly sinceBest: number;
  readonly converged: boolean;
}

/** Checks the options; throws naming the option and the value. */
export function checkConvergenceOptions(conv: ConvergenceOptions | undefined, personalEvaluation: boolean): void {
  if (conv && !(Number.isInteger(conv.patience) && conv.patience >= 1)) {
    throw new Error(`Federation: convergence.patience must be an integer ≥ 1, got ${conv.patience}`);
  }
  if (conv?.scope === "personal" && !personalEvaluation) {
    throw new Error(`Federation: convergence.scope "personal" needs personal evaluation, but evaluation.personal is false`);
  }
}

/** Tracks the best round and whether the run has converged. */
export class ConvergenceTracker {
  /** Current state (replace it with `restore`). */
  state: ConvergenceState;

  /** Start with no best round; `options` undefined means "never converge, still track the best". */
  constructor(private readonly options: ConvergenceOptions | undefined, initial: ModelWeights) {
    this.state = { best: { loss: Infinity, round: 0, weights: initial }, sinceBest: 0, converged: false };
  }

  /** Which loss the criterion watches. */
  get scope(): "global" | "personal" {
    return this.options?.scope ?? "global";
  }

  /** Round 0: the initial global validation loss is the first best (personal models do not exist yet, so a personal criterion starts from +∞). */
  start(globalValLoss: number, weights: ModelWeights): void {
    const loss = this.scope === "global" && !Number.isNaN(globalValLoss) ? globalValLoss : Infinity;
    this.state = { best: { loss, round: 0, weights }, sinceBest: 0, converged: false };
  }

  /** Record round `round` with the watched loss; returns whether the run has now converged. */
  observe(round: number, watched: number, weights: ModelWeights): boolean {
    const { best, sinceBest } = this.state;
    const next = watched < best.loss - (this.options?.minDelta ?? 0) ? 0 : sinceBest + 1;
    const nextBest = improvesValidation(watched, best.loss) ? { loss: watched, round, weights } : best;
    const converged = this.options !== undefined && next >= this.options.patience;
    this.state = { best: nextBest, sinceBest: next, converged };
    return converged;
  }
}
