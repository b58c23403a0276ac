/**
 * FedBN — federated learning with local batch normalisation (Li et al. 2021,
 * https://arxiv.org/abs/2102.07623): batch-norm parameters and statistics stay with each
 * participant (they absorb feature shift), everything else is averaged.
 */
import { batchNormMask } from "../../model/modelWeights";
import type { Trainer } from "../../model/trainer";
import { PartialSharing } from "./partialSharing";
import type { PersonalisationSpec } from "./personalisationSpec";

/** Shared everything except batch-norm layers. Needs a model with BatchNormalization layers. */
export class FedBN extends PartialSharing {
  /** "FedBN". */
  readonly name = "FedBN";

  /** Everything but batch-norm tensors. */
  protected computeSharedMask(trainer: Trainer): boolean[] {
    return batchNormMask(trainer.model).map((bn) => !bn);
  }

  /** No options. */
  toSpec(): PersonalisationSpec {
    return { kind: "FedBN", options: {} };
  }

  /** Rebuild from `toSpec()`. */
  static fromSpec(): FedBN {
    return new FedBN();
  }
}
