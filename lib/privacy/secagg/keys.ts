/**
 * Key agreement for secure aggregation: X25519 key pairs from a RandomSource (node:crypto, raw
 * 32-byte keys on the wire) and the HKDF-SHA256 derivations of Bonawitz et al.'s two uses of a
 * Diffie–Hellman secret — the pairwise mask seed s_{u,v} (from the masking keys) and the AES-GCM
 * key that encrypts u's shares for v (from the encryption keys). Every derivation binds the round
 * and the ids, so nothing is reused across rounds, pairs or directions.
 */
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, KeyObject } from "node:crypto";
import type { RandomSource } from "./random";

/** Bytes of a raw X25519 key (public or private). */
export const KEY_BYTES = 32;
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** An X25519 private key (raw bytes, as Shamir-shared) with its public key. */
export class X25519Key {
  /** Raw 32-byte private key. */
  readonly privateKey: Buffer;
  /** Raw 32-byte public key. */
  readonly publicKey: Buffer;
  private readonly keyObject: KeyObject;

  /** Wrap a raw 32-byte private key (e.g. one reconstructed from shares). */
  constructor(privateKey: Uint8Array) {
    if (privateKey.length !== KEY_BYTES) throw new Error(`X25519Key: private key must be ${KEY_BYTES} bytes, got ${privateKey.length}`);
    this.privateKey = Buffer.from(privateKey);
    this.keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, this.privateKey]), format: "der", type: "pkcs8" });
    this.publicKey = Buffer.from(createPublicKey(this.keyObject).export({ format: "jwk" }).x as string, "base64url");
  }

  /** A fresh key pair drawn from `random`. */
  static generate(random: RandomSource): X25519Key {
    return new X25519Key(random(KEY_BYTES));
  }

  /** The raw Diffie–Hellman secret with the owner of `peerPublicKey`. */
  agree(peerPublicKey: Uint8Array): Buffer {
    if (peerPublicKey.length !== KEY_BYTES) throw new Error(`X25519Key: public key must be ${KEY_BYTES} bytes, got ${peerPublicKey.length}`);
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(peerPublicKey).toString("base64url") }, format: "jwk" });
    return diffieHellman({ privateKey: this.keyObject, publicKey });
  }
}

function derive(secret: Buffer, round: number, info: unknown[]): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, `fedtune-secagg-bonawitz-round-${round}`, JSON.stringify(info), 32));
}

/** The 32-byte PRG seed of the pairwise mask between `a` and `b` (symmetric in a, b). */
export function pairMaskSeed(own: X25519Key, peerMaskingKey: Uint8Array, round: number, a: string, b: string): Buffer {
  return derive(own.agree(peerMaskingKey), round, ["mask", ...(a < b ? [a, b] : [b, a])]);
}

/** The 32-byte AES-256-GCM key for shares sent from `from` to `to` in `round` (one key per direction), from the pair's encryption-key agreement. */
export function shareEncryptionKey(agreement: Buffer, round: number, from: string, to: string): Buffer {
  return derive(agreement, round, ["shares", from, to]);
}
