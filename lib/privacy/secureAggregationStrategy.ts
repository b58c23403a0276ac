/**
 * Secure aggregation as a strategy wrapper: `new SecureAggregation(new FedAvg(), { threshold: 3 })`.
 * The server learns only the example-weighted mean of the round's updates, never one update
 * (honest-but-curious server). The wrapper is protocol-agnostic: a `SecureMeanProtocol` computes the
 * blind mean, and the wrapper turns its outcome into the round's result — the mean of the
 * participants whose inputs are in it handed to the inner strategy, participants whose inputs were
 * lost at a protocol step recorded as failures, a refusal (fewer than `threshold` participants left
 * at some step) as a round that keeps the global model, every participant's failure naming why.
 *
 * Two protocols: "bonawitz" (the default; Bonawitz et al. 2017, ./secagg: advertise keys → share
 * keys → masked input collection → unmasking, self-masks and Shamir t-of-n sharing, so a late input
 * is never exposed) and "pairwise" (secureRound.ts: pairwise masks only, one dropout point, the
 * documented exposure of a late participant). Both compute the same fixed-point sum, so with the
 * same dropouts they give the same history bit for bit. Dropouts are simulated per protocol step
 * (secAggDropouts.ts), seeded by the run's seed.
 */
import type { ModelWeights } from "../model/weights";
import type { AggregateFitResult, FitFailure, FitUpdate, RunInfo, Strategy } from "../federation/types";
import { AggregationRefused } from "../federation/types";
import { StrategyWrapper } from "../federation/strategies/strategyWrapper";
import { resolveSecureAggregation, secureRangeRejection, secureWeightedMean } from "./secureRound";
import type { SecureAggregationOptions } from "./secureRound";
import { SecAggParticipant } from "./secureAggregation";
import { drawsDropout, resolveDropoutProbabilities, SECAGG_STAGES } from "./secAggDropouts";
import type { SecAggDropoutProbabilities, SecAggStage } from "./secAggDropouts";
import { sharedMaskProtocol } from "./secagg/secureMeanProtocol";

export type { SecAggStage } from "./secAggDropouts";

/** A participant that dropped out of the protocol, and when. */
export interface SecAggDropout {
  readonly participantId: string;
  readonly stage: SecAggStage;
}

/** What a protocol needs for one round. */
export interface SecureMeanInput {
  /** Round number (1-based; keys masks per round). */
  readonly round: number;
  /** The global model the round started from (updates are sent as weighted deltas from it). */
  readonly current: ModelWeights;
  /** The valid updates, all of which take part in the protocol. */
  readonly updates: readonly FitUpdate[];
  /** Per tensor: true if shared (only these are encoded; the others stay `current`). */
  readonly shared: readonly boolean[];
  /** Fewest participants that must reach the end for anything to be decoded. */
  readonly threshold: number;
  /** Simulation: whether `participantId` drops out at `stage` of this round. */
  dropsOut(participantId: string, stage: SecAggStage): boolean;
}

/** A protocol's outcome: the survivors' weighted mean, or why nothing was decoded. Dropouts either way. */
export type SecureMeanOutcome =
  | { readonly ok: true; readonly weights: ModelWeights; readonly numExamples: number; readonly dropped: readonly SecAggDropout[] }
  | { readonly ok: false; readonly reason: string; readonly dropped: readonly SecAggDropout[] };

/** A secure-aggregation protocol: computes the example-weighted mean of the updates without revealing any one. */
export interface SecureMeanProtocol {
  /** Short name for labels, e.g. "pairwise". */
  readonly name: string;
  /** The steps at which a participant can drop out of this protocol (dropout probabilities for others are refused). */
  readonly stages: readonly SecAggStage[];
  /** Run the protocol for one round. */
  mean(input: SecureMeanInput): SecureMeanOutcome;
}

/** The protocols `SecureAggregation` knows by name. */
export type SecureAggregationProtocolName = "bonawitz" | "pairwise";

/** Options of `SecureAggregation`: threshold, scale, clipValue (see secureRound.ts), the protocol and the simulated dropouts. */
export interface SecureAggregationStrategyOptions extends SecureAggregationOptions {
  /** "bonawitz" (default: secret-shared self-masks and keys), "pairwise" (pairwise masks only), or a protocol object. */
  readonly protocol?: SecureAggregationProtocolName | SecureMeanProtocol;
  /** Simulation: per protocol step, the probability that a participant that reached it drops out there. */
  readonly dropout?: SecAggDropoutProbabilities;
}

/** Pairwise masking (secureRound.ts): one dropout point, after masking; each participant's key pair cached between rounds. */
export function pairwiseMasking(options: { readonly scale: number; readonly clipValue: number }): SecureMeanProtocol {
  const keys = new Map<string, SecAggParticipant>();
  return {
    name: "pairwise",
    stages: ["masked-input"],
    mean(input) {
      const drop = new Set(input.updates.filter((u) => input.dropsOut(u.participantId, "masked-input")).map((u) => u.participantId));
      const dropped: SecAggDropout[] = [...drop].map((participantId) => ({ participantId, stage: "masked-input" }));
      try {
        const r = secureWeightedMean({
          round: input.round,
          current: input.current,
          updates: input.updates,
          options: { threshold: input.threshold, scale: options.scale, clipValue: options.clipValue },
          shared: input.shared,
          dropAfterMasking: drop,
          keys,
        });
        return { ok: true, weights: r.weights, numExamples: r.numExamples, dropped };
      } catch (e) {
        return { ok: false, reason: e instanceof Error ? e.message : String(e), dropped };
      }
    },
  };
}

const DROP_REASON: Record<SecAggStage, string> = {
  "advertise-keys": "dropped out of secure aggregation before advertising its keys; its input is not in the mean",
  "share-keys": "dropped out of secure aggregation before sharing its keys; its input is not in the mean",
  "masked-input": "dropped out after masking: its masked input never arrived, so it is not in the mean (its masks were removed with the survivors' help)",
  unmasking: "dropped out before unmasking; its masked input had arrived, so it is in the mean",
};

/** Server metric counting the dropouts at each step ("droppedAfterMasking" is the name it had when it was the only step). */
const DROP_METRIC: Record<SecAggStage, string> = {
  "advertise-keys": "droppedAtAdvertiseKeys",
  "share-keys": "droppedAtShareKeys",
  "masked-input": "droppedAfterMasking",
  unmasking: "droppedAtUnmasking",
};

/** Secure aggregation around a weighted-mean strategy (FedAvg, FedProx). */
export class SecureAggregation extends StrategyWrapper {
  /** Fewest participants that must remain at every protocol step. */
  readonly threshold: number;
  /** Per-coordinate bound on |θᵢ − θ|. */
  readonly clipValue: number;
  /** Simulated dropout probability at each protocol step. */
  readonly dropout: Readonly<Required<SecAggDropoutProbabilities>>;
  /** The protocol. */
  readonly protocol: SecureMeanProtocol;
  private run: RunInfo | undefined;

  /** Wrap `inner`, which must aggregate by the example-weighted mean (the only rule computable blind). */
  constructor(inner: Strategy, options: SecureAggregationStrategyOptions) {
    super("SecureAggregation", inner);
    if (inner.weightedMean !== true) {
      throw new Error(`SecureAggregation needs a weighted-mean strategy (FedAvg or FedProx, weighted), got ${inner.name}; the server cannot see individual updates`);
    }
    const o = resolveSecureAggregation(options);
    const owner = "SecureAggregation";
    const legacy = options.dropAfterMaskingProbability;
    if (legacy !== undefined && options.dropout?.maskedInput !== undefined) {
      throw new Error(`${owner}: give the masked-input dropout once, as dropout.maskedInput or as dropAfterMaskingProbability (its older name), not both`);
    }
    const dropout = resolveDropoutProbabilities(owner, legacy === undefined ? options.dropout : { ...options.dropout, maskedInput: o.dropAfterMaskingProbability });
    this.threshold = o.threshold;
    this.clipValue = o.clipValue;
    this.dropout = dropout;
    this.protocol = resolveProtocol(options.protocol, o.scale, o.clipValue);
    for (const { stage, key } of SECAGG_STAGES) {
      if (dropout[key] > 0 && !this.protocol.stages.includes(stage)) {
        throw new Error(`${owner}: dropout.${key} is ${dropout[key]}, but the ${this.protocol.name} protocol has no ${stage} step (it has: ${this.protocol.stages.join(", ")}); use protocol "bonawitz"`);
      }
    }
  }

  /** Simulated dropout probability after masking (dropout.maskedInput). */
  get dropAfterMaskingProbability(): number {
    return this.dropout.maskedInput;
  }

  /** E.g. "SecureAggregation(FedAvg, t=3)"; other protocols than the default are named: "SecureAggregation(FedAvg, t=3, pairwise)". */
  get name(): string {
    return `SecureAggregation(${this.inner.name}, t=${this.threshold}${this.protocol.name === "bonawitz" ? "" : `, ${this.protocol.name}`})`;
  }

  /** The server never sees an individual update. */
  override get seesUpdates(): boolean {
    return false;
  }

  /** Checks the threshold against the population and keeps the shared mask and seed. */
  override initialize(run: RunInfo): void {
    if (this.threshold > run.participants.length) {
      throw new Error(`SecureAggregation: threshold is ${this.threshold} but there are only ${run.participants.length} participants`);
    }
    this.run = run;
    this.inner.initialize?.(run);
  }

  /** Rejects updates outside the fixed-point range before masking, then the inner strategy's check. */
  override checkUpdate(update: FitUpdate, current: ModelWeights, round: number): string | undefined {
    return secureRangeRejection(update, current, this.clipValue) ?? this.inner.checkUpdate?.(update, current, round);
  }

  /**
   * The protocol's blind mean, handed to the inner strategy as one update. Participants whose input
   * is not in the mean become failures; one that dropped only before unmasking does not (its input
   * counts). Below the threshold at any step: AggregationRefused, every participant's failure naming
   * the reason. Metrics: secureAggregation, droppedAfterMasking, and the dropouts at each other step
   * whose probability is set (droppedAtAdvertiseKeys, droppedAtShareKeys, droppedAtUnmasking),
   * plus secureAggregationRefused on a refused round.
   */
  override aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
    const run = this.run;
    const seed = run?.seed ?? 0;
    const p = this.dropout;
    const key = new Map(SECAGG_STAGES.map((s) => [s.stage, s.key] as const));
    const outcome = this.protocol.mean({
      round,
      current,
      updates,
      shared: run?.sharedMask ?? current.map(() => true),
      threshold: this.threshold,
      dropsOut: (id, stage) => drawsDropout(seed, round, id, stage, p[key.get(stage) as keyof SecAggDropoutProbabilities]),
    });
    const metrics: Record<string, number> = { secureAggregation: 1 };
    for (const { stage, key: k } of SECAGG_STAGES) {
      if (stage === "masked-input" || p[k] > 0) metrics[DROP_METRIC[stage]] = outcome.dropped.filter((d) => d.stage === stage).length;
    }
    const excluded = outcome.dropped.filter((d) => d.stage !== "unmasking");
    const lost: FitFailure[] = excluded.map((d) => ({ participantId: d.participantId, round, reason: DROP_REASON[d.stage] }));
    if (outcome.ok === false) {
      // Nothing was decoded: no update is in an aggregate, so each participant's failure says why.
      const named = new Set(lost.map((f) => f.participantId));
      const refused = `secure aggregation refused the round: ${outcome.reason}`;
      const all = [
        ...lost.map((f) => ({ ...f, reason: `${f.reason}; ${refused}` })),
        ...updates.filter((u) => !named.has(u.participantId)).map((u): FitFailure => ({ participantId: u.participantId, round, reason: refused })),
      ];
      throw new AggregationRefused(outcome.reason, all, { ...metrics, secureAggregationRefused: 1 });
    }
    const sum: FitUpdate = { participantId: "secure-sum", weights: outcome.weights, numExamples: outcome.numExamples, metrics: {} };
    const next = this.inner.aggregateFit(round, current, [sum], [...failures, ...lost]);
    return { weights: next.weights, metrics: { ...metrics, ...next.metrics }, lost: [...lost, ...(next.lost ?? [])] };
  }
}

/** The protocol object for an option value (by name, with the wrapper's fixed-point settings). */
function resolveProtocol(protocol: SecureAggregationProtocolName | SecureMeanProtocol | undefined, scale: number, clipValue: number): SecureMeanProtocol {
  if (protocol === undefined || protocol === "bonawitz") return sharedMaskProtocol({ scale, clipValue });
  if (protocol === "pairwise") return pairwiseMasking({ scale, clipValue });
  if (protocol !== null && typeof protocol === "object" && typeof protocol.mean === "function" && Array.isArray(protocol.stages)) return protocol;
  throw new Error(`SecureAggregation: protocol must be "bonawitz", "pairwise" or a SecureMeanProtocol, got ${typeof protocol === "string" ? JSON.stringify(protocol) : String(protocol)}`);
}
