/**
 * Secret-shared-mask secure aggregation as a pluggable protocol for a secure-aggregation strategy
 * wrapper: given the round's valid updates, it runs one Bonawitz et al. round (driver.ts) over the
 * example-weighted deltas θᵢ − θ of the shared tensors and returns θ + the survivors' weighted mean
 * delta — or, with fewer than t participants left at any step, why nothing was decoded.
 *
 * It implements `SecureMeanProtocol` (lib/privacy/secureAggregationStrategy.ts: stages "advertise-keys" |
 * "share-keys" | "masked-input" | "unmasking", `dropsOut(id, stage)`) and is the default protocol of
 * `new SecureAggregation(new FedAvg(), { threshold })` (`protocol: "bonawitz"`).
 * A participant that drops at "unmasking" has its input in the mean (it is reported as a dropout
 * all the same); the others' inputs are not.
 */
import type { ModelWeights } from "../../model/weights";
import type { SecAggDropout, SecureMeanProtocol } from "../secureAggregationStrategy";
import { SECAGG_STAGES } from "../secAggDropouts";
import { DropoutPlan, runSecAggRound } from "./driver";
import { SecAggError } from "./errors";

/**
 * The secret-shared-mask protocol with the given fixed-point settings. Keys come from the OS CSPRNG
 * unless `seed` is given; the mean does not depend on them (the modular sum is exact).
 */
export function sharedMaskProtocol(options: { readonly scale?: number; readonly clipValue?: number; readonly seed?: number } = {}): SecureMeanProtocol {
  return {
    name: "bonawitz",
    stages: SECAGG_STAGES.map((s) => s.stage),
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
      const dropped: SecAggDropout[] = [];
      for (const u of updates) {
        const at = SECAGG_STAGES.find(({ stage }) => input.dropsOut(u.participantId, stage));
        if (at === undefined) continue;
        plan[at.key].push(u.participantId);
        dropped.push({ participantId: u.participantId, stage: at.stage });
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
