/** What the round loop hands out: one round's record, and the outcome of a run. */
import type { ModelWeights } from "../model/weights";
import type { FitFailure } from "./types";
import type { HistoryRow, Table } from "./history";

/** What one round produced. */
export interface RoundRecord {
  /** Round number (0 = initial evaluation). */
  readonly round: number;
  /** Ids sampled to train. */
  readonly sampled: readonly string[];
  /** Ids whose updates were aggregated. */
  readonly succeeded: readonly string[];
  /** Failed participants and why. */
  readonly failures: readonly FitFailure[];
  /** This round's history rows. */
  readonly rows: readonly HistoryRow[];
  /** Server-level numbers of this round (globalAccuracy, globalValLoss, personalAccuracy, …). */
  readonly server: Readonly<Record<string, number>>;
  /** Global weights after the round. */
  readonly globalWeights: ModelWeights;
  /** True when the convergence criterion fired this round. */
  readonly converged: boolean;
  /** True when this was the last round. */
  readonly done: boolean;
}

/** The outcome of a run. */
export interface FederationResult {
  /** Long history table: round, participant, scope, metric, value. */
  readonly history: Table;
  /** The same rows as plain objects. */
  readonly rows: readonly HistoryRow[];
  /** Final global weights. */
  readonly globalWeights: ModelWeights;
  /** Global weights of the round with the lowest weighted validation loss. */
  readonly bestGlobalWeights: ModelWeights;
  /** That round. */
  readonly bestRound: number;
  /** Each participant's personal weights at the last personal evaluation. */
  readonly personalWeights: ReadonlyMap<string, ModelWeights>;
  /** Every failure of the run. */
  readonly failures: readonly FitFailure[];
  /** Rounds run (excluding round 0). */
  readonly roundsRun: number;
  /** Whether the run stopped on convergence. */
  readonly converged: boolean;
  /** Strategy and personalisation names, for labels. */
  readonly strategy: string;
  /** Personalisation name. */
  readonly personalisation: string;
}
