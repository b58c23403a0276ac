/**
 * Stage 4 of a round, evaluate: the global model on the participants the strategy picks
 * (`configureEvaluate`, default all), through the executor (so a pool can evaluate in parallel),
 * summarised by the strategy (`aggregateEvaluate`, default example-weighted means) and optionally
 * on central data (`strategy.evaluate`); then, when due, every participant's personal model.
 */
import { deriveSeed } from "../util/rng";
import type { ModelWeights } from "../model/weights";
import type { EvaluateResult, Strategy } from "./types";
import type { Participant } from "./participant";
import type { EvaluatedModels, Personalisation } from "./personalisation/personalisation";
import type { ConvergenceOptions } from "./convergence";
import { checkConvergenceOptions } from "./convergence";
import type { EvaluateJob, FitExecutor } from "./executor";
import { evaluateWith } from "./executor";
import type { HistoryRow, HistoryScope } from "./history";
import { weightedEvaluation } from "./weightedEvaluation";

/** Rows, server metrics and the weighted validation loss of one evaluation pass. */
export interface EvaluationPass {
  readonly rows: HistoryRow[];
  readonly metrics: Record<string, number>;
  /** Example-weighted validation loss (the convergence criterion). */
  readonly valLoss: number;
  /** The example-weighted means ({scope}Accuracy, {scope}Loss, {scope}ValLoss), whatever the strategy reports. */
  readonly summary: Record<string, number>;
}

/**
 * Which models a run evaluates: all of them (default), or with `models: "used"` only those
 * `personalisation.evaluates` names; `personal: false` skips personal models either way.
 */
export function modelsToEvaluate(personalisation: Personalisation, evaluation: { readonly personal?: boolean; readonly models?: "all" | "used" } = {}): EvaluatedModels {
  const uses = evaluation.models === "used" ? personalisation.evaluates ?? { global: true, personal: true } : { global: true, personal: true };
  return { global: uses.global, personal: uses.personal && evaluation.personal !== false };
}

/**
 * The convergence options a run uses: without a scope, the personal models' validation loss when the
 * global model is not evaluated; a scope naming a model that is not evaluated is an error.
 */
export function convergenceFor(options: ConvergenceOptions | undefined, evaluated: EvaluatedModels, personalisation: string): ConvergenceOptions | undefined {
  const resolved = options && options.scope === undefined && !evaluated.global ? { ...options, scope: "personal" as const } : options;
  if (resolved?.scope === "global" && !evaluated.global) {
    throw new Error(`Federation: convergence.scope "global" watches the global model, which evaluation.models "used" does not evaluate for ${personalisation}`);
  }
  checkConvergenceOptions(resolved, evaluated.personal);
  return resolved;
}

/** The global pass of a run that does not evaluate the global model: no rows, no metrics, a NaN validation loss. */
export function skippedEvaluation(): EvaluationPass {
  return { rows: [], metrics: {}, valLoss: NaN, summary: {} };
}

/** Test and validation evaluation of `weightsOf(p)` for each participant, through the executor. */
async function evaluateEach(
  round: number,
  scope: HistoryScope,
  participants: readonly Participant[],
  weightsOf: (p: Participant) => ModelWeights,
  executor: FitExecutor,
): Promise<{ rows: HistoryRow[]; results: EvaluateResult[] }> {
  const jobs: EvaluateJob[] = participants.flatMap((p) => {
    const w = weightsOf(p);
    return [
      { participant: p, weights: w, split: "test" as const },
      { participant: p, weights: w, split: "validation" as const },
    ];
  });
  const evals = await evaluateWith(executor, jobs);
  if (!Array.isArray(evals) || evals.length !== jobs.length) {
    throw new Error(`Federation: executor "${executor.name}" returned ${Array.isArray(evals) ? evals.length : String(evals)} evaluations for ${jobs.length} jobs`);
  }
  const rows: HistoryRow[] = [];
  const results = participants.map((p, i): EvaluateResult => {
    const test = evals[2 * i];
    const val = evals[2 * i + 1];
    rows.push({ round, participant: p.id, scope, metric: "accuracy", value: test.accuracy });
    rows.push({ round, participant: p.id, scope, metric: "loss", value: test.loss });
    rows.push({ round, participant: p.id, scope, metric: "valAccuracy", value: val.accuracy });
    rows.push({ round, participant: p.id, scope, metric: "valLoss", value: val.loss });
    return { participantId: p.id, loss: test.loss, accuracy: test.accuracy, numExamples: test.numExamples, valLoss: val.loss, valAccuracy: val.accuracy, numValExamples: val.numExamples };
  });
  return { rows, results };
}

/** The global model on the strategy's chosen participants, plus central evaluation if the strategy has one. */
export async function evaluateGlobal(round: number, weights: ModelWeights, participants: readonly Participant[], strategy: Strategy, executor: FitExecutor): Promise<EvaluationPass> {
  const chosen = strategy.configureEvaluate ? new Set(strategy.configureEvaluate(round, participants.map((p) => p.id))) : undefined;
  const who = chosen === undefined ? participants : participants.filter((p) => chosen.has(p.id));
  const { rows, results } = await evaluateEach(round, "global", who, () => weights, executor);
  const summary = weightedEvaluation(results, "global");
  const metrics = { ...(strategy.aggregateEvaluate?.(round, results) ?? summary), ...(strategy.evaluate?.(round, weights) ?? {}) };
  return { rows, metrics, valLoss: summary.globalValLoss, summary };
}

/**
 * Each participant's personal model (which may train, e.g. FedAvg+FT) on its splits. A method
 * without personal models copies the global rows instead of evaluating twice. Updates the
 * participants' states and returns the personal weights.
 */
export async function evaluatePersonal(
  round: number,
  global: ModelWeights,
  globalPass: EvaluationPass,
  participants: readonly Participant[],
  personalisation: Personalisation,
  seed: number,
  executor: FitExecutor,
): Promise<EvaluationPass & { personal: Map<string, ModelWeights> }> {
  const personal = new Map<string, ModelWeights>();
  if (!personalisation.hasPersonalModel) {
    for (const p of participants) personal.set(p.id, global);
    const m = globalPass.summary;
    const rows = globalPass.rows.filter((r) => r.scope === "global").map((r) => ({ ...r, scope: "personal" as const }));
    const metrics = { personalAccuracy: m.globalAccuracy, personalLoss: m.globalLoss, personalValLoss: m.globalValLoss };
    return { rows, metrics, valLoss: globalPass.valLoss, summary: metrics, personal };
  }
  for (const p of participants) personal.set(p.id, p.personalWeights(global, personalisation, deriveSeed(seed, "personal", round, p.id)));
  const { rows, results } = await evaluateEach(round, "personal", participants, (p) => personal.get(p.id) as ModelWeights, executor);
  const metrics = weightedEvaluation(results, "personal");
  return { rows, metrics, valLoss: metrics.personalValLoss, summary: metrics, personal };
}
