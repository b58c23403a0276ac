/**
 * The server round loop, as a short composition of stages, each in its own file:
 *   plan (roundPlan.ts: sampling, the strategy's fit instructions, simulated dropouts and step
 *   limits) → collect (collectUpdates.ts: the executor trains, every outcome becomes an update or a
 *   recorded failure, each update checked once) → aggregate (aggregateRound.ts: the strategy, with
 *   the skip/fail policy) → commit (new personal states, global model) → evaluate
 *   (evaluateModels.ts: global and, when due, personal models, through the executor) →
 *   convergence (convergence.ts) → record (history rows, observers such as checkpointObserver.ts).
 * The loop knows the Strategy, Personalisation and FitExecutor interfaces, nothing about any one
 * method. A round completes or leaves nothing behind (the error names the round and every failure).
 * `snapshot()`/`restore()` continue a run bitwise identically. Use `runFederation(options)` for a
 * whole run, `federationRounds(options)` to iterate rounds, or `Federation` to step by hand.
 */
import { deriveSeed, Rng } from "../util/rng";
import { byteSize, l2Distance } from "../model/weightOps";
import type { Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import type { FitConfig, FitFailure } from "./types";
import type { Participant } from "./participant";
import type { EvaluatedModels, Personalisation } from "./personalisation/personalisation";
import { NoPersonalisation } from "./personalisation/noPersonalisation";
import { HistoryRow, historyTable, SERVER } from "./history";
import { FitExecutor, serialFitExecutor } from "./executor";
import type { FederationFingerprint, FederationSnapshot } from "./snapshot";
import { checkFederationOptions, defaultFitConfig, FederationOptions } from "./federationOptions";
import { planRound } from "./roundPlan";
import { collectUpdates, updateValidators, UpdateValidator } from "./collectUpdates";
import { aggregateRound } from "./aggregateRound";
import { convergenceFor, evaluateGlobal, evaluatePersonal, modelsToEvaluate, skippedEvaluation } from "./evaluateModels";
import { ConvergenceTracker } from "./convergence";
import { fingerprintOf, RunState, restoreState, snapshotOf } from "./runState";
import type { FederationResult, RoundRecord } from "./roundRecord";
import { checkpointObserver, RoundObserver } from "./checkpointObserver";

export { defaultFitConfig, type FederationOptions } from "./federationOptions";
export { exampleCountValidator, finiteValidator, structureValidator, type UpdateValidator } from "./collectUpdates";
export { TooFewUpdatesError } from "./aggregateRound";
export type { FederationResult, RoundRecord } from "./roundRecord";

/** A federated run that can be stepped round by round. */
export class Federation {
  /** The resolved personalisation. */
  readonly personalisation: Personalisation;
  /** The shared trainer. */
  readonly trainer: Trainer;
  private readonly options: FederationOptions;
  private readonly participants: readonly Participant[];
  private readonly seed: number;
  private readonly baseFit: FitConfig;
  private readonly validators: readonly UpdateValidator[];
  private readonly executor: FitExecutor;
  private readonly observers: readonly RoundObserver<RoundRecord>[];
  private readonly convergence: ConvergenceTracker;
  private readonly evaluates: EvaluatedModels;
  private state: RunState;

  /** Check the options (each failure names the option and the value) and set up the run. */
  constructor(options: FederationOptions) {
    checkFederationOptions(options);
    const { participants, strategy } = options;
    this.options = options;
    this.participants = participants;
    this.trainer = options.trainer ?? participants[0].trainer;
    this.personalisation = options.personalisation ?? new NoPersonalisation();
    this.seed = options.seed ?? 0;
    this.baseFit = { ...defaultFitConfig, ...options.fitConfig };
    this.executor = options.fitExecutor ?? serialFitExecutor;
    strategy.initialize?.({ participants: participants.map((p) => p.id), seed: this.seed, sharedMask: this.personalisation.sharedMask(this.trainer) });
    this.validators = updateValidators(strategy, options.validateUpdate);
    this.observers = [...(options.checkpoint === undefined ? [] : [checkpointObserver(options.checkpoint)]), ...(options.observers ?? [])];
    const global = options.initialWeights ?? this.trainer.getWeights();
    this.evaluates = modelsToEvaluate(this.personalisation, options.evaluation);
    this.convergence = new ConvergenceTracker(convergenceFor(options.convergence, this.evaluates, this.personalisation.name), global);
    this.state = { round: -1, global, convergence: this.convergence.state, rows: [], failures: [], personal: new Map(), samplingRng: new Rng(deriveSeed(this.seed, "sampling")) };
  }

  /** Rounds completed so far (0 after the initial evaluation, -1 before it). */
  get round(): number {
    return this.state.round;
  }

  /** Whether the run is over (budget reached or converged). */
  get done(): boolean {
    return this.state.round >= this.options.rounds || this.state.convergence.converged;
  }

  /** Current global weights. */
  get globalWeights(): ModelWeights {
    return this.state.global;
  }

  /** Round 0: evaluate the initial global model on every participant. */
  async start(): Promise<RoundRecord> {
    if (this.state.round >= 0) throw new Error("Federation.start: already started");
    this.state.round = 0;
    const t0 = performance.now();
    const g = this.evaluates.global ? await evaluateGlobal(0, this.state.global, this.participants, this.options.strategy, this.executor) : skippedEvaluation();
    this.convergence.start(g.valLoss, this.state.global);
    this.state.convergence = this.convergence.state;
    const clock: Record<string, number> = this.options.recordWallClock ? { evaluateSeconds: (performance.now() - t0) / 1000 } : {};
    return this.finishRound(0, [], [], [], g.rows, { ...g.metrics, ...clock }, false);
  }

  /**
   * Run the next round. If it cannot complete (too few updates under "fail", the strategy or the
   * executor throws, the aggregate is not finite) the error says why and the federation is left as
   * it was before the round (round number, sampler, participants' personal states, global model),
   * so `snapshot()` and `result()` still describe the last completed round.
   */
  async runRound(): Promise<RoundRecord> {
    if (this.state.round < 0) await this.start();
    if (this.done) throw new Error(`Federation.runRound: the run is over (round ${this.state.round})`);
    const o = this.options;
    const round = this.state.round + 1;
    const previous = this.state.global;
    const rngBefore = this.state.samplingRng.state;
    const bytes = byteSize(previous, this.personalisation.sharedMask(this.trainer));
    const het = o.heterogeneity ?? {};
    let plan, collected, agg;
    try {
      plan = planRound({ round, participants: this.participants, strategy: o.strategy, base: this.baseFit, sampling: o.sampling ?? {}, samplingRng: this.state.samplingRng, seed: this.seed, heterogeneity: het, bytes });
      collected = await collectUpdates({
        round, plan, global: previous, executor: this.executor, personalisation: this.personalisation, localTraining: o.localTraining ?? {}, seed: this.seed,
        validators: this.validators, timeoutSeconds: o.timeoutSeconds, heterogeneity: het, bytes, seesUpdates: o.strategy.seesUpdates !== false,
      });
      agg = aggregateRound({ round, strategy: o.strategy, current: previous, updates: collected.updates, failures: collected.failures, minSuccessful: o.minSuccessful ?? 1, onTooFewUpdates: o.onTooFewUpdates ?? "fail", sampled: plan.length });
    } catch (e) {
      this.state.samplingRng = Rng.fromState(rngBefore);
      throw e;
    }
    // The round completed: commit the participants' new states and the global model.
    for (const p of this.participants) p.state = collected.newStates.get(p.id) ?? p.state;
    this.state.round = round;
    this.state.global = agg.weights;
    const lostIds = new Set(agg.lost.map((f) => f.participantId));
    const failures = [...collected.failures, ...agg.lost];
    const rows = [...collected.rows, ...agg.lost.map((f): HistoryRow => ({ round, participant: f.participantId, scope: "fit", metric: "failed", value: 1 }))];
    const succeeded = collected.updates.filter((u) => !lostIds.has(u.participantId)).map((u) => u.participantId);
    const server: Record<string, number> = {
      ...agg.metrics,
      sampled: plan.length,
      succeeded: succeeded.length,
      failed: failures.length,
      skipped: agg.skipped ? 1 : 0,
      bytesUp: collected.bytesUp,
      bytesDown: collected.bytesDown,
      simulatedSeconds: collected.simulatedSeconds,
      globalUpdateNorm: l2Distance(agg.weights, previous),
    };
    const t0 = performance.now();
    const converged = await this.evaluateRound(round, rows, server);
    if (o.recordWallClock) Object.assign(server, { trainSeconds: collected.trainSeconds, evaluateSeconds: (performance.now() - t0) / 1000 });
    this.state.failures.push(...failures);
    return this.finishRound(round, plan.map((e) => e.participant.id), succeeded, failures, rows, server, converged);
  }

  /** Evaluate global and (when due) personal models, then check convergence; adds rows and server metrics. */
  private async evaluateRound(round: number, rows: HistoryRow[], server: Record<string, number>): Promise<boolean> {
    const o = this.options;
    const global = this.state.global;
    const g = this.evaluates.global ? await evaluateGlobal(round, global, this.participants, o.strategy, this.executor) : skippedEvaluation();
    rows.push(...g.rows);
    Object.assign(server, g.metrics);
    const scope = this.convergence.scope;
    const lastByBudget = round >= o.rounds;
    const every = o.evaluation?.every ?? 1;
    const personal = async (): Promise<number> => {
      const pass = await evaluatePersonal(round, global, g, this.participants, this.personalisation, this.seed, this.executor);
      rows.push(...pass.rows);
      Object.assign(server, pass.metrics);
      this.state.personal = pass.personal;
      return pass.valLoss;
    };
    // Personal evaluation before the convergence check when convergence watches personal models.
    const personalValLoss = this.evaluates.personal && (scope === "personal" || round % every === 0 || lastByBudget) ? await personal() : NaN;
    const converged = this.convergence.observe(round, scope === "personal" ? personalValLoss : g.valLoss, global);
    this.state.convergence = this.convergence.state;
    if (converged && !lastByBudget && this.evaluates.personal && round % every !== 0 && scope !== "personal") await personal();
    return converged;
  }

  /** What a snapshot of this federation must match to be resumed (model variables, participant ids, run options). */
  fingerprint(): FederationFingerprint {
    return fingerprintOf(this.options, { personalisation: this.personalisation.name, seed: this.seed, fitConfig: this.baseFit }, this.state.global);
  }

  /** Everything needed to continue this run identically (plain data; the round budget is not part of it, so a resumed run may use a larger one). */
  snapshot(): FederationSnapshot {
    return snapshotOf(this.state, this.participants, this.options.strategy, this.fingerprint());
  }

  /** Continue from `snapshot` (checked before anything changes; see runState.ts). */
  restore(snapshot: FederationSnapshot): void {
    this.state = restoreState(snapshot, this.fingerprint(), this.participants, this.options.strategy);
    this.convergence.state = this.state.convergence;
  }

  /** A federation continuing from `snapshot` (same as `new Federation(options)` then `restore(snapshot)`). */
  static fromSnapshot(options: FederationOptions, snapshot: FederationSnapshot): Federation {
    const f = new Federation(options);
    f.restore(snapshot);
    return f;
  }

  /** The run's result so far. */
  result(): FederationResult {
    const s = this.state;
    return {
      history: historyTable(s.rows),
      rows: s.rows,
      globalWeights: s.global,
      bestGlobalWeights: s.convergence.best.weights,
      bestRound: s.convergence.best.round,
      personalWeights: s.personal,
      failures: s.failures,
      roundsRun: Math.max(0, s.round),
      converged: s.convergence.converged,
      strategy: this.options.strategy.name,
      personalisation: this.personalisation.name,
    };
  }

  private async finishRound(round: number, sampled: string[], succeeded: string[], failures: FitFailure[], rows: HistoryRow[], server: Record<string, number>, converged: boolean): Promise<RoundRecord> {
    for (const [metric, value] of Object.entries(server)) rows.push({ round, participant: SERVER, scope: "server", metric, value });
    this.state.rows.push(...rows);
    const record: RoundRecord = { round, sampled, succeeded, failures, rows, server, globalWeights: this.state.global, converged, done: this.done };
    for (const observe of this.observers) await observe(record, this);
    if (this.options.onRound) await this.options.onRound(record, this);
    return record;
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
