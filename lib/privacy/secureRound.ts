/**
 * Secure aggregation inside a federated round: the server learns the FedAvg mean of the round's
 * updates and nothing about any single one (honest-but-curious server; see secureAggregation.ts
 * for the protocol and its limits).
 *
 * Each participant i that produced a valid update sends, masked, the fixed-point encoding of
 * wᵢ·(θᵢ − θ) with wᵢ = nᵢ/N, N = Σ nⱼ over the participants that were asked to mask. The example
 * counts are public (as in Flower's FedAvg), the weighted deltas are not. Because the wᵢ sum to 1
 * and |θᵢ − θ| ≤ clipValue coordinate-wise (checked before masking), the modular sum cannot
 * overflow for any number of participants. If some participants drop out after masking and at
 * least `threshold` survive, the survivors reveal their pair seeds with the dropped ones, the
 * server removes those masks and divides by the survivors' Σ wᵢ: the result is exactly the
 * survivors' weighted mean (up to fixed-point rounding). Fewer survivors: the round fails, nothing
 * is decoded. Only tensors the personalisation shares are encoded.
 */
import type { ModelWeights } from "../model/weights";
import type { FitUpdate } from "../federation/types";
import { createFixedPointCodec, encodeFixedPoint, decodeFixedPoint, SecAggParticipant, SecAggServer, PublicKeyDirectory } from "./secureAggregation";

/** Secure aggregation settings (the options of the SecureAggregation strategy wrapper). */
export interface SecureAggregationOptions {
  /** Fewest participants whose masked vectors must arrive for the round to be decoded (≥ 2). */
  readonly threshold: number;
  /** Fixed-point units per 1.0; default 2²² (resolution ≈ 2.4e-7). */
  readonly scale?: number;
  /** Largest |θᵢ − θ| per coordinate a participant may send; larger updates are rejected before masking. Default 16. */
  readonly clipValue?: number;
  /** Simulation: probability that a participant drops out after masking, before its vector arrives (the `SecureAggregation` wrapper's dropout.maskedInput, older name). Default 0. */
  readonly dropAfterMaskingProbability?: number;
}

/** Check the options; returns them with defaults filled in. */
export function resolveSecureAggregation(options: SecureAggregationOptions): Required<SecureAggregationOptions> {
  const owner = "secureAggregation";
  if (options === null || typeof options !== "object") throw new Error(`${owner}: must be an object like { threshold: 2 }, got ${String(options)}`);
  const { threshold } = options;
  if (!(Number.isInteger(threshold) && threshold >= 2)) throw new Error(`${owner}: threshold must be an integer ≥ 2, got ${String(threshold)}`);
  const scale = options.scale ?? 2 ** 22;
  const clipValue = options.clipValue ?? 16;
  const p = options.dropAfterMaskingProbability ?? 0;
  if (!(typeof p === "number" && p >= 0 && p <= 1)) throw new Error(`${owner}: dropAfterMaskingProbability must be in [0, 1], got ${String(p)}`);
  // The weighted sum is a convex combination, so one participant's range bounds the whole sum.
  createFixedPointCodec({ scale, clipValue, maxParticipants: 1 });
  return { threshold, scale, clipValue, dropAfterMaskingProbability: p };
}

/** Why an update cannot be securely aggregated (a coordinate of θᵢ − θ outside ±clipValue), or undefined. */
export function secureRangeRejection(update: FitUpdate, current: ModelWeights, clipValue: number): string | undefined {
  for (let v = 0; v < current.length; v++) {
    const a = update.weights[v].values;
    const b = current[v].values;
    for (let k = 0; k < b.length; k++) {
      const d = a[k] - b[k];
      if (!(Math.abs(d) <= clipValue)) {
        return `update of "${current[v].name}" changes a value by ${d.toPrecision(4)}, outside the secure-aggregation range ±${clipValue}`;
      }
    }
  }
  return undefined;
}

/** The outcome of a securely aggregated round. */
export interface SecureMeanResult {
  /** θ + Σ_survivors wᵢ(θᵢ − θ) / Σ_survivors wᵢ, as float32 (unshared tensors = θ). */
  readonly weights: ModelWeights;
  /** Ids whose masked vectors arrived. */
  readonly survivors: string[];
  /** Ids that dropped out after masking (their masks were removed with the survivors' seeds). */
  readonly dropped: string[];
  /** Σ nᵢ over the survivors. */
  readonly numExamples: number;
}

/**
 * Run secure aggregation over `updates` (all of which mask; those in `dropAfterMasking` then fail
 * to deliver). Throws — before decoding anything — if fewer than `threshold` vectors arrive.
 * `keys` caches each participant's key pair between rounds (seeds still differ per round).
 */
export function secureWeightedMean(input: {
  readonly round: number;
  readonly current: ModelWeights;
  readonly updates: readonly FitUpdate[];
  readonly options: SecureAggregationOptions;
  readonly shared?: readonly boolean[];
  readonly dropAfterMasking?: ReadonlySet<string>;
  readonly keys?: Map<string, SecAggParticipant>;
}): SecureMeanResult {
  const o = resolveSecureAggregation(input.options);
  const { round, current, updates } = input;
  const shared = input.shared ?? current.map(() => true);
  if (updates.length < o.threshold) {
    throw new Error(`secure aggregation: round ${round} has ${updates.length} update(s), fewer than the threshold ${o.threshold}; nothing was decoded`);
  }
  const keys = input.keys ?? new Map<string, SecAggParticipant>();
  const codec = createFixedPointCodec({ scale: o.scale, clipValue: o.clipValue, maxParticipants: 1 });
  const length = current.reduce((s, t, v) => s + (shared[v] ? t.values.length : 0), 0);
  const total = updates.reduce((s, u) => s + u.numExamples, 0);
  const parties = updates.map((u) => {
    let p = keys.get(u.participantId);
    if (p === undefined) {
      p = new SecAggParticipant(u.participantId);
      keys.set(u.participantId, p);
    }
    return p;
  });
  const directory: PublicKeyDirectory = new Map(parties.map((p) => [p.id, p.publicKey] as const));
  const server = new SecAggServer({ round, directory, length, threshold: o.threshold });
  const dropped = input.dropAfterMasking ?? new Set<string>();
  updates.forEach((u, i) => {
    const w = u.numExamples / total;
    const plain = new Float64Array(length);
    let off = 0;
    current.forEach((t, v) => {
      if (!shared[v]) return;
      const a = u.weights[v].values;
      for (let k = 0; k < t.values.length; k++) plain[off + k] = w * (a[k] - t.values[k]);
      off += t.values.length;
    });
    const masked = parties[i].maskInput(round, encodeFixedPoint(plain, codec), directory);
    if (!dropped.has(u.participantId)) server.receive(u.participantId, masked);
  });
  const byId = new Map(parties.map((p) => [p.id, p] as const));
  const out = server.finish((s, d) => (byId.get(s) as SecAggParticipant).revealSeedFor(d, directory, round));
  const sum = decodeFixedPoint(out.sum, codec);
  const survivors = new Set(out.survivors);
  const surviving = updates.filter((u) => survivors.has(u.participantId));
  const numExamples = surviving.reduce((s, u) => s + u.numExamples, 0);
  const weightSum = numExamples / total;
  let off = 0;
  const weights: ModelWeights = current.map((t, v) => {
    if (!shared[v]) return t;
    const values = new Float32Array(t.values.length);
    for (let k = 0; k < values.length; k++) values[k] = t.values[k] + sum[off + k] / weightSum;
    off += t.values.length;
    return { name: t.name, shape: t.shape.slice(), values };
  });
  return { weights, survivors: out.survivors, dropped: out.dropped, numExamples };
}
