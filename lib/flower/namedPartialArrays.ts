/**
 * Named partial arrays: what a fedtune node sends when its method shares only part of the model
 * (FedPer and FedRep keep the head, FedBN the batch-norm layers, local-only everything). The
 * ArrayRecord holds only the shared tensors, under their weight names, so a ServerApp aggregates
 * by name (fedtune_app does; flwr's stock FedAvg needs every node to send the same names).
 */
import type { ModelWeights } from "../model/weights";
import { weightsToArrayRecord } from "./arrayConversion";
import type { FlowerRecord } from "./records";

/** The shared tensors of `weights` (mask from `Personalisation.sharedMask`) as an ArrayRecord. */
export function sharedArrayRecord(weights: ModelWeights, sharedMask: readonly boolean[]): Extract<FlowerRecord, { kind: "array" }> {
  if (sharedMask.length !== weights.length) throw new Error(`sharedArrayRecord: mask has ${sharedMask.length} entries for ${weights.length} tensors`);
  return weightsToArrayRecord(weights.filter((_, i) => sharedMask[i]));
}

/** Bytes of the `.npy` payloads of an ArrayRecord (what a partial reply saves over a full one). */
export function arrayRecordBytes(record: Extract<FlowerRecord, { kind: "array" }>): number {
  let n = 0;
  for (const a of record.arrays.values()) n += a.data.length;
  return n;
}
