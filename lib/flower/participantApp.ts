/**
 * A fedtune participant as a Flower ClientApp: builds the participant's data share and model from
 * its config, and answers `train` (local fine-tuning with early stopping from the received global
 * weights; replies with the new weights and a MetricRecord with "num-examples") and `evaluate`
 * (loss/accuracy of the received weights on the local test split). Other types are refused with
 * an error reply.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParticipantData } from "../data/dataset";
import { datasetSize } from "../data/dataset";
import { makeParticipants } from "../data/makeParticipants";
import { buildCnn } from "../model/cnn";
import { buildMlp } from "../model/mlp";
import { Trainer, TrainResult } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import { deriveSeed } from "../util/rng";
import { arrayRecordToWeights, weightsToArrayRecord } from "./arrayConversion";
import type { ParticipantConfig } from "./participantConfig";
import { ConfigValue, configNumber, FlowerMessage, FlowerRecord, getRecord, RecordDict } from "./records";
import type { MessageHandler } from "./superNode";

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

/** One local training run as seen by the Flower handler (for tests and reports). */
export interface TrainRecord {
  readonly serverRound: number;
  readonly numExamples: number;
  readonly result: TrainResult;
}

/** Options of `participantHandler`. */
export interface ParticipantHandlerOptions {
  /** Called after each local training, before the reply is sent. */
  readonly onTrain?: (record: TrainRecord) => void;
}

/**
 * The message handler of a participant. Train config keys read (all optional, falling back to the
 * participant config): "lr" (or "learning-rate"), "local-epochs" (or "epochs"), "batch-size",
 * "momentum", "proximal-mu" (FedProx), "server-round" (seeds the shuffles).
 */
export function participantHandler(participant: FlowerParticipant, options: ParticipantHandlerOptions = {}): MessageHandler {
  return (message: FlowerMessage): RecordDict => {
    const type = message.metadata.messageType;
    const content = message.content;
    if (!content) throw new Error(`${type} message has no content`);
    if (type === "train") return train(participant, content, options);
    if (type === "evaluate") return evaluate(participant, content);
    throw new Error(`participant "${participant.config.id}" handles "train" and "evaluate" messages, not ${JSON.stringify(type)}`);
  };
}

function configOf(content: RecordDict): ReadonlyMap<string, ConfigValue> | undefined {
  const c = content.get("config");
  return c && c.kind === "config" ? c.values : undefined;
}

function train(p: FlowerParticipant, content: RecordDict, options: ParticipantHandlerOptions): RecordDict {
  const start = arrayRecordToWeights(getRecord(content, "arrays", "array"), p.initialWeights);
  const config = configOf(content);
  const t = p.config.training;
  const lr = configNumber(config, config?.has("lr") ? "lr" : "learning-rate", t.learningRate);
  const epochs = configNumber(config, config?.has("local-epochs") ? "local-epochs" : "epochs", t.epochs);
  const batchSize = configNumber(config, "batch-size", t.batchSize);
  const momentum = configNumber(config, "momentum", t.momentum);
  const mu = configNumber(config, "proximal-mu", 0);
  const serverRound = configNumber(config, "server-round", 0);
  if (!(lr > 0)) throw new Error(`train config "lr" must be > 0, got ${lr}`);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`train config "local-epochs" must be an integer ≥ 1, got ${epochs}`);
  const result = p.trainer.train(start, p.data.train, p.data.validation, {
    epochs,
    batchSize,
    learningRate: lr,
    momentum,
    seed: deriveSeed(p.config.seed, "flower-train", p.config.participantIndex, serverRound),
    trainable: t.trainable,
    earlyStopping: t.patience > 0 ? { patience: t.patience } : undefined,
    proximal: mu > 0 ? { mu, reference: start } : undefined,
  });
  const numExamples = datasetSize(p.data.train);
  options.onTrain?.({ serverRound, numExamples, result });
  const m = result.metrics;
  const metrics = new Map([
    ["num-examples", BigInt(numExamples)],
    ["train-loss", m.trainLoss],
    ["val-loss", Number.isFinite(m.valLoss) ? m.valLoss : 0],
    ["epochs", BigInt(m.epochs)],
    ["best-epoch", BigInt(m.bestEpoch)],
    ["early-stopped", BigInt(m.earlyStopped)],
  ] as [string, number | bigint][]);
  return new Map<string, FlowerRecord>([
    ["arrays", weightsToArrayRecord(result.weights)],
    ["metrics", { kind: "metric", values: metrics }],
  ]);
}

function evaluate(p: FlowerParticipant, content: RecordDict): RecordDict {
  const weights = arrayRecordToWeights(getRecord(content, "arrays", "array"), p.initialWeights);
  const e = p.trainer.evaluate(weights, p.data.test);
  const metrics = new Map<string, number | bigint>([
    ["num-examples", BigInt(e.numExamples)],
    ["loss", e.loss],
    ["accuracy", e.accuracy],
  ]);
  return new Map<string, FlowerRecord>([["metrics", { kind: "metric", values: metrics }]]);
}
