/**
 * Local training and evaluation on one reusable tfjs model. Many virtual participants share one
 * `Trainer`: each call loads the weights it is given, trains or evaluates, and hands back plain
 * `ModelWeights`, so no participant owns tensors and a 1,000-participant simulation needs one model.
 *
 * Training is our own loop (not `model.fit`, whose shuffling uses Math.random): a seeded shuffle
 * per epoch, mini-batches, SGD with momentum on the trainable variables only (frozen ones stay
 * bitwise unchanged), cross-entropy plus an optional proximal term μ/2·‖θ − θ_ref‖² (FedProx,
 * Ditto), early stopping on validation loss with patience and restore-best.
 *
 * The step runs without tfjs's gradient tape where lib/model/tapeFreeStep.ts replays every layer (the same kernels in
 * the same order, so the same bits), and under `tf.variableGrads` otherwise.
 *
 * Frozen-feature caching: when a prefix of the layers is frozen (e.g. everything but the head),
 * that prefix is run once per call on the training and validation data (inference mode) and only
 * the trainable suffix is trained, per epoch, on the cached features. Frozen layers always run in
 * inference mode — on the naive path too — so both paths compute the same function.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import { datasetSize, sampleLength } from "../data/dataset";
import { Rng } from "../util/rng";
import type { ModelWeights } from "./weights";
import { getWeights, setWeights, weightedLayers } from "./modelWeights";
import { crossEntropyPerSample, detectOutputKind, OutputKind } from "./loss";
import { SgdMomentum } from "./sgdMomentum";
import { selectTrainableLayers, TrainableLayers } from "./freeze";
import { rowsTensor } from "../kernels/rowsTensor";
import { TapeFreeStep } from "./tapeFreeStep";


/** Early stopping on validation loss. */
export interface EarlyStopping {
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Minimum decrease of validation loss that counts as improvement; default 0. */
  readonly minDelta?: number;
  /** Return the weights of the best epoch (the starting weights count as epoch 0); default true. */
  readonly restoreBest?: boolean;
}

/** A pull towards reference weights: adds μ/2·‖θ − θ_ref‖² over the trainable variables. */
export interface ProximalTerm {
  /** Coefficient μ (FedProx) or λ (Ditto), ≥ 0. */
  readonly mu: number;
  /** θ_ref, usually the global model; same structure as the model's weights. */
  readonly reference: ModelWeights;
}

/** Everything one local training run needs besides the data. */
export interface TrainOptions {
  /** Passes over the training data (an upper bound with early stopping). */
  readonly epochs: number;
  /** Mini-batch size; ≥ the data size (or Infinity, see `FULL_BATCH`) means full-batch gradient descent. */
  readonly batchSize: number;
  /**
   * Skip each epoch's last batch when it is smaller than `batchSize` (PyTorch's `drop_last`); default
   * false. A training split smaller than `batchSize` is one (full) batch and is never dropped.
   */
  readonly dropLastPartialBatch?: boolean;
  /** SGD step size. */
  readonly learningRate: number;
  /** SGD momentum in [0, 1); 0 is plain SGD. */
  readonly momentum: number;
  /** Seed of the per-epoch shuffles. */
  readonly seed: number;
  /** Which layers train; default "model" (whatever `freezeAllBut` etc. set). */
  readonly trainable?: TrainableLayers;
  /** Optional proximal term (FedProx μ, Ditto λ); μ = 0 changes nothing. */
  readonly proximal?: ProximalTerm;
  /** Optional early stopping on the validation split. */
  readonly earlyStopping?: EarlyStopping;
  /** Stop after this many optimiser steps (partial work of a straggler); default unlimited. */
  readonly maxSteps?: number;
  /** Train the frozen prefix's outputs instead of recomputing them each epoch; default true. */
  readonly cacheFrozenFeatures?: boolean;
}

/** Loss per epoch of one run. */
export interface EpochRecord {
  /** 1-based epoch. */
  readonly epoch: number;
  /** Mean local objective over the epoch's batches (cross-entropy + proximal term). */
  readonly trainLoss: number;
  /** Validation cross-entropy after the epoch (NaN when not computed). */
  readonly valLoss: number;
}

/** Summary numbers of one run (all plain numbers, for history tables). */
export interface TrainMetrics {
  /** Mean local objective of the last epoch trained. */
  readonly trainLoss: number;
  /** Validation loss of the returned weights (NaN without a validation split). */
  readonly valLoss: number;
  /** Epoch whose weights were returned (0 = the starting weights). */
  readonly bestEpoch: number;
  /** Epochs run. */
  readonly epochs: number;
  /** Optimiser steps taken. */
  readonly steps: number;
  /** Samples processed (steps × batch, counted exactly): the compute cost. */
  readonly samples: number;
  /** 1 when early stopping ended the run before `epochs`. */
  readonly earlyStopped: number;
  /** 1 when the frozen-feature cache was used. */
  readonly usedFeatureCache: number;
}

/** Result of `Trainer.train`. */
export interface TrainResult {
  /** The trained (or restored-best) weights. */
  readonly weights: ModelWeights;
  /** Summary numbers. */
  readonly metrics: TrainMetrics;
  /** One record per epoch run. */
  readonly history: readonly EpochRecord[];
}

/** Loss and accuracy of some weights on a dataset. */
export interface Evaluation {
  /** Mean cross-entropy (NaN on an empty dataset). */
  readonly loss: number;
  /** Fraction correct (NaN on an empty dataset). */
  readonly accuracy: number;
  /** Samples evaluated. */
  readonly numExamples: number;
}

/** Options for `Trainer`. */
export interface TrainerOptions {
  /** Batch size for evaluation and feature caching; default 512. */
  readonly evalBatchSize?: number;
  /** Output kind of the model; default detected from its last layer. */
  readonly outputs?: OutputKind;
}

type LayerVariable = tf.LayersModel["weights"][number];

/** The batch size that means "the whole training split in one batch" (B = ∞ in McMahan et al. 2017). */
export const FULL_BATCH = Infinity;

/** Samples per epoch that `train` uses: all of `n`, or whole batches only when the last partial one is dropped. */
export function samplesPerEpoch(n: number, batchSize: number, dropLastPartialBatch = false): number {
  const b = effectiveBatchSize(n, batchSize);
  return dropLastPartialBatch ? Math.floor(n / b) * b : n;
}

/** The batch size `train` uses on `n` samples: `batchSize` floored and capped at n (at least 1). */
export function effectiveBatchSize(n: number, batchSize: number): number {
  return Math.max(1, Math.min(n, Number.isFinite(batchSize) ? Math.floor(batchSize) : n));
}

/** What rebuilds an equivalent Trainer elsewhere (a worker thread): the model's topology and the options. */
export interface TrainerSpec {
  /** `model.toJSON(null, false)`. */
  readonly topology: object;
  /** Batch size for evaluation and feature caching. */
  readonly evalBatchSize: number;
}

/** Trains and evaluates weights on one shared model instance. */
export class Trainer {
  /** The model whose variables are swapped in and out. */
  readonly model: tf.LayersModel;
  /** What the model emits. */
  readonly outputs: OutputKind;
  /** Number of classes (width of the output). */
  readonly numClasses: number;
  private readonly evalBatchSize: number;
  private readonly isChain: boolean;
  /** The weights last loaded (by reference) and not trained since: lets repeated evaluations skip the copy. */
  private loaded: ModelWeights | undefined;

  /** Wrap `model` (a classifier whose output is [batch, numClasses]). */
  constructor(model: tf.LayersModel, options: TrainerOptions = {}) {
    this.model = model;
    this.outputs = options.outputs ?? detectOutputKind(model);
    const outShape = model.outputs[0].shape;
    const numClasses = outShape[outShape.length - 1];
    if (model.outputs.length !== 1 || outShape.length !== 2 || numClasses == null) {
      throw new Error(`Trainer(${model.name}): expected one output of shape [batch, classes], got [${outShape}]`);
    }
    this.numClasses = numClasses;
    this.evalBatchSize = options.evalBatchSize ?? 512;
    this.isChain = model instanceof tf.Sequential;
  }

  /** Batch size for evaluation and feature caching. */
  get evaluationBatchSize(): number {
    return this.evalBatchSize;
  }

  /** This trainer as plain data (throws naming the model if its topology cannot be serialised). */
  toSpec(): TrainerSpec {
    try {
      return { topology: this.model.toJSON(null, false) as object, evalBatchSize: this.evalBatchSize };
    } catch (e) {
      throw new Error(`Trainer.toSpec: model ${this.model.name} cannot be serialised (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** A trainer on a fresh model built from `spec` (weights are whatever each call loads). */
  static async fromSpec(spec: TrainerSpec): Promise<Trainer> {
    const model = await tf.models.modelFromJSON({ modelTopology: spec.topology } as unknown as tf.io.ModelJSON);
    return new Trainer(model, { evalBatchSize: spec.evalBatchSize });
  }

  /** The model's current weights (a copy). */
  getWeights(): ModelWeights {
    return getWeights(this.model);
  }

  /**
   * Load `weights` into the model unless this same (immutable) array was the last one loaded —
   * evaluating one global model on 1,000 participants then copies it once. Call `invalidate()`
   * after writing to `model` by other means.
   */
  load(weights: ModelWeights): void {
    if (this.loaded === weights) return;
    setWeights(this.model, weights);
    this.loaded = weights;
  }

  /** Forget which weights are loaded (after changing `model` outside the trainer). */
  invalidate(): void {
    this.loaded = undefined;
  }

  /** Mean cross-entropy and accuracy of `weights` on `data` (inference mode). */
  evaluate(weights: ModelWeights, data: Dataset): Evaluation {
    this.checkData(data, "evaluate");
    this.load(weights);
    const n = datasetSize(data);
    if (n === 0) return { loss: NaN, accuracy: NaN, numExamples: 0 };
    const { lossSum, correct } = this.lossAndCorrect(data);
    return { loss: lossSum / n, accuracy: correct / n, numExamples: n };
  }

  /** Train from `start` on `train`, early-stopping on `validation` if asked; returns plain weights. */
  train(start: ModelWeights, train: Dataset, validation: Dataset | undefined, options: TrainOptions): TrainResult {
    checkTrainOptions(options);
    this.checkData(train, "train");
    if (validation) this.checkData(validation, "train (validation)");
    this.load(start);
    this.loaded = undefined; // the variables are about to change
    const savedFlags = weightedLayers(this.model).map((l) => l.layer.trainable);
    try {
      this.applyTrainable(options.trainable ?? "model");
      return this.trainLoaded(start, train, validation, options);
    } finally {
      weightedLayers(this.model).forEach((l, i) => (l.layer.trainable = savedFlags[i]));
      this.loaded = undefined;
    }
  }

  /** Dispose the model (the trainer holds no other tensors between calls). */
  dispose(): void {
    this.model.dispose();
  }

  // ---------------------------------------------------------------------------------------------

  private trainLoaded(start: ModelWeights, train: Dataset, validation: Dataset | undefined, options: TrainOptions): TrainResult {
    const layers = this.model.layers;
    const trainableVars: LayerVariable[] = weightedLayers(this.model)
      .filter((l) => l.layer.trainable)
      .flatMap((l) => l.layer.trainableWeights);
    if (trainableVars.length === 0) {
      throw new Error(`Trainer.train(${this.model.name}): no trainable variables — every layer is frozen`);
    }
    // Index of the first top-level layer that trains; everything before it is a frozen prefix.
    const firstTrainable = this.isChain ? layers.findIndex((l) => l.trainable && l.trainableWeights.length > 0) : 0;
    const useCache = this.isChain && options.cacheFrozenFeatures !== false && firstTrainable > 0;
    const fromLayer = useCache ? firstTrainable : 0;

    const n = datasetSize(train);
    const batchSize = effectiveBatchSize(n, options.batchSize);
    const usedPerEpoch = samplesPerEpoch(n, options.batchSize, options.dropLastPartialBatch === true);
    const hasVal = validation !== undefined && datasetSize(validation) > 0;
    const es = options.earlyStopping;
    const minDelta = es?.minDelta ?? 0;
    const restoreBest = es?.restoreBest ?? true;

    // Inputs for the part of the network that runs each step: cached prefix outputs (a tensor to gather batches from),
    // or raw samples, copied batch by batch from the dataset's arrays (no tensor of the whole split, no Gather kernels).
    const trainX = useCache ? this.prefixFeatures(train, firstTrainable) : undefined;
    const valX = hasVal && validation ? (useCache ? this.prefixFeatures(validation, firstTrainable) : toTensor(validation)) : undefined;
    const variables = trainableVars.map((v) => v.read() as tf.Variable);
    const references = this.proximalReferences(trainableVars, options.proximal);
    const muHalf = options.proximal ? tf.scalar(options.proximal.mu / 2) : undefined;
    const optimizer = new SgdMomentum(variables, options.learningRate, options.momentum);
    // The same step without the gradient tape where tapeFreeStep.ts replays every layer (same kernels, same bits).
    const proximal = references && muHalf ? { references, muHalf } : undefined;
    const tapeFree = TapeFreeStep.plan({ model: this.model, fromLayer, variables, outputs: this.outputs, proximal });
    /** One step under tfjs's gradient tape (any model, loss and proximal term); returns the batch's loss. */
    const tapeStep = (xb: tf.Tensor, yb: tf.Tensor): number => {
      const { value, grads } = tf.variableGrads(() => {
        const out = this.forward(xb, fromLayer, firstTrainable, true);
        let loss = tf.mean(crossEntropyPerSample(out, yb, this.numClasses, this.outputs)) as tf.Scalar;
        if (references && muHalf) loss = tf.add(loss, tf.mul(muHalf, squaredDistance(variables, references))) as tf.Scalar;
        return loss;
      }, variables);
      try {
        optimizer.step(variables.map((v) => grads[v.name]));
        return value.dataSync()[0];
      } finally {
        value.dispose();
        tf.dispose(Object.values(grads));
      }
    };
    const rng = new Rng(options.seed);
    const history: EpochRecord[] = [];
    let steps = 0;
    let samples = 0;
    let earlyStopped = 0;
    let lastTrainLoss = NaN;
    const maxSteps = options.maxSteps ?? Infinity;

    const valLossNow = (): number => (valX && validation ? this.lossFromFeatures(valX, validation.y, fromLayer) : NaN);
    let best: { loss: number; epoch: number; weights: ModelWeights } | undefined;
    if (es && hasVal) best = { loss: valLossNow(), epoch: 0, weights: start };
    let sinceBest = 0;

    try {
      for (let epoch = 1; epoch <= options.epochs && steps < maxSteps && n > 0; epoch++) {
        const order = rng.permutation(n);
        let lossSum = 0;
        let seen = 0;
        for (let b = 0; b < usedPerEpoch && steps < maxSteps; b += batchSize) {
          const idx = order.subarray(b, Math.min(usedPerEpoch, b + batchSize));
          const xb = trainX ? gatherRows(trainX, idx) : sampleRows(train, idx);
          const yb = tf.tensor1d(idx.map((i) => train.y[i]), "int32");
          try {
            lossSum += (tapeFree ? tapeFreeStep(tapeFree, optimizer, xb, yb) : tapeStep(xb, yb)) * idx.length;
          } finally {
            tf.dispose([xb, yb]);
          }
          seen += idx.length;
          steps += 1;
          samples += idx.length;
        }
        lastTrainLoss = seen > 0 ? lossSum / seen : NaN;
        const valLoss = es && hasVal ? valLossNow() : NaN;
        history.push({ epoch, trainLoss: lastTrainLoss, valLoss });
        if (best && es) {
          if (valLoss < best.loss - minDelta) {
            best = { loss: valLoss, epoch, weights: restoreBest ? getWeights(this.model) : start };
            sinceBest = 0;
          } else if (++sinceBest >= es.patience) {
            earlyStopped = epoch < options.epochs ? 1 : 0;
            break;
          }
        }
      }
      let bestEpoch = history.length;
      if (best && restoreBest && best.epoch !== history.length) {
        setWeights(this.model, best.weights);
        bestEpoch = best.epoch;
      }
      const valLoss = best && restoreBest ? best.loss : valLossNow();
      const metrics: TrainMetrics = {
        trainLoss: lastTrainLoss,
        valLoss,
        bestEpoch,
        epochs: history.length,
        steps,
        samples,
        earlyStopped,
        usedFeatureCache: useCache ? 1 : 0,
      };
      return { weights: getWeights(this.model), metrics, history };
    } finally {
      optimizer.dispose();
      if (trainX) trainX.dispose();
      if (valX) valX.dispose();
      if (references) tf.dispose(references);
      if (muHalf) muHalf.dispose();
    }
  }

  /** Run layers `from..end`; a layer runs in training mode only if it trains (index ≥ firstTrainable and trainable). */
  private forward(x: tf.Tensor, from: number, firstTrainable: number, training: boolean): tf.Tensor {
    if (!this.isChain) return this.model.apply(x, { training }) as tf.Tensor;
    const layers = this.model.layers;
    let h = x;
    for (let i = from; i < layers.length; i++) {
      const layer = layers[i];
      h = layer.apply(h, { training: training && i >= firstTrainable && layer.trainable }) as tf.Tensor;
    }
    return h;
  }

  /** Outputs of the frozen prefix `layers[0..upTo)` for all samples of `data`, in inference mode. */
  private prefixFeatures(data: Dataset, upTo: number): tf.Tensor {
    const n = datasetSize(data);
    const len = sampleLength(data);
    const parts: tf.Tensor[] = [];
    for (let b = 0; b < n; b += this.evalBatchSize) {
      const m = Math.min(n, b + this.evalBatchSize) - b;
      parts.push(
        tf.tidy(() => {
          let h: tf.Tensor = tf.tensor(data.x.subarray(b * len, (b + m) * len), [m, ...data.sampleShape], "float32");
          for (let i = 0; i < upTo; i++) h = this.model.layers[i].apply(h, { training: false }) as tf.Tensor;
          return h;
        }),
      );
    }
    if (parts.length === 1) return parts[0];
    const all = tf.concat(parts, 0);
    tf.dispose(parts);
    return all;
  }

  /** Mean cross-entropy of inputs `x` (raw or prefix features starting at layer `from`) against labels `y`. */
  private lossFromFeatures(x: tf.Tensor, y: Int32Array, from: number): number {
    const n = y.length;
    let lossSum = 0;
    for (let b = 0; b < n; b += this.evalBatchSize) {
      const m = Math.min(n, b + this.evalBatchSize) - b;
      const s = tf.tidy(() => {
        const xb = tf.slice(x, b, m);
        const out = this.forward(xb, from, 0, false);
        return tf.sum(crossEntropyPerSample(out, tf.tensor1d(y.subarray(b, b + m), "int32"), this.numClasses, this.outputs));
      });
      lossSum += s.dataSync()[0];
      s.dispose();
    }
    return lossSum / n;
  }

  /** Summed cross-entropy and number of correct predictions of the loaded weights on `data`. */
  private lossAndCorrect(data: Dataset): { lossSum: number; correct: number } {
    const { x, y, sampleShape } = data;
    const n = y.length;
    const len = sampleLength(data);
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < n; b += this.evalBatchSize) {
      const m = Math.min(n, b + this.evalBatchSize) - b;
      const [s, c] = tf.tidy(() => {
        const xb = tf.tensor(x.subarray(b * len, (b + m) * len), [m, ...sampleShape], "float32");
        const yb = tf.tensor1d(y.subarray(b, b + m), "int32");
        const out = this.forward(xb, 0, 0, false);
        const loss = tf.sum(crossEntropyPerSample(out, yb, this.numClasses, this.outputs));
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(out, -1).toInt(), yb), "int32"));
        return [loss, hits];
      });
      lossSum += s.dataSync()[0];
      correct += c.dataSync()[0];
      tf.dispose([s, c]);
    }
    return { lossSum, correct };
  }

  private proximalReferences(vars: readonly LayerVariable[], proximal: ProximalTerm | undefined): tf.Tensor[] | undefined {
    if (!proximal || proximal.mu === 0) return undefined;
    const byName = new Map(proximal.reference.map((w) => [w.name, w]));
    return vars.map((v) => {
      const w = byName.get(v.originalName);
      if (!w) throw new Error(`Trainer.train: proximal reference has no weight "${v.originalName}"`);
      if (w.values.length !== v.shape.reduce((a: number, b) => a * (b ?? 1), 1)) {
        throw new Error(`Trainer.train: proximal reference "${w.name}" has shape [${w.shape}], variable has [${v.shape}]`);
      }
      return tf.tensor(w.values, v.shape as number[], "float32");
    });
  }

  private applyTrainable(spec: TrainableLayers): void {
    const names = new Set(selectTrainableLayers(this.model, spec));
    for (const l of weightedLayers(this.model)) l.layer.trainable = names.has(l.layer.name);
  }

  private checkData(data: Dataset, context: string): void {
    const inShape = this.model.inputs[0].shape.slice(1);
    const same = inShape.length === data.sampleShape.length && inShape.every((d, i) => d === null || d === data.sampleShape[i]);
    if (!same) {
      throw new Error(`Trainer.${context}: dataset "${data.name}" has sampleShape [${data.sampleShape}], model ${this.model.name} expects [${inShape}]`);
    }
    if (data.x.length !== datasetSize(data) * sampleLength(data)) {
      throw new Error(`Trainer.${context}: dataset "${data.name}" has ${data.x.length} feature values for ${datasetSize(data)} samples of [${data.sampleShape}]`);
    }
    for (let i = 0; i < data.y.length; i++) {
      const c = data.y[i];
      if (!(c >= 0 && c < this.numClasses)) {
        throw new Error(`Trainer.${context}: dataset "${data.name}" has label ${c} at ${i}, model has ${this.numClasses} classes`);
      }
    }
  }
}

/** One step on the tape-free path: loss and gradients of the batch, then the optimiser's update; returns the loss. */
function tapeFreeStep(step: TapeFreeStep, optimizer: SgdMomentum, xb: tf.Tensor, yb: tf.Tensor): number {
  const { loss, grads } = step.run(xb, yb);
  try {
    optimizer.step(grads);
  } finally {
    tf.dispose(grads);
  }
  return loss;
}

function toTensor(data: Dataset): tf.Tensor {
  return tf.tensor(data.x, [datasetSize(data), ...data.sampleShape], "float32");
}

/** Rows `idx` of `x` (along its first axis), as a new tensor. */
function gatherRows(x: tf.Tensor, idx: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.gather(x, tf.tensor1d(idx, "int32")));
}

/** Samples `idx` of `data` as one [idx.length, ...sampleShape] float32 tensor, copied from its feature array. */
function sampleRows(data: Dataset, idx: Int32Array): tf.Tensor {
  return rowsTensor(data.x, sampleLength(data), idx, [idx.length, ...data.sampleShape]);
}

function squaredDistance(vars: readonly tf.Variable[], refs: readonly tf.Tensor[]): tf.Scalar {
  return tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(v, refs[i]))))) as tf.Scalar;
}

function checkTrainOptions(o: TrainOptions): void {
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new Error(`Trainer.train: ${field} must be ${rule}, got ${String(value)}`);
  };
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) bad("epochs", "an integer ≥ 0", o.epochs);
  if (!(o.batchSize >= 1)) bad("batchSize", "≥ 1", o.batchSize);
  if (!(Number.isFinite(o.learningRate) && o.learningRate >= 0)) bad("learningRate", "a finite number ≥ 0", o.learningRate);
  if (!(o.momentum >= 0 && o.momentum < 1)) bad("momentum", "in [0, 1)", o.momentum);
  if (!Number.isFinite(o.seed)) bad("seed", "a finite number", o.seed);
  if (o.proximal && !(Number.isFinite(o.proximal.mu) && o.proximal.mu >= 0)) bad("proximal.mu", "a finite number ≥ 0", o.proximal.mu);
  if (o.earlyStopping && !(Number.isInteger(o.earlyStopping.patience) && o.earlyStopping.patience >= 1)) {
    bad("earlyStopping.patience", "an integer ≥ 1", o.earlyStopping.patience);
  }
  if (o.maxSteps !== undefined && !(o.maxSteps >= 0)) bad("maxSteps", "≥ 0", o.maxSteps);
}
