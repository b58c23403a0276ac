/**
 * Stage 6, state: everything a run carries from one round to the next, and its snapshot/restore
 * as plain data (see snapshot.ts). Restoring checks the format, the fingerprint and the shape of
 * every stored weight set before changing anything, then hands back the state to continue from.
 */
import { Rng } from "../util/rng";
import type { ModelWeights } from "../model/weights";
import type { FitFailure, Strategy } from "./types";
import type { HistoryRow } from "./history";
import type { Participant } from "./participant";
import type { ConvergenceState } from "./convergence";
import type { FitConfig } from "./types";
import type { FederationOptions } from "./federationOptions";
import {
  architectureOf,
  hashOptions,
  assertFingerprintMatches,
  assertSameArchitecture,
  FederationFingerprint,
  FederationSnapshot,
  ParticipantSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
} from "./snapshot";

/** A run's state between rounds (the participants' personal states live on the participants). */
export interface RunState {
  /** Rounds completed (0 after the initial evaluation, -1 before it). */
  round: number;
  global: ModelWeights;
  convergence: ConvergenceState;
  readonly rows: HistoryRow[];
  readonly failures: FitFailure[];
  personal: Map<string, ModelWeights>;
  samplingRng: Rng;
}

/** The snapshot of `state` (plain data). */
export function snapshotOf(state: RunState, participants: readonly Participant[], strategy: Strategy, fingerprint: FederationFingerprint): FederationSnapshot {
  if (state.round < 0) throw new Error("Federation.snapshot: the run has not started (call start() first)");
  const ps: ParticipantSnapshot[] = participants.map((p) => {
    const personal = state.personal.get(p.id);
    return personal === undefined ? { id: p.id, state: p.state } : { id: p.id, state: p.state, personalWeights: personal };
  });
  const { best, sinceBest, converged } = state.convergence;
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    round: state.round,
    globalWeights: state.global,
    best: { loss: best.loss, round: best.round, weights: best.weights },
    sinceBest,
    converged,
    rows: state.rows.slice(),
    failures: state.failures.slice(),
    participants: ps,
    strategyState: strategy.getState(),
    samplingRngState: state.samplingRng.state,
    fingerprint,
  };
}

/**
 * The state to continue from `snapshot`, after checking it against `mine` (naming the first
 * mismatching variable, participant or option); sets the strategy's and participants' states.
 */
export function restoreState(snapshot: FederationSnapshot, mine: FederationFingerprint, participants: readonly Participant[], strategy: Strategy): RunState {
  const where = "Federation.restore";
  if (snapshot === null || typeof snapshot !== "object") throw new Error(`${where}: snapshot must be an object, got ${String(snapshot)}`);
  if (snapshot.format !== SNAPSHOT_FORMAT) throw new Error(`${where}: snapshot.format is ${JSON.stringify(snapshot.format)}, expected "${SNAPSHOT_FORMAT}"`);
  if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`${where}: snapshot.version is ${JSON.stringify(snapshot.version)}, this code reads ${SNAPSHOT_VERSION}`);
  assertFingerprintMatches(mine, snapshot.fingerprint, where);
  const arch = mine.architecture;
  assertSameArchitecture(arch, architectureOf(snapshot.globalWeights), `${where}: globalWeights`);
  assertSameArchitecture(arch, architectureOf(snapshot.best.weights), `${where}: best.weights`);
  const byId = new Map(snapshot.participants.map((s) => [s.id, s] as const));
  for (const p of participants) {
    const s = byId.get(p.id);
    if (s === undefined) throw new Error(`${where}: snapshot has no entry for participant "${p.id}"`);
    if (s.state.weights !== undefined) assertSameArchitecture(arch, architectureOf(s.state.weights), `${where}: state of participant "${p.id}"`);
    if (s.personalWeights !== undefined) assertSameArchitecture(arch, architectureOf(s.personalWeights), `${where}: personal weights of participant "${p.id}"`);
  }
  if (!(Number.isInteger(snapshot.round) && snapshot.round >= 0)) throw new Error(`${where}: snapshot.round must be an integer ≥ 0, got ${snapshot.round}`);
  // The strategy checks its own state; it goes first so that a refusal leaves the rest untouched.
  strategy.setState(snapshot.strategyState);
  for (const p of participants) p.state = (byId.get(p.id) as ParticipantSnapshot).state;
  const personal = new Map<string, ModelWeights>();
  for (const s of snapshot.participants) if (s.personalWeights !== undefined) personal.set(s.id, s.personalWeights);
  return {
    round: snapshot.round,
    global: snapshot.globalWeights,
    convergence: { best: { loss: snapshot.best.loss, round: snapshot.best.round, weights: snapshot.best.weights }, sinceBest: snapshot.sinceBest, converged: snapshot.converged },
    rows: snapshot.rows.slice(),
    failures: snapshot.failures.slice(),
    personal,
    samplingRng: Rng.fromState(snapshot.samplingRngState),
  };
}

/** The fingerprint of a run: model variables, participant ids and the run-defining options (resolved values in `resolved`). */
export function fingerprintOf(o: FederationOptions, resolved: { personalisation: string; seed: number; fitConfig: FitConfig }, global: ModelWeights): FederationFingerprint {
  const options = {
    strategy: o.strategy.name,
    personalisation: resolved.personalisation,
    seed: resolved.seed,
    sampling: o.sampling ?? {},
    fitConfig: resolved.fitConfig,
    localTraining: o.localTraining ?? {},
    heterogeneity: o.heterogeneity ?? {},
    minSuccessful: o.minSuccessful ?? 1,
    onTooFewUpdates: o.onTooFewUpdates ?? "fail",
    convergence: o.convergence ?? null,
    evaluation: o.evaluation ?? {},
    participantData: o.participants.map((p) => ({ id: p.id, numExamples: p.numExamples, profile: p.profile ?? null })),
  };
  return { architecture: architectureOf(global), participants: o.participants.map((p) => p.id), options, optionsHash: hashOptions(options) };
}
