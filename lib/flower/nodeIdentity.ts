/**
 * A SuperNode's identity: an EC P-384 key pair (as flwr generates) and the three signed metadata
 * entries every Fleet API call carries: the PEM public key, an ISO-8601 UTC timestamp, and an
 * ECDSA-SHA256 (DER) signature over that timestamp.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from "crypto";

/** Metadata keys checked by the SuperLink (flwr/common/constant.py). */
export const AUTH_METADATA_KEYS = {
  publicKey: "flwr-public-key-bin",
  timestamp: "flwr-timestamp",
  signature: "flwr-signature-bin",
} as const;

/** A key pair plus the PEM bytes the SuperLink compares byte for byte. */
export class NodeIdentity {
  /** PEM SubjectPublicKeyInfo with a trailing newline. */
  readonly publicKeyPem: Uint8Array;
  private readonly privateKey: KeyObject;

  private constructor(privateKey: KeyObject, publicKeyPem: string) {
    this.privateKey = privateKey;
    this.publicKeyPem = Buffer.from(publicKeyPem.endsWith("\n") ? publicKeyPem : `${publicKeyPem}\n`, "ascii");
  }

  /** A fresh P-384 key pair (a key may register only once per SuperLink, so one per connection). */
  static generate(): NodeIdentity {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    return new NodeIdentity(privateKey, publicKey.export({ type: "spki", format: "pem" }).toString());
  }

  /** An identity from a PEM private key (PKCS#8 or SEC1), e.g. a key whose public half an operator allow-listed. */
  static fromPrivateKeyPem(pem: string): NodeIdentity {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== "ec") throw new Error(`NodeIdentity: the private key must be an EC key, got ${privateKey.asymmetricKeyType}`);
    const publicKey = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
    return new NodeIdentity(privateKey, publicKey);
  }

  /** The three auth metadata entries for a call made at `now`. */
  authMetadata(now: Date = new Date()): { publicKey: Buffer; timestamp: string; signature: Buffer } {
    // Python's isoformat() style with an explicit +00:00 offset (a naive timestamp is refused).
    const timestamp = now.toISOString().replace("Z", "+00:00");
    const signature = sign("sha256", Buffer.from(timestamp, "ascii"), { key: this.privateKey, dsaEncoding: "der" });
    return { publicKey: Buffer.from(this.publicKeyPem), timestamp, signature };
  }
}
