/**
 * From a resolved config to the objects a run needs: each participant's data, the shared model and
 * trainer (pretrained body with a fresh head, or a fresh network), the strategy (wrapped for
 * differential privacy if asked), the personalisation method and the device profiles. Everything
 * is derived from `config.seed`, so building twice — e.g. when a run is resumed — gives the same
 * data splits and the same starting weights.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as aq from "arquero";
import type { Dataset, ParticipantData } from "../data/dataset";
import { datasetInfo } from "../data/catalog";
import { loadDataset } from "../data/loadDataset";
import { makeParticipants } from "../data/makeParticipants";
import type { PartitionSpec } from "../data/makeParticipants";
import { holdOutValidation } from "../data/splitParticipant";
import { labelCountMatrix } from "../data/partitionStatistics";
import { buildCnn } from "../model/cnn";
import { buildMlp } from "../model/mlp";
import { freezeAllBut, replaceHead, unfreezeAll } from "../model/freeze";
import { loadModel } from "../model/io";
import { Trainer } from "../model/trainer";
import { weightedLayers } from "../model/modelWeights";
import type { DeviceProfile } from "../federation/heterogeneity";
import { sampleDeviceProfiles } from "../federation/heterogeneity";
import type { Personalisation } from "../federation/personalisation/personalisation";
import { NoPersonalisation } from "../federation/personalisation/noPersonalisation";
import { LocalOnly } from "../federation/personalisation/localOnly";
import { FedAvgFineTune } from "../federation/personalisation/fedAvgFineTune";
import { FedPer } from "../federation/personalisation/fedPer";
import { FedRep } from "../federation/personalisation/fedRep";
import { Ditto } from "../federation/personalisation/ditto";
import { FedBN } from "../federation/personalisation/fedBn";
import { createStrategy } from "../federation/strategies/index";
import type { Strategy } from "../federation/types";
import { DpFixedClipping } from "../privacy/dpFixedClipping";
import { DpAdaptiveClipping } from "../privacy/dpAdaptiveClipping";
import { SecureAggregation } from "../privacy/secureAggregationStrategy";
import { PRETRAINED_CNN_DIR } from "../scenario/documentScenario";
import { deriveSeed } from "../util/rng";
import type { ExperimentConfig } from "./experimentConfig";
import { resolvedTrainableLayers } from "./experimentConfig";

/** A participant of an experiment: an id and its splits. */
export interface ExperimentParticipant {
  readonly id: string;
  readonly data: ParticipantData;
}

/** Load or partition the data a config describes; ids are dataset names (by-dataset) or p0, p1, …. */
export function buildParticipantData(config: ExperimentConfig, inputShape?: readonly number[]): ExperimentParticipant[] {
  const d = config.data;
  const modelHw = inputShape && inputShape.length === 3 ? ([inputShape[0], inputShape[1]] as [number, number]) : undefined;
  const resizeFor = (name: string): readonly [number, number] | undefined => {
    if (datasetInfo(name).kind !== "image") return undefined;
    return (d.resizeTo as unknown as readonly [number, number] | undefined) ?? modelHw ?? (d.kind === "by-dataset" ? [28, 28] : undefined);
  };
  let out: ExperimentParticipant[];
  if (d.kind === "by-dataset") {
    out = d.datasets.map((name) => {
      const resizeTo = resizeFor(name);
      const train = loadDataset(name, { split: "train", limit: d.trainSize, resizeTo });
      const test = loadDataset(name, { split: "test", limit: d.testSize, resizeTo });
      const n = train.y.length;
      const nVal = Math.max(1, Math.round(n * d.validationFraction));
      if (n - nVal < 1) throw new Error(`data: participant "${name}" has ${n} training samples, too few to keep ${nVal} for validation`);
      return {
        id: name,
        data: holdOutValidation(train, test, { validationFraction: d.validationFraction, seed: deriveSeed(config.seed, "participant", name), name }),
      };
    });
  } else {
    const width = String(Math.max(0, d.participants - 1)).length;
    const data = makeParticipants({
      dataset: d.dataset,
      partition: d.partitioner as PartitionSpec,
      numParticipants: d.participants,
      seed: deriveSeed(config.seed, "partition"),
      validationFraction: d.validationFraction,
      testFraction: d.testFraction,
      limit: d.limit,
      resizeTo: resizeFor(d.dataset),
    });
    out = data.map((p, i) => ({ id: `p${String(i).padStart(width, "0")}`, data: p }));
  }
  const shape = out[0].data.train.sampleShape.join("×");
  const classes = out[0].data.train.numClasses;
  for (const p of out) {
    if (p.data.train.sampleShape.join("×") !== shape) {
      throw new Error(`data: participant "${p.id}" has samples of shape ${p.data.train.sampleShape.join("×")}, "${out[0].id}" of ${shape}; one model needs one shape (set data.resizeTo)`);
    }
    if (p.data.train.numClasses !== classes) {
      throw new Error(`data: participant "${p.id}" has ${p.data.train.numClasses} classes, "${out[0].id}" has ${classes}; one model head needs one class count`);
    }
    if (p.data.train.y.length === 0) throw new Error(`data: participant "${p.id}" has no training samples (use fewer participants or a larger dataset)`);
  }
  return out;
}

/** The model folder of a pretrained-model config (absolute). */
export function pretrainedModelDir(config: ExperimentConfig): string {
  return config.model.kind === "pretrained" ? path.resolve(config.model.path ?? PRETRAINED_CNN_DIR) : "";
}

/** The input shape of the model a config describes (read from model.json for a pretrained model). */
export async function modelInputShape(config: ExperimentConfig): Promise<number[] | undefined> {
  if (config.model.kind !== "pretrained") return undefined;
  const model = await loadModel(pretrainedModelDir(config));
  try {
    return model.inputs[0].shape.slice(1) as number[];
  } finally {
    model.dispose();
  }
}

/** The shared model for `config`, for data of `sampleShape` with `numClasses` classes; trainable layers set. */
export async function buildModel(config: ExperimentConfig, sampleShape: readonly number[], numClasses: number): Promise<tf.LayersModel> {
  const m = config.model;
  const seed = deriveSeed(config.seed, "model");
  let model: tf.LayersModel;
  if (m.kind === "pretrained") {
    const dir = pretrainedModelDir(config);
    const body = await loadModel(dir);
    try {
      const expected = body.inputs[0].shape.slice(1).join("×");
      if (expected !== sampleShape.join("×")) {
        throw new Error(`model: the pretrained model in ${dir} takes inputs of shape ${expected}, the data has ${sampleShape.join("×")} (set data.resizeTo)`);
      }
      model = await replaceHead(body, numClasses, seed);
    } finally {
      body.dispose();
    }
  } else if (m.kind === "cnn") {
    if (sampleShape.length !== 3) throw new Error(`model: kind "cnn" needs image data [height, width, channels], got samples of shape ${sampleShape.join("×")}`);
    model = buildCnn({
      inputShape: sampleShape as [number, number, number],
      filters: m.filters,
      kernelSize: m.kernelSize,
      denseUnits: m.denseUnits,
      batchNorm: m.batchNorm,
      numClasses,
      seed,
    });
  } else {
    model = buildMlp({ inputShape: sampleShape, hiddenUnits: m.hiddenUnits, activation: m.activation, batchNorm: m.batchNorm, numClasses, seed });
  }
  const trainable = resolvedTrainableLayers(config);
  const weighted = weightedLayers(model).length;
  if (trainable === "all") unfreezeAll(model);
  else if (trainable > weighted) {
    model.dispose();
    throw new Error(`training.trainableLayers is ${trainable} but the model has only ${weighted} layers with weights`);
  } else freezeAllBut(model, trainable);
  return model;
}

/** The server strategy of `config`, wrapped for differential privacy or secure aggregation if configured. A fresh object each call. */
export function buildStrategy(config: ExperimentConfig): Strategy {
  const inner = createStrategy(config.federation.strategy.name, config.federation.strategy.options);
  const p = config.privacy;
  const seed = deriveSeed(config.seed, "dp-noise");
  const samplingRate = config.federation.sampling.fraction;
  if (p.kind === "dp-fixed") {
    return new DpFixedClipping(inner, { noiseMultiplier: p.noiseMultiplier, clipNorm: p.clipNorm, side: p.side, delta: p.delta, seed, samplingRate });
  }
  if (p.kind === "dp-adaptive") {
    return new DpAdaptiveClipping(inner, {
      noiseMultiplier: p.noiseMultiplier,
      initialClipNorm: p.initialClipNorm,
      targetQuantile: p.targetQuantile,
      clipNormLearningRate: p.clipNormLearningRate,
      clippedCountStddev: p.clippedCountStddev,
      side: p.side,
      delta: p.delta,
      seed,
      samplingRate,
    });
  }
  if (p.kind === "secure-aggregation") {
    return new SecureAggregation(inner, { protocol: p.protocol, threshold: p.threshold, clipValue: p.clipValue, dropout: p.dropout });
  }
  return inner;
}

/** The personalisation method of `config`. A fresh object each call. */
export function buildPersonalisation(config: ExperimentConfig): Personalisation {
  return personalisationOf(config.personalisation, config.training);
}

/** The personalisation method a personalisation section describes (FedAvg+FT fine-tunes with `t`'s batch size, lr and momentum). */
export function personalisationOf(
  p: ExperimentConfig["personalisation"],
  t: Pick<ExperimentConfig["training"], "batchSize" | "learningRate" | "momentum">,
): Personalisation {
  switch (p.method) {
    case "none":
      return new NoPersonalisation();
    case "local-only":
      return new LocalOnly();
    case "fedavg-ft":
      return new FedAvgFineTune({
        epochs: p.epochs,
        batchSize: t.batchSize,
        learningRate: t.learningRate,
        momentum: t.momentum,
        trainable: { lastLayers: p.trainableLayers },
        earlyStopping: { patience: p.patience },
      });
    case "fedper":
      return new FedPer({ headLayers: p.headLayers });
    case "fedrep":
      return new FedRep({ headLayers: p.headLayers, headEpochs: p.headEpochs, bodyEpochs: p.bodyEpochs });
    case "ditto":
      return new Ditto({ lambda: p.lambda, personalEpochs: p.personalEpochs });
    case "fedbn":
      return new FedBN();
    default: {
      const unknown: never = p;
      throw new Error(`personalisation: unknown method ${JSON.stringify((unknown as { method?: unknown }).method)}`);
    }
  }
}

/** Seeded device profiles for `n` participants, or undefined for ideal devices. */
export function buildDeviceProfiles(config: ExperimentConfig, n: number): DeviceProfile[] | undefined {
  const d = config.heterogeneity.devices;
  return d === undefined ? undefined : sampleDeviceProfiles(n, deriveSeed(config.seed, "devices"), d);
}

/**
 * Label counts per participant (columns participant, label, className, count) over all splits.
 * When participants' classes mean different things (MNIST digit 0 vs Fashion-MNIST T-shirt), the
 * labels are named "class k" rather than after the first participant's classes.
 */
export function labelCountsTable(participants: readonly ExperimentParticipant[]): aq.ColumnTable {
  const { counts } = labelCountMatrix(participants.map((p) => p.data));
  const names = participants.map((p) => p.data.train.classNames.join("\u0000"));
  const shared = names.every((n) => n === names[0]);
  const classNames: readonly string[] = participants[0].data.train.classNames;
  const rows: Array<{ participant: string; label: number; className: string; count: number }> = [];
  counts.forEach((row, i) =>
    row.forEach((count, label) => rows.push({ participant: participants[i].id, label, className: shared ? classNames[label] ?? `class ${label}` : `class ${label}`, count })),
  );
  return aq.from(rows);
}

/** Samples in each split, one row per participant. */
export function splitSizesTable(participants: readonly ExperimentParticipant[]): aq.ColumnTable {
  const size = (d: Dataset): number => d.y.length;
  return aq.from(participants.map((p) => ({ participant: p.id, train: size(p.data.train), validation: size(p.data.validation), test: size(p.data.test) })));
}

/** Build the trainer of a config for given data (the caller disposes `trainer.model`). */
export async function buildTrainer(config: ExperimentConfig, participants: readonly ExperimentParticipant[]): Promise<Trainer> {
  const first = participants[0].data.train;
  const model = await buildModel(config, first.sampleShape, first.numClasses);
  return new Trainer(model);
}
