/**
 * Stage 2 of a round, collect: hand the planned fits to the executor, then turn every outcome into
 * an accepted update (with its fit rows) or a recorded failure — exceptions, timeouts, a wrong
 * sender, a missed simulated deadline, and each validator's rejection. Every update is checked
 * exactly once, here, by the validators in order: example count, structure, finite values, the
 * strategy's own check, then the run's extra checks. New personal states come back unapplied.
 */
import { l2Distance, nonFiniteWeights } from "../model/weightOps";
import { assertSameLayout } from "../model/weightLayout";
import type { ModelWeights } from "../model/weights";
import type { FitFailure, FitUpdate, Strategy } from "./types";
import type { FitExecutor, FitJob } from "./executor";
import type { ParticipantFitConfig } from "./participant";
import type { LocalTrainingConfig, Personalisation, PersonalState } from "./personalisation/personalisation";
import { totalSamples } from "./personalisation/personalisation";
import { HeterogeneityOptions, simulateTiming } from "./heterogeneity";
import { deriveSeed } from "../util/rng";
import type { HistoryRow } from "./history";
import type { PlannedFit } from "./roundPlan";

/** A check on an update before aggregation: a reason to reject it, or undefined to accept. */
export type UpdateValidator = (update: FitUpdate, global: ModelWeights, round: number) => string | undefined;

/** Rejects example counts that are not positive integers (they weight the average; always on). */
export const exampleCountValidator: UpdateValidator = (update) =>
  Number.isInteger(update.numExamples) && update.numExamples > 0 ? undefined : `numExamples must be a positive integer, got ${String(update.numExamples)}`;

/** Rejects updates containing NaN or ±Infinity, naming the variables (always on). */
export const finiteValidator: UpdateValidator = (update) => {
  const bad = nonFiniteWeights(update.weights);
  return bad.length === 0 ? undefined : `NaN or Inf in ${bad.map((n) => `"${n}"`).join(", ")}`;
};

/** Rejects updates whose tensors differ in names or shapes from the global model (always on). */
export const structureValidator: UpdateValidator = (update, global) => {
  try {
    assertSameLayout(global, update.weights, "update", `participant "${update.participantId}"`);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/** The checks of a run, in order: example count, structure, finite values, the strategy's own check, then `extra`. */
export function updateValidators(strategy: Strategy, extra?: UpdateValidator | readonly UpdateValidator[]): UpdateValidator[] {
  const own: UpdateValidator[] = strategy.checkUpdate ? [(u, g, r) => strategy.checkUpdate?.(u, g, r)] : [];
  return [exampleCountValidator, structureValidator, finiteValidator, ...own, ...(extra === undefined ? [] : typeof extra === "function" ? [extra] : extra)];
}

/** What `collectUpdates` needs. */
export interface CollectInput {
  readonly round: number;
  readonly plan: readonly PlannedFit[];
  readonly global: ModelWeights;
  readonly executor: FitExecutor;
  readonly personalisation: Personalisation;
  /** What trains locally and when it stops (added to each participant's settings). */
  readonly localTraining: Partial<Pick<LocalTrainingConfig, "trainable" | "earlyStopping" | "cacheFrozenFeatures">>;
  /** The run's seed (each fit's seed derives from it). */
  readonly seed: number;
  /** Every check, in order; the first reason rejects. */
  readonly validators: readonly UpdateValidator[];
  readonly timeoutSeconds: number | undefined;
  readonly heterogeneity: HeterogeneityOptions;
  /** Bytes of the shared model, each way. */
  readonly bytes: number;
  /** False under secure aggregation: no per-update norm is recorded. */
  readonly seesUpdates: boolean;
}

/** What a round collected. */
export interface Collected {
  /** Accepted updates, in sampling order. */
  readonly updates: FitUpdate[];
  /** Failures, in sampling order. */
  readonly failures: FitFailure[];
  /** Fit rows (metrics of accepted updates, `failed` of the others). */
  readonly rows: HistoryRow[];
  /** New personal states of every participant whose training ran (committed only if the round completes). */
  readonly newStates: Map<string, PersonalState>;
  /** Simulated round duration (slowest accepted participant, or the deadline if someone missed it). */
  readonly simulatedSeconds: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Wall-clock seconds the executor took. */
  readonly trainSeconds: number;
}

/** Run the planned fits and sort every outcome into an update or a failure. */
export async function collectUpdates(input: CollectInput): Promise<Collected> {
  const { round, plan, global, heterogeneity: het, bytes } = input;
  const jobs: FitJob[] = [];
  const jobOf = new Map<PlannedFit, number>();
  let bytesDown = 0;
  for (const entry of plan) {
    if (entry.kind === "fail" && !entry.downloaded) continue;
    bytesDown += bytes;
    if (entry.kind === "fail") continue;
    jobOf.set(entry, jobs.length);
    const config: ParticipantFitConfig = {
      ...entry.instructions.settings,
      ...input.localTraining,
      maxSteps: entry.maxSteps,
      seed: deriveSeed(input.seed, "fit", round, entry.participant.id),
      record: entry.instructions.record,
    };
    jobs.push({ participant: entry.participant, global, config });
  }
  const t0 = performance.now();
  const outcomes = await input.executor.run(jobs, input.personalisation);
  const trainSeconds = (performance.now() - t0) / 1000;
  if (!Array.isArray(outcomes) || outcomes.length !== jobs.length) {
    throw new Error(`Federation: executor "${input.executor.name}" returned ${Array.isArray(outcomes) ? outcomes.length : String(outcomes)} outcomes for ${jobs.length} jobs`);
  }

  const out: Collected = { updates: [], failures: [], rows: [], newStates: new Map(), simulatedSeconds: 0, bytesUp: 0, bytesDown, trainSeconds };
  let wallClock = 0;
  let bytesUp = 0;
  const fail = (id: string, reason: string): void => {
    out.failures.push({ participantId: id, round, reason });
    out.rows.push({ round, participant: id, scope: "fit", metric: "failed", value: 1 });
  };
  for (const entry of plan) {
    const p = entry.participant;
    if (entry.kind === "fail") {
      fail(p.id, entry.failure);
      if (entry.deadlineHit) wallClock = Math.max(wallClock, het.deadlineSeconds ?? 0);
      continue;
    }
    const outcome = outcomes[jobOf.get(entry) as number];
    // `=== false` (not `!outcome.ok`) narrows also without strictNullChecks, as the notebook kernel compiles.
    if (outcome.ok === false) {
      fail(p.id, `threw: ${outcome.error.message}`);
      continue;
    }
    const update = outcome.update;
    // The participant trained, so it keeps its new personal state even if the server discards the update.
    out.newStates.set(p.id, outcome.newState);
    const took = outcome.seconds;
    const timeout = input.timeoutSeconds;
    if (timeout !== undefined && typeof took === "number" && took > timeout) {
      fail(p.id, `timed out (local training took ${took.toFixed(2)}s, timeout ${timeout}s; update discarded)`);
      continue;
    }
    if (update.participantId !== p.id) {
      fail(p.id, `update rejected: it claims to come from "${update.participantId}"`);
      continue;
    }
    const timing = simulateTiming(p.profile, totalSamples(update.metrics), bytes, bytes);
    if (het.deadlineSeconds !== undefined && timing.totalSeconds > het.deadlineSeconds) {
      fail(p.id, `missed the deadline (needs ${timing.totalSeconds.toFixed(2)}s, deadline ${het.deadlineSeconds}s)`);
      wallClock = Math.max(wallClock, het.deadlineSeconds);
      continue;
    }
    const rejection = firstRejection(input.validators, update, global, round);
    if (rejection !== undefined) {
      fail(p.id, `update rejected: ${rejection}`);
      continue;
    }
    out.updates.push(update);
    bytesUp += bytes;
    wallClock = Math.max(wallClock, timing.totalSeconds);
    const fitMetrics: Record<string, number> = {
      ...update.metrics,
      numExamples: update.numExamples,
      ...(input.seesUpdates ? { updateNorm: l2Distance(update.weights, global) } : {}),
      simulatedSeconds: timing.totalSeconds,
      bytesUp: bytes,
      bytesDown: bytes,
      partial: entry.maxSteps !== undefined && (update.metrics.steps ?? 0) >= entry.maxSteps ? 1 : 0,
    };
    for (const [metric, value] of Object.entries(fitMetrics)) out.rows.push({ round, participant: p.id, scope: "fit", metric, value });
  }
  return { ...out, simulatedSeconds: wallClock, bytesUp };
}

function firstRejection(validators: readonly UpdateValidator[], update: FitUpdate, global: ModelWeights, round: number): string | undefined {
  for (const v of validators) {
    const reason = v(update, global, round);
    if (reason !== undefined) return reason;
  }
  return undefined;
}
