/**
 * A fedtune participant of a Flower federation: its share of the data and its model, built from
 * its participant config. The message handler that answers the ServerApp (train and evaluate, with
 * any personalisation method) is `personalisedHandler` (personalisedApp.ts), which trains through
 * the one local-fit path, `Participant.train` → the method's `fit`.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParticipantData } from "../data/dataset";
import { makeParticipants } from "../data/makeParticipants";
import { buildCnn } from "../model/cnn";
import { buildMlp } from "../model/mlp";
import { Trainer } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import type { ParticipantConfig } from "./participantConfig";

/** A loaded participant: its data, its model (inside a Trainer) and the model's weight layout. */
export interface FlowerParticipant {
  readonly config: ParticipantConfig;
  readonly data: ParticipantData;
  readonly trainer: Trainer;
  /** The freshly initialised weights: the layout incoming arrays must match. */
  readonly initialWeights: ModelWeights;
}

/** Build the model a config describes, for a dataset's sample shape and class count. */
export function buildParticipantModel(config: ParticipantConfig, sampleShape: readonly number[], numClasses: number): tf.LayersModel {
  const m = config.model;
  if (m.kind === "mlp") return buildMlp({ inputShape: sampleShape, numClasses, hiddenUnits: m.hiddenUnits, activation: m.activation, batchNorm: m.batchNorm, seed: m.seed ?? 0 });
  if (sampleShape.length !== 3) throw new Error(`participant "${config.id}": model "cnn" needs images, dataset "${config.dataset}" has sample shape [${sampleShape}]`);
  return buildCnn({ inputShape: sampleShape as [number, number, number], numClasses, filters: m.filters, kernelSize: m.kernelSize, denseUnits: m.denseUnits, batchNorm: m.batchNorm, seed: m.seed ?? 0 });
}

/** Load a participant's share of its dataset and build its model. */
export function loadParticipant(config: ParticipantConfig): FlowerParticipant {
  const all = makeParticipants({
    dataset: config.dataset,
    partition: config.partition,
    numParticipants: config.numParticipants,
    seed: config.seed,
    limit: config.limit,
    validationFraction: config.validationFraction,
    testFraction: config.testFraction,
  });
  const data = all[config.participantIndex];
  const model = buildParticipantModel(config, data.train.sampleShape, data.train.numClasses);
  const trainer = new Trainer(model);
  return { config, data, trainer, initialWeights: trainer.getWeights() };
}
