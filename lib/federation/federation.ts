/**
 * The server round loop. Each round: sample participants (seeded), ask the strategy for the
 * round's config, let each sampled participant train (its personalisation decides what it sends
 * and keeps), turn dropouts, stragglers, exceptions and rejected updates into recorded failures,
 * aggregate with the strategy when enough updates arrived, then evaluate the global model on every
 * participant's validation and test splits and (every `evaluation.every` rounds and at the end)
 * each participant's personal model. Everything goes into one long history table. It stops at
 * the round budget or when the weighted validation loss has not improved for `patience` rounds.
 *
 * Use `runFederation(options)` for a whole run, `federationRounds(options)` to iterate rounds
 * (live plots), or `Federation` to step by hand.
 */
import { deriveSeed, Rng } from "../util/rng";
import { byteSize, l2Distance, assertSameStructure } from "../model/weightOps";
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

/** The local-training defaults of a round (the fine-tuning defaults: lr 0.001, momentum 0.9). */
export const defaultFitConfig: FitConfig = { epochs: 1, batchSize: 32, learningRate: 0.001, momentum: 0.9, proximalMu: 0 };

/** A check on an update before aggregation: a reason to reject it, or undefined to accept. */
export type UpdateValidator = (update: FitUpdate, global: ModelWeights, round: number) => string | undefined;

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
  /** Aggregate only if at least this many updates arrived; otherwise the global model stays. Default 1. */
  readonly minSuccessful?: number;
  /** Extra checks on each update (NaN, norm bounds, …), after the structure check. */
  readonly validateUpdate?: UpdateValidator | readonly UpdateValidator[];
  /** Called after every round (round 0 = the initial evaluation); may be async. */
  readonly onRound?: (record: RoundRecord) => void | Promise<void>;
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
  private readonly samplingRng: Rng;
  private readonly baseFit: FitConfig;
  private readonly validators: readonly UpdateValidator[];
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
    const deadline = options.heterogeneity?.deadlineSeconds;
    if (deadline !== undefined && !(deadline > 0)) throw new Error(`Federation: heterogeneity.deadlineSeconds must be > 0, got ${deadline}`);
    this.options = options;
    this.participants = participants;
    this.trainer = options.trainer ?? participants[0].trainer;
    this.personalisation = options.personalisation ?? new NoPersonalisation();
    this.seed = options.seed ?? 0;
    this.samplingRng = new Rng(deriveSeed(this.seed, "sampling"));
    this.baseFit = { ...defaultFitConfig, ...options.fitConfig };
    const extra = options.validateUpdate;
    this.validators = [structureValidator, ...(extra === undefined ? [] : typeof extra === "function" ? [extra] : extra)];
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

  /** Run the next round. */
  async runRound(): Promise<RoundRecord> {
    if (this.roundNo < 0) await this.start();
    if (this.done) throw new Error(`Federation.runRound: the run is over (round ${this.roundNo})`);
    const round = this.roundNo + 1;
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

    for (const p of picked) {
      if (dropsOut(p.profile, new Rng(deriveSeed(this.seed, "dropout", round, p.id)))) {
        fail(p, "dropped out");
        if (het.deadlineSeconds !== undefined) wallClock = Math.max(wallClock, het.deadlineSeconds);
        continue;
      }
      bytesDown += bytes;
      const maxSteps = het.partialWork ? stepsWithinDeadline(p.profile, het.deadlineSeconds, fit.batchSize, bytes, bytes) : undefined;
      if (maxSteps === 0) {
        fail(p, `missed the deadline (its transfers alone exceed ${het.deadlineSeconds}s)`);
        wallClock = Math.max(wallClock, het.deadlineSeconds ?? 0);
        continue;
      }
      let update: FitUpdate;
      try {
        update = p.fit(this.global, { ...local, maxSteps, seed: deriveSeed(this.seed, "fit", round, p.id) }, this.personalisation);
      } catch (e) {
        fail(p, `threw: ${e instanceof Error ? e.message : String(e)}`);
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
        updateNorm: l2Distance(update.weights, this.global),
        simulatedSeconds: timing.totalSeconds,
        bytesUp: bytes,
        bytesDown: bytes,
        partial: maxSteps !== undefined && (update.metrics.steps ?? 0) >= maxSteps ? 1 : 0,
      };
      for (const [metric, value] of Object.entries(fitMetrics)) rows.push({ round, participant: p.id, scope: "fit", metric, value });
    }

    const previous = this.global;
    const minOk = this.options.minSuccessful ?? 1;
    const skipped = updates.length < minOk;
    if (!skipped) this.global = this.options.strategy.aggregateFit(round, previous, updates, failures);
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
    if (this.options.onRound) await this.options.onRound(record);
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
  await f.start();
  while (!f.done) await f.runRound();
  return f.result();
}

/** Iterate a federation round by round (round 0 first), e.g. `for await (const r of federationRounds(o)) plot(r)`. */
export async function* federationRounds(options: FederationOptions): AsyncGenerator<RoundRecord, FederationResult, void> {
  const f = new Federation(options);
  yield await f.start();
  while (!f.done) yield await f.runRound();
  return f.result();
}
