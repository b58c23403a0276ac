/**
 * `npm run pretrain`: train the shipped body centrally on public data that is *not* the participants'
 * task — the 26 letters of `letters`, rendered from free fonts — and save it to models/pretrained-cnn
 * (committed, so notebooks and `npm start` load it in seconds).
 *
 * `npm run pretrain -- --overlap` rebuilds the earlier body instead (models/pretrained-cnn-overlap:
 * MNIST + Fashion-MNIST as one 20-class task, the participants' own tasks with other images), which
 * notebook 02 keeps to show what that overlap does.
 *
 * Deterministic: the same seed gives the same weights on the same backend.
 */
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/backend";
import type { Dataset } from "../lib/data/dataset";
import { buildCnn } from "../lib/model/cnn";
import { saveModel } from "../lib/model/io";
import { Trainer } from "../lib/model/trainer";
import { OVERLAP_PRETRAINED_CNN_DIR, overlapPretrainingData, PRETRAINED_CNN_DIR, publicPretrainingData } from "../lib/scenario/documentScenario";

/** One body to build: where it goes, what it sees, how long it trains, and the sentence that says so. */
interface Recipe {
  readonly dir: string;
  readonly data: () => { train: Dataset; validation: Dataset };
  readonly epochs: number;
  readonly description: string;
  /** What the body saw, in one line (shown in run metadata and the HTML report). */
  readonly saw: string;
  readonly validationNote: string;
}

const SEED = 7;

const RECIPES: Record<"letters" | "overlap", Recipe> = {
  letters: {
    dir: PRETRAINED_CNN_DIR,
    data: () => publicPretrainingData({ trainCount: 12000, validationCount: 2000 }),
    epochs: 3,
    description: "CNN (conv32-pool-conv64-pool-dense128) pretrained on `letters`: the 26 Latin letters (upper and lower case in one class) rendered from 466 free fonts of Debian packages",
    saw: "letters A–Z rendered from 466 fonts (12,000 images, 26 classes); no digit, no clothing, no image of any participant",
    validationNote: "the first 2,000 of letters/test: fonts whose families are absent from training",
  },
  overlap: {
    dir: OVERLAP_PRETRAINED_CNN_DIR,
    data: () => overlapPretrainingData({ seed: SEED }),
    epochs: 6,
    description: "CNN (conv32-pool-conv64-pool-dense128) pretrained on public MNIST + Fashion-MNIST samples as a 20-class task",
    saw: "MNIST + Fashion-MNIST as one 20-class task (8,000 other images of two participants' own tasks)",
    validationNote: "a stratified 10 % of the same MNIST + Fashion-MNIST pool",
  },
};

async function main(): Promise<void> {
  const which = process.argv.includes("--overlap") ? "overlap" : "letters";
  const recipe = RECIPES[which];
  const backend = await initBackend();
  const { train, validation } = recipe.data();
  const model = buildCnn({ inputShape: [28, 28, 1], numClasses: train.numClasses, seed: SEED });
  const trainer = new Trainer(model);
  const options = { epochs: recipe.epochs, batchSize: 32, learningRate: 0.02, momentum: 0.9, seed: SEED, earlyStopping: { patience: 2 } };
  console.log(`pretraining the ${which} body: ${train.y.length} training images, ${validation.y.length} validation, ${train.numClasses} classes`);
  const t0 = Date.now();
  const result = trainer.train(trainer.getWeights(), train, validation, options);
  const seconds = (Date.now() - t0) / 1000;
  const evalVal = trainer.evaluate(result.weights, validation);
  trainer.load(result.weights);
  fs.mkdirSync(recipe.dir, { recursive: true });
  await saveModel(model, recipe.dir);
  const info = {
    description: recipe.description,
    saw: recipe.saw,
    data: { dataset: train.name, train: train.y.length, validation: validation.y.length, validationNote: recipe.validationNote, classes: train.classNames },
    options: { epochs: options.epochs, batchSize: options.batchSize, learningRate: options.learningRate, momentum: options.momentum, seed: SEED, earlyStoppingPatience: 2 },
    backend: backend.name,
    seconds,
    validation: evalVal,
    history: result.history,
  };
  fs.writeFileSync(path.join(recipe.dir, "pretraining.json"), JSON.stringify(info, null, 2) + "\n");
  console.log(`pretrained in ${seconds.toFixed(1)} s on ${backend.name}: validation accuracy ${(evalVal.accuracy * 100).toFixed(1)} %`);
  for (const h of result.history) console.log(`  epoch ${h.epoch}: train loss ${h.trainLoss.toFixed(4)}, validation loss ${h.valLoss.toFixed(4)}`);
  trainer.dispose();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
