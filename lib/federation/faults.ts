/**
 * Fault injection: participants that misbehave on purpose, to show (in tests and notebooks) what
 * the round loop does with a participant that crashes, is slow, or sends a broken update — each
 * is turned into a recorded failure and never reaches the global model. Two ways in:
 * `withFaults(executor, faults)` wraps any executor (serial or a worker pool alike), and
 * `FaultyParticipant` / `withFault` fault one participant of an in-thread run.
 */
import type { ModelWeights } from "../model/weights";
import type { FitUpdate } from "./types";
import { Participant, ParticipantFitConfig, ParticipantOptions } from "./participant";
import type { FitExecutor, FitJob, FitOutcome } from "./executor";
import { passThrough } from "./executor";
import type { Personalisation, PersonalState } from "./personalisation/personalisation";

/** The ways a faulty participant can misbehave. */
export type FaultKind =
  | "throw" // local training raises an error
  | "nan" // the first value of the first tensor becomes NaN
  | "infinity" // the last value of the last tensor becomes +Infinity
  | "missing-tensor" // the last tensor is left out
  | "extra-tensor" // an unknown tensor is appended
  | "wrong-shape" // the first tensor is flattened to 1-D
  | "zero-examples" // numExamples = 0
  | "negative-examples" // numExamples = -5
  | "fractional-examples" // numExamples = 2.5
  | "slow"; // busy-waits `delaySeconds` after training (for timeouts)

/** All fault kinds, in a stable order. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "throw",
  "nan",
  "infinity",
  "missing-tensor",
  "extra-tensor",
  "wrong-shape",
  "zero-examples",
  "negative-examples",
  "fractional-examples",
  "slow",
];

/** A fault and when it strikes. */
export interface Fault {
  /** What goes wrong. */
  readonly kind: FaultKind;
  /** Which of this participant's fit calls (1-based) misbehave; default every call. */
  readonly onCalls?: readonly number[];
  /** For "slow": wall-clock seconds to busy-wait; default 0.2. */
  readonly delaySeconds?: number;
}

/** A participant that trains normally and then misbehaves as its `fault` says. */
export class FaultyParticipant extends Participant {
  /** The injected fault. */
  readonly fault: Fault;
  private calls = 0;

  /** Build a participant with a fault (options as for Participant). */
  constructor(options: ParticipantOptions & { readonly fault: Fault }) {
    super(options);
    if (!FAULT_KINDS.includes(options.fault.kind)) {
      throw new Error(`FaultyParticipant ${options.id}: fault.kind must be one of ${FAULT_KINDS.join(", ")}, got ${JSON.stringify(options.fault.kind)}`);
    }
    this.fault = options.fault;
  }

  /** Fit calls so far. */
  get fitCalls(): number {
    return this.calls;
  }

  /** Train as usual, then apply the fault if this call is one of `onCalls`. */
  override train(globalWeights: ModelWeights, config: ParticipantFitConfig, personalisation?: Personalisation): { update: FitUpdate; newState: PersonalState } {
    this.calls += 1;
    const strikes = this.fault.onCalls === undefined || this.fault.onCalls.includes(this.calls);
    if (strikes && this.fault.kind === "throw") throw new Error(`injected fault: participant ${this.id} crashed during local training`);
    const out = super.train(globalWeights, config, personalisation);
    return strikes ? { update: corruptUpdate(out.update, this.fault), newState: out.newState } : out;
  }
}

/** Wrap an existing participant (same id, data, trainer, profile, state) with a fault. */
export function withFault(participant: Participant, fault: Fault): FaultyParticipant {
  const f = new FaultyParticipant({ id: participant.id, data: participant.data, trainer: participant.trainer, profile: participant.profile, fault });
  f.state = participant.state;
  return f;
}

/** The update as `fault` would break it (a copy; the input is not changed). */
export function corruptUpdate(update: FitUpdate, fault: Fault): FitUpdate {
  const w = update.weights;
  const copy = (): Array<{ name: string; shape: readonly number[]; values: Float32Array }> => w.map((t) => ({ name: t.name, shape: t.shape.slice(), values: t.values.slice() }));
  switch (fault.kind) {
    case "nan": {
      const c = copy();
      c[0].values[0] = NaN;
      return { ...update, weights: c };
    }
    case "infinity": {
      const c = copy();
      const last = c[c.length - 1].values;
      last[last.length - 1] = Infinity;
      return { ...update, weights: c };
    }
    case "missing-tensor":
      return { ...update, weights: w.slice(0, -1) };
    case "extra-tensor":
      return { ...update, weights: [...w, { name: "injected/extra", shape: [1], values: new Float32Array(1) }] };
    case "wrong-shape": {
      const c = copy();
      c[0] = { ...c[0], shape: [c[0].values.length] };
      return { ...update, weights: c };
    }
    case "zero-examples":
      return { ...update, numExamples: 0 };
    case "negative-examples":
      return { ...update, numExamples: -5 };
    case "fractional-examples":
      return { ...update, numExamples: 2.5 };
    case "slow": {
      const until = performance.now() + 1000 * (fault.delaySeconds ?? 0.2);
      while (performance.now() < until) {
        // Busy-wait on purpose: an in-process fit blocks the thread exactly like this.
      }
      return update;
    }
    case "throw":
      return update;
  }
}

/**
 * `inner` with injected faults, by participant id: the same faults as FaultyParticipant, counted per
 * participant over the calls made through this executor. A "throw" never reaches `inner` (the
 * participant crashed before training); the others corrupt the update `inner` returned; "slow"
 * adds `delaySeconds` to the outcome's measured seconds (what the loop's timeout reads) instead of
 * blocking a thread. Works for serial and worker-pool executors alike.
 */
export function withFaults(inner: FitExecutor, faults: Readonly<Record<string, Fault>>): FitExecutor {
  for (const [id, f] of Object.entries(faults)) {
    if (!FAULT_KINDS.includes(f.kind)) throw new Error(`withFaults: fault of participant ${id}: kind must be one of ${FAULT_KINDS.join(", ")}, got ${JSON.stringify(f.kind)}`);
  }
  const calls = new Map<string, number>();
  return {
    name: `faulty(${inner.name})`,
    async run(jobs, personalisation, onJobDone) {
      const strikes = jobs.map((j) => {
        const fault = faults[j.participant.id];
        if (fault === undefined) return undefined;
        const n = (calls.get(j.participant.id) ?? 0) + 1;
        calls.set(j.participant.id, n);
        return fault.onCalls === undefined || fault.onCalls.includes(n) ? fault : undefined;
      });
      const crashed = (i: number): FitOutcome => ({ ok: false, error: new Error(`injected fault: participant ${jobs[i].participant.id} crashed during local training`) });
      const runnable: FitJob[] = [];
      const index: number[] = [];
      jobs.forEach((j, i) => {
        if (strikes[i]?.kind !== "throw") {
          index.push(i);
          runnable.push(j);
        }
      });
      const outcomes: FitOutcome[] = jobs.map((_, i) => crashed(i));
      const ran = await inner.run(runnable, personalisation, (k, o) => onJobDone?.(index[k], corrupted(o, strikes[index[k]])));
      ran.forEach((o, k) => (outcomes[index[k]] = corrupted(o, strikes[index[k]])));
      jobs.forEach((_, i) => {
        if (strikes[i]?.kind === "throw") onJobDone?.(i, outcomes[i]);
      });
      return outcomes;
    },
    ...passThrough(inner),
  };
}

/** The outcome as `fault` would break it (undefined: unchanged). */
function corrupted(outcome: FitOutcome, fault: Fault | undefined): FitOutcome {
  if (fault === undefined || outcome.ok === false) return outcome;
  if (fault.kind === "slow") return { ...outcome, seconds: (outcome.seconds ?? 0) + (fault.delaySeconds ?? 0.2) };
  return { ...outcome, update: corruptUpdate(outcome.update, fault) };
}
