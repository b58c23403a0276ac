/**
 * Run an experiment end to end and write its folder. The phases mirror the document:
 *
 *   setup      load and split the data, build the model (pretrained body + fresh head);
 *   local      phase 1, personalised fine-tuning: each participant fine-tunes the trainable layers
 *              alone, with early stopping on its validation split (the local-only baseline);
 *   federated  phase 2, joint fine-tuning: rounds of local training and server aggregation, by
 *              default warm-started from phase 1 (global θ = Σ|Dᵢ|/|D|·θᵢ, personal parts kept);
 *   report     metrics (CSV + Arrow), the final table, models, and report.html.
 *
 * A checkpoint is written after every round and run.json records the phase, so a run killed at any
 * moment (Ctrl-C, kill -9) continues with `resume: true` and ends with exactly the history of an
 * uninterrupted run with the same config and backend.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import { initBackend } from "../backend";
import { datasetSize } from "../data/dataset";
import type { Dataset } from "../data/dataset";
import { loadModel, saveModel } from "../model/io";
import { getWeights } from "../model/modelWeights";
import { readPretrainingInfo } from "../model/pretrainingInfo";
import type { Trainer } from "../model/trainer";
import type { EpochRecord } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import { weightedAverage } from "../federation/aggregate";
import { Federation } from "../federation/federation";
import type { FederationOptions } from "../federation/federation";
import { CHECKPOINT_FILE, loadCheckpoint } from "../federation/checkpoint";
import { serialFitExecutor, withProgress } from "../federation/executor";
import type { FitExecutor } from "../federation/executor";
import type { HistoryRow, Table } from "../federation/history";
import { Participant } from "../federation/participant";
import { LocalOnly } from "../federation/personalisation/localOnly";
import { sampleSize } from "../federation/sampling";
import { CentralEvaluation } from "../federation/strategies/centralEvaluation";
import { deriveSeed } from "../util/rng";
import { buildReportHtml } from "../report/reportHtml";
import type { ExperimentConfig } from "./experimentConfig";
import { parseExperimentConfig } from "./experimentConfig";
import {
  buildDeviceProfiles,
  buildCentralTestSet,
  buildParticipantData,
  buildPersonalisation,
  buildStrategy,
  buildTrainer,
  ExperimentParticipant,
  labelCountsTable,
  modelInputShape,
  pretrainedModelDir,
  splitSizesTable,
} from "./buildExperiment";
import type { ProgressEvent } from "./progress";
import { formatResultsTable, LocalPhaseResult, ParticipantResult, participantResults, resultsTable } from "./resultsTable";
import { readRunMetadata, removeStaleTempFiles, RUN_FILES, RUN_FORMAT, RunMetadata, writeJsonAtomic, writeTable } from "./runFolder";
import { batchSizeOf, localTrainingOf } from "./trainingSettings";

/** Options of `runExperiment`. */
export interface RunExperimentOptions {
  /** The run folder (created; must be empty or absent unless `resume`). */
  readonly outDir: string;
  /** Continue the run already in `outDir` (its config.json wins over `config`). */
  readonly resume?: boolean;
  /** Called for every progress step (see createProgressPrinter). */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Write report.html (default true). */
  readonly report?: boolean;
  /** Who trains a round's participants (default serial on this thread; e.g. `createWorkerPool()`). Phase 1 always runs here. */
  readonly fitExecutor?: FitExecutor;
}

/** What a run produced. */
export interface ExperimentResult {
  /** The run folder. */
  readonly outDir: string;
  /** The resolved config. */
  readonly config: ExperimentConfig;
  /** Final table rows (per participant, then "mean"). */
  readonly results: readonly ParticipantResult[];
  /** The table as aligned text. */
  readonly resultsText: string;
  /** Federation history (long form). */
  readonly history: Table;
  /** Phase-1 results per participant (empty when phase 1 is disabled). */
  readonly localPhase: readonly LocalPhaseResult[];
  /** Path of report.html (undefined when not written). */
  readonly reportPath: string | undefined;
  /** Federated rounds run in total. */
  readonly roundsRun: number;
  /** Whether the federation stopped on convergence. */
  readonly converged: boolean;
  /** The round a resumed run continued from (undefined for a fresh run). */
  readonly resumedFromRound: number | undefined;
  /** The tfjs backend. */
  readonly backend: string;
  /** Things the user should know (e.g. a resume on a different backend). */
  readonly warnings: readonly string[];
  /** Wall-clock seconds of this invocation. */
  readonly seconds: number;
}

/** Phase-1 curve rows: participant, epoch, trainLoss, valLoss. */
interface LocalCurveRow {
  readonly participant: string;
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number;
}

/** Continue the run in `outDir` from its own config.json and checkpoints. */
export async function resumeExperiment(outDir: string, options: Omit<RunExperimentOptions, "outDir" | "resume"> = {}): Promise<ExperimentResult> {
  const file = path.join(outDir, RUN_FILES.config);
  readRunMetadata(outDir);
  if (!fs.existsSync(file)) throw new Error(`cannot resume ${outDir}: ${RUN_FILES.config} is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot resume ${outDir}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  return runExperiment(parseExperimentConfig(raw, file), { ...options, outDir, resume: true });
}

/** Run (or, with `resume`, continue) `config`, writing every artefact into `options.outDir`. */
export async function runExperiment(config: ExperimentConfig, options: RunExperimentOptions): Promise<ExperimentResult> {
  const started = Date.now();
  const outDir = path.resolve(options.outDir);
  const progress = options.onProgress ?? ((): void => undefined);
  const warnings: string[] = [];
  const backend = (await initBackend({ log: false })).name;

  // ------------------------------------------------------------------ run folder and metadata
  let meta: RunMetadata;
  if (options.resume) {
    meta = readRunMetadata(outDir);
    // A killed run may have left the temp files of an unfinished atomic write.
    removeStaleTempFiles(outDir);
    if (meta.backend !== backend) {
      warnings.push(`the run started on backend "${meta.backend}" and continues on "${backend}"; numbers may differ in the last digits from an uninterrupted run`);
    }
  } else {
    if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
      throw new Error(`run folder ${outDir} already exists and is not empty; continue it with --resume ${outDir}, or choose another folder`);
    }
    // What the pretrained body saw, read (and checked) before the run folder exists.
    const bodyDir = config.model.kind === "pretrained" ? pretrainedModelDir(config) : undefined;
    const body = bodyDir !== undefined ? readPretrainingInfo(bodyDir, { optional: true }) : undefined;
    fs.mkdirSync(outDir, { recursive: true });
    const now = new Date().toISOString();
    meta = { format: RUN_FORMAT, version: 1, name: config.name, status: "running", phase: "setup", localPhaseDone: false, roundsDone: -1, backend, createdAt: now, updatedAt: now,
      ...(bodyDir !== undefined && body !== undefined ? { pretrainedBody: { dir: bodyDir, saw: body.saw } } : {}) };
    writeJsonAtomic(path.join(outDir, RUN_FILES.config), config);
    writeJsonAtomic(path.join(outDir, RUN_FILES.run), meta);
  }
  const updateMeta = (patch: Partial<RunMetadata>): void => {
    meta = { ...meta, ...patch, updatedAt: new Date().toISOString() };
    writeJsonAtomic(path.join(outDir, RUN_FILES.run), meta);
  };
  const file = (...parts: string[]): string => path.join(outDir, ...parts);

  // ------------------------------------------------------------------------------------ setup
  // A new run that fails before anything resumable is on disk (phase-1 results or a checkpoint)
  // leaves no half-made run folder behind.
  const discardIfNothingToResume = (): void => {
    if (!options.resume && !meta.localPhaseDone && !fs.existsSync(file(RUN_FILES.checkpoint, CHECKPOINT_FILE))) fs.rmSync(outDir, { recursive: true, force: true });
  };
  let participantsData: ExperimentParticipant[];
  let trainer: Trainer;
  let centralTest: Dataset | undefined;
  try {
    progress({ phase: "setup", done: 0, total: 2, label: "loading data" });
    participantsData = buildParticipantData(config, await modelInputShape(config));
    centralTest = buildCentralTestSet(config, participantsData);
    if (centralTest !== undefined && config.evaluation.models === "used" && buildPersonalisation(config).evaluates?.global === false) {
      throw new Error(`evaluation.central scores the global model, which evaluation.models "used" does not evaluate for personalisation "${config.personalisation.method}"; use models "all" or drop evaluation.central`);
    }
    progress({ phase: "setup", done: 1, total: 2, label: "building the model", detail: `${participantsData.length} participants` });
    trainer = await buildTrainer(config, participantsData);
  } catch (e) {
    discardIfNothingToResume();
    throw e;
  }
  try {
    progress({ phase: "setup", done: 2, total: 2, label: "ready", detail: `${participantsData.map((p) => p.id).join(", ")}` });
    const initialWeights = trainer.getWeights();

    // ------------------------------------------------------------------- phase 1: local-only
    let local: LocalPhaseResult[] = [];
    let localWeights: ModelWeights[] = [];
    let localCurves: LocalCurveRow[] = [];
    if (config.localPhase.enabled) {
      if (meta.localPhaseDone) {
        ({ local, localWeights, localCurves } = await readLocalPhase(outDir, participantsData, trainer));
        progress({ phase: "local", done: participantsData.length, total: participantsData.length, label: "restored from the run folder" });
      } else {
        updateMeta({ phase: "local" });
        ({ local, localWeights, localCurves } = runLocalPhase(config, participantsData, trainer, initialWeights, progress));
        fs.mkdirSync(file(RUN_FILES.models, "local"), { recursive: true });
        for (let i = 0; i < participantsData.length; i++) {
          await saveWeightsAsModel(trainer, localWeights[i], file(RUN_FILES.models, "local", participantsData[i].id));
        }
        writeTable(aq.from(localCurves), file(RUN_FILES.localCsv), file(RUN_FILES.localArrow));
        writeJsonAtomic(file(RUN_FILES.localSummary), local);
        updateMeta({ localPhaseDone: true });
      }
    }

    // -------------------------------------------------------------- phase 2: joint rounds
    updateMeta({ phase: "federated" });
    const profiles = buildDeviceProfiles(config, participantsData.length);
    const participants = participantsData.map(
      (p, i) => new Participant({ id: p.id, data: p.data, trainer, profile: profiles?.[i] }),
    );
    const personalisation = buildPersonalisation(config);
    const warm = config.localPhase.enabled && config.localPhase.warmStart && localWeights.length === participants.length;
    const startWeights = warm
      ? weightedAverage(participants.map((p, i) => ({ label: p.id, weights: localWeights[i], numExamples: p.numExamples })))
      : initialWeights;
    if (warm && personalisation.hasPersonalModel) participants.forEach((p, i) => (p.state = { weights: localWeights[i] }));
    const checkpointDir = file(RUN_FILES.checkpoint);
    const total = config.federation.rounds;
    const perRound = sampleSize(participants.length, config.federation.sampling);
    let round = 0;
    let fitted = 0;
    const { earlyStopping, ...fitConfig } = localTrainingOf(config.training);
    const fedOptions: FederationOptions = {
      participants,
      strategy: centralTest !== undefined ? new CentralEvaluation(buildStrategy(config), { trainer, data: centralTest }) : buildStrategy(config),
      rounds: config.federation.rounds,
      trainer,
      initialWeights: startWeights,
      sampling: config.federation.sampling,
      fitConfig,
      localTraining: earlyStopping !== undefined ? { earlyStopping } : undefined,
      personalisation,
      seed: deriveSeed(config.seed, "federation"),
      convergence: config.federation.convergencePatience !== undefined ? { patience: config.federation.convergencePatience } : undefined,
      evaluation: { every: config.federation.evaluateEvery, ...(config.evaluation.models === "used" ? { models: "used" as const } : {}) },
      onTooFewUpdates: config.federation.onTooFewUpdates,
      heterogeneity: { deadlineSeconds: config.heterogeneity.deadlineSeconds, partialWork: config.heterogeneity.partialWork },
      // Per-participant progress inside a round, as an executor wrapper (works for serial and pool runs).
      fitExecutor: withProgress(options.fitExecutor ?? serialFitExecutor, () => progress({ phase: "federated", done: round - 1, total, label: `round ${round}`, sub: { done: ++fitted, total: perRound, label: "participant" } })),
      // Every finished round (round 0 too) is checkpointed by the loop's checkpoint observer, then recorded in run.json and metrics.csv.
      checkpoint: { dir: checkpointDir },
      observers: [
        (record) => {
          updateMeta({ roundsDone: record.round });
          writeTable(federation.result().history, file(RUN_FILES.metricsCsv));
        },
      ],
    };
    let federation: Federation;
    let resumedFromRound: number | undefined;
    if (options.resume && fs.existsSync(path.join(checkpointDir, CHECKPOINT_FILE))) {
      const snapshot = loadCheckpoint(checkpointDir, { expect: initialWeights });
      federation = Federation.fromSnapshot(fedOptions, snapshot);
      resumedFromRound = snapshot.round;
    } else {
      federation = new Federation(fedOptions);
    }
    const roundDetail = (s: Readonly<Record<string, number>>): string => {
      const g = s.globalAccuracy;
      const p = s.personalAccuracy;
      return [Number.isFinite(g) ? `global acc ${g.toFixed(3)}` : "", p !== undefined && Number.isFinite(p) ? `personal acc ${p.toFixed(3)}` : ""].filter(Boolean).join(" · ");
    };
    if (resumedFromRound !== undefined) {
      progress({ phase: "federated", done: resumedFromRound, total, label: `resumed after round ${resumedFromRound}` });
    } else {
      progress({ phase: "federated", done: 0, total, label: "initial evaluation" });
      const r0 = await federation.start();
      progress({ phase: "federated", done: 0, total, label: "round 0 (before training)", detail: roundDetail(r0.server) });
    }
    while (!federation.done) {
      round = federation.round + 1;
      fitted = 0;
      const record = await federation.runRound();
      progress({ phase: "federated", done: round, total, label: `round ${round}${record.converged ? " (converged)" : ""}`, detail: roundDetail(record.server) });
    }

    // ---------------------------------------------------------------------------- artefacts
    updateMeta({ phase: "report" });
    const steps = 4;
    progress({ phase: "report", done: 0, total: steps, label: "metrics" });
    const result = federation.result();
    writeTable(result.history, file(RUN_FILES.metricsCsv), file(RUN_FILES.metricsArrow));
    const results = participantResults(
      result.rows,
      participants.map((p) => ({ id: p.id, trainSamples: datasetSize(p.data.train) })),
      local,
    );
    writeTable(resultsTable(results), file(RUN_FILES.summaryCsv));
    progress({ phase: "report", done: 1, total: steps, label: "models" });
    await saveWeightsAsModel(trainer, result.globalWeights, file(RUN_FILES.models, "global"));
    await saveWeightsAsModel(trainer, result.bestGlobalWeights, file(RUN_FILES.models, "global-best"));
    for (const p of participants) {
      const w = result.personalWeights.get(p.id);
      if (w !== undefined) await saveWeightsAsModel(trainer, w, file(RUN_FILES.models, "personal", p.id));
    }
    progress({ phase: "report", done: 2, total: steps, label: "report.html" });
    let reportPath: string | undefined;
    if (options.report !== false) {
      reportPath = file(RUN_FILES.report);
      const html = buildReportHtml({
        config,
        history: result.rows,
        localCurves: aq.from(localCurves),
        labelCounts: labelCountsTable(participantsData),
        splitSizes: splitSizesTable(participantsData),
        results,
        backend,
        pretrainedBody: meta.pretrainedBody?.saw,
        strategy: result.strategy,
        personalisation: result.personalisation,
        roundsRun: result.roundsRun,
        converged: result.converged,
      });
      fs.writeFileSync(reportPath + ".tmp", html);
      fs.renameSync(reportPath + ".tmp", reportPath);
    }
    progress({ phase: "report", done: 3, total: steps, label: "run.json" });
    updateMeta({ status: "complete", phase: "done" });
    progress({ phase: "report", done: steps, total: steps, label: "done", detail: outDir });
    return {
      outDir,
      config,
      results,
      resultsText: formatResultsTable(results),
      history: result.history,
      localPhase: local,
      reportPath,
      roundsRun: result.roundsRun,
      converged: result.converged,
      resumedFromRound,
      backend,
      warnings,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (e) {
    discardIfNothingToResume();
    throw e;
  } finally {
    trainer.model.dispose();
  }
}

/**
 * Phase 1: each participant fine-tunes alone from `initial`, with early stopping, through the one
 * local-fit path (`Participant.train` with the local-only method, as in the rounds); returns
 * results, weights and curves.
 */
function runLocalPhase(
  config: ExperimentConfig,
  participants: readonly ExperimentParticipant[],
  trainer: Trainer,
  initial: ModelWeights,
  progress: (e: ProgressEvent) => void,
): { local: LocalPhaseResult[]; localWeights: ModelWeights[]; localCurves: LocalCurveRow[] } {
  const lp = config.localPhase;
  const t = config.training;
  const local: LocalPhaseResult[] = [];
  const localWeights: ModelWeights[] = [];
  const localCurves: LocalCurveRow[] = [];
  const n = participants.length;
  const localOnly = new LocalOnly();
  progress({ phase: "local", done: 0, total: n, label: "personalised fine-tuning" });
  participants.forEach((p, i) => {
    const participant = new Participant({ id: p.id, data: p.data, trainer });
    const { update, newState, history } = participant.train(initial, {
      epochs: lp.maxEpochs,
      batchSize: batchSizeOf(t.batchSize),
      dropLastPartialBatch: t.dropLastPartialBatch,
      learningRate: t.learningRate,
      momentum: t.momentum,
      proximalMu: 0,
      seed: deriveSeed(config.seed, "local-phase", p.id),
      // Without early stopping a patience longer than the run still records the validation loss per epoch.
      earlyStopping: lp.patience > 0 ? { patience: lp.patience } : { patience: Number.MAX_SAFE_INTEGER, restoreBest: false },
    }, localOnly);
    const weights = newState.weights as ModelWeights;
    const m = update.metrics;
    const test = participant.evaluate(weights);
    local.push({ participant: p.id, testAccuracy: test.accuracy, testLoss: test.loss, valLoss: m.valLoss, bestEpoch: m.bestEpoch, epochs: m.epochs });
    localWeights.push(weights);
    (history ?? []).forEach((e: EpochRecord) => localCurves.push({ participant: p.id, epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss }));
    progress({
      phase: "local",
      done: i + 1,
      total: n,
      label: `participant ${p.id}`,
      detail: `test acc ${test.accuracy.toFixed(3)} after ${m.epochs} epochs (best ${m.bestEpoch})`,
    });
  });
  return { local, localWeights, localCurves };
}

/** Read phase 1 back from a run folder (for a resumed run). */
async function readLocalPhase(
  outDir: string,
  participants: readonly ExperimentParticipant[],
  trainer: Trainer,
): Promise<{ local: LocalPhaseResult[]; localWeights: ModelWeights[]; localCurves: LocalCurveRow[] }> {
  const summaryFile = path.join(outDir, RUN_FILES.localSummary);
  let local: LocalPhaseResult[];
  try {
    local = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as LocalPhaseResult[];
  } catch (e) {
    throw new Error(`cannot resume: ${summaryFile} is unreadable (${(e as Error).message})`);
  }
  const ids = participants.map((p) => p.id).join(",");
  if (!Array.isArray(local) || local.map((l) => l.participant).join(",") !== ids) {
    throw new Error(`cannot resume: ${summaryFile} does not list the participants ${ids}`);
  }
  const template = trainer.getWeights();
  const localWeights: ModelWeights[] = [];
  for (const p of participants) {
    const model = await loadModel(path.join(outDir, RUN_FILES.models, "local", p.id));
    try {
      const w = getWeights(model);
      if (w.length !== template.length || w.some((t, v) => t.shape.join("x") !== template[v].shape.join("x"))) {
        throw new Error(`cannot resume: the phase-1 model of "${p.id}" does not match the experiment's model`);
      }
      // Same values under the trainer's variable names (tfjs may rename variables on load).
      localWeights.push(w.map((t, v) => ({ ...t, name: template[v].name })));
    } finally {
      model.dispose();
    }
  }
  const csv = path.join(outDir, RUN_FILES.localCsv);
  const localCurves = fs.existsSync(csv) ? (aq.fromCSV(fs.readFileSync(csv, "utf8")).objects() as unknown as LocalCurveRow[]) : [];
  return { local, localWeights, localCurves };
}

/** Save `weights` as a tfjs model folder using the trainer's model (topology + these weights). */
async function saveWeightsAsModel(trainer: Trainer, weights: ModelWeights, dir: string): Promise<void> {
  trainer.load(weights);
  await saveModel(trainer.model, dir);
}

/** History rows of a finished or partial run folder (from metrics.csv). */
export function readHistoryRows(outDir: string): HistoryRow[] {
  const csv = path.join(outDir, RUN_FILES.metricsCsv);
  if (!fs.existsSync(csv)) throw new Error(`${outDir}: no ${RUN_FILES.metricsCsv}`);
  return aq.fromCSV(fs.readFileSync(csv, "utf8")).objects() as unknown as HistoryRow[];
}
