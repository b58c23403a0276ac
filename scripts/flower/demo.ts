/**
 * Issue 10's demo: a Python Flower ServerApp (flwr 1.23's own FedAvg, from the shared kit) drives
 * three TypeScript participants — three hospitals, each a fedtune SuperNode in this process with
 * its Dirichlet share of a shipped dataset and a small MLP. Afterwards it writes, under
 * out/flower-demo/:
 *   report.html   self-contained page: accuracy and train loss per round, one line per participant
 *                 (plus Flower's own aggregate from history.json), and the per-round table
 *   metrics.csv   one row per participant and round (see lib/flower/participantRoundMetrics.ts)
 *   history.json  the ServerApp's aggregated metrics per round, as Flower computed them
 * and prints the table. Needs a flwr 1.23 source tree (FLWR_SRC) and the kit's Debian packages.
 *
 * With `--personalisation fedper|fedrep|ditto|fedbn|fedavg-ft|local-only|none`, fedtune's own ServerApp
 * (flower/fedtune_app: FedAvg over named partial arrays) drives the nodes instead and sends the method
 * in its config record; the nodes keep their personal models, and the report adds, per participant,
 * the global and the personal model's accuracy per round (personal dashed).
 *
 * Usage: FLWR_SRC=/path/to/flower/framework/py npm run flower:demo [-- --rounds 5 --dataset digits --personalisation fedper --out DIR]
 * Exit codes: 0 done, 1 the federation failed, 2 bad arguments or no Flower here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { initBackend } from "../../lib/backend";
import { encodeNpz } from "../../lib/flower/npz";
import { loadParticipant } from "../../lib/flower/participantApp";
import { personalisedHandler } from "../../lib/flower/personalisedApp";
import { PERSONALISATION_NAMES } from "../../lib/flower/flowerFitSettings";
import type { FlowerParticipant } from "../../lib/flower/participantApp";
import { parseParticipantConfig } from "../../lib/flower/participantConfig";
import { participantRoundMetrics, recordReplyMetrics } from "../../lib/flower/participantRoundMetrics";
import type { ReplyMetrics } from "../../lib/flower/participantRoundMetrics";
import { SuperNode } from "../../lib/flower/superNode";
import { figuresPage, lineChart, showTable } from "../../lib/viz/index";
import type { PlotlyFigure } from "../../lib/viz/index";
import { findFlowerKit, freeSuperLinkPorts, KitSuperLink } from "./kit";

const HOSPITALS = 3;
const LEARNING_RATE = 0.05;
const FLOWER_LINE = "FedAvg aggregate (Flower)";

interface DemoArgs {
  rounds: number;
  dataset: "digits" | "breast-cancer";
  out: string;
  /** A fedtune method: run fedtune_app with it; undefined: the kit's FedAvg app and plain nodes. */
  personalisation?: string;
}

/** The aggregated metrics Flower's FedAvg wrote (kit's `history-json`). */
interface FlowerHistory {
  readonly "num-server-rounds": number;
  readonly rounds: readonly { readonly round: number; readonly train: Record<string, number>; readonly evaluate: Record<string, number> }[];
}

function parseArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = { rounds: 5, dataset: "digits", out: path.resolve(__dirname, "../../out/flower-demo") };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--rounds") {
      const n = Number(value);
      if (!(Number.isInteger(n) && n >= 1 && n <= 50)) throw new Error(`--rounds must be an integer in [1, 50], got ${JSON.stringify(value)}`);
      args.rounds = n;
    } else if (flag === "--dataset") {
      if (value !== "digits" && value !== "breast-cancer") throw new Error(`--dataset must be "digits" or "breast-cancer", got ${JSON.stringify(value)}`);
      args.dataset = value;
    } else if (flag === "--personalisation") {
      if (!PERSONALISATION_NAMES.includes(value)) throw new Error(`--personalisation must be one of ${PERSONALISATION_NAMES.join(", ")}, got ${JSON.stringify(value)}`);
      args.personalisation = value;
    } else if (flag === "--out") {
      args.out = path.resolve(value);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(flag)} (known: --rounds, --dataset, --personalisation, --out)`);
    }
  }
  return args;
}

async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The three hospitals: same dataset, partition, seed and model (with batch norm for FedBN); only the share differs. */
function hospitals(dataset: DemoArgs["dataset"], batchNorm = false): FlowerParticipant[] {
  return Array.from({ length: HOSPITALS }, (_, i) =>
    loadParticipant(
      parseParticipantConfig({
        id: `hospital-${i + 1}`, dataset, partition: { kind: "dirichlet", alpha: 0.5 }, participantIndex: i, numParticipants: HOSPITALS, seed: 11,
        model: { kind: "mlp", hiddenUnits: [32], seed: 5, ...(batchNorm ? { batchNorm } : {}) }, training: { epochs: 3, batchSize: 32, momentum: 0.9, earlyStoppingPatience: 1 },
      }),
    ),
  );
}

/** Participants' rows plus Flower's aggregate as one more "participant", for the charts. */
function chartTable(table: ColumnTable, history: FlowerHistory): ColumnTable {
  const flower = aq.from(
    history.rounds.map((r) => ({ participant: FLOWER_LINE, round: r.round, accuracy: r.evaluate.accuracy ?? NaN, trainLoss: r.train["train-loss"] ?? NaN })),
  );
  return table.select("participant", "round", "accuracy", "trainLoss").concat(flower);
}

/** Largest |Flower's example-weighted aggregate − the same mean over the participants' rows|, per metric. */
function aggregateGap(table: ColumnTable, history: FlowerHistory): { accuracy: number; trainLoss: number } {
  const rows = table.objects() as { round: number; accuracy: number; evalExamples: number; trainLoss: number; trainExamples: number }[];
  const weighted = (round: number, value: "accuracy" | "trainLoss", weight: "evalExamples" | "trainExamples"): number => {
    const mine = rows.filter((r) => r.round === round);
    return mine.reduce((s, r) => s + r[value] * r[weight], 0) / mine.reduce((s, r) => s + r[weight], 0);
  };
  let accuracy = 0;
  let trainLoss = 0;
  for (const r of history.rounds) {
    accuracy = Math.max(accuracy, Math.abs(weighted(r.round, "accuracy", "evalExamples") - r.evaluate.accuracy));
    trainLoss = Math.max(trainLoss, Math.abs(weighted(r.round, "trainLoss", "trainExamples") - r.train["train-loss"]));
  }
  return { accuracy, trainLoss };
}

/** Whole rounds on the x axis, and Flower's aggregate as a dashed black line apart from the participants' colours. */
function roundChart(fig: PlotlyFigure): PlotlyFigure {
  const xaxis = (fig.layout["xaxis"] ?? {}) as Record<string, unknown>;
  return {
    data: fig.data.map((t) => (t.name === FLOWER_LINE ? { ...t, line: { color: "#000000", dash: "dash" }, marker: { color: "#000000" } } : t)),
    layout: { ...fig.layout, xaxis: { ...xaxis, dtick: 1 } },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Numbers at 4 decimals (integers as they are), NaN as a dash. */
function tableFormat(table: ColumnTable): { format: Record<string, (v: unknown) => string> } {
  const format: Record<string, (v: unknown) => string> = {};
  for (const name of table.columnNames()) {
    format[name] = (v: unknown) => (typeof v === "number" ? (Number.isNaN(v) ? "–" : Number.isInteger(v) ? String(v) : v.toFixed(4)) : escapeHtml(String(v)));
  }
  return { format };
}

async function main(): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`flower demo: ${(e as Error).message}`);
    return 2;
  }
  const found = findFlowerKit();
  if ("skip" in found) {
    console.error(
      `flower demo: needs a real Flower 1.23 SuperLink, and cannot start one here: ${found.skip}.\n` +
        `  To get flwr 1.23 (outside the repo): git clone --depth 1 --branch v1.23.0 https://github.com/adap/flower /opt/flower\n` +
        `  then run: FLWR_SRC=/opt/flower/framework/py npm run flower:demo`,
    );
    return 2;
  }
  const backend = await initBackend();
  const participants = hospitals(args.dataset, args.personalisation === "fedbn");
  for (const p of participants) {
    const d = p.data;
    console.error(`flower demo: ${p.config.id}: ${d.train.y.length} train, ${d.validation.y.length} validation, ${d.test.y.length} test samples of ${args.dataset}`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-flower-demo-"));
  const link = new KitSuperLink(found.kit, path.join(work, "superlink"), await freeSuperLinkPorts());
  const replies: ReplyMetrics[][] = participants.map(() => []);
  const connected = participants.map(() => false);
  const nodes = participants.map(
    (p, i) =>
      new SuperNode({
        address: link.fleetAddress, insecure: true, heartbeatIntervalSeconds: 120, pollIntervalMs: 100,
        reconnect: { initialDelayMs: 500, maxDelayMs: 2000, giveUpAfterMs: 30_000 },
        handler: recordReplyMetrics(personalisedHandler(p), replies[i]),
        log: (line) => console.error(`  ${p.config.id} ${line}`),
        onEvent: (e) => {
          if (e.type === "connected") connected[i] = true;
          if (e.type !== "message") return;
          const round = replies[i][replies[i].length - 1]?.serverRound;
          const r = e.report;
          console.error(`  ${p.config.id}: round ${round} ${r.messageType} ${r.error ? `error: ${r.error.reason}` : "replied"} in ${r.totalSeconds.toFixed(2)} s (${r.bytesPulled} B in, ${r.bytesPushed} B out)`);
        },
      }),
  );
  const running: Promise<void>[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    // Nodes leave first (deactivate + unregister need the SuperLink), then the SuperLink's process group goes.
    cleaned =
      cleaned ??
      (async () => {
        await Promise.all(nodes.map((n) => n.stop()));
        await Promise.allSettled(running);
        await link.stop().catch((e: Error) => console.error(`flower demo: ${e.message}`));
        participants.forEach((p) => p.trainer.dispose());
        fs.rmSync(work, { recursive: true, force: true });
      })();
    return cleaned;
  };
  let interrupted = false;
  const onSignal = (signal: string): void => {
    interrupted = true;
    console.error(`flower demo: ${signal}: stopping the SuperNodes and the SuperLink`);
    void cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const t0 = Date.now();
  let history: FlowerHistory;
  let seconds: number;
  try {
    await link.start();
    console.error(`flower demo: Flower SuperLink up (Fleet API ${link.fleetAddress}); ${HOSPITALS} TypeScript SuperNodes joining`);
    nodes.forEach((n) => running.push(n.run()));
    await until(() => connected.every(Boolean), "the SuperNodes to connect", 30_000);
    fs.writeFileSync(path.join(work, "init.npz"), encodeNpz(participants[0].initialWeights));
    const historyFile = path.join(work, "history.json");
    const runStart = Date.now();
    const run = await link.startRun(
      args.personalisation ? path.resolve(__dirname, "../../flower/fedtune_app") : path.join(found.kit, "apps/fedavg"),
      {
        "num-server-rounds": args.rounds, "min-nodes": HOSPITALS, lr: LEARNING_RATE, "round-timeout": 60,
        "initial-arrays": path.join(work, "init.npz"), "final-arrays": path.join(work, "final.npz"), "history-json": historyFile,
        ...(args.personalisation ? { personalisation: args.personalisation } : {}),
      },
      30 + 20 * args.rounds,
    );
    seconds = (Date.now() - runStart) / 1000;
    if (interrupted) return 130;
    if (run.code !== 0) {
      console.error(`flower demo: the Flower run failed (start-run.sh exit ${run.code}): ${run.stderr.trim()}\n--- superlink.log (tail)\n${link.logTail(40)}`);
      return 1;
    }
    history = JSON.parse(fs.readFileSync(historyFile, "utf8")) as FlowerHistory;
  } catch (e) {
    if (interrupted) return 130;
    console.error(`flower demo: ${(e as Error).message}\n--- superlink.log (tail)\n${link.logTail(40)}`);
    return 1;
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const table = participantRoundMetrics(participants.map((p, i) => ({ participant: p.config.id, reports: nodes[i].reports, replies: replies[i] })));
  const gap = aggregateGap(table, history);
  fs.mkdirSync(args.out, { recursive: true });
  fs.writeFileSync(path.join(args.out, "metrics.csv"), aq.toCSV(table));
  fs.writeFileSync(path.join(args.out, "history.json"), JSON.stringify(history, null, 2) + "\n");

  const charts = chartTable(table, history);
  const shown = table.select(aq.not("run", "grpcBytes", "error"));
  const flowerRounds = aq.from(
    history.rounds.map((r) => ({ round: r.round, trainLoss: r.train["train-loss"], valLoss: r.train["val-loss"], evalLoss: r.evaluate.loss, accuracy: r.evaluate.accuracy })),
  );
  const intro =
    `<p>A Python Flower ServerApp (flwr 1.23, ${args.personalisation ? `fedtune_app's FedAvg over named partial arrays, personalisation <code>${args.personalisation}</code> on the nodes` : "<code>FedAvg</code>"}, ${args.rounds} rounds, lr ${LEARNING_RATE}) drove ${HOSPITALS} TypeScript participants, ` +
    `each a fedtune SuperNode with a Dirichlet(α = 0.5) share of <code>${args.dataset}</code> and an MLP (one hidden layer of 32), ` +
    `backend ${escapeHtml(backend.name)}. The run took ${seconds.toFixed(1)} s. Accuracy and evaluate loss are those of the global model after the round, ` +
    `on each participant's own test split; train/validation loss are from local training in the round. Bytes are Flower message objects pulled and pushed.</p>\n` +
    `<p>Check: Flower's aggregates equal the example-weighted means of these rows (max difference: accuracy ${gap.accuracy.toExponential(1)}, train loss ${gap.trainLoss.toExponential(1)}).</p>\n` +
    `<h2>Per participant and round</h2>\n${shown.toHTML(tableFormat(shown))}\n<h2>Flower's aggregate per round (history.json)</h2>\n${flowerRounds.toHTML(tableFormat(flowerRounds))}\n`;
  // Global and personal accuracy per participant and round, from the evaluate replies.
  const scopes = aq.from(
    participants.flatMap((p, i) =>
      replies[i]
        .filter((r) => r.messageType === "evaluate" && r.metrics.has("personal-accuracy"))
        .flatMap((r) => [
          { participant: p.config.id, round: r.serverRound, scope: "global", accuracy: r.metrics.get("accuracy") },
          { participant: p.config.id, round: r.serverRound, scope: "personal", accuracy: r.metrics.get("personal-accuracy") },
        ]),
    ),
  );
  const personalChart =
    args.personalisation && scopes.numRows() > 0
      ? [roundChart(lineChart(scopes, { x: "round", y: "accuracy", color: "participant", dash: "scope", title: `Global vs personal model (${args.personalisation}): test accuracy per round`, xTitle: "server round", yTitle: "accuracy" }))]
      : [];
  const html = figuresPage(
    [
      ...personalChart,
      roundChart(lineChart(charts, { x: "round", y: "accuracy", color: "participant", title: "Test accuracy of the global model after each round", xTitle: "server round", yTitle: "accuracy" })),
      roundChart(lineChart(charts, { x: "round", y: "trainLoss", color: "participant", title: "Local train loss per round", xTitle: "server round", yTitle: "train loss (cross-entropy)" })),
    ],
    { title: `fedtune × Flower: ${HOSPITALS} TypeScript hospitals, ${args.personalisation ? `${args.personalisation} with fedtune_app` : "FedAvg"} in Python`, bodyHtml: intro },
  );
  fs.writeFileSync(path.join(args.out, "report.html"), html);

  showTable(shown, { digits: 4 });
  console.log(
    `\n${HOSPITALS} TypeScript SuperNodes × ${args.rounds} Flower FedAvg rounds on ${args.dataset} (backend ${backend.name}): run ${seconds.toFixed(1)} s, demo ${((Date.now() - t0) / 1000).toFixed(1)} s.\n` +
      `Flower's accuracy per round: ${history.rounds.map((r) => r.evaluate.accuracy.toFixed(4)).join(", ")}; ` +
      (args.personalisation ? `personal (${args.personalisation}): ${history.rounds.map((r) => (r.evaluate["personal-accuracy"] ?? NaN).toFixed(4)).join(", ")}; ` : "") +
      `= example-weighted mean of the rows within ${gap.accuracy.toExponential(1)} (train loss within ${gap.trainLoss.toExponential(1)}).\n` +
      `Wrote ${path.join(args.out, "report.html")}, metrics.csv and history.json.`,
  );
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`flower demo: ${e.stack ?? e.message}`);
      process.exit(1);
    },
  );
}
