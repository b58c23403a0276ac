/**
 * One participant's side of a secure-aggregation round (Bonawitz et al. 2017, "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", CCS, https://eprint.iacr.org/2017/281),
 * as a state machine that accepts each server message once, in order:
 *
 *   advertiseKeys() → shareKeys(directory) → maskInput(forwarded, input) → unmask(request)
 *
 * Fresh keys every round: c (encrypts shares), s (pairwise masks), and a self-mask seed b_u. The
 * client Shamir-shares s_SK and b_u t-of-|U1| and checks at every step that the server's set has
 * at least t members and contains only participants it knows. In the unmasking step it reveals,
 * for each other participant v, b_v's share if v survived and s_SK_v's share if v dropped — never
 * both: it remembers what it revealed, repeats an identical answer if the server asks again, and
 * refuses (naming v) a request that would reveal the other kind.
 */
import { SecAggError } from "./errors";
import { X25519Key, pairMaskSeed, shareEncryptionKey } from "./keys";
import { applyMask, pairSign } from "./masks";
import type { AdvertiseKeys, DirectoryEntry, ForwardedShares, KeyDirectory, MaskedInput, RevealedShare, ShareKeys, UnmaskRequest, UnmaskResponse } from "./messages";
import { osRandom, RandomSource } from "./random";
import { decryptShare, encryptShare } from "./shareCipher";
import { SECRET_BYTES, SHARE_BYTES, shamirSplit } from "./shamir";

/** Options of a SharedMaskClient. */
export interface SharedMaskClientOptions {
  /** This participant's id (non-empty). */
  readonly id: string;
  /** Round number: bound into every key derivation and every share's authentication. */
  readonly round: number;
  /** t: fewest participants at any step; also the number of shares that reconstruct a secret. */
  readonly threshold: number;
  /** Source of keys, seeds, coefficients and nonces; default the OS CSPRNG. */
  readonly random?: RandomSource;
}

type Step = "start" | "advertised" | "shared" | "masked";
type Revealed = "selfMask" | "secretKey";

/** The two shares a client holds of one owner's secrets. */
interface HeldShares {
  readonly secretKey: Buffer;
  readonly selfMask: Buffer;
}

/** The client side of one round. */
export class SharedMaskClient {
  /** This participant's id. */
  readonly id: string;
  /** The round. */
  readonly round: number;
  /** The threshold t. */
  readonly threshold: number;
  private readonly random: RandomSource;
  private readonly encryption: X25519Key;
  private readonly masking: X25519Key;
  private readonly selfMaskSeed: Buffer;
  private step: Step = "start";
  private directory = new Map<string, DirectoryEntry>();
  private sharers: string[] = [];
  private readonly held = new Map<string, HeldShares>();
  /** Encryption-key agreement with each peer, computed once for both directions. */
  private readonly agreements = new Map<string, Buffer>();
  private readonly revealed = new Map<string, Revealed>();
  private lastResponse?: { survivors: string; response: UnmaskResponse };

  /** Draw this round's key pairs and self-mask seed. */
  constructor(options: SharedMaskClientOptions) {
    const { id, round, threshold } = options;
    if (typeof id !== "string" || id.length === 0) throw new SecAggError("invalid", `SharedMaskClient: id must be a non-empty string, got ${JSON.stringify(id)}`);
    if (!Number.isInteger(round)) throw new SecAggError("invalid", `SharedMaskClient "${id}": round must be an integer, got ${round}`, id);
    if (!(Number.isInteger(threshold) && threshold >= 2)) {
      throw new SecAggError("invalid", `SharedMaskClient "${id}": threshold must be an integer ≥ 2, got ${threshold}`, id);
    }
    this.id = id;
    this.round = round;
    this.threshold = threshold;
    this.random = options.random ?? osRandom;
    this.encryption = X25519Key.generate(this.random);
    this.masking = X25519Key.generate(this.random);
    this.selfMaskSeed = this.random(SECRET_BYTES);
  }

  private where(step: string): string {
    return `SharedMaskClient "${this.id}", round ${this.round}, ${step}`;
  }

  private expect(step: Step, call: string, round: number): void {
    if (this.step !== step) throw new SecAggError("rejected", `${this.where(call)}: called out of order (the client is at step "${this.step}")`, this.id);
    if (round !== this.round) throw new SecAggError("rejected", `${this.where(call)}: the message is for round ${round}`, this.id);
  }

  private atLeastThreshold(count: number, what: string, call: string): void {
    if (count < this.threshold) {
      throw new SecAggError("below-threshold", `${this.where(call)}: ${what} has ${count} participant(s), fewer than the threshold ${this.threshold}; the client stops here`, this.id);
    }
  }

  /** Step 0: the two public keys to send to the server. */
  advertiseKeys(): AdvertiseKeys {
    this.expect("start", "advertiseKeys", this.round);
    this.step = "advertised";
    return { kind: "advertiseKeys", round: this.round, from: this.id, encryptionKey: this.encryption.publicKey, maskingKey: this.masking.publicKey };
  }

  /** Step 1: check the directory U1, Shamir-share s_SK and b_u among U1, encrypt each pair of shares for its holder. */
  shareKeys(directory: KeyDirectory): ShareKeys {
    this.expect("advertised", "shareKeys", directory.round);
    const call = "shareKeys";
    const entries = directory.participants;
    this.atLeastThreshold(entries.length, "the key directory", call);
    const seenKeys = new Set<string>();
    entries.forEach((e, i) => {
      if (i > 0 && !(entries[i - 1].id < e.id)) throw new SecAggError("rejected", `${this.where(call)}: the directory is not sorted by id with distinct ids (at "${e.id}")`, e.id);
      for (const key of [e.encryptionKey, e.maskingKey]) {
        const hex = key.toString("hex");
        if (seenKeys.has(hex)) throw new SecAggError("rejected", `${this.where(call)}: "${e.id}" reuses a public key already in the directory`, e.id);
        seenKeys.add(hex);
      }
    });
    const self = entries.find((e) => e.id === this.id);
    if (self === undefined || !self.encryptionKey.equals(this.encryption.publicKey) || !self.maskingKey.equals(this.masking.publicKey)) {
      throw new SecAggError("rejected", `${this.where(call)}: the directory does not list this client with the keys it advertised`, this.id);
    }
    this.directory = new Map(entries.map((e) => [e.id, e] as const));
    const indices = entries.map((_e, i) => i + 1);
    const secretKeyShares = shamirSplit(this.masking.privateKey, this.threshold, indices, this.random);
    const selfMaskShares = shamirSplit(this.selfMaskSeed, this.threshold, indices, this.random);
    const shares = [];
    for (let i = 0; i < entries.length; i++) {
      const v = entries[i];
      if (v.id === this.id) {
        this.held.set(this.id, { secretKey: secretKeyShares[i], selfMask: selfMaskShares[i] });
        continue;
      }
      const agreement = this.encryption.agree(v.encryptionKey);
      this.agreements.set(v.id, agreement);
      const key = shareEncryptionKey(agreement, this.round, this.id, v.id);
      const plaintext = Buffer.concat([secretKeyShares[i], selfMaskShares[i]]);
      shares.push({ from: this.id, to: v.id, ciphertext: encryptShare(key, this.round, this.id, v.id, plaintext, this.random) });
    }
    this.step = "shared";
    return { kind: "shareKeys", round: this.round, from: this.id, shares };
  }

  /** Step 2: authenticate and keep the shares from U2, then mask `input` (already fixed-point, mod 2³²). */
  maskInput(forwarded: ForwardedShares, input: Uint32Array): MaskedInput {
    this.expect("shared", "maskInput", forwarded.round);
    const call = "maskInput";
    if (forwarded.to !== this.id) throw new SecAggError("rejected", `${this.where(call)}: the shares are addressed to "${forwarded.to}"`, forwarded.to);
    const received = new Map<string, HeldShares>();
    for (const e of forwarded.shares) {
      const agreement = this.agreements.get(e.from);
      if (agreement === undefined) throw new SecAggError("rejected", `${this.where(call)}: share from "${e.from}", who is not another member of the key directory`, e.from);
      if (e.to !== this.id) throw new SecAggError("rejected", `${this.where(call)}: share from "${e.from}" is addressed to "${e.to}"`, e.from);
      if (received.has(e.from)) throw new SecAggError("rejected", `${this.where(call)}: a second share from "${e.from}" (replayed)`, e.from);
      const key = shareEncryptionKey(agreement, this.round, e.from, this.id);
      const plain = decryptShare(key, this.round, e.from, this.id, e.ciphertext);
      if (plain.length !== 2 * SHARE_BYTES) throw new SecAggError("rejected", `${this.where(call)}: share from "${e.from}" has ${plain.length} bytes, expected ${2 * SHARE_BYTES}`, e.from);
      received.set(e.from, { secretKey: plain.subarray(0, SHARE_BYTES), selfMask: plain.subarray(SHARE_BYTES) });
    }
    this.atLeastThreshold(received.size + 1, "the set of participants that shared keys (U2)", call);
    for (const [from, shares] of received) this.held.set(from, shares);
    this.sharers = [this.id, ...received.keys()].sort();
    const masked = Uint32Array.from(input);
    applyMask(masked, this.selfMaskSeed, 1);
    for (const v of this.sharers) {
      if (v === this.id) continue;
      const peer = this.directory.get(v) as DirectoryEntry;
      applyMask(masked, pairMaskSeed(this.masking, peer.maskingKey, this.round, this.id, v), pairSign(this.id, v));
    }
    this.step = "masked";
    return { kind: "maskedInput", round: this.round, from: this.id, masked };
  }

  /**
   * Step 3: for each v ∈ U2, reveal b_v's share if v is among the survivors U3, else s_SK_v's share.
   * Asked again with the same survivors, the same answer; a request that would reveal the other
   * share of anyone already answered for is refused, naming them.
   */
  unmask(request: UnmaskRequest): UnmaskResponse {
    this.expect("masked", "unmask", request.round);
    const call = "unmask";
    const survivors = new Set(request.survivors);
    if (survivors.size !== request.survivors.length) throw new SecAggError("rejected", `${this.where(call)}: the survivor list repeats an id`, this.id);
    for (const u of survivors) {
      if (!this.held.has(u)) throw new SecAggError("rejected", `${this.where(call)}: survivor "${u}" did not share keys with this client (not in U2)`, u);
    }
    if (!survivors.has(this.id)) throw new SecAggError("rejected", `${this.where(call)}: this client is not among the survivors, so it reveals nothing`, this.id);
    this.atLeastThreshold(survivors.size, "the survivor set (U3)", call);
    const key = [...survivors].sort().join("\u0000");
    if (this.lastResponse !== undefined && this.lastResponse.survivors === key) return this.lastResponse.response;
    for (const v of this.sharers) {
      const kind: Revealed = survivors.has(v) ? "selfMask" : "secretKey";
      const before = this.revealed.get(v);
      if (before !== undefined && before !== kind) {
        throw new SecAggError(
          "rejected",
          `${this.where(call)}: refusing to reveal the ${kind === "selfMask" ? "self-mask" : "masking-key"} share of "${v}": ` +
            `this client already revealed its ${before === "selfMask" ? "self-mask" : "masking-key"} share, and both together would expose "${v}"'s input`,
          v,
        );
      }
    }
    const selfMaskShares: RevealedShare[] = [];
    const secretKeyShares: RevealedShare[] = [];
    for (const v of this.sharers) {
      const held = this.held.get(v) as HeldShares;
      if (survivors.has(v)) {
        this.revealed.set(v, "selfMask");
        selfMaskShares.push({ owner: v, share: held.selfMask });
      } else {
        this.revealed.set(v, "secretKey");
        secretKeyShares.push({ owner: v, share: held.secretKey });
      }
    }
    const response: UnmaskResponse = { kind: "unmaskResponse", round: this.round, from: this.id, selfMaskShares, secretKeyShares };
    this.lastResponse = { survivors: key, response };
    return response;
  }
}
