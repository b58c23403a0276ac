/**
 * FedRep — federated representation learning (Collins et al. 2021, https://arxiv.org/abs/2102.07078):
 * each round a participant first trains its personal head with the body frozen, then the body
 * with the head frozen; only the body is sent and averaged.
 */
import { selectTrainableLayers } from "../../model/freeze";
import { headMask, weightedLayers } from "../../model/modelWeights";
import { mergeWeights } from "../../model/weightOps";
import type { Trainer } from "../../model/trainer";
import { PartialSharing, personalModel } from "./partialSharing";
import { PersonalisationSpec, PersonalisationSpecOptions, specNumber } from "./personalisationSpec";
import { metricsRecord, PersonalisationFitInput, PersonalisationFitOutput, trainLocally, trainOptionsFrom } from "./personalisation";

/** Options for FedRep. */
export interface FedRepOptions {
  /** Number of last weighted layers forming the personal head; default 1. */
  readonly headLayers?: number;
  /** Epochs of the head phase; default the round's epochs. */
  readonly headEpochs?: number;
  /** Epochs of the body phase; default the round's epochs. */
  readonly bodyEpochs?: number;
}

/** Personal head trained first, then the shared body. */
export class FedRep extends PartialSharing {
  /** Weighted layers in the head. */
  readonly headLayers: number;
  /** Head epochs per round, or undefined for the round's epochs. */
  readonly headEpochs: number | undefined;
  /** Body epochs per round, or undefined for the round's epochs. */
  readonly bodyEpochs: number | undefined;

  /** See FedRepOptions for the defaults. */
  constructor(options: FedRepOptions = {}) {
    super();
    this.headLayers = options.headLayers ?? 1;
    this.headEpochs = options.headEpochs;
    this.bodyEpochs = options.bodyEpochs;
    if (!(Number.isInteger(this.headLayers) && this.headLayers >= 1)) {
      throw new Error(`FedRep: headLayers must be an integer ≥ 1, got ${options.headLayers}`);
    }
    for (const [k, v] of [["headEpochs", this.headEpochs], ["bodyEpochs", this.bodyEpochs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`FedRep: ${k} must be an integer ≥ 0, got ${v}`);
    }
  }

  /** "FedRep" or "FedRep(head=k)". */
  get name(): string {
    return this.headLayers === 1 ? "FedRep" : `FedRep(head=${this.headLayers})`;
  }

  /** Everything but the head. */
  protected computeSharedMask(trainer: Trainer): boolean[] {
    return headMask(trainer.model, this.headLayers).map((h) => !h);
  }

  /** Head size and the epochs of each phase. */
  toSpec(): PersonalisationSpec {
    return { kind: "FedRep", options: { headLayers: this.headLayers, headEpochs: this.headEpochs, bodyEpochs: this.bodyEpochs } };
  }

  /** Rebuild from `toSpec()`'s options. */
  static fromSpec(options: PersonalisationSpecOptions): FedRep {
    return new FedRep({ headLayers: specNumber(options, "headLayers"), headEpochs: specNumber(options, "headEpochs"), bodyEpochs: specNumber(options, "bodyEpochs") });
  }

  /** Head phase, then body phase (body = the round's trainable layers minus the head); send the body. */
  override fit(input: PersonalisationFitInput): PersonalisationFitOutput {
    const mask = this.sharedMask(input.trainer);
    const model = input.trainer.model;
    const layers = weightedLayers(model).map((l) => l.layer.name);
    const head = layers.slice(layers.length - this.headLayers);
    const body = selectTrainableLayers(model, input.config.trainable ?? "model").filter((n) => !head.includes(n));
    const options = trainOptionsFrom(input.config, input.seed, input.global);
    let weights = personalModel(input.global, input.state, mask);
    const metrics: Record<string, number> = {};
    const headEpochs = this.headEpochs ?? input.config.epochs;
    if (headEpochs > 0) {
      const r = trainLocally(input, weights, { ...options, epochs: headEpochs, trainable: { layers: head }, proximal: undefined });
      weights = r.weights;
      Object.assign(metrics, metricsRecord(r, "head."));
    }
    const bodyEpochs = this.bodyEpochs ?? input.config.epochs;
    if (bodyEpochs > 0 && body.length > 0) {
      const r = trainLocally(input, weights, { ...options, epochs: bodyEpochs, trainable: { layers: body }, seed: input.seed + 1 });
      weights = r.weights;
      Object.assign(metrics, metricsRecord(r));
    }
    const sent = mergeWeights(weights, input.global, mask.map((s) => !s));
    return { weights: sent, metrics, state: { weights } };
  }
}
