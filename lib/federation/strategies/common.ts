/**
 * Small helpers shared by the strategy classes: option checks (one sentence per failure, naming
 * the option and the value), the round's input checks, and (de)serialisation of server optimiser
 * state so that checkpoints round-trip exactly through JSON.
 */
import type { ModelWeights, WeightTensor } from "../../model/weights";
import type { FitFailure, FitUpdate, StrategyState } from "../types";
import { assertSameLayout } from "../aggregate";

/** Options every strategy accepts. */
export interface BaseStrategyOptions {
  /** Aggregate rounds in which some participants failed (Flower's accept_failures). Default true. */
  readonly acceptFailures?: boolean;
}

/** Throw unless `value` is a finite number within the bounds (inclusive unless stated). */
export function checkNumber(
  owner: string,
  option: string,
  value: number,
  rule: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; integer?: boolean },
): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (rule.integer !== true || Number.isInteger(value)) &&
    (rule.min === undefined || (rule.minExclusive ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || (rule.maxExclusive ? value < rule.max : value <= rule.max));
  if (!ok) {
    const parts: string[] = [];
    if (rule.integer) parts.push("an integer");
    if (rule.min !== undefined) parts.push(`${rule.minExclusive ? ">" : "≥"} ${rule.min}`);
    if (rule.max !== undefined) parts.push(`${rule.maxExclusive ? "<" : "≤"} ${rule.max}`);
    const want = parts.length > 0 ? parts.join(" and ") : "a finite number";
    throw new Error(`${owner}: ${option} must be ${want}, got ${String(value)}`);
  }
  return value;
}

/** Throw unless `round` is a positive integer. */
export function checkRound(owner: string, round: number): void {
  if (!(Number.isInteger(round) && round >= 1)) {
    throw new Error(`${owner}: round must be an integer ≥ 1, got ${round}`);
  }
}

/**
 * The checks every `aggregateFit` starts with: at least one update, failures allowed or absent,
 * and every update shaped like the global model (the error names the participant).
 */
export function checkRoundInputs(
  owner: string,
  round: number,
  current: ModelWeights,
  updates: readonly FitUpdate[],
  failures: readonly FitFailure[],
  acceptFailures: boolean,
): void {
  checkRound(owner, round);
  const failureText = failures.map((f) => `${f.participantId}: ${f.reason}`).join("; ");
  if (!acceptFailures && failures.length > 0) {
    throw new Error(
      `${owner}: round ${round} had ${failures.length} failure(s) and acceptFailures is false (${failureText})`,
    );
  }
  if (updates.length === 0) {
    throw new Error(
      `${owner}: round ${round} has no updates to aggregate` +
        (failures.length > 0 ? ` (${failures.length} failure(s): ${failureText})` : ""),
    );
  }
  for (const u of updates) {
    assertSameLayout(current, u.weights, `${owner} round ${round}`, `participant "${u.participantId}"`);
  }
}

/** Float64 per-variable buffers (server optimiser moments), keyed by variable name in checkpoints. */
export type Moments = Float64Array[];

/** Zeros shaped like `w`. */
export function zeroMoments(w: ModelWeights): Moments {
  return w.map((t) => new Float64Array(t.values.length));
}

/** Moments → JSON-safe state (numbers survive JSON exactly: JS prints the shortest round-trip form). */
export function momentsToState(owner: string, names: readonly string[], m: Moments | null): StrategyState | null {
  if (m === null) return null;
  const out: { [key: string]: number[] } = {};
  names.forEach((name, v) => {
    if (name in out) throw new Error(`${owner}: duplicate variable name "${name}" cannot be checkpointed`);
    out[name] = Array.from(m[v]);
  });
  return out;
}

/** Inverse of `momentsToState`; names give the order. */
export function momentsFromState(owner: string, key: string, state: StrategyState[string]): { names: string[]; m: Moments } | null {
  if (state === null || state === undefined) return null;
  if (typeof state !== "object" || Array.isArray(state)) {
    throw new Error(`${owner}.setState: "${key}" must be an object of number arrays or null, got ${typeof state}`);
  }
  const names = Object.keys(state);
  const m = names.map((name) => {
    const arr = (state as StrategyState)[name];
    if (!Array.isArray(arr) || arr.some((x) => typeof x !== "number")) {
      throw new Error(`${owner}.setState: "${key}.${name}" must be an array of numbers`);
    }
    return Float64Array.from(arr);
  });
  return { names, m };
}

/** Throw unless restored moments match the model they are applied to. */
export function checkMomentsLayout(owner: string, names: readonly string[], m: Moments, current: ModelWeights): void {
  if (names.length !== current.length || names.some((n, v) => n !== current[v].name || m[v].length !== current[v].values.length)) {
    throw new Error(
      `${owner}: restored optimiser state has variables [${names.join(", ")}] that do not match the model ` +
        `[${current.map((t) => `${t.name}(${t.values.length})`).join(", ")}]`,
    );
  }
}

/** Build a WeightTensor like `template` with new values. */
export function tensorLike(template: WeightTensor, values: Float32Array): WeightTensor {
  return { name: template.name, shape: template.shape.slice(), values };
}

/** Read a number from a state object, with a clear error. */
export function stateNumber(owner: string, state: StrategyState, key: string): number {
  const v = state[key];
  if (typeof v !== "number") throw new Error(`${owner}.setState: "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}
