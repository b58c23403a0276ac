/**
 * What a multi-seed set's `seed-<s>/` folder holds when the set is resumed, and what to do with it:
 * run the seed (no folder yet), resume it from its checkpoint (its run.json says "running"), or keep
 * it (complete). A kept seed is verified, not rerun: its config must be the set's config with that
 * seed, its metrics.csv must be the history in its final checkpoint byte for byte, and its
 * summary.csv must be the table that history gives. Anything else is an error naming the folder and
 * the file or field, and nothing in the folder is touched.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import { loadCheckpoint } from "../federation/checkpoint";
import { historyTable } from "../federation/history";
import type { ExperimentConfig } from "./experimentConfig";
import { parseExperimentConfig } from "./experimentConfig";
import type { RepetitionOutcome } from "./repetitionProtocol";
import type { LocalPhaseResult, ParticipantResult } from "./resultsTable";
import { CENTRAL_ROW, participantResults, resultsTable } from "./resultsTable";
import { readRunMetadata, RUN_FILES } from "./runFolder";

/** What a resumed set does with one seed. */
export type RepetitionPlan =
  | { readonly action: "run" }
  | { readonly action: "resume" }
  | { readonly action: "keep"; readonly outcome: RepetitionOutcome };

/**
 * The first place where two JSON values differ, as a dotted field path with both values
 * (undefined when they are equal). Object keys are compared regardless of order.
 */
export function firstDifference(a: unknown, b: unknown, at = ""): { field: string; a: unknown; b: unknown } | undefined {
  if (Object.is(a, b)) return undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return { field: at || "(the whole config)", a, b };
  if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return { field: at || "(the whole config)", a, b };
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = firstDifference(a[k], b[k], at ? (Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`) : k);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** `value` as JSON text, shortened for an error message. */
function shown(value: unknown): string {
  const s = value === undefined ? "absent" : JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Decide what a resumed set does with the seed folder `dir`, whose run must be `expected` (the
 * set's config with that seed). Throws, naming `dir` and the file or field, when the folder holds
 * something else; reads only, never writes.
 */
export function planRepetition(dir: string, expected: ExperimentConfig, backend: string): RepetitionPlan {
  if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) return { action: "run" };
  const configFile = path.join(dir, RUN_FILES.config);
  if (!fs.existsSync(path.join(dir, RUN_FILES.run)) || !fs.existsSync(configFile)) {
    throw new Error(`cannot resume the set: ${dir} is not empty but is not a run folder (it lacks ${fs.existsSync(configFile) ? RUN_FILES.run : RUN_FILES.config}); move it away to rerun that seed`);
  }
  const meta = readRunMetadata(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configFile, "utf8"));
  } catch (e) {
    throw new Error(`cannot resume the set: ${configFile} is not valid JSON (${(e as Error).message})`);
  }
  const found = parseExperimentConfig(raw, configFile);
  const d = firstDifference(JSON.parse(JSON.stringify(expected)), JSON.parse(JSON.stringify(found)));
  if (d !== undefined) {
    throw new Error(`cannot resume the set: ${dir} is a run of another config: field "${d.field}" is ${shown(d.b)} in ${configFile} but ${shown(d.a)} in the set's config`);
  }
  if (meta.status !== "complete") return { action: "resume" };
  return { action: "keep", outcome: keptOutcome(dir, expected.seed, meta.backend, backend, meta.createdAt, meta.updatedAt) };
}

/** A complete seed folder's figures, after checking that its files agree with its final checkpoint. */
function keptOutcome(dir: string, seed: number, runBackend: string, backend: string, createdAt: string, updatedAt: string): RepetitionOutcome {
  const file = (name: string): string => path.join(dir, name);
  const snapshot = loadCheckpoint(file(RUN_FILES.checkpoint));
  const metrics = file(RUN_FILES.metricsCsv);
  if (!fs.existsSync(metrics) || fs.readFileSync(metrics, "utf8") !== aq.toCSV(historyTable(snapshot.rows))) {
    throw new Error(`cannot keep ${dir}: ${metrics} is ${fs.existsSync(metrics) ? "not" : "missing, so not"} the history of its final checkpoint (round ${snapshot.round}); move the folder away to rerun seed ${seed}`);
  }
  const summary = file(RUN_FILES.summaryCsv);
  if (!fs.existsSync(summary)) throw new Error(`cannot keep ${dir}: ${summary} is missing; move the folder away to rerun seed ${seed}`);
  const text = fs.readFileSync(summary, "utf8");
  const results = aq.fromCSV(text, { parse: { participant: String } }).objects() as unknown as ParticipantResult[];
  const localFile = file(RUN_FILES.localSummary);
  let local: LocalPhaseResult[] = [];
  try {
    if (fs.existsSync(localFile)) local = JSON.parse(fs.readFileSync(localFile, "utf8")) as LocalPhaseResult[];
  } catch (e) {
    throw new Error(`cannot keep ${dir}: ${localFile} is not valid JSON (${(e as Error).message}); move the folder away to rerun seed ${seed}`);
  }
  const participants = results.filter((r) => r.participant !== "mean" && r.participant !== CENTRAL_ROW).map((r) => ({ id: r.participant, trainSamples: r.trainSamples }));
  if (aq.toCSV(resultsTable(participantResults(snapshot.rows, participants, local))) !== text) {
    throw new Error(`cannot keep ${dir}: ${summary} is not the table of its history (metrics.csv and ${RUN_FILES.localSummary}); move the folder away to rerun seed ${seed}`);
  }
  const warnings = runBackend !== backend ? [`seed ${seed} was computed on backend "${runBackend}" and is kept; the other seeds run on "${backend}"`] : [];
  const seconds = (Date.parse(updatedAt) - Date.parse(createdAt)) / 1000;
  return { seed, outDir: dir, results, roundsRun: Math.max(0, snapshot.round), converged: snapshot.converged, seconds: Number.isFinite(seconds) ? seconds : NaN, backend: runBackend, warnings, how: "kept" };
}
