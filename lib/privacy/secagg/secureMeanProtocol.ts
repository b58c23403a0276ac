/**
 * Secret-shared-mask secure aggregation as a pluggable protocol for a secure-aggregation strategy
 * wrapper: given the round's valid updates, it runs one Bonawitz et al. round (driver.ts) over the
 * example-weighted deltas θᵢ − θ of the shared tensors and returns θ + the survivors' weighted mean
 * delta — or, with fewer than t participants left at any step, why nothing was decoded.
 *
 * The input and outcome have the shape of the federation-core branch's `SecureMeanProtocol`
 * (lib/privacy/secureAggregationStrategy.ts there: stages "advertise-keys" | "share-keys" |
 * "masked-input" | "unmasking", `dropsOut(id, stage)`), declared here so that this module does not
 * depend on that branch: `new SecureAggregation(new FedAvg(), { threshold, protocol: sharedMaskProtocol() })`.
 * A participant that drops at "unmasking" has its input in the mean (it is reported as a dropout
 * all the same); the others' inputs are not.
 */
import type { ModelWeights } from "../../model/weights";
import type { FitUpdate } from "../../federation/types";
import { DropoutPlan, runSecAggRound } from "./driver";
import { SecAggError } from "./errors";

/** The protocol steps at which a participant can drop out. */
export type SharedMaskStage = "advertise-keys" | "share-keys" | "masked-input" | "unmasking";

/** What the protocol needs for one round (the core branch's SecureMeanInput). */
export interface SharedMaskMeanInput {
  /** Round number. */
  readonly round: number;
  /** The global model the round started from. */
  readonly current: ModelWeights;
  /** The valid updates; all take part. */
  readonly updates: readonly FitUpdate[];
  /** Per tensor: true if shared (only these are aggregated; the others stay `current`). */
  readonly shared: readonly boolean[];
  /** t. */
  readonly threshold: number;
  /** Simulation: whether `participantId` drops out at `stage`. */
  dropsOut(participantId: string, stage: SharedMaskStage): boolean;
}

/** The outcome (the core branch's SecureMeanOutcome). */
export type SharedMaskMeanOutcome =
  | { readonly ok: true; readonly weights: ModelWeights; readonly numExamples: number; readonly dropped: readonly { readonly participantId: string; readonly stage: SharedMaskStage }[] }
  | { readonly ok: false; readonly reason: string; readonly dropped: readonly { readonly participantId: string; readonly stage: SharedMaskStage }[] };

const STAGES: ReadonlyArray<[SharedMaskStage, keyof DropoutPlan]> = [
  ["advertise-keys", "advertiseKeys"],
  ["share-keys", "shareKeys"],
  ["masked-input", "maskedInput"],
  ["unmasking", "unmasking"],
];

/**
 * The secret-shared-mask protocol with the given fixed-point settings. Keys come from the OS CSPRNG
 * unless `seed` is given; the mean does not depend on them (the modular sum is exact).
 */
export function sharedMaskProtocol(options: { readonly scale?: number; readonly clipValue?: number; readonly seed?: number } = {}): {
  readonly name: string;
  mean(input: SharedMaskMeanInput): SharedMaskMeanOutcome;
} {
  return {
    name: "shared-masks",
    mean(input) {
      const { current, shared, updates } = input;
      const length = current.reduce((s, t, v) => s + (shared[v] ? t.values.length : 0), 0);
      const inputs = new Map<string, Float64Array>();
      for (const u of updates) {
        const delta = new Float64Array(length);
        let off = 0;
        current.forEach((t, v) => {
          if (!shared[v]) return;
          const a = u.weights[v].values;
          for (let k = 0; k < t.values.length; k++) delta[off + k] = a[k] - t.values[k];
          off += t.values.length;
        });
        inputs.set(u.participantId, delta);
      }
      const plan: Record<keyof DropoutPlan, string[]> = { advertiseKeys: [], shareKeys: [], maskedInput: [], unmasking: [] };
      const dropped: { participantId: string; stage: SharedMaskStage }[] = [];
      for (const u of updates) {
        const at = STAGES.find(([stage]) => input.dropsOut(u.participantId, stage));
        if (at === undefined) continue;
        plan[at[1]].push(u.participantId);
        dropped.push({ participantId: u.participantId, stage: at[0] });
      }
      const numExamples = new Map(updates.map((u) => [u.participantId, u.numExamples] as const));
      if (updates.length < input.threshold) {
        return { ok: false, reason: `secure aggregation: round ${input.round} has ${updates.length} update(s), fewer than the threshold ${input.threshold}; nothing was decoded`, dropped };
      }
      try {
        const r = runSecAggRound({ round: input.round, inputs, weights: numExamples, threshold: input.threshold, dropouts: plan, seed: options.seed, scale: options.scale, clipValue: options.clipValue });
        let off = 0;
        const weights: ModelWeights = current.map((t, v) => {
          if (!shared[v]) return t;
          const values = new Float32Array(t.values.length);
          for (let k = 0; k < values.length; k++) values[k] = t.values[k] + r.mean[off + k];
          off += t.values.length;
          return { name: t.name, shape: t.shape.slice(), values };
        });
        return { ok: true, weights, numExamples: r.weightSum, dropped };
      } catch (e) {
        if (e instanceof SecAggError && e.kind === "below-threshold") return { ok: false, reason: e.message, dropped };
        throw e;
      }
    },
  };
}
