/**
 * `npm run pretrain`: train the base CNN centrally on the public data of the document's scenario
 * and save it to models/pretrained-cnn (committed, so notebooks and `npm start` load it in seconds).
 * Deterministic: the same seed gives the same weights on the same backend.
 */
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { buildCnn } from "../lib/model/cnn";
import { saveModel } from "../lib/model/io";
import { Trainer } from "../lib/model/trainer";
import { PRETRAINED_CNN_DIR, publicPretrainingData } from "../lib/scenario/documentScenario";

async function main(): Promise<void> {
  const backend = await initBackend();
  const seed = 7;
  const { train, validation } = publicPretrainingData({ seed });
  const model = buildCnn({ inputShape: [28, 28, 1], numClasses: train.numClasses, seed });
  const trainer = new Trainer(model);
  const t0 = Date.now();
  const result = trainer.train(trainer.getWeights(), train, validation, {
    epochs: 6,
    batchSize: 32,
    learningRate: 0.02,
    momentum: 0.9,
    seed,
    earlyStopping: { patience: 2 },
  });
  const seconds = (Date.now() - t0) / 1000;
  const evalVal = trainer.evaluate(result.weights, validation);
  trainer.load(result.weights);
  fs.mkdirSync(PRETRAINED_CNN_DIR, { recursive: true });
  await saveModel(model, PRETRAINED_CNN_DIR);
  const info = {
    description: "CNN (conv32-pool-conv64-pool-dense128) pretrained on public MNIST + Fashion-MNIST samples as a 20-class task",
    data: { train: train.y.length, validation: validation.y.length, classes: train.classNames },
    options: { epochs: 6, batchSize: 32, learningRate: 0.02, momentum: 0.9, seed, earlyStoppingPatience: 2 },
    backend: backend.name,
    seconds,
    validation: evalVal,
    history: result.history,
  };
  fs.writeFileSync(path.join(PRETRAINED_CNN_DIR, "pretraining.json"), JSON.stringify(info, null, 2) + "\n");
  console.log(`pretrained in ${seconds.toFixed(1)} s on ${backend.name}: validation accuracy ${(evalVal.accuracy * 100).toFixed(1)} %`);
  for (const h of result.history) console.log(`  epoch ${h.epoch}: train loss ${h.trainLoss.toFixed(4)}, validation loss ${h.valLoss.toFixed(4)}`);
  trainer.dispose();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
