/**
 * The server's side of a secure-aggregation round (Bonawitz et al. 2017; see client.ts), as a
 * state machine. Each step collects messages, then closes with at least t senders or fails:
 *
 *   acceptAdvertisement* → closeAdvertising()  → KeyDirectory (U1)
 *   acceptShares*        → closeSharing()      → ForwardedShares for each member of U2
 *   acceptMaskedInput*   → closeMasking()      → UnmaskRequest (U3)
 *   acceptUnmaskResponse*→ finish()            → Σ_{u∈U3} x_u mod 2³²
 *
 * A message for another round, from a stranger, sent twice, malformed or arriving after its step
 * closed is rejected with an error naming its sender. finish() reconstructs b_u for every survivor
 * and s_SK_v for every participant that shared keys but sent no input, checks each reconstructed
 * key against the public key its owner advertised, and removes the masks. With fewer than t
 * participants at any step, the round fails (SecAggError kind "below-threshold") and nothing is
 * decoded. The server sees only public keys, ciphertexts it cannot open, masked vectors, and — per
 * participant — the shares of one secret, never both.
 */
import { SecAggError } from "./errors";
import { KEY_BYTES, X25519Key, pairMaskSeed } from "./keys";
import { applyMask, pairSign } from "./masks";
import type { AdvertiseKeys, DirectoryEntry, ForwardedShares, KeyDirectory, MaskedInput, ShareKeys, UnmaskRequest, UnmaskResponse } from "./messages";
import { SHARE_BYTES, ShamirShare, lagrangeAtZero, shamirCombine } from "./shamir";

/** Options of a SharedMaskServer. */
export interface SharedMaskServerOptions {
  /** Round number. */
  readonly round: number;
  /** t: fewest participants at any step (≥ 2). */
  readonly threshold: number;
  /** Length of every input vector. */
  readonly length: number;
  /** Who was invited; if given, advertisements from anyone else are rejected and absentees are named. */
  readonly participants?: readonly string[];
}

/** What the server learns at the end of a round. */
export interface SharedMaskServerResult {
  /** Σ_{u ∈ U3} x_u mod 2³²: the sum of the survivors' encoded inputs. */
  readonly sum: Uint32Array;
  /** U3: whose masked inputs are in the sum. */
  readonly survivors: string[];
  /** U2 ∖ U3: shared keys but sent no input (their masks were removed via their reconstructed s_SK). */
  readonly droppedAfterSharing: string[];
  /** U1 ∖ U2: advertised keys but did not share them (no mask involves them). */
  readonly droppedAfterAdvertising: string[];
  /** U5: survivors that answered the unmask request. */
  readonly responders: string[];
}

type Step = "advertising" | "sharing" | "masking" | "unmasking" | "done";

/** The server side of one round. */
export class SharedMaskServer {
  /** The round. */
  readonly round: number;
  /** The threshold t. */
  readonly threshold: number;
  /** Input vector length. */
  readonly length: number;
  private step: Step = "advertising";
  private readonly advertised = new Map<string, AdvertiseKeys>();
  private directory: DirectoryEntry[] = [];
  private readonly index = new Map<string, number>();
  private readonly shared = new Map<string, ShareKeys>();
  private sharers: string[] = [];
  private readonly masked = new Map<string, Uint32Array>();
  private survivors: string[] = [];
  private readonly responses = new Map<string, UnmaskResponse>();
  private readonly invited?: ReadonlySet<string>;

  /** Start a round. */
  constructor(options: SharedMaskServerOptions) {
    const { round, threshold, length } = options;
    if (!Number.isInteger(round)) throw new SecAggError("invalid", `SharedMaskServer: round must be an integer, got ${round}`);
    if (!(Number.isInteger(threshold) && threshold >= 2)) throw new SecAggError("invalid", `SharedMaskServer: threshold must be an integer ≥ 2, got ${threshold}`);
    if (!(Number.isInteger(length) && length >= 0)) throw new SecAggError("invalid", `SharedMaskServer: length must be an integer ≥ 0, got ${length}`);
    this.round = round;
    this.threshold = threshold;
    this.length = length;
    if (options.participants !== undefined) this.invited = new Set(options.participants);
  }

  private where(step: string): string {
    return `SharedMaskServer round ${this.round}, ${step}`;
  }

  private check(step: Step, what: string, round: number, from: string, seen: ReadonlyMap<string, unknown>, allowed?: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    if (this.step !== step) {
      throw new SecAggError("rejected", `${this.where(what)}: message from "${from}" arrived while the server is at step "${this.step}" (too late or out of order); ignored`, from);
    }
    if (round !== this.round) throw new SecAggError("rejected", `${this.where(what)}: message from "${from}" is for round ${round} (replayed?)`, from);
    if (allowed !== undefined && !allowed.has(from)) throw new SecAggError("rejected", `${this.where(what)}: "${from}" is not expected at this step`, from);
    if (seen.has(from)) throw new SecAggError("rejected", `${this.where(what)}: "${from}" already sent this step's message (replayed)`, from);
  }

  private close(count: number, total: number, step: string, did: string, missing: readonly string[]): void {
    if (count < this.threshold) {
      this.step = "done";
      throw new SecAggError(
        "below-threshold",
        `${this.where(step)}: only ${count} of ${total} participant(s) ${did}, fewer than the threshold ${this.threshold}` +
          `${missing.length > 0 ? ` (missing: ${missing.join(", ")})` : ""}; the round is abandoned and nothing was decoded`,
      );
    }
  }

  /** Step 0: record a participant's public keys. */
  acceptAdvertisement(m: AdvertiseKeys): void {
    this.check("advertising", "advertise keys", m.round, m.from, this.advertised, this.invited);
    if (typeof m.from !== "string" || m.from.length === 0) throw new SecAggError("rejected", `${this.where("advertise keys")}: sender id must be a non-empty string`);
    for (const [name, key] of [["encryption", m.encryptionKey], ["masking", m.maskingKey]] as const) {
      if (key.length !== KEY_BYTES) throw new SecAggError("rejected", `${this.where("advertise keys")}: "${m.from}"'s ${name} key has ${key.length} bytes, expected ${KEY_BYTES}`, m.from);
    }
    this.advertised.set(m.from, m);
  }

  /** Close step 0: the key directory U1 for everyone who advertised (≥ t, else the round fails). */
  closeAdvertising(): KeyDirectory {
    if (this.step !== "advertising") throw new SecAggError("rejected", `${this.where("close advertising")}: the server is at step "${this.step}"`);
    const invited = this.invited === undefined ? [...this.advertised.keys()] : [...this.invited];
    const absent = invited.filter((id) => !this.advertised.has(id)).sort();
    this.close(this.advertised.size, invited.length, "advertise keys", "advertised keys", absent);
    this.directory = [...this.advertised.values()]
      .sort((a, b) => (a.from < b.from ? -1 : 1))
      .map((m) => ({ id: m.from, encryptionKey: m.encryptionKey, maskingKey: m.maskingKey }));
    this.directory.forEach((e, i) => this.index.set(e.id, i + 1));
    this.step = "sharing";
    return { kind: "keyDirectory", round: this.round, participants: this.directory };
  }

  /** Step 1: record a participant's encrypted shares (one for every other member of U1). */
  acceptShares(m: ShareKeys): void {
    this.check("sharing", "share keys", m.round, m.from, this.shared, this.index);
    const to = new Set<string>();
    for (const e of m.shares) {
      if (e.from !== m.from) throw new SecAggError("rejected", `${this.where("share keys")}: "${m.from}" sent a share labelled as from "${e.from}"`, m.from);
      if (!this.index.has(e.to) || e.to === m.from || to.has(e.to)) {
        throw new SecAggError("rejected", `${this.where("share keys")}: "${m.from}" sent a share for "${e.to}", not exactly one per other participant`, m.from);
      }
      to.add(e.to);
    }
    if (to.size !== this.directory.length - 1) {
      throw new SecAggError("rejected", `${this.where("share keys")}: "${m.from}" sent ${to.size} shares, expected ${this.directory.length - 1}`, m.from);
    }
    this.shared.set(m.from, m);
  }

  /** Close step 1: U2 = who shared (≥ t); each member gets the ciphertexts addressed to it by the others. */
  closeSharing(): ForwardedShares[] {
    if (this.step !== "sharing") throw new SecAggError("rejected", `${this.where("close sharing")}: the server is at step "${this.step}"`);
    const missing = this.directory.map((e) => e.id).filter((id) => !this.shared.has(id));
    this.close(this.shared.size, this.directory.length, "share keys", "shared their keys", missing);
    this.sharers = [...this.shared.keys()].sort();
    const inbox = new Map(this.sharers.map((id) => [id, [] as ShareKeys["shares"][number][]] as const));
    for (const from of this.sharers) {
      for (const e of (this.shared.get(from) as ShareKeys).shares) inbox.get(e.to)?.push(e);
    }
    this.step = "masking";
    return this.sharers.map((to) => ({ kind: "forwardedShares", round: this.round, to, shares: inbox.get(to) as ShareKeys["shares"][number][] }));
  }

  /** Step 2: record a masked input from a member of U2. */
  acceptMaskedInput(m: MaskedInput): void {
    this.check("masking", "masked input", m.round, m.from, this.masked, new Set(this.sharers));
    if (m.masked.length !== this.length) {
      throw new SecAggError("rejected", `${this.where("masked input")}: "${m.from}" sent ${m.masked.length} values, expected ${this.length}`, m.from);
    }
    this.masked.set(m.from, m.masked);
  }

  /** Close step 2: U3 = whose masked input arrived (≥ t); later inputs are rejected. */
  closeMasking(): UnmaskRequest {
    if (this.step !== "masking") throw new SecAggError("rejected", `${this.where("close masking")}: the server is at step "${this.step}"`);
    const missing = this.sharers.filter((id) => !this.masked.has(id));
    this.close(this.masked.size, this.sharers.length, "masked input collection", "sent a masked input", missing);
    this.survivors = [...this.masked.keys()].sort();
    this.step = "unmasking";
    return { kind: "unmaskRequest", round: this.round, survivors: this.survivors };
  }

  /** Step 3: record a survivor's revealed shares (b shares for exactly U3, s_SK shares for exactly U2 ∖ U3). */
  acceptUnmaskResponse(m: UnmaskResponse): void {
    const survivors = new Set(this.survivors);
    this.check("unmasking", "unmask response", m.round, m.from, this.responses, survivors);
    const expect = (list: UnmaskResponse["selfMaskShares"], owners: readonly string[], what: string): void => {
      const got = list.map((r) => r.owner).sort();
      if (got.join("\u0000") !== owners.join("\u0000") || list.some((r) => r.share.length !== SHARE_BYTES)) {
        throw new SecAggError("rejected", `${this.where("unmask response")}: "${m.from}" did not send exactly one ${SHARE_BYTES}-byte ${what} share per ${what === "self-mask" ? "survivor" : "dropped participant"}`, m.from);
      }
    };
    expect(m.selfMaskShares, this.survivors, "self-mask");
    expect(m.secretKeyShares, this.sharers.filter((id) => !survivors.has(id)), "masking-key");
    this.responses.set(m.from, m);
  }

  /** Close step 3: reconstruct the self-mask seeds and the dropped participants' keys (≥ t responses) and return the unmasked sum. */
  finish(): SharedMaskServerResult {
    if (this.step !== "unmasking") throw new SecAggError("rejected", `${this.where("finish")}: the server is at step "${this.step}"`);
    const missing = this.survivors.filter((id) => !this.responses.has(id));
    this.close(this.responses.size, this.survivors.length, "unmasking", "answered the unmask request", missing);
    const responders = [...this.responses.keys()].sort();
    // Every secret is rebuilt from the same t responders, so the Lagrange coefficients are computed once.
    const used = responders.slice(0, this.threshold);
    const lambdas = lagrangeAtZero(used.map((r) => this.index.get(r) as number));
    const sharesOf = (owner: string, pick: (r: UnmaskResponse) => UnmaskResponse["selfMaskShares"]): ShamirShare[] =>
      used.map((r) => {
        const revealed = pick(this.responses.get(r) as UnmaskResponse).find((s) => s.owner === owner);
        return { index: this.index.get(r) as number, value: (revealed as { share: Buffer }).share };
      });
    const sum = new Uint32Array(this.length);
    for (const u of this.survivors) {
      const y = this.masked.get(u) as Uint32Array;
      for (let k = 0; k < sum.length; k++) sum[k] = (sum[k] + y[k]) >>> 0;
      const b = shamirCombine(sharesOf(u, (r) => r.selfMaskShares), this.threshold, `self-mask seed of "${u}"`, lambdas);
      applyMask(sum, b, -1);
    }
    const dropped = this.sharers.filter((id) => !this.masked.has(id));
    const entry = new Map(this.directory.map((e) => [e.id, e] as const));
    for (const v of dropped) {
      const key = new X25519Key(shamirCombine(sharesOf(v, (r) => r.secretKeyShares), this.threshold, `masking key of "${v}"`, lambdas));
      if (!key.publicKey.equals((entry.get(v) as DirectoryEntry).maskingKey)) {
        this.step = "done";
        throw new SecAggError("rejected", `${this.where("finish")}: the masking key reconstructed for "${v}" does not match the key it advertised: a revealed share is wrong; nothing was decoded`, v);
      }
      // Survivor u applied sign(u, v)·PRG(s_{u,v}); remove it.
      for (const u of this.survivors) applyMask(sum, pairMaskSeed(key, (entry.get(u) as DirectoryEntry).maskingKey, this.round, u, v), pairSign(u, v) === 1 ? -1 : 1);
    }
    this.step = "done";
    return {
      sum,
      survivors: this.survivors.slice(),
      droppedAfterSharing: dropped,
      droppedAfterAdvertising: this.directory.map((e) => e.id).filter((id) => !this.shared.has(id)),
      responders,
    };
  }
}
