/**
 * Bench item 7 (issue 15): the personalised-FL CNN at batch 10 and 32 — a round's local training serial and on a worker
 * pool, and evaluation — against PyTorch on the same model, batch and thread count; plus the per-kernel breakdown of
 * one training step, written next to the bench's JSON.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BenchItem, Measurement, Ratio } from "./benchTypes";
import { EVAL_BATCH, fmnistEvaluation, fmnistRound } from "./fmnistCnn";
import { poolSpeedup } from "./poolSpeedup";
import { formatStepProfile, StepProfile, stepProfile } from "./stepProfile";
import { TorchCase, torchBaseline } from "./torchBaseline";

/** Images per round in the issue's setting (20 participants, one epoch, Fashion-MNIST). */
const ROUND_IMAGES = 52_000;
/** Test images of all participants in that setting: the remaining quarter of Fashion-MNIST's 70,000 (52,000 is ¾ of it). */
const TEST_IMAGES = 18_000;

/** The issue's table: seconds for its round (52,000 images at batch 10) and its evaluation, fedtune vs PyTorch, from rates. */
function issueTable(rows: ReadonlyArray<{ what: string; fedtune: number; torch: number | undefined; images: number }>, baseline: string): string {
  const s = (rate: number | undefined, images: number) => (rate === undefined || !Number.isFinite(rate) ? "—" : `${(images / rate).toFixed(1)} s`);
  const lines = [
    `| | fedtune (wasm) | ${baseline} | fedtune time / PyTorch time |`,
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.what} | ${s(r.fedtune, r.images)} | ${s(r.torch, r.images)} | ${r.torch === undefined ? "—" : `${(r.torch / r.fedtune).toFixed(2)}×`} |`),
  ];
  return lines.join("\n");
}

/** What item 7 needs from the bench's options. */
export interface FmnistItemOptions {
  readonly quick: boolean;
  readonly torch: boolean;
  readonly allowReferenceBlas: boolean;
  /** Where the per-kernel breakdown goes (…/step-profile.json and .txt). */
  readonly outDir: string;
  readonly seed: number;
}

function speed(label: string, fedtune: number, torch: number | undefined, threshold: number): Ratio {
  const value = torch === undefined ? NaN : fedtune / torch;
  const target = `≥ ${Number(threshold.toFixed(2))}× (time ≤ ${(1 / threshold).toFixed(1)}× PyTorch's)`;
  return { label, value, target, met: Number.isFinite(value) ? value >= threshold : undefined };
}

/** Runs item 7 and writes the step breakdown; returns the item, the breakdown text and the issue's table (Markdown). */
export async function fmnistItem(o: FmnistItemOptions): Promise<{ item: BenchItem; breakdown: string; table: string }> {
  const cores = Math.min(2, os.cpus().length);
  const participants = o.quick ? 4 : 8;
  const samplesEach = o.quick ? 200 : 400;
  const reps = o.quick ? 1 : 2;
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];

  const torchCases: TorchCase[] = [
    { key: "train10", model: "fmnist", batch: 10, lr: 0.005, momentum: 0 },
    { key: "train32", model: "fmnist", batch: 32, lr: 0.005, momentum: 0 },
    { key: "eval", model: "fmnist", batch: EVAL_BATCH, mode: "eval" },
  ];
  const torchSeconds = o.quick ? 1 : 3;
  const skipped = { ok: false as const, reason: "--no-torch" };
  const torch1 = o.torch ? torchBaseline(torchCases, 1, torchSeconds, o.seed, o.allowReferenceBlas) : skipped;
  const torchN = o.torch && cores > 1 ? torchBaseline(torchCases, cores, torchSeconds, o.seed, o.allowReferenceBlas) : skipped;
  const t1 = (key: string) => (torch1.ok ? torch1.samplesPerS.get(key) : undefined);
  const tN = (key: string) => (torchN.ok ? torchN.samplesPerS.get(key) : undefined);
  const roundNote = (rate: number) => `≈ ${(ROUND_IMAGES / rate).toFixed(0)} s for the issue's round of ${ROUND_IMAGES.toLocaleString("en-US")} images`;

  const tableRows: Array<{ what: string; fedtune: number; torch: number | undefined; images: number }> = [];
  for (const batch of [10, 32]) {
    const r = await poolSpeedup(participants, samplesEach, cores > 1 ? [cores] : [], reps, o.seed, fmnistRound(batch));
    const serial = r.samplesPerRound / r.serialSeconds;
    measurements.push({ label: `batch ${batch}: round's training, fedtune serial (${participants} × ${samplesEach} images)`, value: serial, unit: "samples/s", note: roundNote(serial) });
    const torchSerial = t1(`train${batch}`);
    if (torchSerial !== undefined) measurements.push({ label: `batch ${batch}: PyTorch, 1 thread`, value: torchSerial, unit: "samples/s", note: roundNote(torchSerial) });
    ratios.push(speed(`batch ${batch} training: fedtune serial / PyTorch 1 thread`, serial, torchSerial, 0.5));
    if (batch === 10) tableRows.push({ what: "one round's training, serial vs 1 thread", fedtune: serial, torch: torchSerial, images: ROUND_IMAGES });
    const poolSeconds = r.poolSeconds.get(cores);
    if (poolSeconds !== undefined) {
      const pool = r.samplesPerRound / poolSeconds;
      measurements.push({ label: `batch ${batch}: round's training, fedtune worker pool of ${cores}`, value: pool, unit: "samples/s", note: roundNote(pool) });
      const torchPool = tN(`train${batch}`);
      if (torchPool !== undefined) measurements.push({ label: `batch ${batch}: PyTorch, ${cores} threads`, value: torchPool, unit: "samples/s", note: roundNote(torchPool) });
      ratios.push(speed(`batch ${batch} training: fedtune pool of ${cores} / PyTorch ${cores} threads`, pool, torchPool, 0.5));
      if (batch === 10) tableRows.unshift({ what: `one round's training, worker pool of ${cores} vs ${cores} threads`, fedtune: pool, torch: torchPool, images: ROUND_IMAGES });
    }
  }
  const evalSamples = o.quick ? 2048 : 8192;
  const { samplesPerS: evaluation, cpuMsPerBatch: evalCpuMs } = fmnistEvaluation(evalSamples, reps + 1, o.seed);
  measurements.push({ label: `evaluation (batch ${EVAL_BATCH}), fedtune Trainer.evaluate, this thread`, value: evaluation, unit: "samples/s" });
  if (t1("eval") !== undefined) measurements.push({ label: `evaluation (batch ${EVAL_BATCH}), PyTorch no_grad, 1 thread`, value: t1("eval")!, unit: "samples/s" });
  if (tN("eval") !== undefined) measurements.push({ label: `evaluation (batch ${EVAL_BATCH}), PyTorch no_grad, ${cores} threads`, value: tN("eval")!, unit: "samples/s" });
  ratios.push(speed("evaluation: fedtune / PyTorch 1 thread", evaluation, t1("eval"), 1 / 1.5));
  tableRows.push({ what: `evaluating all participants' test data (${TEST_IMAGES.toLocaleString("en-US")} images), 1 thread`, fedtune: evaluation, torch: t1("eval"), images: TEST_IMAGES });

  const profiles: StepProfile[] = [await stepProfile(10, o.quick ? 20 : 50, o.seed), await stepProfile(32, o.quick ? 8 : 20, o.seed)];
  // The same comparisons in CPU time (work done, whatever else ran on the machine): the serial figures only.
  const cpu1 = (key: string) => (torch1.ok ? torch1.cpuMsPerBatch.get(key) : undefined);
  for (const p of profiles) {
    const torchMs = cpu1(`train${p.batch}`);
    measurements.push({ label: `batch ${p.batch}: one training step, CPU time, fedtune (this thread) / PyTorch 1 thread`, value: p.stepMs, unit: "ms",
      note: torchMs === undefined ? "" : `PyTorch ${torchMs.toFixed(2)} ms` });
    ratios.push(speed(`batch ${p.batch} training, CPU time per step: PyTorch / fedtune`, torchMs ?? NaN, torchMs === undefined ? undefined : p.stepMs, 0.5));
  }
  const torchEvalMs = cpu1("eval");
  measurements.push({ label: `evaluation, CPU time per ${EVAL_BATCH} images, fedtune / PyTorch 1 thread`, value: evalCpuMs, unit: "ms",
    note: torchEvalMs === undefined ? "" : `PyTorch ${torchEvalMs.toFixed(1)} ms` });
  ratios.push(speed("evaluation, CPU time: PyTorch / fedtune", torchEvalMs ?? NaN, torchEvalMs === undefined ? undefined : evalCpuMs, 1 / 1.5));
  const breakdown = profiles.map((p) => formatStepProfile(p)).join("\n\n");
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, "step-profile.json"), JSON.stringify(profiles, null, 2) + "\n");
  fs.writeFileSync(path.join(o.outDir, "step-profile.txt"), breakdown + "\n");

  const baseline = torch1.ok ? `PyTorch ${torch1.version}, BLAS ${torch1.blas}` : `no PyTorch figures: ${torch1.reason}`;
  return {
    item: {
      id: 7,
      title: "issue 15: personalised-FL CNN (conv5×5 32 valid-pool-conv5×5 64-pool-512-10, plain SGD lr 0.005) vs PyTorch",
      status: "measured",
      reason: `${baseline}; random 28×28 images; rounds are best of ${reps} after a warm-up round, ${participants} participants`,
      measurements,
      ratios,
    },
    breakdown,
    table: issueTable(tableRows, torch1.ok ? `PyTorch ${torch1.version} CPU (${/openblas/i.test(torch1.blas) ? "OpenBLAS" : torch1.blas})` : "PyTorch (not run)"),
  };
}
