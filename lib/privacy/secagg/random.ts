/**
 * Where secure aggregation's secrets come from: key pairs, self-mask seeds, Shamir coefficients and
 * AES-GCM nonces all draw bytes from a `RandomSource`. A deployment uses the OS CSPRNG
 * (`osRandom`); a simulation may use `seededRandom(seed)`, an AES-256-CTR keystream keyed by
 * SHA-256 of the seed, so that a seeded run repeats byte for byte (it is only as secret as the seed).
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";

/** A source of uniformly random bytes: returns `length` fresh bytes per call. */
export type RandomSource = (length: number) => Buffer;

/** The operating system's CSPRNG (node:crypto randomBytes). */
export const osRandom: RandomSource = (length) => randomBytes(length);

/** A deterministic stream of random-looking bytes from `seed` (AES-256-CTR over zeros). */
export function seededRandom(seed: number | string): RandomSource {
  if (typeof seed === "number" && !Number.isFinite(seed)) throw new Error(`seededRandom: seed must be finite, got ${seed}`);
  const key = createHash("sha256").update(`fedtune-secagg-random:${String(seed)}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (length) => {
    if (!(Number.isInteger(length) && length >= 0)) throw new Error(`RandomSource: length must be an integer ≥ 0, got ${length}`);
    return cipher.update(Buffer.alloc(length));
  };
}
