/**
 * The folder one run writes: its resolved config, its progress metadata (so `--resume <dir>` needs
 * nothing else), metrics as CSV and Arrow, model checkpoints and the report. Small files are
 * written atomically (temp file + rename), so a run killed at any moment leaves either the old or
 * the new version of each, never half a file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import { writeFileAtomic } from "../federation/checkpoint";
import type { ExperimentPhase } from "./progress";

/** File and folder names inside a run folder. */
export const RUN_FILES = {
  /** The resolved config (defaults filled in). */
  config: "config.json",
  /** Run metadata: status, phase, rounds done. */
  run: "run.json",
  /** Federation history, long form (round, participant, scope, metric, value). */
  metricsCsv: "metrics.csv",
  metricsArrow: "metrics.arrow",
  /** Phase-1 (local fine-tuning) curves: participant, epoch, trainLoss, valLoss. */
  localCsv: "local-phase.csv",
  localArrow: "local-phase.arrow",
  /** Phase-1 results per participant (JSON), read back on resume. */
  localSummary: "local-phase.json",
  /** The final per-participant table. */
  summaryCsv: "summary.csv",
  /** The federation checkpoint folder (written every round). */
  checkpoint: "checkpoint",
  /** tfjs models: models/global, models/global-best, models/local/<id>, models/personal/<id>. */
  models: "models",
  /** The self-contained HTML report. */
  report: "report.html",
} as const;

/** Format tag of run.json. */
export const RUN_FORMAT = "fedtune-run";

/** What run.json holds. */
export interface RunMetadata {
  readonly format: typeof RUN_FORMAT;
  readonly version: 1;
  /** The experiment's name. */
  readonly name: string;
  /** "running" until every artefact is written, then "complete". */
  readonly status: "running" | "complete";
  /** The phase in progress (or "done"). */
  readonly phase: ExperimentPhase | "done";
  /** Whether phase 1 finished and its results are on disk. */
  readonly localPhaseDone: boolean;
  /** Federated rounds checkpointed so far (-1 before round 0's evaluation). */
  readonly roundsDone: number;
  /** The tfjs backend the run uses (a resumed run must use the same one to reproduce it bitwise). */
  readonly backend: string;
  /** For a pretrained model: its folder and what the body saw (from its pretraining.json). */
  readonly pretrainedBody?: { readonly dir: string; readonly saw: string };
  /** ISO time the run was created. */
  readonly createdAt: string;
  /** ISO time of the last update. */
  readonly updatedAt: string;
}

/** Write `value` as pretty JSON to `file`, atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
}

/** Write `text` to `file`, atomically. */
export function writeTextAtomic(file: string, text: string): void {
  writeFileAtomic(file, new TextEncoder().encode(text));
}

/** Write an arquero table as `<csv>` and `<arrow>` (Arrow IPC), atomically. */
export function writeTable(table: aq.ColumnTable, csvFile: string, arrowFile?: string): void {
  writeTextAtomic(csvFile, aq.toCSV(table));
  if (arrowFile) writeFileAtomic(arrowFile, aq.toArrowIPC(table));
}

/** Read run.json of `dir`, with an error naming the file if it is missing or not a fedtune run. */
export function readRunMetadata(dir: string): RunMetadata {
  const file = path.join(dir, RUN_FILES.run);
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a fedtune run folder (no ${RUN_FILES.run})`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const m = raw as Partial<RunMetadata> | null;
  if (m === null || typeof m !== "object" || m.format !== RUN_FORMAT) throw new Error(`${file}: not a fedtune run file (format is ${JSON.stringify(m && m.format)})`);
  if (m.version !== 1) throw new Error(`${file}: version ${JSON.stringify(m.version)} is not supported (this code reads 1)`);
  return m as RunMetadata;
}

/** A folder name for a new run: `<yyyymmdd-hhmmss>-<name>` (UTC), e.g. 20250101-120000-document-scenario. */
export function runFolderName(name: string, now: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${name}`;
}

/** A fresh run folder under `runsDir` (adds -2, -3, … if the name is taken). */
export function newRunFolder(runsDir: string, name: string, now: Date = new Date()): string {
  const base = path.join(runsDir, runFolderName(name, now));
  let dir = base;
  for (let i = 2; fs.existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

/** Temp files of `writeFileAtomic` (`<file>.tmp-<pid>-<n>`) and of the report (`report.html.tmp`). */
const TEMP_FILE = /\.tmp(-\d+-\d+)?$/;

/**
 * Remove temp files a killed process left in the run folder `dir` (recursively), e.g. before a
 * resume; returns the removed paths. Only call it while no other process writes to `dir`.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (TEMP_FILE.test(e.name)) {
        fs.rmSync(p, { force: true });
        removed.push(p);
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return removed;
}
