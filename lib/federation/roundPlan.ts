/**
 * Stage 1 of a round, plan: who is sampled (seeded sampler), what each one is told (the strategy's
 * fit instructions), and — from the simulated devices — who cannot train at all (dropped out, or
 * its transfers alone miss the deadline) and each trainer's step limit under partial work.
 * Pure: the same inputs and sampler state give the same plan.
 */
import { deriveSeed, Rng } from "../util/rng";
import type { FitConfig, FitInstructions, Strategy } from "./types";
import type { Participant } from "./participant";
import { sampleParticipants, SamplingOptions } from "./sampling";
import { dropsOut, HeterogeneityOptions, stepsWithinDeadline } from "./heterogeneity";

/** One sampled participant in the plan: it trains (with an optional step limit) or fails before training. */
export type PlannedFit =
  | { readonly participant: Participant; readonly instructions: FitInstructions; readonly kind: "train"; readonly maxSteps: number | undefined }
  | { readonly participant: Participant; readonly instructions: FitInstructions; readonly kind: "fail"; readonly failure: string; readonly deadlineHit: boolean; readonly downloaded: boolean };

/** What `planRound` needs. */
export interface PlanInput {
  readonly round: number;
  readonly participants: readonly Participant[];
  readonly strategy: Strategy;
  /** The run's base fit settings. */
  readonly base: FitConfig;
  readonly sampling: SamplingOptions;
  /** The sampler; advanced by this call. */
  readonly samplingRng: Rng;
  /** The run's seed (dropout draws). */
  readonly seed: number;
  readonly heterogeneity: HeterogeneityOptions;
  /** Bytes of the shared model, each way. */
  readonly bytes: number;
}

/** Sample, configure and decide dropouts and step limits, in sampling order. */
export function planRound(input: PlanInput): PlannedFit[] {
  const { round, strategy, heterogeneity: het, bytes } = input;
  const picked = sampleParticipants(input.participants.length, input.sampling, input.samplingRng).map((i) => input.participants[i]);
  const instructions = strategy.configureFit(round, input.base, picked.map((p) => p.id));
  if (!Array.isArray(instructions) || instructions.length !== picked.length) {
    throw new Error(`Federation: strategy ${strategy.name}.configureFit returned ${Array.isArray(instructions) ? instructions.length : String(instructions)} instructions for ${picked.length} participants`);
  }
  return picked.map((participant, i): PlannedFit => {
    const ins = instructions[i];
    if (dropsOut(participant.profile, new Rng(deriveSeed(input.seed, "dropout", round, participant.id)))) {
      return { participant, instructions: ins, kind: "fail", failure: "dropped out", deadlineHit: het.deadlineSeconds !== undefined, downloaded: false };
    }
    // A full batch (B = ∞, FedSGD) is the participant's whole training split: its steps cost that many samples each.
    const batch = Number.isFinite(ins.settings.batchSize) ? ins.settings.batchSize : Math.max(1, participant.data.train.y.length);
    const maxSteps = het.partialWork ? stepsWithinDeadline(participant.profile, het.deadlineSeconds, batch, bytes, bytes) : undefined;
    if (maxSteps === 0) {
      return { participant, instructions: ins, kind: "fail", failure: `missed the deadline (its transfers alone exceed ${het.deadlineSeconds}s)`, deadlineHit: true, downloaded: true };
    }
    return { participant, instructions: ins, kind: "train", maxSteps };
  });
}
