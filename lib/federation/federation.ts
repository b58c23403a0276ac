/**
 * The server round loop. Each round: sample participants (seeded), ask the strategy for the
 * round's config, decide dropouts and deadline step limits, hand the local training to a
 * `FitExecutor` (default: serial, in this thread), turn dropouts, stragglers, exceptions,
 * timeouts and rejected updates (bad example count, wrong tensors, NaN/Inf, …) into recorded
 * failures, aggregate with the strategy (optionally through secure aggregation) when at least
 * `minSuccessful` updates arrived, then evaluate the global model on every participant's
 * validation and test splits and (every `evaluation.every` rounds and at the end) each
 * participant's personal model. Everything goes into one long history table. It stops at the
 * round budget or when the weighted validation loss has not improved for `patience` rounds.
 *
 * A round either completes or leaves nothing behind: when it cannot complete (too few updates,
 * the strategy throws or returns NaN) the error names the round and every failure, and the
 * federation is as it was before. `snapshot()`/`restore()` (and `checkpoint` in the options, see
 * checkpoint.ts) continue a run bitwise identically, in this process or another.
 *
 * Use `runFederation(options)` for a whole run, `federationRounds(options)` to iterate rounds
 * (live plots), or `Federation` to step by hand.
 */
import { deriveSeed, Rng } from "../util/rng";
import { byteSize, l2Distance, assertSameStructure, nonFiniteWeights } from "../model/weightOps";
import type { EarlyStopping, Trainer } from "../model/trainer";
import type { TrainableLayers } from "../model/freeze";
import type { ModelWeights } from "../model/weights";
import type { FitConfig, FitFailure, FitUpdate, Strategy } from "./types";
import type { Participant } from "./participant";
import type { Personalisation } from "./personalisation/personalisation";
import { totalSamples } from "./personalisation/personalisation";
import { NoPersonalisation } from "./personalisation/noPersonalisation";
import { sampleParticipants, sampleSize, SamplingOptions } from "./sampling";
import { dropsOut, HeterogeneityOptions, simulateTiming, stepsWithinDeadline } from "./heterogeneity";
import { HistoryRow, HistoryScope, historyTable, SERVER, Table } from "./history";
import { FitExecutor, FitJob, FitOutcome, serialFitExecutor } from "./executor";
import {
  architectureOf,
  assertFingerprintMatches,
  assertSameArchitecture,
  FederationFingerprint,
  FederationSnapshot,
  hashOptions,
  ParticipantSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
} from "./snapshot";
import { saveCheckpoint } from "./checkpoint";
import { FedAvg } from "./strategies/fedAvg";
import { DpStrategy } from "../privacy/dpStrategy";
import { SecAggParticipant } from "../privacy/secureAggregation";
import { resolveSecureAggregation, SecureAggregationOptions, secureRangeRejection, secureWeightedMean } from "../privacy/secureRound";

/** The local-training defaults of a round (the issue's fine-tuning defaults: lr 0.001, momentum 0.9). */
export const defaultFitConfig: FitConfig = { epochs: 1, batchSize: 32, learningRate: 0.001, momentum: 0.9, proximalMu: 0 };

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
    assertSameStructure(global, update.weights, "update");
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

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
  readonly convergence?: { readonly patience: number; readonly minDelta?: number; readonly scope?: "global" | "personal" };
  /** Personal models are evaluated every `every` rounds (and at the end); `personal: false` skips them. */
  readonly evaluation?: { readonly every?: number; readonly personal?: boolean };
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
  /**
   * Aggregate with secure aggregation (pairwise masking, lib/privacy/secureRound.ts): the server
   * only learns the weighted mean. Needs a weighted-mean strategy (FedAvg, FedProx). Participants
   * that drop out after masking are recovered when ≥ threshold vectors arrive; otherwise the round
   * fails (or is skipped under onTooFewUpdates "skip") without decoding anything.
   */
  readonly secureAggregation?: SecureAggregationOptions;
  /** Called after every round (round 0 = the initial evaluation), after any checkpoint was written; may be async. */
  readonly onRound?: (record: RoundRecord, federation: Federation) => void | Promise<void>;
  /** Continue from this snapshot (runFederation / federationRounds); see `Federation.restore`. */
  readonly resumeFrom?: FederationSnapshot;
  /** Write a checkpoint to `dir` every `every` rounds (default 1) and after the last round. */
  readonly checkpoint?: { readonly dir: string; readonly every?: number };
}

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

/** A round that trained and aggregated, waiting for evaluation. */
interface TrainedRound {
  readonly round: number;
  readonly picked: readonly Participant[];
  readonly updates: readonly FitUpdate[];
  readonly failures: FitFailure[];
  readonly rows: HistoryRow[];
  readonly server: Record<string, number>;
}

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

interface EvalSummary {
  loss: number;
  accuracy: number;
  valLoss: number;
}

/** A federated run that can be stepped round by round. */
export class Federation {
  /** The resolved personalisation. */
  readonly personalisation: Personalisation;
  /** The shared trainer. */
  readonly trainer: Trainer;
  private readonly options: FederationOptions;
  private readonly participants: readonly Participant[];
  private readonly seed: number;
  private samplingRng: Rng;
  private readonly baseFit: FitConfig;
  private readonly validators: readonly UpdateValidator[];
  private readonly executor: FitExecutor;
  private readonly secure: Required<SecureAggregationOptions> | undefined;
  private readonly secAggKeys = new Map<string, SecAggParticipant>();
  private global: ModelWeights;
  private best: { loss: number; round: number; weights: ModelWeights };
  private sinceBest = 0;
  private roundNo = -1;
  private converged = false;
  private readonly rows: HistoryRow[] = [];
  private readonly failures: FitFailure[] = [];
  private personal = new Map<string, ModelWeights>();

  /** Check the options (each failure names the option and the value) and set up the run. */
  constructor(options: FederationOptions) {
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
    const conv = options.convergence;
    if (conv && !(Number.isInteger(conv.patience) && conv.patience >= 1)) {
      throw new Error(`Federation: convergence.patience must be an integer ≥ 1, got ${conv.patience}`);
    }
    if (conv?.scope === "personal" && options.evaluation?.personal === false) {
      throw new Error(`Federation: convergence.scope "personal" needs personal evaluation, but evaluation.personal is false`);
    }
    const every = options.evaluation?.every ?? 1;
    if (!(Number.isInteger(every) && every >= 1)) throw new Error(`Federation: evaluation.every must be an integer ≥ 1, got ${every}`);
    const policy = options.onTooFewUpdates ?? "fail";
    if (policy !== "skip" && policy !== "fail") throw new Error(`Federation: onTooFewUpdates must be "skip" or "fail", got ${JSON.stringify(policy)}`);
    const timeout = options.timeoutSeconds;
    if (timeout !== undefined && !(typeof timeout === "number" && timeout > 0)) throw new Error(`Federation: timeoutSeconds must be > 0, got ${String(timeout)}`);
    const ckEvery = options.checkpoint?.every ?? 1;
    if (options.checkpoint !== undefined && !(typeof options.checkpoint.dir === "string" && options.checkpoint.dir.length > 0)) {
      throw new Error(`Federation: checkpoint.dir must be a non-empty path, got ${JSON.stringify(options.checkpoint.dir)}`);
    }
    if (!(Number.isInteger(ckEvery) && ckEvery >= 1)) throw new Error(`Federation: checkpoint.every must be an integer ≥ 1, got ${ckEvery}`);
    const deadline = options.heterogeneity?.deadlineSeconds;
    if (deadline !== undefined && !(deadline > 0)) throw new Error(`Federation: heterogeneity.deadlineSeconds must be > 0, got ${deadline}`);
    this.options = options;
    this.participants = participants;
    this.trainer = options.trainer ?? participants[0].trainer;
    this.personalisation = options.personalisation ?? new NoPersonalisation();
    this.seed = options.seed ?? 0;
    this.samplingRng = new Rng(deriveSeed(this.seed, "sampling"));
    this.baseFit = { ...defaultFitConfig, ...options.fitConfig };
    this.executor = options.fitExecutor ?? serialFitExecutor;
    this.secure = options.secureAggregation === undefined ? undefined : resolveSecureAggregation(options.secureAggregation);
    if (this.secure !== undefined) {
      const st = options.strategy;
      if (!(st instanceof FedAvg && st.weighted)) {
        throw new Error(`Federation: secureAggregation needs a weighted-mean strategy (FedAvg or FedProx, weighted), got ${st.name}; the server cannot see individual updates`);
      }
      if (this.secure.threshold > participants.length) {
        throw new Error(`Federation: secureAggregation.threshold is ${this.secure.threshold} but there are only ${participants.length} participants`);
      }
    }
    const extra = options.validateUpdate;
    const secure = this.secure;
    const range: UpdateValidator[] = secure === undefined ? [] : [(u, g) => secureRangeRejection(u, g, secure.clipValue)];
    this.validators = [exampleCountValidator, structureValidator, finiteValidator, ...range, ...(extra === undefined ? [] : typeof extra === "function" ? [extra] : extra)];
    this.global = options.initialWeights ?? this.trainer.getWeights();
    this.best = { loss: Infinity, round: 0, weights: this.global };
  }

  /** Rounds completed so far (0 after the initial evaluation, -1 before it). */
  get round(): number {
    return this.roundNo;
  }

  /** Whether the run is over (budget reached or converged). */
  get done(): boolean {
    return this.roundNo >= this.options.rounds || this.converged;
  }

  /** Current global weights. */
  get globalWeights(): ModelWeights {
    return this.global;
  }

  /** Round 0: evaluate the initial global model on every participant. */
  async start(): Promise<RoundRecord> {
    if (this.roundNo >= 0) throw new Error("Federation.start: already started");
    this.roundNo = 0;
    const rows: HistoryRow[] = [];
    const server: Record<string, number> = {};
    const g = this.evaluateGlobal(0, rows, server);
    // Personal models do not exist before round 1, so a personal criterion starts from +∞.
    const watchGlobal = (this.options.convergence?.scope ?? "global") === "global";
    this.best = { loss: watchGlobal && !Number.isNaN(g.valLoss) ? g.valLoss : Infinity, round: 0, weights: this.global };
    return this.finishRound(0, [], [], [], rows, server, false);
  }

  /**
   * Run the next round. If it cannot complete (too few updates under "fail", the strategy or the
   * executor throws, the aggregate is not finite) the error says why and the federation is left as
   * it was before the round (round number, sampler, participants' personal states, global model),
   * so `snapshot()` and `result()` still describe the last completed round.
   */
  async runRound(): Promise<RoundRecord> {
    if (this.roundNo < 0) await this.start();
    if (this.done) throw new Error(`Federation.runRound: the run is over (round ${this.roundNo})`);
    const before = { round: this.roundNo, rng: this.samplingRng.state, states: this.participants.map((p) => p.state), global: this.global };
    let trained: TrainedRound;
    try {
      trained = await this.trainAndAggregate(before.round + 1);
    } catch (e) {
      this.roundNo = before.round;
      this.samplingRng = Rng.fromState(before.rng);
      this.participants.forEach((p, i) => (p.state = before.states[i]));
      this.global = before.global;
      throw e;
    }
    return this.evaluateRound(trained);
  }

  /** Sample, train, validate and aggregate; throws (the caller rolls back) when the round cannot complete. */
  private async trainAndAggregate(round: number): Promise<TrainedRound> {
    this.roundNo = round;
    const rows: HistoryRow[] = [];
    const server: Record<string, number> = {};
    const picked = sampleParticipants(this.participants.length, this.options.sampling ?? {}, this.samplingRng).map((i) => this.participants[i]);
    const fit = this.options.strategy.configureFit(round, this.baseFit);
    const local = { ...fit, ...this.options.localTraining };
    const mask = this.personalisation.sharedMask(this.trainer);
    const bytes = byteSize(this.global, mask);
    const het = this.options.heterogeneity ?? {};
    const updates: FitUpdate[] = [];
    const failures: FitFailure[] = [];
    let wallClock = 0;
    let bytesUp = 0;
    let bytesDown = 0;
    const fail = (p: Participant, reason: string): void => {
      failures.push({ participantId: p.id, round, reason });
      rows.push({ round, participant: p.id, scope: "fit", metric: "failed", value: 1 });
    };

    // 1. Decide who cannot train at all (dropouts, no time left) and each trainer's step limit.
    type Plan = { readonly p: Participant; readonly failure: string; readonly deadlineHit: boolean } | { readonly p: Participant; readonly job: number; readonly maxSteps: number | undefined };
    const plans: Plan[] = [];
    const jobs: FitJob[] = [];
    for (const p of picked) {
      if (dropsOut(p.profile, new Rng(deriveSeed(this.seed, "dropout", round, p.id)))) {
        plans.push({ p, failure: "dropped out", deadlineHit: het.deadlineSeconds !== undefined });
        continue;
      }
      bytesDown += bytes;
      const maxSteps = het.partialWork ? stepsWithinDeadline(p.profile, het.deadlineSeconds, fit.batchSize, bytes, bytes) : undefined;
      if (maxSteps === 0) {
        plans.push({ p, failure: `missed the deadline (its transfers alone exceed ${het.deadlineSeconds}s)`, deadlineHit: true });
        continue;
      }
      plans.push({ p, job: jobs.length, maxSteps });
      jobs.push({ participant: p, global: this.global, config: { ...local, maxSteps, seed: deriveSeed(this.seed, "fit", round, p.id) } });
    }

    // 2. Train (in this thread or elsewhere); outcomes come back in job order.
    const { outcomes, seconds } = await this.execute(jobs);
    const timeout = this.options.timeoutSeconds;

    // 3. Turn outcomes into updates, failures and rows, in the order participants were sampled.
    for (const plan of plans) {
      const p = plan.p;
      if ("failure" in plan) {
        fail(p, plan.failure);
        if (plan.deadlineHit) wallClock = Math.max(wallClock, het.deadlineSeconds ?? 0);
        continue;
      }
      const maxSteps = plan.maxSteps;
      const outcome = outcomes[plan.job];
      // `=== false` (not `!outcome.ok`) narrows also without strictNullChecks, as the notebook kernel compiles.
      if (outcome.ok === false) {
        fail(p, `threw: ${outcome.error.message}`);
        continue;
      }
      const update = outcome.update;
      const took = seconds[plan.job];
      if (timeout !== undefined && took !== undefined && took > timeout) {
        fail(p, `timed out (local training took ${took.toFixed(2)}s, timeout ${timeout}s; update discarded)`);
        continue;
      }
      if (update.participantId !== p.id) {
        fail(p, `update rejected: it claims to come from "${update.participantId}"`);
        continue;
      }
      const timing = simulateTiming(p.profile, totalSamples(update.metrics), bytes, bytes);
      if (het.deadlineSeconds !== undefined && timing.totalSeconds > het.deadlineSeconds) {
        fail(p, `missed the deadline (needs ${timing.totalSeconds.toFixed(2)}s, deadline ${het.deadlineSeconds}s)`);
        wallClock = Math.max(wallClock, het.deadlineSeconds);
        continue;
      }
      const rejection = this.validate(update, round);
      if (rejection !== undefined) {
        fail(p, `update rejected: ${rejection}`);
        continue;
      }
      updates.push(update);
      bytesUp += bytes;
      wallClock = Math.max(wallClock, timing.totalSeconds);
      const fitMetrics: Record<string, number> = {
        ...update.metrics,
        numExamples: update.numExamples,
        // Under secure aggregation the server never sees an individual update, so no norm.
        ...(this.secure === undefined ? { updateNorm: l2Distance(update.weights, this.global) } : {}),
        simulatedSeconds: timing.totalSeconds,
        bytesUp: bytes,
        bytesDown: bytes,
        partial: maxSteps !== undefined && (update.metrics.steps ?? 0) >= maxSteps ? 1 : 0,
      };
      for (const [metric, value] of Object.entries(fitMetrics)) rows.push({ round, participant: p.id, scope: "fit", metric, value });
    }

    const previous = this.global;
    const minOk = this.options.minSuccessful ?? 1;
    const policy = this.options.onTooFewUpdates ?? "fail";
    // Secure aggregation replaces the individual updates by their securely computed mean.
    let aggregateInput: readonly FitUpdate[] = updates;
    let secureFailure: string | undefined;
    if (this.secure !== undefined && updates.length >= minOk) {
      const sa = this.secure;
      const drop = new Set(updates.filter((u) => sa.dropAfterMaskingProbability > 0 && new Rng(deriveSeed(this.seed, "secagg-drop", round, u.participantId)).next() < sa.dropAfterMaskingProbability).map((u) => u.participantId));
      try {
        const r = secureWeightedMean({ round, current: previous, updates, options: sa, shared: mask, dropAfterMasking: drop, keys: this.secAggKeys });
        aggregateInput = [{ participantId: "secure-sum", weights: r.weights, numExamples: r.numExamples, metrics: {} }];
      } catch (e) {
        secureFailure = e instanceof Error ? e.message : String(e);
      }
      for (const id of drop) {
        failures.push({ participantId: id, round, reason: "dropped out after masking (its masks were removed with the survivors' seeds)" });
        rows.push({ round, participant: id, scope: "fit", metric: "failed", value: 1 });
      }
      for (let i = updates.length - 1; i >= 0; i--) if (drop.has(updates[i].participantId)) updates.splice(i, 1);
      server.secureAggregation = 1;
      server.droppedAfterMasking = drop.size;
    }
    if (secureFailure !== undefined && policy === "fail") {
      throw new Error(`Federation: round ${round}: ${secureFailure}; the global model was kept (set onTooFewUpdates: "skip" to go on)`);
    }
    const skipped = updates.length < minOk || secureFailure !== undefined;
    if (skipped && policy === "fail") throw new TooFewUpdatesError(round, updates.length, minOk, picked.length, failures);
    if (!skipped) {
      let next: ModelWeights;
      const strategy = this.options.strategy;
      // Server optimiser state (moments, noise generator) is rewound too if the round is refused.
      const strategyBefore = strategy.getState();
      const refuse = (why: string): never => {
        strategy.setState(strategyBefore);
        throw new Error(`Federation: round ${round}: ${why}`);
      };
      try {
        next = strategy.aggregateFit(round, previous, aggregateInput, failures);
      } catch (e) {
        return refuse(`strategy ${strategy.name} could not aggregate ${aggregateInput.length} update(s): ${e instanceof Error ? e.message : String(e)}`);
      }
      try {
        assertSameStructure(previous, next, `strategy ${strategy.name} output`);
      } catch (e) {
        refuse(`${(e as Error).message}; the global model was kept`);
      }
      const bad = nonFiniteWeights(next);
      if (bad.length > 0) refuse(`strategy ${strategy.name} produced NaN or Inf in ${bad.map((n) => `"${n}"`).join(", ")}; the global model was kept`);
      this.global = next;
      if (strategy instanceof DpStrategy) {
        const rec = strategy.privacyReport().find((r) => r.round === round);
        if (rec !== undefined) {
          Object.assign(server, {
            dpEpsilon: rec.epsilon,
            dpDelta: rec.delta,
            dpClipNorm: rec.clipNorm,
            dpNoiseStd: rec.noiseStd,
            dpClippedFraction: rec.clippedFraction,
            dpReclipped: rec.reclipped,
          });
        }
      }
    }
    Object.assign(server, {
      sampled: picked.length,
      succeeded: updates.length,
      failed: failures.length,
      skipped: skipped ? 1 : 0,
      bytesUp,
      bytesDown,
      simulatedSeconds: wallClock,
      globalUpdateNorm: l2Distance(this.global, previous),
    });
    return { round, picked, updates, failures, rows, server };
  }

  /** Evaluate after aggregation, check convergence, record the round. */
  private async evaluateRound(trained: TrainedRound): Promise<RoundRecord> {
    const { round, picked, updates, failures, rows, server } = trained;

    const g = this.evaluateGlobal(round, rows, server);
    const conv = this.options.convergence;
    const scope = conv?.scope ?? "global";
    const lastByBudget = round >= this.options.rounds;
    let personalValLoss = NaN;
    const every = this.options.evaluation?.every ?? 1;
    const wantPersonal = this.options.evaluation?.personal !== false;
    // Personal evaluation before the convergence check when convergence watches personal models.
    if (wantPersonal && (scope === "personal" || round % every === 0 || lastByBudget)) {
      personalValLoss = this.evaluatePersonal(round, rows, server, g);
    }
    const watched = scope === "personal" ? personalValLoss : g.valLoss;
    this.sinceBest = watched < this.best.loss - (conv?.minDelta ?? 0) ? 0 : this.sinceBest + 1;
    if (watched < this.best.loss) this.best = { loss: watched, round, weights: this.global };
    const converged = conv !== undefined && this.sinceBest >= conv.patience;
    if (converged && !lastByBudget && wantPersonal && round % every !== 0 && scope !== "personal") {
      this.evaluatePersonal(round, rows, server, g);
    }
    this.converged = converged;
    this.failures.push(...failures);
    return this.finishRound(round, picked.map((p) => p.id), updates.map((u) => u.participantId), failures, rows, server, converged);
  }

  /** What a snapshot of this federation must match to be resumed (model variables, participant ids, run options). */
  fingerprint(): FederationFingerprint {
    const o = this.options;
    const options = {
      strategy: o.strategy.name,
      personalisation: this.personalisation.name,
      seed: this.seed,
      sampling: o.sampling ?? {},
      fitConfig: this.baseFit,
      localTraining: o.localTraining ?? {},
      heterogeneity: o.heterogeneity ?? {},
      minSuccessful: o.minSuccessful ?? 1,
      onTooFewUpdates: o.onTooFewUpdates ?? "fail",
      secureAggregation: this.secure ?? null,
      convergence: o.convergence ?? null,
      evaluation: o.evaluation ?? {},
      participantData: this.participants.map((p) => ({ id: p.id, numExamples: p.numExamples, profile: p.profile ?? null })),
    };
    return { architecture: architectureOf(this.global), participants: this.participants.map((p) => p.id), options, optionsHash: hashOptions(options) };
  }

  /**
   * Everything needed to continue this run identically (plain data; see FederationSnapshot). The
   * round budget is not part of it, so a resumed run may use a larger one.
   */
  snapshot(): FederationSnapshot {
    if (this.roundNo < 0) throw new Error("Federation.snapshot: the run has not started (call start() first)");
    const participants: ParticipantSnapshot[] = this.participants.map((p) => {
      const personal = this.personal.get(p.id);
      return personal === undefined ? { id: p.id, state: p.state } : { id: p.id, state: p.state, personalWeights: personal };
    });
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      round: this.roundNo,
      globalWeights: this.global,
      best: { loss: this.best.loss, round: this.best.round, weights: this.best.weights },
      sinceBest: this.sinceBest,
      converged: this.converged,
      rows: this.rows.slice(),
      failures: this.failures.slice(),
      participants,
      strategyState: this.options.strategy.getState(),
      samplingRngState: this.samplingRng.state,
      fingerprint: this.fingerprint(),
    };
  }

  /**
   * Continue from `snapshot`: checks the fingerprint (naming the first mismatching variable,
   * participant or option) and the shape of every stored weight set before changing anything, then
   * replaces this federation's state, the participants' personal states and the strategy's state.
   */
  restore(snapshot: FederationSnapshot): void {
    const where = "Federation.restore";
    if (snapshot === null || typeof snapshot !== "object") throw new Error(`${where}: snapshot must be an object, got ${String(snapshot)}`);
    if (snapshot.format !== SNAPSHOT_FORMAT) throw new Error(`${where}: snapshot.format is ${JSON.stringify(snapshot.format)}, expected "${SNAPSHOT_FORMAT}"`);
    if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`${where}: snapshot.version is ${JSON.stringify(snapshot.version)}, this code reads ${SNAPSHOT_VERSION}`);
    const mine = this.fingerprint();
    assertFingerprintMatches(mine, snapshot.fingerprint, where);
    const arch = mine.architecture;
    assertSameArchitecture(arch, architectureOf(snapshot.globalWeights), `${where}: globalWeights`);
    assertSameArchitecture(arch, architectureOf(snapshot.best.weights), `${where}: best.weights`);
    const byId = new Map(snapshot.participants.map((s) => [s.id, s] as const));
    for (const p of this.participants) {
      const s = byId.get(p.id);
      if (s === undefined) throw new Error(`${where}: snapshot has no entry for participant "${p.id}"`);
      if (s.state.weights !== undefined) assertSameArchitecture(arch, architectureOf(s.state.weights), `${where}: state of participant "${p.id}"`);
      if (s.personalWeights !== undefined) assertSameArchitecture(arch, architectureOf(s.personalWeights), `${where}: personal weights of participant "${p.id}"`);
    }
    if (!(Number.isInteger(snapshot.round) && snapshot.round >= 0)) throw new Error(`${where}: snapshot.round must be an integer ≥ 0, got ${snapshot.round}`);
    // The strategy checks its own state; it goes first so that a refusal leaves the rest untouched.
    this.options.strategy.setState(snapshot.strategyState);
    for (const p of this.participants) p.state = (byId.get(p.id) as ParticipantSnapshot).state;
    this.personal = new Map();
    for (const s of snapshot.participants) if (s.personalWeights !== undefined) this.personal.set(s.id, s.personalWeights);
    this.samplingRng = Rng.fromState(snapshot.samplingRngState);
    this.global = snapshot.globalWeights;
    this.best = { loss: snapshot.best.loss, round: snapshot.best.round, weights: snapshot.best.weights };
    this.sinceBest = snapshot.sinceBest;
    this.converged = snapshot.converged;
    this.roundNo = snapshot.round;
    this.rows.length = 0;
    this.rows.push(...snapshot.rows);
    this.failures.length = 0;
    this.failures.push(...snapshot.failures);
  }

  /** A federation continuing from `snapshot` (same as `new Federation(options)` then `restore(snapshot)`). */
  static fromSnapshot(options: FederationOptions, snapshot: FederationSnapshot): Federation {
    const f = new Federation(options);
    f.restore(snapshot);
    return f;
  }

  /** The run's result so far. */
  result(): FederationResult {
    return {
      history: historyTable(this.rows),
      rows: this.rows,
      globalWeights: this.global,
      bestGlobalWeights: this.best.weights,
      bestRound: this.best.round,
      personalWeights: this.personal,
      failures: this.failures,
      roundsRun: Math.max(0, this.roundNo),
      converged: this.converged,
      strategy: this.options.strategy.name,
      personalisation: this.personalisation.name,
    };
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Run the jobs on the executor. With a timeout and the serial executor, jobs run one at a time
   * so each can be timed; other executors are timed by the `seconds` they report on outcomes.
   */
  private async execute(jobs: readonly FitJob[]): Promise<{ outcomes: FitOutcome[]; seconds: Array<number | undefined> }> {
    const name = this.executor.name;
    const check = (outcomes: FitOutcome[], n: number): FitOutcome[] => {
      if (!Array.isArray(outcomes) || outcomes.length !== n) {
        throw new Error(`Federation: executor "${name}" returned ${Array.isArray(outcomes) ? outcomes.length : String(outcomes)} outcomes for ${n} jobs`);
      }
      return outcomes;
    };
    if (this.options.timeoutSeconds !== undefined && this.executor === serialFitExecutor) {
      const outcomes: FitOutcome[] = [];
      const seconds: number[] = [];
      for (const job of jobs) {
        const t0 = performance.now();
        outcomes.push(check(await this.executor.run([job], this.personalisation), 1)[0]);
        seconds.push((performance.now() - t0) / 1000);
      }
      return { outcomes, seconds };
    }
    const outcomes = check(await this.executor.run(jobs, this.personalisation), jobs.length);
    const seconds = outcomes.map((o) => (typeof o.seconds === "number" ? o.seconds : undefined));
    return { outcomes, seconds };
  }

  private validate(update: FitUpdate, round: number): string | undefined {
    for (const v of this.validators) {
      const reason = v(update, this.global, round);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /** Global model on every participant's validation and test split; adds rows and server means. */
  private evaluateGlobal(round: number, rows: HistoryRow[], server: Record<string, number>): EvalSummary {
    const acc = new WeightedMean();
    const loss = new WeightedMean();
    const valLoss = new WeightedMean();
    for (const p of this.participants) {
      const test = p.evaluate(this.global, "test");
      const val = p.evaluate(this.global, "validation");
      pushEval(rows, round, p.id, "global", test, val);
      acc.add(test.accuracy, test.numExamples);
      loss.add(test.loss, test.numExamples);
      valLoss.add(val.loss, val.numExamples);
    }
    const s = { loss: loss.value, accuracy: acc.value, valLoss: valLoss.value };
    server.globalAccuracy = s.accuracy;
    server.globalLoss = s.loss;
    server.globalValLoss = s.valLoss;
    return s;
  }

  /** Each participant's personal model on its splits; returns the weighted validation loss. */
  private evaluatePersonal(round: number, rows: HistoryRow[], server: Record<string, number>, global: EvalSummary): number {
    const acc = new WeightedMean();
    const loss = new WeightedMean();
    const valLoss = new WeightedMean();
    if (!this.personalisation.hasPersonalModel) {
      // The personal model is the global one: copy its rows instead of evaluating twice.
      for (const r of rows.filter((r) => r.scope === "global")) rows.push({ ...r, scope: "personal" });
      for (const p of this.participants) this.personal.set(p.id, this.global);
      Object.assign(server, { personalAccuracy: global.accuracy, personalLoss: global.loss, personalValLoss: global.valLoss });
      return global.valLoss;
    }
    const next = new Map<string, ModelWeights>();
    for (const p of this.participants) {
      const w = p.personalWeights(this.global, this.personalisation, deriveSeed(this.seed, "personal", round, p.id));
      next.set(p.id, w);
      const test = p.evaluate(w, "test");
      const val = p.evaluate(w, "validation");
      pushEval(rows, round, p.id, "personal", test, val);
      acc.add(test.accuracy, test.numExamples);
      loss.add(test.loss, test.numExamples);
      valLoss.add(val.loss, val.numExamples);
    }
    this.personal = next;
    Object.assign(server, { personalAccuracy: acc.value, personalLoss: loss.value, personalValLoss: valLoss.value });
    return valLoss.value;
  }

  private async finishRound(
    round: number,
    sampled: string[],
    succeeded: string[],
    failures: FitFailure[],
    rows: HistoryRow[],
    server: Record<string, number>,
    converged: boolean,
  ): Promise<RoundRecord> {
    for (const [metric, value] of Object.entries(server)) rows.push({ round, participant: SERVER, scope: "server", metric, value });
    this.rows.push(...rows);
    const record: RoundRecord = { round, sampled, succeeded, failures, rows, server, globalWeights: this.global, converged, done: this.done };
    const ck = this.options.checkpoint;
    if (ck !== undefined && (round % (ck.every ?? 1) === 0 || this.done)) saveCheckpoint(ck.dir, this.snapshot());
    if (this.options.onRound) await this.options.onRound(record, this);
    return record;
  }
}

function pushEval(
  rows: HistoryRow[],
  round: number,
  participant: string,
  scope: HistoryScope,
  test: { loss: number; accuracy: number },
  val: { loss: number; accuracy: number },
): void {
  rows.push({ round, participant, scope, metric: "accuracy", value: test.accuracy });
  rows.push({ round, participant, scope, metric: "loss", value: test.loss });
  rows.push({ round, participant, scope, metric: "valAccuracy", value: val.accuracy });
  rows.push({ round, participant, scope, metric: "valLoss", value: val.loss });
}

/** Mean weighted by example counts, skipping empty splits. */
class WeightedMean {
  private sum = 0;
  private weight = 0;
  add(value: number, count: number): void {
    if (count > 0 && !Number.isNaN(value)) {
      this.sum += value * count;
      this.weight += count;
    }
  }
  get value(): number {
    return this.weight > 0 ? this.sum / this.weight : NaN;
  }
}

/** Run a whole federation (round 0 evaluation, then rounds until the budget or convergence). */
export async function runFederation(options: FederationOptions): Promise<FederationResult> {
  const f = new Federation(options);
  if (options.resumeFrom !== undefined) f.restore(options.resumeFrom);
  else await f.start();
  while (!f.done) await f.runRound();
  return f.result();
}

/** Iterate a federation round by round (round 0 first, unless resuming from `resumeFrom`), e.g. `for await (const r of federationRounds(o)) plot(r)`. */
export async function* federationRounds(options: FederationOptions): AsyncGenerator<RoundRecord, FederationResult, void> {
  const f = new Federation(options);
  if (options.resumeFrom !== undefined) f.restore(options.resumeFrom);
  else yield await f.start();
  while (!f.done) yield await f.runRound();
  return f.result();
}
