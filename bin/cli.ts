/**
 * The `fedtune` command line.
 *
 *   fedtune run <config.json|yaml> [--out <dir>] [--set path=value …]   run an experiment
 *   fedtune run --resume <dir> [--seeds …|--repetitions n]             continue an interrupted run (or add seeds to a set)
 *   fedtune run --help                                                 usage and every config field
 *   fedtune supernode …                                                a Flower SuperNode (bin/supernode.ts)
 *   fedtune notebooks [paths…] [--param NAME=VALUE …]                  rerun notebooks (bin/notebooks.ts)
 *
 * Exit codes: 0 done, 1 the run failed, 2 bad usage or config, 130 interrupted (resumable).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  ConfigError,
  configHelpText,
  createProgressPrinter,
  ExperimentConfig,
  ExperimentResult,
  formatDifference,
  loadExperimentConfig,
  meanRow,
  pairedMeanDifference,
  newRunFolder,
  parseExperimentConfig,
  readRunMetadata,
  readSetConfig,
  repetitionSeeds,
  resumeExperiment,
  resumeRepetitions,
  RUN_FILES,
  runExperiment,
  runRepetitions,
  setContinuationProblem,
} from "../lib/experiment/index";
import type { RepetitionOutcome, RepetitionsResult } from "../lib/experiment/index";

/** The top-level usage text. */
export const USAGE = `usage: fedtune <command> [options]

commands:
  run <config.json|config.yaml>   run an experiment described by a config file
  run --resume <run folder>       continue an interrupted run or multi-seed set (Ctrl-C, kill -9) where it stopped
  run --help                      options of "run" and every config field
  supernode --help                run a participant as a Flower SuperNode
  notebooks [paths…]              rerun notebooks headless: parameters, JUnit/Markdown reports (--help)
  help                            this text

npm start runs the two default experiments (the document's scenario and the label-skew scenario, 3 seeds each).`;

/** The usage text of `fedtune run`. */
export const RUN_USAGE = `usage: fedtune run <config.json|config.yaml> [options]
       fedtune run --resume <run folder> [--quiet] [--no-report] [--jobs <n>]
       fedtune run --resume <multi-seed folder> --seeds <a,b,…|a..b> | --repetitions <n>   (add seeds)

Runs phase 1 (each participant fine-tunes alone, early stopping: the local-only baseline) and
phase 2 (joint fine-tuning rounds with the configured strategy and personalisation), then writes
the run folder: config.json (resolved), run.json, metrics.csv + metrics.arrow (history),
local-phase.csv/.arrow, summary.csv, models/{global,global-best,local/<id>,personal/<id>},
checkpoint/ (every round) and report.html (self-contained; opens offline).

options:
  --out <dir>          run folder (default: <runs-dir>/<yyyymmdd-hhmmss>-<name>)
  --runs-dir <dir>     where new run folders go (default: runs)
  --repetitions <n>    run n times, with seeds seed, seed+1, … (config field "repetitions"); the table
                       is mean ± 95 % interval (Student t) per participant; each seed's run goes to
                       <run folder>/seed-<s>/, summary.csv holds mean, lo, hi, n
  --seeds <a,b,…>      run once per listed seed (config field "seeds"); a..b is a range (1..5)
  --jobs <n>           repetitions run at once, one per worker thread (default: cores; 1 = serial)
  --set <path>=<value> override a config field before validation, e.g. --set federation.rounds=3
                       or --set 'federation.strategy={"name":"FedProx","options":{"mu":0.01}}'
                       (value parsed as JSON, else taken as a string; repeatable)
  --resume <dir>       continue the run in <dir> from its last checkpoint (no config needed); for the
                       folder of a multi-seed run: finished seeds are kept (their files checked, not
                       rerun), interrupted seeds resume from their checkpoints, missing ones run, and
                       summary.csv is rebuilt, exactly as an uninterrupted run would have written it;
                       with --seeds or --repetitions, a multi-seed folder also gets the seeds it lacks
                       (seeds it has may not be left out; any other option must match its config.json)
  --no-report          skip report.html
  --quiet              no progress output (the final table is still printed)
  --plain              plain progress lines even on a terminal
  -h, --help           this text

Example configs: examples/*.json, examples/*.yaml.

environment:
  FEDTUNE_DATA_DIR=<dir>    read the datasets from <dir> (a folder like data/, with its manifest.json)
                            instead of the shipped data/
  FEDTUNE_BACKEND=<name>    force a tfjs backend: node-gpu, node, wasm or cpu (default: the fastest that loads)
  FEDTUNE_QUIET=1           do not print which backend was chosen
  FEDTUNE_DEBUG=1           print the stack trace of an unexpected error

config fields (path · type · default):
`;

/** Parsed `run` arguments. */
interface RunArgs {
  configFile?: string;
  resume?: string;
  out?: string;
  runsDir: string;
  sets: string[];
  repetitions?: number;
  seeds?: number[];
  jobs?: number;
  report: boolean;
  quiet: boolean;
  plain: boolean;
  help: boolean;
}

/** A usage error (exit code 2). */
class UsageError extends Error {}

/** Parse `run`'s arguments with Node's util.parseArgs (strict: unknown options and missing values are usage errors). */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  let parsed: ReturnType<typeof parseRunOptions>;
  try {
    parsed = parseRunOptions(argv);
  } catch (e) {
    // parseArgs' messages name the option ("Unknown option '--outt'", "Option '--out <value>' argument missing").
    const why = e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, "") : String(e);
    throw new UsageError(`${why}; see fedtune run --help`);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`one config file only, got ${positionals.join(" and ")}`);
  return {
    configFile: positionals[0],
    resume: v.resume,
    out: v.out,
    runsDir: v["runs-dir"] ?? "runs",
    sets: v.set ?? [],
    repetitions: v.repetitions === undefined ? undefined : positiveInteger("--repetitions", v.repetitions),
    seeds: v.seeds === undefined ? undefined : parseSeedList(v.seeds),
    jobs: v.jobs === undefined ? undefined : positiveInteger("--jobs", v.jobs),
    report: !v["no-report"],
    quiet: v.quiet ?? false,
    plain: v.plain ?? false,
    help: v.help ?? false,
  };
}

function parseRunOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      resume: { type: "string" },
      out: { type: "string" },
      "runs-dir": { type: "string" },
      set: { type: "string", multiple: true },
      repetitions: { type: "string" },
      seeds: { type: "string" },
      jobs: { type: "string" },
      "no-report": { type: "boolean" },
      quiet: { type: "boolean" },
      plain: { type: "boolean" },
    },
  });
}

/** `text` as an integer ≥ 1, or a usage error naming `option`. */
function positiveInteger(option: string, text: string): number {
  const n = Number(text);
  if (!(/^\d+$/.test(text.trim()) && Number.isInteger(n) && n >= 1)) throw new UsageError(`${option} needs an integer ≥ 1, got "${text}"`);
  return n;
}

/** "1,2,3" → [1, 2, 3], "1..5" → [1, 2, 3, 4, 5] (ranges inclusive, mixable: "1..3,7"); a usage error naming --seeds for anything else. */
export function parseSeedList(text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  const bad = (): UsageError => new UsageError(`--seeds needs a comma-separated list of integers ≥ 0 or ranges a..b, like 1,2,3 or 1..5; got "${text}"`);
  return parts.flatMap((p) => {
    const range = /^(\d+)\.\.(\d+)$/.exec(p);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw bad();
      return Array.from({ length: to - from + 1 }, (_, k) => from + k);
    }
    if (!/^\d+$/.test(p)) throw bad();
    return [Number(p)];
  });
}

/** Apply `path=value` to a raw config object (creating objects along the path). */
export function applySet(raw: unknown, assignment: string): Record<string, unknown> {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UsageError(`--set needs <path>=<value>, got "${assignment}"`);
  const keys = assignment.slice(0, eq).split(".");
  if (keys.some((k) => k === "" || k === "__proto__" || k === "constructor" || k === "prototype")) {
    throw new UsageError(`--set: bad path "${assignment.slice(0, eq)}"`);
  }
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  const root: Record<string, unknown> = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  let obj = root;
  for (const k of keys.slice(0, -1)) {
    const next = obj[k];
    const copy: Record<string, unknown> = next !== null && typeof next === "object" && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
    obj[k] = copy;
    obj = copy;
  }
  obj[keys[keys.length - 1]] = value;
  return root;
}

/** Options of `runAndPrint`. */
export interface RunAndPrintOptions {
  readonly outDir?: string;
  readonly resume?: string;
  readonly report?: boolean;
  readonly quiet?: boolean;
  readonly plain?: boolean;
  readonly runsDir?: string;
}

/** Options of `runRepetitionsAndPrint`. */
export interface RunRepetitionsAndPrintOptions {
  readonly outDir?: string;
  /** Continue the set in `outDir`: with its config.json when `config` is undefined, else with `config` (the set's config with more seeds). */
  readonly resume?: boolean;
  readonly runsDir?: string;
  readonly report?: boolean;
  readonly quiet?: boolean;
  /** Repetitions at once (default: cores). */
  readonly jobs?: number;
}

/** Run (or, with `resume`, continue) every seed of `config` (see `runRepetitions`), one line per finished seed, then print the mean ± 95 % interval table. */
export async function runRepetitionsAndPrint(config: ExperimentConfig | undefined, o: RunRepetitionsAndPrintOptions): Promise<RepetitionsResult> {
  const out = process.stdout;
  if (!o.resume && config === undefined) throw new UsageError("fedtune run needs a config file or --resume <dir>");
  const outDir = path.resolve(o.outDir ?? newRunFolder(o.runsDir ?? "runs", (config as ExperimentConfig).name));
  process.stderr.write(o.resume ? `fedtune: resuming the multi-seed run in ${outDir}${config ? ` with seeds ${repetitionSeeds(config).join(", ")}` : ""}\n` : `fedtune: running "${(config as ExperimentConfig).name}" with seeds ${repetitionSeeds(config as ExperimentConfig).join(", ")} → ${outDir}\n`);
  // Ctrl-C: every seed's finished rounds are checkpointed (atomically), so stopping here is safe.
  const onSigint = (): void => {
    process.stderr.write(`\nfedtune: interrupted. Continue with:\n  fedtune run --resume ${outDir}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  const options = {
    jobs: o.jobs,
    report: o.report,
    onRepetitionDone: (r: RepetitionOutcome, done: number, total: number): void => {
      if (o.quiet) return;
      const mean = meanRow(r.results);
      const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–");
      const how = r.how === "kept" ? "kept from the earlier run (checked)" : `${r.how === "resumed" ? "resumed and done" : "done"} in ${r.seconds.toFixed(1)} s`;
      process.stderr.write(`fedtune: seed ${r.seed} ${how} (${done}/${total}) · mean local-only ${pct(mean.localOnly)}, global ${pct(mean.globalBest)}, personal ${pct(mean.personalBest)}\n`);
      for (const w of r.warnings) process.stderr.write(`fedtune: warning (seed ${r.seed}): ${w}\n`);
    },
  };
  let result: RepetitionsResult;
  try {
    result = o.resume && config === undefined ? await resumeRepetitions(outDir, options) : await runRepetitions(config as ExperimentConfig, { ...options, outDir, resume: o.resume });
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  config = result.config;
  const seeds = result.seeds;
  out.write(`\n${config.name}: test accuracy per participant, mean ± 95 % interval over ${seeds.length} seeds (${seeds.join(", ")}); best = round with the lowest validation loss\n\n`);
  out.write(result.resultsText + "\n\n");
  const perSeed = result.repetitions.map((r) => r.results);
  const mean = meanRow(perSeed[0]);
  if (Number.isFinite(mean.personalBest) && Number.isFinite(mean.globalBest)) {
    out.write(`mean personal (best) − global (best), paired over seeds: ${formatDifference(pairedMeanDifference(perSeed, "personalBest", "globalBest"))}\n`);
    if (Number.isFinite(mean.localOnly)) out.write(`mean personal (best) − local-only, paired over seeds:    ${formatDifference(pairedMeanDifference(perSeed, "personalBest", "localOnly"))}\n`);
  }
  if (config.data.kind === "partition") out.write("participants are re-drawn for every seed (the partition is seeded): compare the mean row\n");
  out.write(`${seeds.length} runs in ${result.seconds.toFixed(1)} s on ${result.backend}, ${result.jobs === 1 ? "one after another" : `${result.jobs} at a time (one per worker thread)`}\n`);
  out.write(`run folder: ${result.outDir} (one folder per seed, summary.csv: mean, lo, hi, n)\n`);
  if (result.reportPath) out.write(`report:     ${result.reportPath}\n`);
  return result;
}

/** Run (or resume) with a progress display, then print the final table and where everything went. */
export async function runAndPrint(config: ExperimentConfig | undefined, o: RunAndPrintOptions): Promise<ExperimentResult> {
  const out = process.stdout;
  const printer = o.quiet ? undefined : createProgressPrinter(process.stderr, { tty: o.plain ? false : undefined });
  let outDir: string;
  if (o.resume !== undefined) {
    outDir = path.resolve(o.resume);
  } else {
    if (!config) throw new UsageError("fedtune run needs a config file or --resume <dir>");
    outDir = path.resolve(o.outDir ?? newRunFolder(o.runsDir ?? "runs", config.name));
  }
  const name = o.resume !== undefined ? readRunMetadata(outDir).name : (config as ExperimentConfig).name;
  process.stderr.write(`fedtune: ${o.resume !== undefined ? "resuming" : "running"} "${name}" → ${outDir}\n`);
  // Ctrl-C: every finished round is already checkpointed (atomically), so stopping here is safe.
  const onSigint = (): void => {
    printer?.end();
    process.stderr.write(`\nfedtune: interrupted. Continue with:\n  fedtune run --resume ${outDir}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  try {
    const options = { onProgress: printer, report: o.report };
    const result = o.resume !== undefined ? await resumeExperiment(outDir, options) : await runExperiment(config as ExperimentConfig, { ...options, outDir });
    printer?.end();
    for (const w of result.warnings) process.stderr.write(`fedtune: warning: ${w}\n`);
    out.write(`\n${result.config.name}: test accuracy per participant (best = round with the lowest validation loss)\n\n`);
    out.write(result.resultsText + "\n\n");
    const mean = meanRow(result.results);
    if (Number.isFinite(mean.personalBest) && Number.isFinite(mean.globalBest)) {
      const signed = (v: number): string => `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}`;
      const local = Number.isFinite(mean.localOnly) ? `, ${signed(mean.personalBest - mean.localOnly)} points vs local-only` : "";
      out.write(`mean personal model (best): ${signed(mean.personalBest - mean.globalBest)} points vs the global model${local}\n`);
    }
    out.write(`${result.roundsRun} round(s)${result.converged ? " (converged)" : ""}${result.resumedFromRound !== undefined ? `, resumed after round ${result.resumedFromRound}` : ""} in ${result.seconds.toFixed(1)} s on ${result.backend}\n`);
    out.write(`run folder: ${result.outDir}\n`);
    if (result.reportPath) out.write(`report:     ${result.reportPath}\n`);
    return result;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const a = parseRunArgs(argv);
  if (a.help) {
    process.stdout.write(RUN_USAGE + configHelpText() + "\n");
    return 0;
  }
  if (a.resume !== undefined) {
    if (!fs.existsSync(a.resume)) throw new UsageError(`--resume: ${a.resume} does not exist`);
    if (a.out !== undefined) throw new UsageError(`--resume ${a.resume} continues in that folder; do not pass --out`);
    // A multi-seed run's folder has config.json and seed-<s>/ folders but no run.json of its own.
    if (!fs.existsSync(path.join(a.resume, RUN_FILES.run))) {
      const config = a.configFile !== undefined || a.sets.length > 0 || a.repetitions !== undefined || a.seeds !== undefined ? continuedSetConfig(a, a.resume) : undefined;
      await runRepetitionsAndPrint(config, { resume: true, outDir: a.resume, report: a.report, quiet: a.quiet, jobs: a.jobs });
      return 0;
    }
    if (a.configFile !== undefined || a.sets.length > 0 || a.repetitions !== undefined || a.seeds !== undefined) {
      throw new UsageError(`--resume ${a.resume}: that is a single run (it has ${RUN_FILES.run}), which continues with its own config; do not pass a config file, --set, --repetitions or --seeds (seeds are added to a multi-seed set's folder)`);
    }
    await runAndPrint(undefined, { resume: a.resume, report: a.report, quiet: a.quiet, plain: a.plain });
    return 0;
  }
  if (a.configFile === undefined) throw new UsageError("fedtune run needs a config file (see examples/) or --resume <dir>; fedtune run --help lists every field");
  let config = loadExperimentConfig(a.configFile);
  const sets = [...a.sets];
  if (a.repetitions !== undefined) sets.push(`repetitions=${a.repetitions}`);
  if (a.seeds !== undefined) sets.push(`seeds=${JSON.stringify(a.seeds)}`);
  if (sets.length > 0) {
    // Overrides apply to the resolved config and are validated again, so a typo in a path is caught.
    let raw: unknown = config;
    for (const s of sets) raw = applySet(raw, s);
    config = parseExperimentConfig(raw, `${a.configFile} with ${[...a.sets.map((s) => `--set ${s}`), ...(a.repetitions !== undefined ? [`--repetitions ${a.repetitions}`] : []), ...(a.seeds !== undefined ? [`--seeds ${a.seeds.join(",")}`] : [])].join(" ")}`);
  }
  if (repetitionSeeds(config).length > 1) {
    await runRepetitionsAndPrint(config, { outDir: a.out, runsDir: a.runsDir, report: a.report, quiet: a.quiet, jobs: a.jobs });
    return 0;
  }
  await runAndPrint(config, { outDir: a.out, runsDir: a.runsDir, report: a.report, quiet: a.quiet, plain: a.plain });
  return 0;
}

/**
 * The config that `fedtune run --resume <set> [config] [--set …] [--seeds …|--repetitions n]` asks
 * for: the given config file (else the set's config.json) with the overrides, where --seeds replaces
 * the recorded repetitions and --repetitions the recorded seed list. A usage error names the option
 * and the set folder when the result is not the set's config but for more seeds.
 */
function continuedSetConfig(a: RunArgs, dir: string): ExperimentConfig {
  const recorded = readSetConfig(dir);
  let raw: Record<string, unknown> = JSON.parse(JSON.stringify(a.configFile !== undefined ? loadExperimentConfig(a.configFile) : recorded));
  for (const s of a.sets) raw = applySet(raw, s);
  if (a.seeds !== undefined) {
    delete raw.repetitions;
    raw.seeds = a.seeds;
  }
  if (a.repetitions !== undefined) {
    delete raw.seeds;
    raw.repetitions = a.repetitions;
  }
  const options = [...(a.configFile !== undefined ? [a.configFile] : []), ...a.sets.map((s) => `--set ${s}`), ...(a.seeds !== undefined ? [`--seeds ${a.seeds.join(",")}`] : []), ...(a.repetitions !== undefined ? [`--repetitions ${a.repetitions}`] : [])];
  const config = parseExperimentConfig(raw, `the set ${dir} resumed with ${options.join(" ")}`);
  const problem = setContinuationProblem(recorded, config);
  if (problem === undefined) return config;
  if (problem.kind === "seeds") {
    const option = a.seeds !== undefined ? `--seeds ${a.seeds.join(",")}` : a.repetitions !== undefined ? `--repetitions ${a.repetitions}` : (a.configFile as string);
    throw new UsageError(`${option} leaves out seed(s) ${problem.missing.join(", ")}, which the set in ${dir} already has; resuming a set can add seeds, not drop them`);
  }
  // The option that changed the field: the --set on it (or on a field around it), else the config file.
  const set = a.sets.find((s) => {
    const key = s.split("=")[0];
    return problem.field === key || problem.field.startsWith(`${key}.`) || key.startsWith(`${problem.field}.`);
  });
  const option = set !== undefined ? `--set ${set}` : `the config file ${a.configFile}`;
  const shown = (v: unknown): string => (v === undefined ? "absent" : JSON.stringify(v));
  throw new UsageError(
    `${option} makes field "${problem.field}" ${shown(problem.given)}, but the set in ${dir} was run with ${shown(problem.recorded)} (its ${RUN_FILES.config}); a set resumes with its own config, and only --seeds or --repetitions may change (to add seeds)`,
  );
}

/** `fedtune supernode …`: delegate to bin/supernode.ts when it is there. */
async function supernodeCommand(argv: readonly string[]): Promise<number> {
  // supernode.ts in the repository, supernode.js compiled in an installed package (dist/bin).
  const file = ["supernode.ts", "supernode.js"].map((f) => path.join(__dirname, f)).find((f) => fs.existsSync(f));
  if (file === undefined) {
    process.stderr.write("fedtune: the supernode command is not available in this installation (bin/supernode.ts is missing)\n");
    return 2;
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(file) as { supernodeMain?: (argv: readonly string[]) => Promise<number>; main?: (argv: readonly string[]) => Promise<number> };
  const entry = mod.supernodeMain ?? mod.main;
  if (typeof entry !== "function") {
    process.stderr.write("fedtune: bin/supernode.ts exports no supernodeMain(argv) function\n");
    return 1;
  }
  return entry(argv);
}

/** Entry point: dispatch the sub-command; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return await runCommand(rest);
      case "supernode":
        return await supernodeCommand(rest);
      case "notebooks":
        return await (require("./notebooks") as typeof import("./notebooks")).notebooksMain(rest);
      case undefined:
      case "help":
      case "-h":
      case "--help":
        process.stdout.write(USAGE + "\n");
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`fedtune: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`fedtune: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`fedtune: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.FEDTUNE_DEBUG === "1" && e instanceof Error && e.stack) process.stderr.write(e.stack + "\n");
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
