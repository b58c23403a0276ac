/**
 * One secure-aggregation round run in-process over a set of participants' update vectors, with a
 * dropout plan at every step: what a strategy wrapper or a simulation calls. It plays the server
 * (server.ts) and every client (client.ts), carries each message between them, and counts the bytes
 * each party sends and receives (messages.ts `wireBytes`) and the time each spends.
 *
 * Weights are folded in as in secureRound.ts: participant i masks enc(wᵢ/W · xᵢ), W = Σ wᵢ over
 * everyone invited (the weights, e.g. example counts, are public), so the modular sum is a convex
 * combination and cannot overflow for |xᵢ| ≤ clipValue. The result is Σ_{U3} wᵢxᵢ / Σ_{U3} wᵢ, the
 * survivors' weighted mean (FedAvg) up to fixed-point rounding: |error| ≤ |U3|·0.5 / scale ÷ (Σ_{U3} wᵢ/W).
 */
import { createFixedPointCodec, decodeFixedPoint, encodeFixedPoint } from "../secureAggregation";
import { SharedMaskClient } from "./client";
import { SecAggError } from "./errors";
import { SecAggMessage, wireBytes } from "./messages";
import { osRandom, RandomSource, seededRandom } from "./random";
import { SharedMaskServer } from "./server";

/** Who goes silent at which step (a participant sends nothing from that step on). */
export interface DropoutPlan {
  /** Never advertise keys (absent from U1). */
  readonly advertiseKeys?: readonly string[];
  /** Advertise keys, then do not share them (in U1, not U2). */
  readonly shareKeys?: readonly string[];
  /** Share keys, then send no masked input (in U2, not U3: masks removed via its reconstructed key). */
  readonly maskedInput?: readonly string[];
  /** Send the masked input, then do not answer the unmask request (its input still counts). */
  readonly unmasking?: readonly string[];
}

/** The steps of a round, in order. */
export const SECAGG_STEPS = ["advertiseKeys", "shareKeys", "maskedInput", "unmasking"] as const;

/** Input of runSecAggRound. */
export interface SecAggRoundInput {
  /** Round number (bound into every key derivation). */
  readonly round: number;
  /** Participant id → update vector (all the same length). */
  readonly inputs: ReadonlyMap<string, ArrayLike<number>>;
  /** Participant id → weight ≥ 0 (e.g. numExamples); default 1 each. */
  readonly weights?: ReadonlyMap<string, number>;
  /** t; default max(2, ⌈2n/3⌉). */
  readonly threshold?: number;
  /** Who drops out at which step. */
  readonly dropouts?: DropoutPlan;
  /** Seed for every key, self-mask seed, Shamir coefficient and nonce (simulation); omitted → OS CSPRNG. */
  readonly seed?: number;
  /** Fixed-point units per 1.0; default 2²² (as secureRound.ts). */
  readonly scale?: number;
  /** Largest |xᵢ| per coordinate; larger values are an error naming the participant. Default 16. */
  readonly clipValue?: number;
}

/** Bytes a party sent and received. */
export interface SecAggTraffic {
  sent: number;
  received: number;
}

/** Outcome of runSecAggRound. */
export interface SecAggRoundResult {
  /** Σ_{U3} wᵢxᵢ / Σ_{U3} wᵢ: the survivors' weighted mean. */
  readonly mean: Float64Array;
  /** Σ_{U3} enc(wᵢ/W·xᵢ) mod 2³², exactly the plain fixed-point sum. */
  readonly encodedSum: Uint32Array;
  /** U3: whose inputs are in the mean. */
  readonly survivors: string[];
  /** Who went silent at each step. */
  readonly dropped: { readonly [K in (typeof SECAGG_STEPS)[number]]: string[] };
  /** Σ_{U3} wᵢ. */
  readonly weightSum: number;
  /** Largest possible |mean − exact weighted mean| per coordinate from fixed-point rounding. */
  readonly resolution: number;
  /** Bytes per participant and for the server. */
  readonly bytes: { readonly participants: ReadonlyMap<string, SecAggTraffic>; readonly server: SecAggTraffic };
  /** Seconds of computation per participant and for the server. */
  readonly seconds: { readonly participants: ReadonlyMap<string, number>; readonly server: number };
}

function dropoutSteps(plan: DropoutPlan, ids: ReadonlySet<string>): Map<string, number> {
  const at = new Map<string, number>();
  SECAGG_STEPS.forEach((step, i) => {
    for (const id of plan[step] ?? []) {
      if (!ids.has(id)) throw new SecAggError("invalid", `runSecAggRound: dropouts.${step} names unknown participant "${id}"`, id);
      if (at.has(id)) throw new SecAggError("invalid", `runSecAggRound: "${id}" drops out at two steps (${SECAGG_STEPS[at.get(id) as number]} and ${step})`, id);
      at.set(id, i);
    }
  });
  return at;
}

/**
 * Run one round of Bonawitz et al.'s secure aggregation in-process. Throws a SecAggError of kind
 * "below-threshold" — nothing decoded — if fewer than `threshold` participants remain at any step.
 */
export function runSecAggRound(input: SecAggRoundInput): SecAggRoundResult {
  const ids = [...input.inputs.keys()];
  const n = ids.length;
  const threshold = input.threshold ?? Math.max(2, Math.ceil((2 * n) / 3));
  if (!(Number.isInteger(threshold) && threshold >= 2 && threshold <= n)) {
    throw new SecAggError("invalid", `runSecAggRound: threshold must be an integer in [2, ${n}] (participants), got ${threshold}`);
  }
  const lengths = new Set(ids.map((id) => (input.inputs.get(id) as ArrayLike<number>).length));
  if (lengths.size !== 1) throw new SecAggError("invalid", `runSecAggRound: inputs have different lengths (${[...lengths].join(", ")})`);
  const length = [...lengths][0];
  const clipValue = input.clipValue ?? 16;
  const codec = createFixedPointCodec({ scale: input.scale ?? 2 ** 22, clipValue, maxParticipants: 1 });
  const weight = (id: string): number => {
    const w = input.weights === undefined ? 1 : input.weights.get(id);
    if (!(typeof w === "number" && Number.isFinite(w) && w >= 0)) throw new SecAggError("invalid", `runSecAggRound: weight of "${id}" must be a finite number ≥ 0, got ${String(w)}`, id);
    return w;
  };
  const total = ids.reduce((s, id) => s + weight(id), 0);
  if (!(total > 0)) throw new SecAggError("invalid", `runSecAggRound: the weights sum to ${total}; at least one must be > 0`);
  const encoded = new Map(
    ids.map((id) => {
      const x = input.inputs.get(id) as ArrayLike<number>;
      const scaled = new Float64Array(length);
      const w = weight(id) / total;
      for (let k = 0; k < length; k++) {
        if (!(Math.abs(x[k]) <= clipValue)) throw new SecAggError("invalid", `runSecAggRound: "${id}"'s value #${k} = ${x[k]} is outside ±${clipValue} (clipValue)`, id);
        scaled[k] = w * x[k];
      }
      return [id, encodeFixedPoint(scaled, codec)] as const;
    }),
  );
  const dropAt = dropoutSteps(input.dropouts ?? {}, new Set(ids));
  const active = (id: string, step: number): boolean => (dropAt.get(id) ?? Infinity) > step;

  const serverTraffic: SecAggTraffic = { sent: 0, received: 0 };
  const traffic = new Map(ids.map((id) => [id, { sent: 0, received: 0 }] as const));
  const clientSeconds = new Map<string, number>(ids.map((id) => [id, 0]));
  let serverSeconds = 0;
  const up = (m: SecAggMessage, from: string): void => {
    const b = wireBytes(m);
    (traffic.get(from) as SecAggTraffic).sent += b;
    serverTraffic.received += b;
  };
  const down = (m: SecAggMessage, to: string): void => {
    const b = wireBytes(m);
    (traffic.get(to) as SecAggTraffic).received += b;
    serverTraffic.sent += b;
  };
  const onClient = <T>(id: string, f: () => T): T => {
    const t0 = performance.now();
    const out = f();
    clientSeconds.set(id, (clientSeconds.get(id) as number) + (performance.now() - t0) / 1000);
    return out;
  };
  const onServer = <T>(f: () => T): T => {
    const t0 = performance.now();
    const out = f();
    serverSeconds += (performance.now() - t0) / 1000;
    return out;
  };

  const random = (id: string): RandomSource => (input.seed === undefined ? osRandom : seededRandom(`${input.seed}:${input.round}:${id}`));
  const clients = new Map(ids.map((id) => [id, onClient(id, () => new SharedMaskClient({ id, round: input.round, threshold, random: random(id) }))] as const));
  const server = new SharedMaskServer({ round: input.round, threshold, length, participants: ids });

  for (const id of ids.filter((id) => active(id, 0))) {
    const m = onClient(id, () => (clients.get(id) as SharedMaskClient).advertiseKeys());
    up(m, id);
    onServer(() => server.acceptAdvertisement(m));
  }
  const directory = onServer(() => server.closeAdvertising());
  for (const e of directory.participants) {
    down(directory, e.id);
    if (!active(e.id, 1)) continue;
    const m = onClient(e.id, () => (clients.get(e.id) as SharedMaskClient).shareKeys(directory));
    up(m, e.id);
    onServer(() => server.acceptShares(m));
  }
  for (const forwarded of onServer(() => server.closeSharing())) {
    const id = forwarded.to;
    down(forwarded, id);
    if (!active(id, 2)) continue;
    const m = onClient(id, () => (clients.get(id) as SharedMaskClient).maskInput(forwarded, encoded.get(id) as Uint32Array));
    up(m, id);
    onServer(() => server.acceptMaskedInput(m));
  }
  const request = onServer(() => server.closeMasking());
  for (const id of request.survivors) {
    down(request, id);
    if (!active(id, 3)) continue;
    const m = onClient(id, () => (clients.get(id) as SharedMaskClient).unmask(request));
    up(m, id);
    onServer(() => server.acceptUnmaskResponse(m));
  }
  const out = onServer(() => server.finish());

  const weightSum = out.survivors.reduce((s, id) => s + weight(id), 0);
  const fraction = weightSum / total;
  const decoded = decodeFixedPoint(out.sum, codec);
  const mean = new Float64Array(length);
  for (let k = 0; k < length; k++) mean[k] = fraction > 0 ? decoded[k] / fraction : 0;
  const dropped = { advertiseKeys: [] as string[], shareKeys: [] as string[], maskedInput: [] as string[], unmasking: [] as string[] };
  for (const [id, step] of dropAt) dropped[SECAGG_STEPS[step]].push(id);
  return {
    mean,
    encodedSum: out.sum,
    survivors: out.survivors,
    dropped,
    weightSum,
    resolution: fraction > 0 ? (out.survivors.length * 0.5) / codec.scale / fraction : Infinity,
    bytes: { participants: traffic, server: serverTraffic },
    seconds: { participants: clientSeconds, server: serverSeconds },
  };
}
