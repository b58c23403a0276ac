/**
 * `npx tsx scripts/compare-bodies.ts [seeds]`: head-only fine-tuning of each participant of the
 * document's scenario on three frozen bodies — the shipped one (pretrained on letters), the earlier
 * one (pretrained on MNIST + Fashion-MNIST, the participants' own tasks) and a random one — for each
 * seed (default 1,2,3; the seed picks the participant's validation split, the head and the shuffles).
 * Prints one row per participant and body: test accuracy per seed and the mean. This is how the
 * figures in models/README.md were measured.
 */
import * as aq from "arquero";
import { initBackend } from "../lib/backend";
import { buildCnn } from "../lib/model/cnn";
import { loadModel } from "../lib/model/io";
import { documentParticipants, OVERLAP_PRETRAINED_CNN_DIR, PRETRAINED_CNN_DIR } from "../lib/scenario/documentScenario";
import { fineTuneHead } from "../lib/scenario/transfer";

async function main(): Promise<void> {
  await initBackend({ log: false });
  const seeds = (process.argv[2] ?? "1,2,3").split(",").map(Number);
  const bodies = [
    { body: "letters (shipped)", model: await loadModel(PRETRAINED_CNN_DIR) },
    { body: "mnist+fashion (overlap)", model: await loadModel(OVERLAP_PRETRAINED_CNN_DIR) },
    { body: "random", model: buildCnn({ inputShape: [28, 28, 1], numClasses: 26, seed: 8 }) },
  ];
  const rows: Array<{ participant: string; body: string; seed: number; testAccuracy: number; epochs: number }> = [];
  for (const seed of seeds) {
    for (const p of documentParticipants({ seed })) {
      for (const { body, model } of bodies) {
        const r = await fineTuneHead(model, p.data, { seed, learningRate: 0.001, momentum: 0.9, epochs: 30, patience: 5 });
        rows.push({ participant: p.id, body, seed, testAccuracy: r.testAccuracy, epochs: r.metrics.epochs });
      }
    }
  }
  for (const { model } of bodies) model.dispose();
  const table = aq.from(rows)
    .groupby("participant", "body")
    .rollup({ mean: aq.op.mean("testAccuracy"), min: aq.op.min("testAccuracy"), max: aq.op.max("testAccuracy"), epochs: aq.op.mean("epochs") })
    .orderby("participant", "body");
  console.log(`head-only fine-tuning, test accuracy over seeds ${seeds.join(", ")}`);
  for (const r of table.objects() as Array<{ participant: string; body: string; mean: number; min: number; max: number; epochs: number }>) {
    console.log(`${r.participant.padEnd(8)} ${r.body.padEnd(24)} mean ${(r.mean * 100).toFixed(1)} %  [${(r.min * 100).toFixed(1)}, ${(r.max * 100).toFixed(1)}]  epochs ${r.epochs.toFixed(1)}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
