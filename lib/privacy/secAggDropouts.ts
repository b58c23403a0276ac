/**
 * Simulated dropouts during secure aggregation: the four steps of Bonawitz et al.'s protocol at which
 * a participant can go silent, a probability per step, and the seeded draw that decides, for each
 * (round, participant), whether it drops at a step it reached. A participant drops at the first step
 * whose draw falls below that step's probability, so the probabilities are conditional on reaching
 * the step. Each draw is its own `Rng(deriveSeed(seed, "secagg-drop", round, id, stage))`; the
 * masked-input step keeps the derivation it had when it was the only step
 * (`deriveSeed(seed, "secagg-drop", round, id)`), so the pairwise and the Bonawitz protocol drop the
 * same participants there and earlier seeded runs keep their history.
 */
import { deriveSeed, Rng } from "../util/rng";

/**
 * The steps of a secure-aggregation protocol at which a participant can drop out (Bonawitz et al.'s
 * rounds 0–3). Dropping at "unmasking" means the masked input arrived: that input is in the mean.
 */
export type SecAggStage = "advertise-keys" | "share-keys" | "masked-input" | "unmasking";

/** Per step, the probability that a participant that reached it drops out there (each in [0, 1], default 0). */
export interface SecAggDropoutProbabilities {
  /** Never advertises its keys. */
  readonly advertiseKeys?: number;
  /** Advertises its keys, then does not share them. */
  readonly shareKeys?: number;
  /** Shares its keys, then its masked input never arrives (its input is not in the mean). */
  readonly maskedInput?: number;
  /** Its masked input arrives, then it does not help unmask (its input is in the mean). */
  readonly unmasking?: number;
}

/** The steps in protocol order, each with its key in SecAggDropoutProbabilities. */
export const SECAGG_STAGES: ReadonlyArray<{ readonly stage: SecAggStage; readonly key: keyof SecAggDropoutProbabilities }> = [
  { stage: "advertise-keys", key: "advertiseKeys" },
  { stage: "share-keys", key: "shareKeys" },
  { stage: "masked-input", key: "maskedInput" },
  { stage: "unmasking", key: "unmasking" },
];

/** Check `dropout` (naming `owner` and the field in errors); every step's probability, 0 where not given. */
export function resolveDropoutProbabilities(owner: string, dropout: SecAggDropoutProbabilities | undefined): Required<SecAggDropoutProbabilities> {
  if (dropout !== undefined && (dropout === null || typeof dropout !== "object")) {
    throw new Error(`${owner}: dropout must be an object like { maskedInput: 0.1 }, got ${String(dropout)}`);
  }
  const given = dropout ?? {};
  const known = new Set<string>(SECAGG_STAGES.map((s) => s.key));
  for (const k of Object.keys(given)) {
    if (!known.has(k)) throw new Error(`${owner}: dropout.${k} is not a protocol step (allowed: ${[...known].join(", ")})`);
  }
  const out = { advertiseKeys: 0, shareKeys: 0, maskedInput: 0, unmasking: 0 };
  for (const { key } of SECAGG_STAGES) {
    const p = given[key] ?? 0;
    if (!(typeof p === "number" && p >= 0 && p <= 1)) throw new Error(`${owner}: dropout.${key} must be a probability in [0, 1], got ${String(p)}`);
    out[key] = p;
  }
  return out;
}

/** Whether `participantId` draws a dropout at `stage` of `round` (independent of the other steps' draws). */
export function drawsDropout(seed: number, round: number, participantId: string, stage: SecAggStage, probability: number): boolean {
  if (!(probability > 0)) return false;
  const s = stage === "masked-input" ? deriveSeed(seed, "secagg-drop", round, participantId) : deriveSeed(seed, "secagg-drop", round, participantId, stage);
  return new Rng(s).next() < probability;
}

/** The step at which `participantId` drops out in `round` (the first whose draw succeeds), or undefined if it stays to the end. */
export function dropoutStage(seed: number, round: number, participantId: string, probabilities: Required<SecAggDropoutProbabilities>): SecAggStage | undefined {
  return SECAGG_STAGES.find(({ stage, key }) => drawsDropout(seed, round, participantId, stage, probabilities[key]))?.stage;
}
