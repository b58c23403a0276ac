/**
 * FedSGD (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized
 * Data", §2): each sampled participant computes ONE gradient of the loss over all its local data at
 * the current global model, and the server averages the results weighted by |Dᵢ|. With FedAvg's
 * example-weighted mean, averaging the models θ − η·gᵢ equals θ − η·Σ|Dᵢ|/|D|·gᵢ, so FedSGD is FedAvg
 * with local settings E = 1, B = ∞: that is all this file names.
 */
import { FULL_BATCH } from "../model/trainer";
import type { FitConfig } from "./types";

/** FedSGD's local settings: one full-batch gradient step of size `learningRate` per round (E = 1, B = ∞, no momentum). */
export function fedSgdFitConfig(learningRate: number): FitConfig {
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new Error(`fedSgdFitConfig: learningRate must be a finite number > 0, got ${learningRate}`);
  return { epochs: 1, batchSize: FULL_BATCH, learningRate, momentum: 0, proximalMu: 0 };
}
