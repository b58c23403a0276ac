/**
 * Transfer from a pretrained body: give a model a fresh head for a participant's task, freeze the
 * body, and fine-tune only the head (SGD with momentum, early stopping) — the personalised
 * fine-tuning step of the document, measured on the participant's own test split.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParticipantData } from "../data/dataset";
import { freezeAllBut, replaceHead } from "../model/freeze";
import { Trainer } from "../model/trainer";
import type { EpochRecord, TrainMetrics } from "../model/trainer";
import { deriveSeed } from "../util/rng";
import { getWeights } from "../model/modelWeights";
import { LOCAL_PHASE_DEFAULTS, LOCAL_TRAINING_DEFAULTS } from "../federation/localTrainingDefaults";
import type { ModelWeights } from "../model/weights";

/** Options of `fineTuneHead`. */
export interface FineTuneHeadOptions {
  /** Seed of the new head and of the shuffles. */
  readonly seed: number;
  /** Upper bound on epochs (early stopping usually ends sooner); default 30 (phase 1's). */
  readonly epochs?: number;
  /** SGD learning rate; default 0.001 (the document's). */
  readonly learningRate?: number;
  /** SGD momentum; default 0.9 (the document's). */
  readonly momentum?: number;
  /** Mini-batch size; default 32. */
  readonly batchSize?: number;
  /**
   * Early-stopping patience in epochs; default 5. 0 disables early stopping: all epochs run and the
   * last weights are kept, while the validation loss is still recorded each epoch (to show overfitting).
   */
  readonly patience?: number;
  /** Weighted layers that train, counted from the end; default 1 (the head only). */
  readonly trainableLayers?: number;
}

/** What `fineTuneHead` measured. */
export interface FineTuneHeadResult {
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly metrics: TrainMetrics;
  readonly history: readonly EpochRecord[];
}

/** Fine-tune a fresh `numClasses` head on `data.train` on top of `body`'s frozen layers; `body` is not changed. */
export async function fineTuneHead(body: tf.LayersModel, data: ParticipantData, options: FineTuneHeadOptions): Promise<FineTuneHeadResult> {
  const model = await replaceHead(body, data.train.numClasses, deriveSeed(options.seed, "head"));
  try {
    freezeAllBut(model, options.trainableLayers ?? 1);
    const trainer = new Trainer(model);
    const patience = options.patience ?? LOCAL_PHASE_DEFAULTS.patience;
    const result = trainer.train(trainer.getWeights(), data.train, data.validation, {
      epochs: options.epochs ?? LOCAL_PHASE_DEFAULTS.maxEpochs,
      batchSize: options.batchSize ?? LOCAL_TRAINING_DEFAULTS.batchSize,
      learningRate: options.learningRate ?? LOCAL_TRAINING_DEFAULTS.learningRate,
      momentum: options.momentum ?? LOCAL_TRAINING_DEFAULTS.momentum,
      seed: options.seed,
      // Without early stopping, a patience longer than the run still records validation loss per epoch.
      earlyStopping: patience > 0 ? { patience } : { patience: Number.MAX_SAFE_INTEGER, restoreBest: false },
    });
    const test = trainer.evaluate(result.weights, data.test);
    return { testAccuracy: test.accuracy, testLoss: test.loss, metrics: result.metrics, history: result.history };
  } finally {
    model.dispose();
  }
}

/**
 * The starting weights of `trainer`'s model with a fresh `numClasses` head drawn from `seed` on top
 * of `body` (the trainer's own model must be `body` with some fresh head): what a run with that seed
 * starts from, under the trainer's variable names.
 */
export async function freshHeadWeights(body: tf.LayersModel, trainer: Trainer, numClasses: number, seed: number): Promise<ModelWeights> {
  const model = await replaceHead(body, numClasses, seed);
  try {
    const template = trainer.getWeights();
    const w = getWeights(model);
    if (w.length !== template.length || w.some((t, i) => t.shape.join("x") !== template[i].shape.join("x"))) {
      throw new Error(`freshHeadWeights: the body with a ${numClasses}-class head does not match the trainer's model`);
    }
    return w.map((t, i) => ({ ...t, name: template[i].name }));
  } finally {
    model.dispose();
  }
}
