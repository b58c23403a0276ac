/**
 * Stage 3 of a round, aggregate: hand the accepted updates and the failures to the strategy and
 * check what comes back. A round aggregates only with at least `minSuccessful` usable updates;
 * otherwise, or when the strategy refuses (AggregationRefused), "skip" keeps the global model and
 * "fail" throws. A strategy that throws, or returns weights of the wrong layout or with NaN/Inf,
 * fails the round; the strategy's state is rewound in every case that does not aggregate.
 */
import { assertSameStructure, nonFiniteWeights } from "../model/weightOps";
import type { ModelWeights } from "../model/weights";
import { AggregationRefused } from "./types";
import type { FitFailure, FitUpdate, Strategy } from "./types";

/** A round ended with fewer usable updates than `minSuccessful` under `onTooFewUpdates: "fail"`. */
export class TooFewUpdatesError extends Error {
  /** The round that failed. */
  readonly round: number;
  /** Usable updates it got. */
  readonly succeeded: number;
  /** The minimum required. */
  readonly minimum: number;
  /** Who failed and why. */
  readonly failures: readonly FitFailure[];

  /** Build the error; the message lists every failure. */
  constructor(round: number, succeeded: number, minimum: number, sampled: number, failures: readonly FitFailure[]) {
    const why = failures.map((f) => `${f.participantId}: ${f.reason}`).join("; ");
    super(
      `Federation: round ${round} has ${succeeded} usable update(s) of ${sampled} sampled, fewer than minSuccessful = ${minimum}` +
        (why ? ` (failures: ${why})` : "") +
        `; the run stops (set onTooFewUpdates: "skip" to keep the global model and go on)`,
    );
    this.name = "TooFewUpdatesError";
    this.round = round;
    this.succeeded = succeeded;
    this.minimum = minimum;
    this.failures = failures.slice();
  }
}

/** What `aggregateRound` needs. */
export interface AggregateInput {
  readonly round: number;
  readonly strategy: Strategy;
  /** The global model the round started from. */
  readonly current: ModelWeights;
  readonly updates: readonly FitUpdate[];
  readonly failures: readonly FitFailure[];
  readonly minSuccessful: number;
  readonly onTooFewUpdates: "skip" | "fail";
  /** Participants sampled this round (for the error message). */
  readonly sampled: number;
}

/** The aggregation's outcome. */
export interface Aggregated {
  /** The next global weights (`current` when skipped). */
  readonly weights: ModelWeights;
  /** The strategy's metrics for the server rows. */
  readonly metrics: Readonly<Record<string, number>>;
  /** True if the global model was kept. */
  readonly skipped: boolean;
  /** Updates the strategy could not use, as failures. */
  readonly lost: readonly FitFailure[];
  /** The updates that made it into the aggregate (empty when skipped). */
  readonly used: readonly FitUpdate[];
}

/** Aggregate one round with the strategy, or skip/fail it as the policy says. */
export function aggregateRound(input: AggregateInput): Aggregated {
  const { round, strategy, current, updates, failures, minSuccessful: minOk, onTooFewUpdates: policy } = input;
  const keep = (metrics: Readonly<Record<string, number>>, lost: readonly FitFailure[], usable: number): Aggregated => {
    if (policy === "fail") throw new TooFewUpdatesError(round, usable, minOk, input.sampled, [...failures, ...lost]);
    return { weights: current, metrics, skipped: true, lost, used: [] };
  };
  if (updates.length < minOk) return keep({}, [], updates.length);
  // Server optimiser state (moments, noise generator) is rewound too if the round does not aggregate.
  const before = strategy.getState();
  const refuse = (why: string): never => {
    strategy.setState(before);
    throw new Error(`Federation: round ${round}: ${why}`);
  };
  let result;
  try {
    result = strategy.aggregateFit(round, current, updates, failures);
  } catch (e) {
    if (e instanceof AggregationRefused) {
      strategy.setState(before);
      if (policy === "fail") throw new Error(`Federation: round ${round}: ${e.message}; the global model was kept (set onTooFewUpdates: "skip" to go on)`);
      return { weights: current, metrics: e.metrics, skipped: true, lost: e.failures, used: [] };
    }
    return refuse(`strategy ${strategy.name} could not aggregate ${updates.length} update(s): ${e instanceof Error ? e.message : String(e)}`);
  }
  const lost = result.lost ?? [];
  const lostIds = new Set(lost.map((f) => f.participantId));
  const used = updates.filter((u) => !lostIds.has(u.participantId));
  if (used.length < minOk) {
    strategy.setState(before);
    return keep(result.metrics ?? {}, lost, used.length);
  }
  try {
    assertSameStructure(current, result.weights, `strategy ${strategy.name} output`);
  } catch (e) {
    refuse(`${(e as Error).message}; the global model was kept`);
  }
  const bad = nonFiniteWeights(result.weights);
  if (bad.length > 0) refuse(`strategy ${strategy.name} produced NaN or Inf in ${bad.map((n) => `"${n}"`).join(", ")}; the global model was kept`);
  return { weights: result.weights, metrics: result.metrics ?? {}, skipped: false, lost, used };
}
