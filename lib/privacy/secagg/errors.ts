/**
 * Why a secure-aggregation round stopped. Every failure is a SecAggError whose message names the
 * step, the round and the participant concerned; `kind` lets a caller tell a round that failed
 * safely (too few participants left) from a message that was rejected.
 */

/** below-threshold: fewer than t participants at a step, nothing decoded; rejected: a tampered, replayed, misaddressed or out-of-step message; invalid: bad arguments. */
export type SecAggErrorKind = "below-threshold" | "rejected" | "invalid";

/** A failure of the secure-aggregation protocol. */
export class SecAggError extends Error {
  /** What kind of failure this is. */
  readonly kind: SecAggErrorKind;
  /** The participant the failure is about, when there is one. */
  readonly participant?: string;

  /** Build an error; `message` must name the round, the step and the participant. */
  constructor(kind: SecAggErrorKind, message: string, participant?: string) {
    super(message);
    this.name = "SecAggError";
    this.kind = kind;
    this.participant = participant;
  }
}
