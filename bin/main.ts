/**
 * `npm start`: the two default experiments, each repeated over seeds 0, 1, 2 and printed as mean ±
 * 95 % interval per participant.
 *
 *  1. The document's scenario: a CNN pretrained on public data (letters); three participants holding
 *     MNIST, Fashion-MNIST and UCI digits (600 local samples each); phase 1, each fine-tunes its last
 *     layers alone with early stopping (SGD, lr 0.001, momentum 0.9); phase 2, ten joint rounds of
 *     FedAvg with FedPer personal heads.
 *  2. The label-skew scenario (`labelSkewExperimentConfig`): ten participants share Fashion-MNIST,
 *     at most 100 labelled images and two label shards each; same body, same training.
 *
 * Writes runs/<timestamp>-<scenario>/ (one folder per seed, summary.csv, report.html) for each.
 *
 * Options: --out <dir>, --rounds <n>, --seeds <a,b,…>, --repetitions <n>, --jobs <n>,
 * --scenario document|label-skew|both, --quiet, --plain, --no-report.
 */
import * as path from "node:path";
import { documentExperimentConfig, parseExperimentConfig } from "../lib/experiment/index";
import type { ExperimentConfig } from "../lib/experiment/index";
import { labelSkewExperimentConfig } from "../lib/scenario/labelSkewScenario";
import { parseSeedList, runAndPrint, runRepetitionsAndPrint } from "./cli";

/** Seeds of `npm start` unless --seeds / --repetitions say otherwise. */
const DEFAULT_SEEDS = [0, 1, 2];

const OPTIONS = "--out <dir>, --rounds <n>, --seeds <a,b,…>, --repetitions <n>, --jobs <n>, --scenario document|label-skew|both, --quiet, --plain, --no-report";

async function main(argv: readonly string[]): Promise<number> {
  let outDir: string | undefined;
  let rounds: number | undefined;
  let seeds: number[] = DEFAULT_SEEDS;
  let jobs: number | undefined;
  let scenario = "both";
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") outDir = argv[++i];
    else if (a === "--rounds") rounds = Number(argv[++i]);
    else if (a === "--seeds") seeds = parseSeedList(argv[++i] ?? "");
    else if (a === "--repetitions") seeds = Array.from({ length: Number(argv[++i]) }, (_, k) => k);
    else if (a === "--jobs") jobs = Number(argv[++i]);
    else if (a === "--scenario") scenario = argv[++i];
    else if (["--quiet", "--plain", "--no-report"].includes(a)) flags.add(a);
    else {
      process.stderr.write(`npm start: unknown option ${a}; allowed: ${OPTIONS}\n`);
      return 2;
    }
  }
  if (!["document", "label-skew", "both"].includes(scenario)) {
    process.stderr.write(`npm start: --scenario must be document, label-skew or both, got "${scenario}"\n`);
    return 2;
  }
  if (seeds.length === 0 || (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1))) {
    process.stderr.write(`npm start: --repetitions and --jobs need an integer ≥ 1\n`);
    return 2;
  }
  const configs: ExperimentConfig[] = [];
  if (scenario !== "label-skew") configs.push(documentExperimentConfig());
  if (scenario !== "document") configs.push(labelSkewExperimentConfig());
  const started = Date.now();
  for (const base of configs) {
    const raw = { ...base, ...(rounds !== undefined ? { federation: { ...base.federation, rounds } } : {}), ...(seeds.length > 1 ? { seeds } : { seed: seeds[0] }) };
    const config = parseExperimentConfig(raw, "npm start");
    process.stderr.write(`fedtune: ${config.description}\n`);
    const dir = outDir === undefined ? undefined : configs.length > 1 ? path.join(outDir, config.name) : outDir;
    const common = { outDir: dir, quiet: flags.has("--quiet"), report: !flags.has("--no-report") };
    if (seeds.length > 1) await runRepetitionsAndPrint(config, { ...common, jobs });
    else await runAndPrint(config, { ...common, plain: flags.has("--plain") });
    process.stdout.write("\n");
  }
  process.stdout.write(`npm start: ${configs.length} scenario(s) × ${seeds.length} seed(s) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`fedtune: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
