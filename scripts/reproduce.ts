/**
 * The full-size runs of notebook 08's two reproductions, as long, resumable jobs (each (method,
 * seed) run checkpoints into its own folder under --out and continues from there when started
 * again with the same arguments):
 *
 *   npm run reproduce -- mcmahan [--seeds 1,2,3] [--methods fedsgd,fedavg] [--stop 0.95] [--targets 0.93,0.95]
 *                                [--max-rounds 3000] [--lr 0.2] [--every 10] [--workers N] [--out runs/reproduce/mcmahan]
 *   npm run reproduce -- pfllib  [--seeds 1] [--methods fedavg,fedper,ditto] [--rounds 2000] [--every 1]
 *                                [--workers N] [--dataset fashion-mnist-full] [--out runs/reproduce/pfllib]
 *
 * --workers N (default: the machine's cores, as `fedtune run` gives its repetitions): the (method,
 * seed) runs go on min(N, runs) parallel lanes, one worker thread each, and threads left over train
 * one run's participants on the fit pool (one run with --workers 2: its 20 clients on 2 threads;
 * 3 runs with --workers 2: 2 runs at a time). --workers 1 is the old serial job on this thread.
 * Every count gives the same curves bit for bit and writes the same checkpoints, so a job stopped
 * with one count resumes with another. Several jobs side by side: give each --workers 1 (or split
 * the cores between them), or they compete for the same cores.
 *
 * mcmahan: 100 clients on all 8,000 shipped MNIST training images (2 shards each), the 2NN, C = 0.1;
 * each run stops at `--stop` (central test accuracy) or `--max-rounds`; rounds to each of `--targets`
 * are read off the curves. pfllib: 20 clients × the 70,000 pooled Fashion-MNIST images (needs
 * `npm run data` with Debian's dataset-fashion-mnist), PFLlib's CNN and local settings.
 * Writes <out>/curves.csv (method, seed, round, value) and, for mcmahan, <out>/rounds.csv; a stopped
 * job leaves its checkpoints, and rerunning the same command resumes (kill it any time). Runs of one
 * reproduction may run as parallel processes (one per --methods/--seeds) sharing one --out.
 *
 *   npm run reproduce -- report --out <dir> [--metric centralAccuracy|personalAccuracy] [--targets 0.9,0.93]
 *
 * reads every checkpoint under <dir>/checkpoints (finished or not, without training) and writes
 * <dir>/report-curves.csv and a table per run: rounds done, last and best value, rounds to each target.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import { initBackend } from "../lib/backend";
import { fedAvgPaperMethods, runFedAvgPaper } from "../lib/reproduction/fedAvgPaper";
import { PFL_FIT_CONFIG, pflMethods, runPflBenchmark } from "../lib/reproduction/pflBenchmark";
import { coreCount } from "../lib/parallel/lanes";
import { roundsToTarget } from "../lib/analysis/roundsToTarget";
import { serverMetric } from "../lib/analysis/serverMetric";
import { CHECKPOINT_FILE, loadCheckpoint } from "../lib/federation/checkpoint";
import { historyTable } from "../lib/federation/history";

type Args = Map<string, string>;

/** `--name value` pairs after the subcommand. */
function parseArgs(argv: readonly string[]): Args {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    if (!k.startsWith("--") || i + 1 >= argv.length) throw new Error(`reproduce: expected --name value pairs, got ${JSON.stringify(argv.slice(i).join(" "))}`);
    args.set(k.slice(2), argv[i + 1]);
  }
  return args;
}

/** A number option (default when absent); an error names the option. */
function num(args: Args, name: string, fallback: number): number {
  const raw = args.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`reproduce: --${name} must be a number, got ${JSON.stringify(raw)}`);
  return v;
}

/** A comma-separated number list option. */
function nums(args: Args, name: string, fallback: readonly number[]): number[] {
  const raw = args.get(name);
  if (raw === undefined) return [...fallback];
  const v = raw.split(",").map(Number);
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new Error(`reproduce: --${name} must be comma-separated numbers, got ${JSON.stringify(raw)}`);
  return v;
}

/** The methods named by `--methods` (keys are the labels' first word, lower case). */
function pick<M extends { readonly label: string }>(all: readonly M[], args: Args): M[] {
  const key = (m: M): string => m.label.split(" ")[0].toLowerCase();
  const raw = args.get("methods");
  if (raw === undefined) return [...all];
  return raw.split(",").map((k) => {
    const m = all.find((x) => key(x) === k.trim().toLowerCase());
    if (!m) throw new Error(`reproduce: unknown method ${JSON.stringify(k)} in --methods; known: ${all.map(key).join(", ")}`);
    return m;
  });
}

/** `--workers N` (default the machine's cores); an error names the option. */
function workers(args: Args): number {
  const n = num(args, "workers", coreCount());
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`reproduce: --workers must be an integer ≥ 1, got ${JSON.stringify(args.get("workers"))}`);
  return n;
}

const stamp = (): string => new Date().toISOString().slice(11, 19);

async function mcmahan(args: Args): Promise<void> {
  const out = args.get("out") ?? path.join("runs", "reproduce", "mcmahan");
  const lr = num(args, "lr", 0.2);
  const stop = num(args, "stop", 0.95);
  const targets = nums(args, "targets", [0.93, 0.95]);
  const result = await runFedAvgPaper({
    numClients: num(args, "clients", 100),
    clientFraction: 0.1,
    target: stop,
    maxRounds: num(args, "max-rounds", 3000),
    seeds: nums(args, "seeds", [1, 2, 3]),
    methods: pick(fedAvgPaperMethods({ fedSgd: lr, fedAvg: lr }), args),
    checkpoint: { dir: path.join(out, "checkpoints"), every: num(args, "every", 10) },
    workers: workers(args),
    onRound: (r) => { if (r.round % 10 === 0) console.log(`${stamp()} ${r.method} seed ${r.seed} round ${r.round}: ${(r.accuracy * 100).toFixed(2)} %`); },
    onRun: (r) => console.log(`${stamp()} ${r.method} seed ${r.seed}: ${r.reached ? `${r.rounds} rounds` : "not reached"} to ${stop * 100} % (${r.seconds.toFixed(0)} s in this process)`),
  });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "curves.csv"), result.curves.select("method", "seed", "round", "value").toCSV());
  const rounds = aq.from(targets.flatMap((t) => (roundsToTarget(result.curves, t).objects() as Array<Record<string, unknown>>).map((r) => ({ target: t, ...r }))));
  fs.writeFileSync(path.join(out, "rounds.csv"), rounds.toCSV());
  console.log(rounds.toMarkdown());
}

async function pfllib(args: Args): Promise<void> {
  const out = args.get("out") ?? path.join("runs", "reproduce", "pfllib");
  const result = await runPflBenchmark({
    numClients: num(args, "clients", 20),
    rounds: num(args, "rounds", 2000),
    seeds: nums(args, "seeds", [1]),
    methods: pick(pflMethods({ dittoLambda: 0.1 }), args),
    dataset: args.get("dataset") ?? "fashion-mnist-full",
    pool: true,
    partition: "pfllib",
    fitConfig: PFL_FIT_CONFIG,
    checkpoint: { dir: path.join(out, "checkpoints"), every: num(args, "every", 1) },
    workers: workers(args),
    onRound: (r) => console.log(`${stamp()} ${r.method} seed ${r.seed} round ${r.round}: ${(r.accuracy * 100).toFixed(2)} % (${r.seconds.toFixed(0)} s)`),
    onRun: (r) => console.log(`${stamp()} ${r.method} seed ${r.seed}: ${(r.finalAccuracy * 100).toFixed(2)} % at the end`),
  });
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "curves.csv"), result.curves.select("method", "seed", "round", "value").toCSV());
}

/** Curves and a summary from the checkpoints under `<out>/checkpoints`, without training. */
function report(args: Args): void {
  const out = args.get("out");
  if (!out) throw new Error("reproduce report: --out <dir> is required (the folder given to mcmahan or pfllib)");
  const metric = args.get("metric") ?? "centralAccuracy";
  const targets = nums(args, "targets", []);
  const root = path.join(out, "checkpoints");
  if (!fs.existsSync(root)) throw new Error(`reproduce report: ${root} does not exist (no run has checkpointed there yet)`);
  const runs = fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, CHECKPOINT_FILE))).sort();
  const curves = runs.map((run) => {
    const snapshot = loadCheckpoint(path.join(root, run));
    return serverMetric(historyTable([...snapshot.rows]), metric).derive({ run: aq.escape(() => run) }).select("run", "round", "value");
  });
  if (curves.length === 0) throw new Error(`reproduce report: no checkpoint under ${root}`);
  const all = curves.slice(1).reduce((a, t) => a.concat(t), curves[0]);
  fs.writeFileSync(path.join(out, "report-curves.csv"), all.toCSV());
  const rows = curves.map((c) => {
    const v = c.array("value") as number[];
    const r = c.array("round") as number[];
    const reached = Object.fromEntries(targets.map((t) => [`rounds to ${t}`, r[v.findIndex((x) => x >= t)] ?? NaN]));
    return { run: c.get("run", 0) as string, rounds: r[r.length - 1], last: v[v.length - 1], best: Math.max(...v), bestRound: r[v.indexOf(Math.max(...v))], ...reached };
  });
  console.log(aq.from(rows).toMarkdown());
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  if (command === "report") return report(args);
  await initBackend();
  if (command === "mcmahan") await mcmahan(args);
  else if (command === "pfllib") await pfllib(args);
  else throw new Error(`reproduce: unknown command ${JSON.stringify(command)}; use mcmahan, pfllib or report`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
