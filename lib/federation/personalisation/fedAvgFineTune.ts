/**
 * FedAvg+FT: federate as usual, then each participant fine-tunes the global model on its own
 * training split (last layers only by default, SGD with momentum, early stopping on its validation
 * split, best weights restored) to get its personal model. (Wang et al. 2019, "Federated
 * Evaluation of On-device Personalization", https://arxiv.org/abs/1910.10252.)
 */
import type { EarlyStopping, Trainer } from "../../model/trainer";
import type { TrainableLayers } from "../../model/freeze";
import { LOCAL_TRAINING_DEFAULTS } from "../localTrainingDefaults";
import { NoPersonalisation } from "./noPersonalisation";
import {
  Personalisation,
  PersonalisationContext,
  PersonalisationFitInput,
  PersonalisationFitOutput,
  PersonalWeightsOutput,
  trainLocally,
} from "./personalisation";
import type { JsonValue, PersonalisationSpec, PersonalisationSpecOptions } from "./personalisationSpec";

/** Options of the local fine-tuning step. */
export interface FineTuneOptions {
  /** Maximum fine-tuning epochs; default 20 (early stopping usually ends sooner). */
  readonly epochs?: number;
  /** Mini-batch size; default LOCAL_TRAINING_DEFAULTS (32). */
  readonly batchSize?: number;
  /** Step size; default LOCAL_TRAINING_DEFAULTS (0.001). */
  readonly learningRate?: number;
  /** Momentum; default LOCAL_TRAINING_DEFAULTS (0.9). */
  readonly momentum?: number;
  /** Layers that fine-tune; default { lastLayers: 1 } (the head). */
  readonly trainable?: TrainableLayers;
  /** Early stopping; default { patience: 3 } with best weights restored. */
  readonly earlyStopping?: EarlyStopping;
}

/** Resolved fine-tuning options (every field set). */
export type ResolvedFineTuneOptions = Required<FineTuneOptions>;

/** Fill in the FedAvg+FT defaults (lr 0.001, momentum 0.9, head only, patience 3) and check them. */
export function resolveFineTuneOptions(owner: string, o: FineTuneOptions = {}): ResolvedFineTuneOptions {
  const r: ResolvedFineTuneOptions = {
    epochs: o.epochs ?? 20,
    batchSize: o.batchSize ?? LOCAL_TRAINING_DEFAULTS.batchSize,
    learningRate: o.learningRate ?? LOCAL_TRAINING_DEFAULTS.learningRate,
    momentum: o.momentum ?? LOCAL_TRAINING_DEFAULTS.momentum,
    trainable: o.trainable ?? { lastLayers: 1 },
    earlyStopping: o.earlyStopping ?? { patience: 3 },
  };
  if (!(Number.isInteger(r.epochs) && r.epochs >= 1)) throw new Error(`${owner}: epochs must be an integer ≥ 1, got ${r.epochs}`);
  if (!(r.batchSize >= 1)) throw new Error(`${owner}: batchSize must be ≥ 1, got ${r.batchSize}`);
  if (!(r.learningRate > 0)) throw new Error(`${owner}: learningRate must be > 0, got ${r.learningRate}`);
  if (!(r.momentum >= 0 && r.momentum < 1)) throw new Error(`${owner}: momentum must be in [0, 1), got ${r.momentum}`);
  return r;
}

/** FedAvg, then local fine-tuning with early stopping for each participant's personal model. */
export class FedAvgFineTune implements Personalisation {
  /** The resolved fine-tuning options. */
  readonly fineTune: ResolvedFineTuneOptions;
  /** Each participant has a fine-tuned model. */
  readonly hasPersonalModel = true;
  /** Both: the global model is a trained shared model, the personal models are each participant's own. */
  readonly evaluates = { global: true, personal: true };
  private readonly federated = new NoPersonalisation();

  /** See FineTuneOptions for the defaults. */
  constructor(options: FineTuneOptions = {}) {
    this.fineTune = resolveFineTuneOptions("FedAvgFineTune", options);
  }

  /** "FedAvg+FT". */
  get name(): string {
    return "FedAvg+FT";
  }

  /** Everything is shared. */
  sharedMask(trainer: Trainer): boolean[] {
    return this.federated.sharedMask(trainer);
  }

  /** Plain local training of the global model. */
  fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    return this.federated.fit(input);
  }

  /** Fine-tune the current global model locally; the result is kept as the participant's state. */
  personalWeights(input: PersonalisationContext): PersonalWeightsOutput {
    const r = trainLocally(input, input.global, { ...this.fineTune, seed: input.seed });
    return { weights: r.weights, state: { weights: r.weights } };
  }

  /** The resolved fine-tuning options. */
  toSpec(): PersonalisationSpec {
    return { kind: "FedAvgFineTune", options: { fineTune: JSON.parse(JSON.stringify(this.fineTune)) as JsonValue } };
  }

  /** Rebuild from `toSpec()`'s options. */
  static fromSpec(options: PersonalisationSpecOptions): FedAvgFineTune {
    return new FedAvgFineTune(options.fineTune as FineTuneOptions | undefined);
  }
}
