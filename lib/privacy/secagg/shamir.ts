/**
 * Shamir t-of-n secret sharing over the prime field GF(p), p = 2²⁵⁶ + 297 (the smallest prime
 * above 2²⁵⁶, so any 32-byte secret is one field element). Shamir, "How to share a secret", CACM 1979.
 *
 * Written here rather than taken from npm, after looking (Dec 2026): `shamir-secret-sharing`
 * (privy-io, audited) and `shamirs-secret-sharing` share byte-wise over GF(2⁸), so at most 255
 * holders, and draw randomness internally (no seeded runs); `secrets.js-grempe` works over GF(2ᵇ)
 * on hex strings and is unmaintained. Bonawitz et al. share over a prime field with holder indices
 * 1…n for any n, and our tests need seeded coefficients; with BigInt the whole scheme is ~60 lines
 * (Horner evaluation, Lagrange interpolation at 0, one extended-Euclid inverse per share).
 *
 * A share is the polynomial's value at the holder's index x ∈ [1, 2³²), 33 bytes big-endian.
 */
import type { RandomSource } from "./random";

/** The field modulus p = 2²⁵⁶ + 297. */
export const SHAMIR_PRIME = (1n << 256n) + 297n;
/** Bytes of one share (values < p < 2²⁵⁷). */
export const SHARE_BYTES = 33;
/** Bytes of a secret (one field element below 2²⁵⁶). */
export const SECRET_BYTES = 32;

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`);
}

function toBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(2 * length, "0"), "hex");
}

function mod(a: bigint): bigint {
  const r = a % SHAMIR_PRIME;
  return r < 0n ? r + SHAMIR_PRIME : r;
}

/** a⁻¹ mod p by the extended Euclidean algorithm (a ≠ 0 mod p). */
function inverse(a: bigint): bigint {
  let [r0, r1] = [mod(a), SHAMIR_PRIME];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}

/** A uniform field element, by rejection sampling 257-bit strings. */
function randomElement(random: RandomSource): bigint {
  for (;;) {
    const bytes = random(SHARE_BYTES);
    bytes[0] &= 1;
    const v = toBigInt(bytes);
    if (v < SHAMIR_PRIME) return v;
  }
}

function checkIndex(x: number, owner: string): void {
  if (!(Number.isInteger(x) && x >= 1 && x < 2 ** 32)) throw new Error(`${owner}: share index must be an integer in [1, 2^32), got ${x}`);
}

/**
 * Split a 32-byte `secret` into shares for holders `indices` (distinct, ≥ 1) so that any
 * `threshold` of them reconstruct it and fewer reveal nothing. Returns one 33-byte share per index.
 */
export function shamirSplit(secret: Uint8Array, threshold: number, indices: readonly number[], random: RandomSource): Buffer[] {
  const owner = "shamirSplit";
  if (secret.length !== SECRET_BYTES) throw new Error(`${owner}: secret must be ${SECRET_BYTES} bytes, got ${secret.length}`);
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= indices.length)) {
    throw new Error(`${owner}: threshold must be an integer in [1, ${indices.length}] (number of holders), got ${threshold}`);
  }
  const seen = new Set<number>();
  for (const x of indices) {
    checkIndex(x, owner);
    if (seen.has(x)) throw new Error(`${owner}: share index ${x} appears twice`);
    seen.add(x);
  }
  const coefficients = [toBigInt(secret)];
  for (let k = 1; k < threshold; k++) coefficients.push(randomElement(random));
  return indices.map((x) => {
    const bx = BigInt(x);
    let y = 0n;
    for (let k = coefficients.length - 1; k >= 0; k--) y = (y * bx + coefficients[k]) % SHAMIR_PRIME;
    return toBytes(y, SHARE_BYTES);
  });
}

/** One share as held for reconstruction: the holder's index and the 33-byte value. */
export interface ShamirShare {
  readonly index: number;
  readonly value: Uint8Array;
}

/** Lagrange coefficients at 0 for the given distinct indices: secret = Σ λᵢ·yᵢ. */
export function lagrangeAtZero(indices: readonly number[]): bigint[] {
  return indices.map((xi, i) => {
    let num = 1n;
    let den = 1n;
    indices.forEach((xj, j) => {
      if (j === i) return;
      num = (num * BigInt(xj)) % SHAMIR_PRIME;
      den = mod(den * (BigInt(xj) - BigInt(xi)));
    });
    return (num * inverse(den)) % SHAMIR_PRIME;
  });
}

/**
 * Reconstruct a secret from at least `threshold` shares (the first `threshold` are used). Pass
 * `coefficients` = lagrangeAtZero(indices of those shares) to reuse them across secrets. Throws
 * with fewer shares, duplicate indices or malformed values. Wrong shares usually interpolate to
 * another 32-byte value: callers that can, check the result (the server compares a reconstructed
 * key with the public key its owner advertised).
 */
export function shamirCombine(shares: readonly ShamirShare[], threshold: number, what = "secret", coefficients?: readonly bigint[]): Buffer {
  const owner = `shamirCombine(${what})`;
  if (!(Number.isInteger(threshold) && threshold >= 1)) throw new Error(`${owner}: threshold must be an integer ≥ 1, got ${threshold}`);
  if (shares.length < threshold) {
    throw new Error(`${owner}: needs ${threshold} shares, got ${shares.length}; fewer than the threshold reveal nothing`);
  }
  const used = shares.slice(0, threshold);
  const indices = used.map((s) => s.index);
  const seen = new Set<number>();
  for (const s of used) {
    checkIndex(s.index, owner);
    if (seen.has(s.index)) throw new Error(`${owner}: share index ${s.index} appears twice`);
    seen.add(s.index);
    if (s.value.length !== SHARE_BYTES) throw new Error(`${owner}: share ${s.index} has ${s.value.length} bytes, expected ${SHARE_BYTES}`);
    if (toBigInt(s.value) >= SHAMIR_PRIME) throw new Error(`${owner}: share ${s.index} is not a field element`);
  }
  if (coefficients !== undefined && coefficients.length !== threshold) {
    throw new Error(`${owner}: got ${coefficients.length} Lagrange coefficients for ${threshold} shares`);
  }
  const lambdas = coefficients ?? lagrangeAtZero(indices);
  let secret = 0n;
  used.forEach((s, i) => {
    secret = (secret + lambdas[i] * toBigInt(s.value)) % SHAMIR_PRIME;
  });
  if (secret >= 1n << 256n) throw new Error(`${owner}: the shares are inconsistent (the interpolated value is not a ${SECRET_BYTES}-byte secret)`);
  return toBytes(secret, SECRET_BYTES);
}
