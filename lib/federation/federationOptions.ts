/**
 * The options of a federated run, their defaults and their checks (each failure names the option
 * and the value it got).
 */
import type { Trainer, EarlyStopping } from "../model/trainer";
import type { TrainableLayers } from "../model/freeze";
import type { ModelWeights } from "../model/weights";
import type { FitConfig, Strategy } from "./types";
import type { Participant } from "./participant";
import type { Personalisation } from "./personalisation/personalisation";
import { sampleSize, SamplingOptions } from "./sampling";
import type { HeterogeneityOptions } from "./heterogeneity";
import { SERVER } from "./history";
import type { FitExecutor } from "./executor";
import type { UpdateValidator } from "./collectUpdates";
import type { FederationSnapshot } from "./snapshot";
import type { ConvergenceOptions } from "./convergence";
import { checkCheckpointOptions, RoundObserver } from "./checkpointObserver";
import type { Federation } from "./federation";
import type { RoundRecord } from "./roundRecord";
import { LOCAL_TRAINING_DEFAULTS } from "./localTrainingDefaults";

/** The local-training defaults of a round (the FitConfig part of LOCAL_TRAINING_DEFAULTS: lr 0.001, momentum 0.9, 1 epoch). */
export const defaultFitConfig: FitConfig = fitConfigOf(LOCAL_TRAINING_DEFAULTS);

function fitConfigOf(d: FitConfig): FitConfig {
  return { epochs: d.epochs, batchSize: d.batchSize, learningRate: d.learningRate, momentum: d.momentum, proximalMu: d.proximalMu };
}

/** Options of a federated run. */
export interface FederationOptions {
  /** The participants (ids unique; "server" is reserved). */
  readonly participants: readonly Participant[];
  /** How updates are aggregated (FedAvg, FedProx, FedAdam, …). */
  readonly strategy: Strategy;
  /** Round budget (≥ 1). */
  readonly rounds: number;
  /** The shared trainer; default the first participant's. */
  readonly trainer?: Trainer;
  /** Starting global weights (e.g. the pretrained model); default the trainer's current weights. */
  readonly initialWeights?: ModelWeights;
  /** Client sampling per round; default everyone. */
  readonly sampling?: SamplingOptions;
  /** Base local-training config, completed from `defaultFitConfig`; the strategy may adjust it per round. */
  readonly fitConfig?: Partial<FitConfig>;
  /** What trains locally and when local training stops. */
  readonly localTraining?: {
    /** Layers trained in each round; default the model's flags. */
    readonly trainable?: TrainableLayers;
    /** Early stopping of each local run on the participant's validation split. */
    readonly earlyStopping?: EarlyStopping;
    /** Frozen-feature cache; default true. */
    readonly cacheFrozenFeatures?: boolean;
  };
  /** Personalisation method; default none (personal = global). */
  readonly personalisation?: Personalisation;
  /** The one seed behind sampling, shuffling, dropout and personal training; default 0. */
  readonly seed?: number;
  /** Stop when the weighted validation loss has not improved by `minDelta` for `patience` rounds. */
  readonly convergence?: ConvergenceOptions;
  /**
   * Personal models are evaluated every `every` rounds (and at the end); `personal: false` skips them.
   * `models: "used"` evaluates only the models the personalisation says are meaningful
   * (`Personalisation.evaluates`, e.g. not FedPer's global model, whose head never trains); default "all".
   */
  readonly evaluation?: { readonly every?: number; readonly personal?: boolean; readonly models?: "all" | "used" };
  /** Simulated deadlines and partial work (profiles live on the participants). */
  readonly heterogeneity?: HeterogeneityOptions;
  /** Aggregate only if at least this many updates arrived (see `onTooFewUpdates`). Default 1. */
  readonly minSuccessful?: number;
  /**
   * What happens in a round with fewer than `minSuccessful` usable updates: "fail" (default) throws a
   * TooFewUpdatesError naming the round, the count, the minimum and every failure, and leaves the
   * federation as it was before the round; "skip" keeps the global model and records `skipped = 1`.
   */
  readonly onTooFewUpdates?: "skip" | "fail";
  /**
   * Wall-clock limit (seconds) on one participant's local training. In-process fits cannot be
   * interrupted, so an overrun is detected afterwards and its update discarded (recorded as
   * "timed out"); an executor that reports `seconds` on its outcomes (e.g. worker threads) is
   * timed the same way and may stop the work early. Wall-clock times differ between runs, so a
   * run with timeouts is only reproducible when no participant comes near the limit.
   */
  readonly timeoutSeconds?: number;
  /** Extra checks on each update (norm bounds, …), after the built-in ones (example count, structure, finite values). */
  readonly validateUpdate?: UpdateValidator | readonly UpdateValidator[];
  /** Who runs local training (default `serialFitExecutor`: one participant after another in this thread). */
  readonly fitExecutor?: FitExecutor;
  /** Called after every round (round 0 = the initial evaluation), after any checkpoint was written; may be async. */
  readonly onRound?: (record: RoundRecord, federation: Federation) => void | Promise<void>;
  /** More observers of finished rounds (after the checkpoint, before `onRound`), e.g. `checkpointObserver`. */
  readonly observers?: readonly RoundObserver<RoundRecord>[];
  /**
   * Record wall-clock seconds per round as server metrics `trainSeconds` (the executor's fits) and
   * `evaluateSeconds` (all evaluation). Off by default: wall-clock times differ between runs, and
   * without them the same seed gives the same history bit for bit.
   */
  readonly recordWallClock?: boolean;
  /** Continue from this snapshot (runFederation / federationRounds); see `Federation.restore`. */
  readonly resumeFrom?: FederationSnapshot;
  /** Write a checkpoint to `dir` every `every` rounds (default 1) and after the last round. */
  readonly checkpoint?: { readonly dir: string; readonly every?: number };
}

/** Check every option before a run starts; throws naming the option and the value. */
export function checkFederationOptions(options: FederationOptions): void {
  const { participants, rounds } = options;
  if (participants.length === 0) throw new Error("Federation: participants must not be empty");
  const ids = new Set<string>();
  for (const p of participants) {
    if (p.id === SERVER) throw new Error(`Federation: participant id "${SERVER}" is reserved for server rows`);
    if (ids.has(p.id)) throw new Error(`Federation: participant id "${p.id}" is used twice`);
    ids.add(p.id);
  }
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`Federation: rounds must be an integer ≥ 1, got ${rounds}`);
  sampleSize(participants.length, options.sampling); // validates the sampling options now
  const minOk = options.minSuccessful ?? 1;
  if (!(Number.isInteger(minOk) && minOk >= 1)) throw new Error(`Federation: minSuccessful must be an integer ≥ 1, got ${minOk}`);
  // The convergence options are checked with the models the run evaluates (evaluateModels.ts convergenceFor).
  const every = options.evaluation?.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`Federation: evaluation.every must be an integer ≥ 1, got ${every}`);
  const models = options.evaluation?.models ?? "all";
  if (models !== "all" && models !== "used") throw new Error(`Federation: evaluation.models must be "all" or "used", got ${JSON.stringify(models)}`);
  const policy = options.onTooFewUpdates ?? "fail";
  if (policy !== "skip" && policy !== "fail") throw new Error(`Federation: onTooFewUpdates must be "skip" or "fail", got ${JSON.stringify(policy)}`);
  const timeout = options.timeoutSeconds;
  if (timeout !== undefined && !(typeof timeout === "number" && timeout > 0)) throw new Error(`Federation: timeoutSeconds must be > 0, got ${String(timeout)}`);
  if (options.checkpoint !== undefined) checkCheckpointOptions(options.checkpoint);
  const deadline = options.heterogeneity?.deadlineSeconds;
  if (deadline !== undefined && !(deadline > 0)) throw new Error(`Federation: heterogeneity.deadlineSeconds must be > 0, got ${deadline}`);
}
