/**
 * FedPer — federated learning with personalisation layers (Arivazhagan et al. 2019,
 * https://arxiv.org/abs/1912.00818): the body is averaged by the server, the head (last
 * `headLayers` weighted layers) stays with each participant.
 */
import { headMask } from "../../model/modelWeights";
import type { Trainer } from "../../model/trainer";
import { PartialSharing } from "./partialSharing";
import { PersonalisationSpec, PersonalisationSpecOptions, specNumber } from "./personalisationSpec";

/** Options for FedPer. */
export interface FedPerOptions {
  /** Number of last weighted layers kept personal; default 1. */
  readonly headLayers?: number;
}

/** Shared body, personal head. */
export class FedPer extends PartialSharing {
  /** Weighted layers kept personal. */
  readonly headLayers: number;

  /** See FedPerOptions for the defaults. */
  constructor(options: FedPerOptions = {}) {
    super();
    this.headLayers = options.headLayers ?? 1;
    if (!(Number.isInteger(this.headLayers) && this.headLayers >= 1)) {
      throw new Error(`FedPer: headLayers must be an integer ≥ 1, got ${options.headLayers}`);
    }
  }

  /** "FedPer" or "FedPer(head=k)". */
  get name(): string {
    return this.headLayers === 1 ? "FedPer" : `FedPer(head=${this.headLayers})`;
  }

  /** Everything but the head. */
  protected computeSharedMask(trainer: Trainer): boolean[] {
    return headMask(trainer.model, this.headLayers).map((h) => !h);
  }

  /** The head size. */
  toSpec(): PersonalisationSpec {
    return { kind: "FedPer", options: { headLayers: this.headLayers } };
  }

  /** Rebuild from `toSpec()`'s options. */
  static fromSpec(options: PersonalisationSpecOptions): FedPer {
    return new FedPer({ headLayers: specNumber(options, "headLayers") });
  }
}
