/**
 * The messages of one secure-aggregation round (Bonawitz et al. 2017, Fig. 4, honest-but-curious
 * version without the consistency-check round), in the order they travel:
 *
 *   client → server  AdvertiseKeys     two public keys: c (encrypts shares) and s (pairwise masks)
 *   server → clients KeyDirectory      U1: everyone who advertised, sorted by id; index = position + 1
 *   client → server  ShareKeys         for every other v ∈ U1, Enc(c-key u→v, s_SK share ‖ b share)
 *   server → client  ForwardedShares   the ciphertexts addressed to that client from U2 (who shared)
 *   client → server  MaskedInput       y_u = x_u + PRG(b_u) + Σ_{v∈U2∖u} ±PRG(s_{u,v})  mod 2³²
 *   server → clients UnmaskRequest     U3: whose masked input arrived
 *   client → server  UnmaskResponse    for each v ∈ U2: b_v's share if v ∈ U3, else s_SK_v's share
 *
 * `wireBytes` is the size of each message in a plain length-prefixed binary encoding (1-byte kind,
 * 4-byte round, 2-byte length before each id and key, 4-byte counts and vector lengths): the bytes
 * the bench reports.
 */

/** Step 0, client → server: the client's two public keys for this round. */
export interface AdvertiseKeys {
  readonly kind: "advertiseKeys";
  readonly round: number;
  readonly from: string;
  /** Raw X25519 public key c_PK (agrees the keys that encrypt shares). */
  readonly encryptionKey: Buffer;
  /** Raw X25519 public key s_PK (agrees the pairwise mask seeds). */
  readonly maskingKey: Buffer;
}

/** One entry of the key directory. */
export interface DirectoryEntry {
  readonly id: string;
  readonly encryptionKey: Buffer;
  readonly maskingKey: Buffer;
}

/** Step 0 → 1, server → every client in U1: who takes part, sorted by id (Shamir index = position + 1). */
export interface KeyDirectory {
  readonly kind: "keyDirectory";
  readonly round: number;
  readonly participants: readonly DirectoryEntry[];
}

/** One encrypted pair of shares (the sender's s_SK share and b share for the recipient). */
export interface EncryptedShare {
  readonly from: string;
  readonly to: string;
  readonly ciphertext: Buffer;
}

/** Step 1, client → server: encrypted shares for every other member of U1. */
export interface ShareKeys {
  readonly kind: "shareKeys";
  readonly round: number;
  readonly from: string;
  readonly shares: readonly EncryptedShare[];
}

/** Step 1 → 2, server → a client in U2: the shares addressed to it by the other members of U2. */
export interface ForwardedShares {
  readonly kind: "forwardedShares";
  readonly round: number;
  readonly to: string;
  readonly shares: readonly EncryptedShare[];
}

/** Step 2, client → server: the masked, fixed-point input. */
export interface MaskedInput {
  readonly kind: "maskedInput";
  readonly round: number;
  readonly from: string;
  readonly masked: Uint32Array;
}

/** Step 2 → 3, server → every client in U3: the survivors, whose inputs are in the sum. */
export interface UnmaskRequest {
  readonly kind: "unmaskRequest";
  readonly round: number;
  readonly survivors: readonly string[];
}

/** One revealed share: the Shamir share, held by the responder, of `owner`'s secret. */
export interface RevealedShare {
  readonly owner: string;
  readonly share: Buffer;
}

/** Step 3, client → server: b shares of the survivors and s_SK shares of the dropped, never both for one owner. */
export interface UnmaskResponse {
  readonly kind: "unmaskResponse";
  readonly round: number;
  readonly from: string;
  readonly selfMaskShares: readonly RevealedShare[];
  readonly secretKeyShares: readonly RevealedShare[];
}

/** Any message of the protocol. */
export type SecAggMessage = AdvertiseKeys | KeyDirectory | ShareKeys | ForwardedShares | MaskedInput | UnmaskRequest | UnmaskResponse;

const HEADER = 1 + 4;
const text = (s: string): number => 2 + Buffer.byteLength(s, "utf8");
const bytes = (b: Uint8Array): number => 2 + b.length;
const COUNT = 4;

/** Size of `message` in bytes in a plain length-prefixed binary encoding. */
export function wireBytes(message: SecAggMessage): number {
  switch (message.kind) {
    case "advertiseKeys":
      return HEADER + text(message.from) + bytes(message.encryptionKey) + bytes(message.maskingKey);
    case "keyDirectory":
      return HEADER + COUNT + message.participants.reduce((s, p) => s + text(p.id) + bytes(p.encryptionKey) + bytes(p.maskingKey), 0);
    case "shareKeys":
      return HEADER + text(message.from) + COUNT + message.shares.reduce((s, e) => s + text(e.to) + bytes(e.ciphertext), 0);
    case "forwardedShares":
      return HEADER + text(message.to) + COUNT + message.shares.reduce((s, e) => s + text(e.from) + bytes(e.ciphertext), 0);
    case "maskedInput":
      return HEADER + text(message.from) + COUNT + 4 * message.masked.length;
    case "unmaskRequest":
      return HEADER + COUNT + message.survivors.reduce((s, id) => s + text(id), 0);
    case "unmaskResponse": {
      const shares = (list: readonly RevealedShare[]): number => COUNT + list.reduce((s, r) => s + text(r.owner) + bytes(r.share), 0);
      return HEADER + text(message.from) + shares(message.selfMaskShares) + shares(message.secretKeyShares);
    }
  }
}
