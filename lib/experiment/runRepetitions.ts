/**
 * Run one experiment several times, once per seed, and summarise the repetitions as mean ± 95 %
 * interval per participant and figure. Each repetition is an ordinary single run (`runExperiment`
 * on the config with that seed), written to `<outDir>/seed-<s>/`, so repetition k is bit for bit
 * the run `fedtune run` would make with `seed: s`. The folder itself gets `summary.csv` (participant,
 * measure, mean, lo, hi, n, …), `repetitions.csv` (every seed's table) and `report.html` (the table
 * and the figures with error bars).
 *
 * Repetitions run on a pool of worker threads, one whole repetition per worker (`jobs`, default
 * min(cores, repetitions)); `jobs: 1` runs them one after another on the main thread. A repetition
 * depends only on its seed, never on the worker that ran it.
 *
 * An interrupted set continues with `resumeRepetitions(outDir)` (`fedtune run --resume <set>`):
 * finished seeds are kept after checking their files (`planRepetition`), an interrupted seed
 * resumes from its checkpoint, a missing one runs, and the set's tables are rebuilt, so the set
 * ends byte for byte as an uninterrupted one. Resumed with more seeds (`runRepetitions(config, {
 * resume: true })`, `fedtune run --resume <set> --seeds …`), the set keeps what it has, runs the new
 * seeds, and its tables cover them all: byte for byte the set a fresh run with all the seeds writes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import { initBackend } from "../backend";
import { buildRepetitionReportHtml } from "../report/repetitionReport";
import type { ExperimentConfig } from "./experimentConfig";
import { repetitionSeeds, singleSeedConfig } from "./experimentConfig";
import { runRepetitionGrid } from "../parallel/repetitionGrid";
import { coreCount } from "../parallel/lanes";
import { WorkerThread } from "../parallel/workerThread";
import type { RepetitionMessage, RepetitionOutcome, RepetitionReply, RepetitionRequest } from "./repetitionProtocol";
import type { ResultInterval } from "./resultsIntervals";
import { formatIntervalTable, resultIntervals, resultIntervalsTable } from "./resultsIntervals";
import { parseExperimentConfig } from "./experimentConfig";
import type { ProgressEvent } from "./progress";
import { firstDifference, planRepetition } from "./repetitionFolder";
import type { RepetitionPlan } from "./repetitionFolder";
import { setContinuationProblem } from "./setContinuation";
import { removeStaleTempFiles, RUN_FILES, writeJsonAtomic, writeTable } from "./runFolder";
import { resumeExperiment, runExperiment } from "./runExperiment";

/** Options of `runRepetitions`. */
export interface RunRepetitionsOptions {
  /** The folder of the whole set (created; must be empty or absent unless `resume`). */
  readonly outDir: string;
  /**
   * Continue the set already in `outDir` (see `resumeRepetitions`). `config` must be its config.json
   * but for the seeds, which may add seeds (never drop one): finished seeds are kept, the new ones run,
   * and config.json then lists them all (`setContinuationProblem`).
   */
  readonly resume?: boolean;
  /** Repetitions run at once, each on its own worker thread (default min(cores, repetitions); 1 = serial on this thread). */
  readonly jobs?: number;
  /** Write report.html in every repetition's folder too (default false: only the set's report). */
  readonly reportPerRun?: boolean;
  /** Write the set's report.html (default true). */
  readonly report?: boolean;
  /** Called when a repetition finishes (in completion order). */
  readonly onRepetitionDone?: (outcome: RepetitionOutcome, done: number, total: number) => void;
  /** Called for every progress step of every repetition that runs (from worker threads too), with its seed. */
  readonly onProgress?: (seed: number, event: ProgressEvent) => void;
}

/** What `runRepetitions` returns. */
export interface RepetitionsResult {
  readonly outDir: string;
  /** The config as given (with its seeds / repetitions). */
  readonly config: ExperimentConfig;
  readonly seeds: readonly number[];
  /** Each repetition, in seed order. */
  readonly repetitions: readonly RepetitionOutcome[];
  /** Mean ± interval per participant and measure. */
  readonly intervals: readonly ResultInterval[];
  /** The interval table as aligned text. */
  readonly resultsText: string;
  readonly reportPath: string | undefined;
  /** Worker threads used (1 = serial on the main thread). */
  readonly jobs: number;
  readonly backend: string;
  /** Wall-clock seconds of the whole set. */
  readonly seconds: number;
}

/** The folder of repetition `seed` inside a set's folder. */
export function repetitionDir(outDir: string, seed: number): string {
  return path.join(outDir, `seed-${seed}`);
}

/** Continue the interrupted set in `outDir` from its own config.json: keep finished seeds, resume the interrupted ones, run the rest. */
export async function resumeRepetitions(outDir: string, options: Omit<RunRepetitionsOptions, "outDir" | "resume"> = {}): Promise<RepetitionsResult> {
  return runRepetitions(readSetConfig(outDir), { ...options, outDir, resume: true });
}

/** The config.json of the set folder `outDir` (errors name the folder or the file). */
export function readSetConfig(outDir: string): ExperimentConfig {
  const file = path.join(outDir, RUN_FILES.config);
  if (!fs.existsSync(file)) throw new Error(`cannot resume ${outDir}: it is neither a run folder (no ${RUN_FILES.run}) nor a multi-seed set (no ${RUN_FILES.config})`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot resume ${outDir}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  return parseExperimentConfig(raw, file);
}

/** Run `config` once per seed of `repetitionSeeds(config)` and summarise the runs as mean ± 95 % interval. */
export async function runRepetitions(config: ExperimentConfig, options: RunRepetitionsOptions): Promise<RepetitionsResult> {
  const started = Date.now();
  const outDir = path.resolve(options.outDir);
  const seeds = repetitionSeeds(config);
  const jobs = options.jobs ?? Math.min(coreCount(), seeds.length);
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new Error(`runRepetitions: jobs must be an integer ≥ 1, got ${options.jobs}`);
  const backend = (await initBackend({ log: false })).name;
  const requests: RepetitionRequest[] = seeds.map((s) => ({ config: singleSeedConfig(config, s), outDir: repetitionDir(outDir, s), report: options.reportPerRun ?? false, resume: false, progress: options.onProgress !== undefined }));
  let plans: RepetitionPlan[];
  if (options.resume) {
    const setConfig = readSetConfig(outDir);
    const problem = setContinuationProblem(setConfig, config);
    if (problem?.kind === "field") throw new Error(`cannot resume ${outDir} with another config: field "${problem.field}" is ${JSON.stringify(problem.recorded)} in its ${RUN_FILES.config}, ${JSON.stringify(problem.given)} here`);
    if (problem?.kind === "seeds") throw new Error(`cannot resume ${outDir} without seed(s) ${problem.missing.join(", ")}: the set has them (its ${RUN_FILES.config}); a set can gain seeds, not lose them`);
    // Every seed folder is checked before anything runs, so a bad one stops the set with nothing changed.
    plans = requests.map((r) => planRepetition(r.outDir, r.config, backend));
    for (const [i, p] of plans.entries()) if (p.action === "resume") removeStaleTempFiles(requests[i].outDir);
    // More seeds: the set's config.json lists them before any runs, so a plain --resume after an interruption continues the larger set.
    if (firstDifference(JSON.parse(JSON.stringify(setConfig)), JSON.parse(JSON.stringify(config))) !== undefined) writeJsonAtomic(path.join(outDir, RUN_FILES.config), config);
  } else {
    if (fs.existsSync(outDir) && fs.readdirSync(outDir).length > 0) {
      throw new Error(`run folder ${outDir} already exists and is not empty; continue it with --resume ${outDir}, or choose another folder`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    writeJsonAtomic(path.join(outDir, RUN_FILES.config), config);
    plans = requests.map(() => ({ action: "run" }));
  }
  let done = 0;
  const finished = (o: RepetitionOutcome): RepetitionOutcome => {
    options.onRepetitionDone?.(o, ++done, seeds.length);
    return o;
  };
  const kept = plans.flatMap((p) => (p.action === "keep" ? [finished(p.outcome)] : []));
  const toRun = requests.flatMap((r, i) => (plans[i].action === "keep" ? [] : [{ ...r, resume: plans[i].action === "resume" }]));
  const onEvent = (e: Extract<RepetitionReply, { type: "event" }>): void => options.onProgress?.(e.seed, e.event);
  const ran = toRun.length === 0 ? [] : await runRequests(toRun, jobs === 1 ? 1 : Math.min(jobs, toRun.length), backend, finished, options.onProgress, onEvent);
  const outcomes = [...kept, ...ran].sort((a, b) => seeds.indexOf(a.seed) - seeds.indexOf(b.seed));

  const intervals = resultIntervals(outcomes.map((o) => o.results));
  writeTable(resultIntervalsTable(intervals), path.join(outDir, RUN_FILES.summaryCsv));
  const perSeed = outcomes.flatMap((o) => o.results.map((r) => ({ seed: o.seed, ...r })));
  writeTable(aq.from(perSeed), path.join(outDir, REPETITIONS_CSV));
  let reportPath: string | undefined;
  if (options.report !== false) {
    reportPath = path.join(outDir, RUN_FILES.report);
    fs.writeFileSync(reportPath, buildRepetitionReportHtml({ config, seeds, intervals, repetitions: outcomes, backend }));
  }
  return { outDir, config, seeds, repetitions: outcomes, intervals, resultsText: formatIntervalTable(intervals), reportPath, jobs, backend, seconds: (Date.now() - started) / 1000 };
}

/** Every seed's final table, one row per (seed, participant): the file next to summary.csv. */
export const REPETITIONS_CSV = "repetitions.csv";

/** One repetition: the single run of `req.config` (its own seed) into `req.outDir`, as the figures the set keeps. Used on the main thread and in repetition workers alike. */
export async function runRepetition(req: RepetitionRequest, onProgress?: (event: ProgressEvent) => void): Promise<RepetitionOutcome> {
  const options = { report: req.report, onProgress };
  const r = req.resume ? await resumeExperiment(req.outDir, options) : await runExperiment(req.config, { ...options, outDir: req.outDir });
  return { seed: req.config.seed, outDir: r.outDir, results: r.results, roundsRun: r.roundsRun, converged: r.converged, seconds: r.seconds, backend: r.backend, warnings: r.warnings, how: req.resume ? "resumed" : "ran" };
}

/**
 * Run the requests through fedtune's one repetition loop (`runRepetitionGrid`, one method: the
 * config): on one lane one after another on this thread; on more, each lane is a repetition worker
 * thread taking the next request when it is free, and the first failure stops every thread.
 */
async function runRequests(
  requests: readonly RepetitionRequest[],
  lanes: number,
  backend: string,
  finished: (o: RepetitionOutcome) => RepetitionOutcome,
  onProgress: ((seed: number, event: ProgressEvent) => void) | undefined,
  onEvent: (event: Extract<RepetitionReply, { type: "event" }>) => void,
): Promise<RepetitionOutcome[]> {
  const file = path.join(__dirname, "repetitionWorker.js");
  const threads = lanes === 1 ? [] : Array.from({ length: lanes }, (_, i) => new WorkerThread<RepetitionMessage, RepetitionReply>(file, { backend }, `repetition worker ${i}`, onEvent));
  const onThread = async (req: RepetitionRequest, lane: number): Promise<RepetitionOutcome> => {
    const seed = req.config.seed;
    let reply: Extract<RepetitionReply, { type: "reply" }>;
    try {
      reply = await threads[lane].call({ type: "repetition", ...req });
    } catch (e) {
      throw new Error(`repetition with seed ${seed}: ${(e as Error).message} before it finished`);
    }
    if (reply.ok === false) throw new Error(`repetition with seed ${seed}: ${reply.error.message}`);
    return reply.outcome;
  };
  try {
    return await runRepetitionGrid({
      caller: "runRepetitions",
      seeds: requests.map((r) => r.config.seed),
      methods: 1,
      lanes,
      run: async ({ index }, _none, lane) => {
        const req = requests[index];
        const seed = req.config.seed;
        return finished(lanes === 1 ? await runRepetition(req, onProgress && ((e) => onProgress(seed, e))) : await onThread(req, lane));
      },
    });
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
}
