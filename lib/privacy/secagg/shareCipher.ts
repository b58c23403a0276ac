/**
 * Authenticated encryption of the Shamir shares one participant sends another through the server
 * (AES-256-GCM, node:crypto). The additional authenticated data is the round and the sender and
 * recipient ids, and the key is derived for that round and direction (keys.ts), so a share that is
 * altered, replayed from another round, or forwarded to or attributed to someone else fails to
 * decrypt — and the error names the round, the sender and the recipient.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { RandomSource } from "./random";
import { SecAggError } from "./errors";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Bytes a ciphertext adds to its plaintext (nonce + tag). */
export const SHARE_CIPHER_OVERHEAD = NONCE_BYTES + TAG_BYTES;

function aad(round: number, from: string, to: string): Buffer {
  return Buffer.from(JSON.stringify(["fedtune-secagg-shares", round, from, to]), "utf8");
}

/** Encrypt `plaintext` from `from` to `to` for `round`: nonce ‖ ciphertext ‖ tag. */
export function encryptShare(key: Buffer, round: number, from: string, to: string, plaintext: Buffer, random: RandomSource): Buffer {
  const nonce = random(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad(round, from, to));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Decrypt and authenticate a share; throws an error naming round, sender and recipient if it does not verify. */
export function decryptShare(key: Buffer, round: number, from: string, to: string, ciphertext: Uint8Array): Buffer {
  const where = `share from "${from}" to "${to}" in round ${round}`;
  if (ciphertext.length < SHARE_CIPHER_OVERHEAD) throw new SecAggError("rejected", `${where} is truncated (${ciphertext.length} bytes)`, from);
  const c = Buffer.from(ciphertext);
  const decipher = createDecipheriv("aes-256-gcm", key, c.subarray(0, NONCE_BYTES));
  decipher.setAAD(aad(round, from, to));
  decipher.setAuthTag(c.subarray(c.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(c.subarray(NONCE_BYTES, c.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SecAggError(
      "rejected",
      `${where} failed authentication: it was tampered with, replayed from another round, or is not from "${from}" to "${to}"`,
      from,
    );
  }
}
