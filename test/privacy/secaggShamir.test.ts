import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPrimeSync } from "node:crypto";
import { SHAMIR_PRIME, SHARE_BYTES, lagrangeAtZero, seededRandom, shamirCombine, shamirSplit } from "../../lib/privacy";
import { Rng } from "../../lib/util/rng";

const big = (b: Uint8Array): bigint => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

function pick<T>(rng: Rng, items: readonly T[], k: number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

test("the field: p = 2^256 + 297 is prime and holds every 32-byte secret", () => {
  assert.equal(SHAMIR_PRIME, (1n << 256n) + 297n);
  assert.ok(checkPrimeSync(SHAMIR_PRIME, { checks: 32 }), "2^256 + 297 is not prime");
  for (let k = 1n; k < 297n; k += 2n) assert.equal(checkPrimeSync((1n << 256n) + k), false, `2^256+${k}`);
});

test("any t of n shares reconstruct the secret, for many (t, n) and random subsets", () => {
  const rng = new Rng(18);
  const random = seededRandom("shamir-any-t");
  for (const [t, n] of [[1, 1], [2, 2], [2, 3], [3, 5], [5, 5], [7, 12], [34, 50]]) {
    const secret = random(32);
    const indices = Array.from({ length: n }, (_v, i) => i + 1);
    const shares = shamirSplit(secret, t, indices, random).map((value, i) => ({ index: indices[i], value }));
    assert.ok(shares.every((s) => s.value.length === SHARE_BYTES), "share length");
    for (let trial = 0; trial < 5; trial++) {
      const subset = pick(rng, shares, t + rng.int(n - t + 1));
      assert.deepEqual(shamirCombine(subset, t), secret, `t=${t} n=${n} subset ${subset.map((s) => s.index)}`);
    }
  }
  // Non-consecutive, large indices work too; the all-ones and all-zeros secrets too.
  for (const secret of [Buffer.alloc(32, 0xff), Buffer.alloc(32)]) {
    const idx = [5, 99, 4_000_000_000, 17];
    const s = shamirSplit(secret, 3, idx, random).map((value, i) => ({ index: idx[i], value }));
    assert.deepEqual(shamirCombine([s[3], s[0], s[2]], 3), secret);
  }
});

test("fewer than t shares: refused, and consistent with every possible secret", () => {
  const random = seededRandom("shamir-below-t");
  const secret = random(32);
  const idx = [1, 2, 3, 4, 5];
  const shares = shamirSplit(secret, 4, idx, random).map((value, i) => ({ index: idx[i], value }));
  assert.throws(() => shamirCombine(shares.slice(0, 3), 4, "test secret"), /shamirCombine\(test secret\): needs 4 shares, got 3/);
  // Perfect secrecy, by construction: for ANY other secret s', the 3 shares plus (0, s') define a
  // degree-3 polynomial; its value at x = 4 is a 4th share with which the 3 real ones give s'.
  for (const other of [Buffer.alloc(32), Buffer.alloc(32, 0x5a), random(32)]) {
    const xs = [0, 1, 2, 3];
    const ys = [big(other), ...shares.slice(0, 3).map((s) => big(s.value))];
    // Lagrange evaluation at x = 4: Σ yᵢ Π_{j≠i} (4 − xⱼ)/(xᵢ − xⱼ).
    const at4 = ys.reduce((acc, yi, i) => {
      const shifted = xs.map((x) => x - 4); // λ at 0 of the shifted points = value at 4
      return (acc + yi * lagrangeAtZeroSigned(shifted)[i]) % SHAMIR_PRIME;
    }, 0n);
    const fake = { index: 4, value: Buffer.from(at4.toString(16).padStart(2 * SHARE_BYTES, "0"), "hex") };
    assert.deepEqual(shamirCombine([...shares.slice(0, 3), fake], 4), other);
  }
});

/** Lagrange coefficients at 0 for points that may be ≤ 0 (lagrangeAtZero takes holder indices ≥ 1). */
function lagrangeAtZeroSigned(xs: readonly number[]): bigint[] {
  const p = SHAMIR_PRIME;
  const m = (a: bigint): bigint => ((a % p) + p) % p;
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    let x = m(b);
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * x) % p;
      x = (x * x) % p;
    }
    return r;
  };
  return xs.map((xi, i) => {
    let num = 1n;
    let den = 1n;
    xs.forEach((xj, j) => {
      if (j === i) return;
      num = m(num * BigInt(xj));
      den = m(den * BigInt(xj - xi));
    });
    return m(num * pow(den, p - 2n));
  });
}

test("lagrangeAtZero against a hand computation: points 1, 2, 3 → 3, −3, 1", () => {
  const [a, b, c] = lagrangeAtZero([1, 2, 3]);
  assert.equal(a, 3n);
  assert.equal(b, SHAMIR_PRIME - 3n);
  assert.equal(c, 1n);
});

test("shares look random: uniform bytes, unrelated to the secret, fresh per split", () => {
  const random = seededRandom("shamir-uniform");
  const zero = Buffer.alloc(32);
  const counts = new Array<number>(256).fill(0);
  let total = 0;
  const idx = Array.from({ length: 40 }, (_v, i) => i + 1);
  for (let rep = 0; rep < 60; rep++) {
    for (const s of shamirSplit(zero, 3, idx, random)) {
      // Byte 0 is 0 or 1 (values < p < 2^257); bytes 1..32 are uniform.
      for (let k = 1; k < SHARE_BYTES; k++) counts[s[k]]++;
      total += SHARE_BYTES - 1;
    }
  }
  const e = total / 256;
  const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 400, `chi2 = ${chi2} over 255 dof`);
  // Two splits of the same secret share nothing.
  const a = shamirSplit(zero, 2, [1, 2], random);
  const b = shamirSplit(zero, 2, [1, 2], random);
  assert.notDeepEqual(a[0], b[0]);
  // t = 1 is the degenerate case: every share is the secret itself.
  assert.equal(big(shamirSplit(Buffer.alloc(32, 7), 1, [1, 2], random)[1]), big(Buffer.alloc(32, 7)));
});

test("bad arguments are named", () => {
  const random = seededRandom(1);
  assert.throws(() => shamirSplit(Buffer.alloc(31), 2, [1, 2], random), /shamirSplit: secret must be 32 bytes, got 31/);
  assert.throws(() => shamirSplit(Buffer.alloc(32), 3, [1, 2], random), /threshold must be an integer in \[1, 2\]/);
  assert.throws(() => shamirSplit(Buffer.alloc(32), 2, [1, 1], random), /share index 1 appears twice/);
  assert.throws(() => shamirSplit(Buffer.alloc(32), 2, [0, 1], random), /share index must be an integer in \[1, 2\^32\), got 0/);
  const s = shamirSplit(Buffer.alloc(32), 2, [1, 2], random);
  assert.throws(() => shamirCombine([{ index: 1, value: s[0] }, { index: 1, value: s[1] }], 2), /share index 1 appears twice/);
  assert.throws(() => shamirCombine([{ index: 1, value: s[0].subarray(1) }, { index: 2, value: s[1] }], 2), /share 1 has 32 bytes, expected 33/);
  assert.throws(() => shamirCombine([{ index: 1, value: Buffer.alloc(33, 0xff) }, { index: 2, value: s[1] }], 2), /share 1 is not a field element/);
});
