/**
 * A federation's complete state between two rounds, as plain data: what `Federation.snapshot()`
 * returns, `Federation.restore()` continues from, and `saveCheckpoint`/`loadCheckpoint` store.
 * Continuing from a snapshot gives bitwise the same run as never stopping, because every random
 * choice is either derived from (seed, round, participant) or drawn from a generator whose state
 * is in here. A fingerprint (architecture, participants, options) refuses a resume into a
 * different setup, naming what differs.
 */
import { createHash } from "node:crypto";
import type { ModelWeights } from "../model/weights";
import type { FitFailure, StrategyState } from "./types";
import type { HistoryRow } from "./history";
import type { PersonalState } from "./personalisation/personalisation";

/** Format tag of a snapshot. */
export const SNAPSHOT_FORMAT = "fedtune-federation-snapshot";
/** Snapshot version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** Name and shape of one model variable (the architecture part of the fingerprint). */
export interface VariableSignature {
  readonly name: string;
  readonly shape: readonly number[];
}

/** What must match for a snapshot to be resumed by a federation. */
export interface FederationFingerprint {
  /** The model's variables in order. */
  readonly architecture: readonly VariableSignature[];
  /** Participant ids in order. */
  readonly participants: readonly string[];
  /** The run-defining options as canonical JSON-safe values (see `fingerprintOptions`). */
  readonly options: { readonly [key: string]: unknown };
  /** SHA-256 of the canonical JSON of `options`. */
  readonly optionsHash: string;
}

/** A participant's entry in a snapshot. */
export interface ParticipantSnapshot {
  /** Participant id. */
  readonly id: string;
  /** Its personal state (`participant.state`). */
  readonly state: PersonalState;
  /** Its personal weights at the last personal evaluation, if any. */
  readonly personalWeights?: ModelWeights;
}

/** Everything needed to continue a federation identically. */
export interface FederationSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: number;
  /** Rounds completed (0 = only the initial evaluation). */
  readonly round: number;
  /** Global weights after that round. */
  readonly globalWeights: ModelWeights;
  /** The best round so far by the convergence criterion. */
  readonly best: { readonly loss: number; readonly round: number; readonly weights: ModelWeights };
  /** Rounds since the best one. */
  readonly sinceBest: number;
  /** Whether the run already converged. */
  readonly converged: boolean;
  /** History rows so far. */
  readonly rows: readonly HistoryRow[];
  /** Failures so far. */
  readonly failures: readonly FitFailure[];
  /** Per participant: personal state and personal weights. */
  readonly participants: readonly ParticipantSnapshot[];
  /** `strategy.getState()`. */
  readonly strategyState: StrategyState;
  /** State of the client-sampling generator (`Rng.state`). */
  readonly samplingRngState: number;
  /** What the resuming federation must match. */
  readonly fingerprint: FederationFingerprint;
}

/** The names and shapes of `w`, in order. */
export function architectureOf(w: ModelWeights): VariableSignature[] {
  return w.map((t) => ({ name: t.name, shape: t.shape.slice() }));
}

/** Throw naming the first variable where `found` differs from `expected` (`where` says whose weights). */
export function assertSameArchitecture(expected: readonly VariableSignature[], found: readonly VariableSignature[], where: string): void {
  const n = Math.max(expected.length, found.length);
  for (let v = 0; v < n; v++) {
    const e = expected[v];
    const f = found[v];
    const same = e !== undefined && f !== undefined && e.name === f.name && e.shape.length === f.shape.length && e.shape.every((d, k) => d === f.shape[k]);
    if (!same) {
      const show = (s: VariableSignature | undefined): string => (s === undefined ? "nothing" : `"${s.name}" [${s.shape.join(", ")}]`);
      throw new Error(
        `${where}: different model architecture: variable #${v} is ${show(f)}, the model has ${show(e)} ` +
          `(${found.length} vs ${expected.length} variables)`,
      );
    }
  }
}

/** JSON with object keys sorted (so equal values always hash equally). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  });
}

/** SHA-256 (hex) of the canonical JSON of `options`. */
export function hashOptions(options: { readonly [key: string]: unknown }): string {
  return createHash("sha256").update(canonicalJson(options)).digest("hex");
}

/**
 * Throw unless the snapshot's fingerprint matches the resuming federation's; the message names the
 * first mismatching variable, the participant ids or the option keys that differ.
 */
export function assertFingerprintMatches(expected: FederationFingerprint, found: FederationFingerprint, where: string): void {
  assertSameArchitecture(expected.architecture, found.architecture, where);
  const a = expected.participants.join(",");
  const b = found.participants.join(",");
  if (a !== b) {
    const missing = expected.participants.filter((id) => !found.participants.includes(id));
    const extra = found.participants.filter((id) => !expected.participants.includes(id));
    throw new Error(
      `${where}: participants differ: the snapshot has [${found.participants.join(", ")}], the federation [${expected.participants.join(", ")}]` +
        (missing.length || extra.length ? ` (not in snapshot: ${missing.join(", ") || "none"}; unknown: ${extra.join(", ") || "none"})` : " (order differs)"),
    );
  }
  if (expected.optionsHash !== found.optionsHash) {
    const keys = [...new Set([...Object.keys(expected.options), ...Object.keys(found.options)])].sort();
    const differ = keys.filter((k) => canonicalJson(expected.options[k]) !== canonicalJson(found.options[k]));
    const detail = differ.map((k) => `${k}: snapshot ${canonicalJson(found.options[k])}, now ${canonicalJson(expected.options[k])}`).join("; ");
    throw new Error(`${where}: the run options differ from the snapshot's (${detail || `hash ${found.optionsHash} vs ${expected.optionsHash}`})`);
  }
}
