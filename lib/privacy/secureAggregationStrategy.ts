/**
 * Secure aggregation as a strategy wrapper: `new SecureAggregation(new FedAvg(), { threshold: 3 })`.
 * The server learns only the example-weighted mean of the round's updates, never one update
 * (honest-but-curious server). The wrapper is protocol-agnostic: a `SecureMeanProtocol` computes the
 * blind mean, and the wrapper turns its outcome into the round's result — survivors' mean handed to
 * the inner strategy, participants lost at any protocol stage recorded as failures, a refusal
 * (fewer than `threshold` survivors) as a skipped or failed round. Today's protocol is pairwise
 * masking with one dropout point (secureRound.ts, `pairwiseMasking`); a multi-step protocol (Bonawitz
 * et al. 2017: advertise keys → share keys → masked input collection → unmasking, with dropouts at
 * every stage and a threshold t) plugs in behind the same interface.
 */
import type { ModelWeights } from "../model/weights";
import type { AggregateFitResult, FitFailure, FitUpdate, RunInfo, Strategy } from "../federation/types";
import { AggregationRefused } from "../federation/types";
import { StrategyWrapper } from "../federation/strategies/strategyWrapper";
import { deriveSeed, Rng } from "../util/rng";
import { resolveSecureAggregation, secureRangeRejection, secureWeightedMean } from "./secureRound";
import type { SecureAggregationOptions } from "./secureRound";
import { SecAggParticipant } from "./secureAggregation";

/** The stages of a secure-aggregation protocol at which a participant can drop out (Bonawitz et al.'s rounds 0–3). */
export type SecAggStage = "advertise-keys" | "share-keys" | "masked-input" | "unmasking";

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
  /** Run the protocol for one round. */
  mean(input: SecureMeanInput): SecureMeanOutcome;
}

/** Options of `SecureAggregation`: threshold, scale, clipValue, dropAfterMaskingProbability (see secureRound.ts), and the protocol. */
export interface SecureAggregationStrategyOptions extends SecureAggregationOptions {
  /** The protocol; default pairwise masking with this scale and clipValue. */
  readonly protocol?: SecureMeanProtocol;
}

/** Pairwise masking (secureRound.ts): one dropout point, after masking; each participant's key pair cached between rounds. */
export function pairwiseMasking(options: { readonly scale: number; readonly clipValue: number }): SecureMeanProtocol {
  const keys = new Map<string, SecAggParticipant>();
  return {
    name: "pairwise",
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
  "advertise-keys": "dropped out before advertising its keys",
  "share-keys": "dropped out before sharing its keys",
  "masked-input": "dropped out after masking (its masks were removed with the survivors' seeds)",
  unmasking: "dropped out before unmasking",
};

/** Secure aggregation around a weighted-mean strategy (FedAvg, FedProx). */
export class SecureAggregation extends StrategyWrapper {
  /** Options with defaults filled in. */
  readonly threshold: number;
  /** Per-coordinate bound on |θᵢ − θ|. */
  readonly clipValue: number;
  /** Simulated dropout probability after masking. */
  readonly dropAfterMaskingProbability: number;
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
    this.threshold = o.threshold;
    this.clipValue = o.clipValue;
    this.dropAfterMaskingProbability = o.dropAfterMaskingProbability;
    this.protocol = options.protocol ?? pairwiseMasking({ scale: o.scale, clipValue: o.clipValue });
  }

  /** E.g. "SecureAggregation(FedAvg, t=3)". */
  get name(): string {
    return `SecureAggregation(${this.inner.name}, t=${this.threshold})`;
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

  /** The protocol's blind mean of the survivors, handed to the inner strategy as one update; metrics secureAggregation and droppedAfterMasking. */
  override aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
    const run = this.run;
    const seed = run?.seed ?? 0;
    const p = this.dropAfterMaskingProbability;
    const outcome = this.protocol.mean({
      round,
      current,
      updates,
      shared: run?.sharedMask ?? current.map(() => true),
      threshold: this.threshold,
      dropsOut: (id, stage) => stage === "masked-input" && p > 0 && new Rng(deriveSeed(seed, "secagg-drop", round, id)).next() < p,
    });
    const lost: FitFailure[] = outcome.dropped.map((d) => ({ participantId: d.participantId, round, reason: DROP_REASON[d.stage] }));
    const metrics = { secureAggregation: 1, droppedAfterMasking: outcome.dropped.length };
    if (outcome.ok === false) throw new AggregationRefused(outcome.reason, lost, metrics);
    const sum: FitUpdate = { participantId: "secure-sum", weights: outcome.weights, numExamples: outcome.numExamples, metrics: {} };
    const next = this.inner.aggregateFit(round, current, [sum], [...failures, ...lost]);
    return { weights: next.weights, metrics: { ...metrics, ...next.metrics }, lost: [...lost, ...(next.lost ?? [])] };
  }
}
