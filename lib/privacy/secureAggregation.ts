/**
 * Secure aggregation by pairwise additive masking — a simplified version of Bonawitz et al. 2017,
 * "Practical Secure Aggregation for Privacy-Preserving Machine Learning" (CCS,
 * https://eprint.iacr.org/2017/281). The server learns the sum of the participants' vectors and,
 * with honest participants, nothing else about any single one.
 *
 * Protocol (one round):
 *  1. Every participant has an X25519 key pair (node:crypto) and publishes its public key.
 *  2. Each pair (i, j) agrees on a secret by Diffie–Hellman and derives a per-round seed with
 *     HKDF-SHA256 (salt = round, info = the two ids in order).
 *  3. Inputs are encoded in fixed point: x ↦ round(clamp(x, ±clipValue)·scale) as int32, stored
 *     mod 2³² (see FixedPointCodec: the sum of up to maxParticipants inputs cannot overflow int32,
 *     so the modular sum decodes exactly).
 *  4. Each seed is expanded with AES-256-CTR over zeros into a uniform mask in (Z/2³²)^d; the
 *     participant earlier in id order adds it, the later one subtracts it. Masked vectors are
 *     uniformly distributed to anyone without the seeds.
 *  5. The server adds the masked vectors mod 2³²: all pairwise masks cancel exactly.
 *  6. Dropouts after masking: the survivors' vectors still carry ±mask(s, d) for each dropped d.
 *     If at least `threshold` participants survived, each survivor reveals its seed with each
 *     dropped participant and the server removes those masks; otherwise the round fails with an
 *     error and nothing is decoded.
 *
 * Threat model, honestly: honest-but-curious server, participants that follow the protocol, an
 * authenticated channel for the public keys (no PKI here). Simplifications versus Bonawitz et al.:
 * there is no secret sharing of private keys and no self-mask, so (a) a server that lies about
 * who dropped — or receives a "dropped" participant's vector late — and collects the revealed pair
 * seeds can unmask that participant's input; (b) revealing needs the survivors online in step 6
 * (no t-of-n secret sharing). Keys come from the OS CSPRNG (not seeded): the *sum* is still
 * deterministic, because the masks cancel.
 */
import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject } from "node:crypto";

// ---------------------------------------------------------------------------------------------
// Fixed-point codec
// ---------------------------------------------------------------------------------------------

/** How floats are mapped to integers mod 2³² so that sums are exact. */
export interface FixedPointCodec {
  /** Units per 1.0 (resolution 1/scale). */
  readonly scale: number;
  /** Values are clamped to [−clipValue, clipValue] before encoding. */
  readonly clipValue: number;
  /** Most inputs whose sum is guaranteed not to overflow int32. */
  readonly maxParticipants: number;
}

/** Build a codec; throws if maxParticipants · clipValue · scale would overflow int32. */
export function createFixedPointCodec(options: { scale?: number; clipValue?: number; maxParticipants?: number } = {}): FixedPointCodec {
  const scale = options.scale ?? 2 ** 16;
  const clipValue = options.clipValue ?? 16;
  const maxParticipants = options.maxParticipants ?? 1024;
  if (!(Number.isFinite(scale) && scale > 0)) throw new Error(`createFixedPointCodec: scale must be > 0, got ${scale}`);
  if (!(Number.isFinite(clipValue) && clipValue > 0)) throw new Error(`createFixedPointCodec: clipValue must be > 0, got ${clipValue}`);
  if (!(Number.isInteger(maxParticipants) && maxParticipants >= 1)) {
    throw new Error(`createFixedPointCodec: maxParticipants must be an integer ≥ 1, got ${maxParticipants}`);
  }
  const worst = maxParticipants * Math.round(clipValue * scale);
  if (worst >= 2 ** 31) {
    throw new Error(
      `createFixedPointCodec: maxParticipants·clipValue·scale = ${worst} overflows int32 (must be < 2^31); lower one of them`,
    );
  }
  return { scale, clipValue, maxParticipants };
}

/** Encode values as fixed-point integers mod 2³² (two's complement). */
export function encodeFixedPoint(values: ArrayLike<number>, codec: FixedPointCodec): Uint32Array {
  const out = new Uint32Array(values.length);
  const c = codec.clipValue;
  for (let k = 0; k < values.length; k++) {
    const x = values[k];
    if (!Number.isFinite(x)) throw new Error(`encodeFixedPoint: value #${k} is not finite (${x})`);
    out[k] = Math.round(Math.max(-c, Math.min(c, x)) * codec.scale) >>> 0;
  }
  return out;
}

/** Decode a modular sum (or a single encoded vector) back to floats. */
export function decodeFixedPoint(sum: Uint32Array, codec: FixedPointCodec): Float64Array {
  const out = new Float64Array(sum.length);
  for (let k = 0; k < sum.length; k++) out[k] = (sum[k] | 0) / codec.scale;
  return out;
}

/** Element-wise (a + sign·b) mod 2³², in place in `a`. */
function addMod(a: Uint32Array, b: Uint32Array, sign: 1 | -1): void {
  for (let k = 0; k < a.length; k++) a[k] = (sign === 1 ? a[k] + b[k] : a[k] - b[k]) >>> 0;
}

/** The modular sum of encoded vectors (the "plain" sum that secure aggregation must reproduce). */
export function sumMod32(vectors: readonly Uint32Array[]): Uint32Array {
  if (vectors.length === 0) throw new Error("sumMod32: needs at least one vector");
  const out = Uint32Array.from(vectors[0]);
  for (let i = 1; i < vectors.length; i++) addMod(out, vectors[i], 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Keys, seeds, masks
// ---------------------------------------------------------------------------------------------

/** A public-key directory: participant id → DER (SPKI) X25519 public key. */
export type PublicKeyDirectory = ReadonlyMap<string, Buffer>;

/** Expand a 32-byte seed into `length` uniform uint32 words (AES-256-CTR keystream over zeros). */
export function expandMask(seed: Buffer, length: number): Uint32Array {
  if (seed.length !== 32) throw new Error(`expandMask: seed must be 32 bytes, got ${seed.length}`);
  const cipher = createCipheriv("aes-256-ctr", seed, Buffer.alloc(16));
  const bytes = Buffer.concat([cipher.update(Buffer.alloc(4 * length)), cipher.final()]);
  const out = new Uint32Array(length);
  for (let k = 0; k < length; k++) out[k] = bytes.readUInt32LE(4 * k);
  return out;
}

function pairInfo(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** One participant of the secure-aggregation protocol (holds its X25519 private key). */
export class SecAggParticipant {
  /** Participant id (ids order the pairs: the smaller id adds the mask). */
  readonly id: string;
  /** DER (SPKI) public key, to publish. */
  readonly publicKey: Buffer;
  private readonly privateKey: KeyObject;

  /** Generate a fresh X25519 key pair for `id`. */
  constructor(id: string) {
    if (typeof id !== "string" || id.length === 0 || id.includes("|")) {
      throw new Error(`SecAggParticipant: id must be a non-empty string without "|", got ${JSON.stringify(id)}`);
    }
    const { publicKey, privateKey } = generateKeyPairSync("x25519");
    this.id = id;
    this.privateKey = privateKey;
    this.publicKey = publicKey.export({ format: "der", type: "spki" });
  }

  /** The 32-byte seed shared with `peerId` for `round` (X25519 + HKDF-SHA256). */
  pairSeed(peerId: string, peerPublicKey: Buffer, round: number): Buffer {
    if (peerId === this.id) throw new Error(`SecAggParticipant ${this.id}: cannot pair with itself`);
    const secret = diffieHellman({
      privateKey: this.privateKey,
      publicKey: createPublicKey({ key: peerPublicKey, format: "der", type: "spki" }),
    });
    return Buffer.from(hkdfSync("sha256", secret, `fedtune-secagg-round-${round}`, `fedtune-secagg-pair:${pairInfo(this.id, peerId)}`, 32));
  }

  /** Mask an encoded input with every pairwise mask for `round` (peers = everyone else in the directory). */
  maskInput(round: number, encoded: Uint32Array, directory: PublicKeyDirectory): Uint32Array {
    if (!directory.has(this.id)) throw new Error(`SecAggParticipant ${this.id}: not in the public-key directory`);
    if (directory.size < 2) throw new Error(`SecAggParticipant ${this.id}: secure aggregation needs ≥ 2 participants, got ${directory.size}`);
    const out = Uint32Array.from(encoded);
    for (const [peerId, key] of directory) {
      if (peerId === this.id) continue;
      const mask = expandMask(this.pairSeed(peerId, key, round), encoded.length);
      addMod(out, mask, this.id < peerId ? 1 : -1);
    }
    return out;
  }

  /** Dropout recovery: reveal the pair seed shared with a participant the server reports as dropped. */
  revealSeedFor(droppedId: string, directory: PublicKeyDirectory, round: number): Buffer {
    const key = directory.get(droppedId);
    if (!key) throw new Error(`SecAggParticipant ${this.id}: unknown dropped participant "${droppedId}"`);
    return this.pairSeed(droppedId, key, round);
  }
}

/** Options for SecAggServer. */
export interface SecAggServerOptions {
  /** Round number (part of the seed derivation: masks never repeat across rounds). */
  readonly round: number;
  /** Everybody who was sent the directory and may have masked an input. */
  readonly directory: PublicKeyDirectory;
  /** Vector length. */
  readonly length: number;
  /** Fewest survivors with which the round may be completed (≥ 2). */
  readonly threshold: number;
}

/** The server side: adds masked vectors and removes the masks of dropped participants. */
export class SecAggServer {
  private readonly received = new Map<string, Uint32Array>();
  private readonly options: SecAggServerOptions;

  /** Start a round; validates the threshold against the directory. */
  constructor(options: SecAggServerOptions) {
    const n = options.directory.size;
    if (!(Number.isInteger(options.threshold) && options.threshold >= 2 && options.threshold <= n)) {
      throw new Error(`SecAggServer: threshold must be an integer in [2, ${n}] (participants in the directory), got ${options.threshold}`);
    }
    if (!(Number.isInteger(options.length) && options.length >= 0)) {
      throw new Error(`SecAggServer: length must be an integer ≥ 0, got ${options.length}`);
    }
    this.options = options;
  }

  /** Accept one masked vector. */
  receive(participantId: string, masked: Uint32Array): void {
    if (!this.options.directory.has(participantId)) throw new Error(`SecAggServer: "${participantId}" is not in the directory`);
    if (this.received.has(participantId)) throw new Error(`SecAggServer: "${participantId}" already sent its vector`);
    if (masked.length !== this.options.length) {
      throw new Error(`SecAggServer: "${participantId}" sent ${masked.length} values, expected ${this.options.length}`);
    }
    this.received.set(participantId, masked);
  }

  /** Ids that sent a vector, and ids that did not. */
  status(): { survivors: string[]; dropped: string[] } {
    const ids = [...this.options.directory.keys()];
    return { survivors: ids.filter((id) => this.received.has(id)), dropped: ids.filter((id) => !this.received.has(id)) };
  }

  /**
   * The modular sum of the survivors' encoded inputs. For each (survivor, dropped) pair, `reveal`
   * must return the survivor's pair seed (SecAggParticipant.revealSeedFor). Fails — before
   * asking for any seed — if fewer than `threshold` participants survived.
   */
  finish(reveal: (survivorId: string, droppedId: string) => Buffer): { sum: Uint32Array; survivors: string[]; dropped: string[] } {
    const { survivors, dropped } = this.status();
    if (survivors.length < this.options.threshold) {
      throw new Error(
        `SecAggServer: round ${this.options.round} failed: ${survivors.length} survivor(s) < threshold ${this.options.threshold} ` +
          `(dropped: ${dropped.join(", ") || "none"}); no seeds were requested and nothing was decoded`,
      );
    }
    const sum = sumMod32(survivors.map((id) => this.received.get(id) as Uint32Array));
    for (const s of survivors) {
      for (const d of dropped) {
        const mask = expandMask(reveal(s, d), this.options.length);
        // The survivor added the mask if its id is smaller, so undo with the opposite sign.
        addMod(sum, mask, s < d ? -1 : 1);
      }
    }
    return { sum, survivors, dropped };
  }
}

/** Result of a simulated secure-aggregation round. */
export interface SecureSumResult {
  /** Decoded sum of the survivors' (clamped, quantised) inputs. */
  readonly sum: Float64Array;
  /** The same sum as integers mod 2³² (exactly the plain fixed-point sum). */
  readonly encodedSum: Uint32Array;
  readonly survivors: string[];
  readonly dropped: string[];
}

/**
 * Run one whole round in-process (for simulations and tests): key setup, masking, optional
 * dropouts after masking (`dropAfterMasking`), recovery, decoding.
 */
export function simulateSecureSum(options: {
  readonly inputs: ReadonlyMap<string, ArrayLike<number>>;
  readonly round: number;
  readonly codec?: FixedPointCodec;
  readonly threshold?: number;
  readonly dropAfterMasking?: readonly string[];
}): SecureSumResult {
  const codec = options.codec ?? createFixedPointCodec();
  const ids = [...options.inputs.keys()];
  if (ids.length > codec.maxParticipants) {
    throw new Error(`simulateSecureSum: ${ids.length} participants exceed the codec's maxParticipants ${codec.maxParticipants}`);
  }
  const lengths = new Set(ids.map((id) => (options.inputs.get(id) as ArrayLike<number>).length));
  if (lengths.size !== 1) throw new Error(`simulateSecureSum: inputs have different lengths (${[...lengths].join(", ")})`);
  const length = [...lengths][0];
  const parts = new Map(ids.map((id) => [id, new SecAggParticipant(id)] as const));
  const directory: PublicKeyDirectory = new Map(ids.map((id) => [id, (parts.get(id) as SecAggParticipant).publicKey] as const));
  const server = new SecAggServer({ round: options.round, directory, length, threshold: options.threshold ?? Math.max(2, Math.ceil((2 * ids.length) / 3)) });
  const dropped = new Set(options.dropAfterMasking ?? []);
  for (const d of dropped) if (!parts.has(d)) throw new Error(`simulateSecureSum: dropAfterMasking names unknown participant "${d}"`);
  for (const id of ids) {
    const p = parts.get(id) as SecAggParticipant;
    const masked = p.maskInput(options.round, encodeFixedPoint(options.inputs.get(id) as ArrayLike<number>, codec), directory);
    if (!dropped.has(id)) server.receive(id, masked);
  }
  const out = server.finish((s, d) => (parts.get(s) as SecAggParticipant).revealSeedFor(d, directory, options.round));
  return { sum: decodeFixedPoint(out.sum, codec), encodedSum: out.sum, survivors: out.survivors, dropped: out.dropped };
}
