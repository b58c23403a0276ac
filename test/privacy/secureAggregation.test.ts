import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SecAggParticipant,
  SecAggServer,
  createFixedPointCodec,
  decodeFixedPoint,
  encodeFixedPoint,
  simulateSecureSum,
  sumMod32,
} from "../../lib/privacy";
import { Rng } from "../../lib/util/rng";

const rng = new Rng(2024);
const d = 4096;
const ids = ["alice", "bob", "carol", "dave", "erin"];
const inputs = new Map(ids.map((id) => [id, Float32Array.from({ length: d }, () => 0.5 * rng.normal())] as const));
const codec = createFixedPointCodec({ scale: 2 ** 16, clipValue: 16, maxParticipants: 64 });

test("masks cancel exactly: the secure sum equals the plain fixed-point sum", () => {
  const plain = sumMod32(ids.map((id) => encodeFixedPoint(inputs.get(id) as Float32Array, codec)));
  const res = simulateSecureSum({ inputs, round: 1, codec });
  assert.deepEqual(res.encodedSum, plain);
  assert.deepEqual(res.dropped, []);
  // And the decoded sum is the float sum within n·0.5/scale (rounding of each input).
  for (let k = 0; k < d; k++) {
    const f = ids.reduce((a, id) => a + (inputs.get(id) as Float32Array)[k], 0);
    assert.ok(Math.abs(res.sum[k] - f) <= (ids.length * 0.5) / codec.scale + 1e-12);
  }
});

test("a single masked update looks like noise: uniform bytes, no correlation with the input", () => {
  const parts = ids.map((id) => new SecAggParticipant(id));
  const directory = new Map(parts.map((p) => [p.id, p.publicKey] as const));
  const x = inputs.get("bob") as Float32Array;
  const masked = parts[1].maskInput(1, encodeFixedPoint(x, codec), directory);
  // Chi-square of the 4·d bytes over 256 bins (255 dof: mean 255, sd ≈ 22.6); 400 is > 6 sd.
  const counts = new Array<number>(256).fill(0);
  const bytes = new Uint8Array(masked.buffer);
  for (const b of bytes) counts[b]++;
  const e = bytes.length / 256;
  const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 400, `chi2 = ${chi2}`);
  // Pearson correlation between the input and the masked words read as signed integers.
  const y = Array.from(masked, (w) => w | 0);
  const mx = x.reduce((a, b) => a + b, 0) / d;
  const my = y.reduce((a, b) => a + b, 0) / d;
  let sxy = 0, sxx = 0, syy = 0;
  for (let k = 0; k < d; k++) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) ** 2;
    syy += (y[k] - my) ** 2;
  }
  const r = sxy / Math.sqrt(sxx * syy);
  assert.ok(Math.abs(r) < 0.08, `r = ${r}`); // ≈ 5 sd of r under independence (1/√d ≈ 0.016)
  // Decoding the masked vector alone gives garbage far from the input.
  const alone = decodeFixedPoint(masked, codec);
  assert.ok(Math.abs(alone[0] - x[0]) > 1e-3 || Math.abs(alone[1] - x[1]) > 1e-3);
});

test("dropout after masking: survivors reveal pair seeds and the server recovers their sum", () => {
  const res = simulateSecureSum({ inputs, round: 7, codec, threshold: 3, dropAfterMasking: ["carol"] });
  assert.deepEqual(res.dropped, ["carol"]);
  const survivors = ids.filter((id) => id !== "carol");
  assert.deepEqual(res.survivors, survivors);
  assert.deepEqual(res.encodedSum, sumMod32(survivors.map((id) => encodeFixedPoint(inputs.get(id) as Float32Array, codec))));
  const two = simulateSecureSum({ inputs, round: 8, codec, threshold: 3, dropAfterMasking: ["alice", "erin"] });
  assert.deepEqual(two.encodedSum, sumMod32(["bob", "carol", "dave"].map((id) => encodeFixedPoint(inputs.get(id) as Float32Array, codec))));
});

test("below threshold the round fails safely, before any seed is revealed", () => {
  const parts = ids.map((id) => new SecAggParticipant(id));
  const directory = new Map(parts.map((p) => [p.id, p.publicKey] as const));
  const server = new SecAggServer({ round: 2, directory, length: d, threshold: 4 });
  for (const p of parts.slice(0, 3)) server.receive(p.id, p.maskInput(2, encodeFixedPoint(inputs.get(p.id) as Float32Array, codec), directory));
  let asked = 0;
  assert.throws(
    () => server.finish(() => {
      asked++;
      return Buffer.alloc(32);
    }),
    /round 2 failed: 3 survivor\(s\) < threshold 4 \(dropped: dave, erin\)/,
  );
  assert.equal(asked, 0);
  assert.throws(() => new SecAggServer({ round: 1, directory, length: d, threshold: 1 }), /threshold must be an integer in \[2, 5\]/);
  assert.throws(() => createFixedPointCodec({ scale: 2 ** 20, clipValue: 16, maxParticipants: 1024 }), /overflows int32/);
  assert.throws(() => server.receive("mallory", new Uint32Array(d)), /"mallory" is not in the directory/);
});

test("pair seeds agree on both sides and differ between rounds", () => {
  const a = new SecAggParticipant("a");
  const b = new SecAggParticipant("b");
  assert.deepEqual(a.pairSeed("b", b.publicKey, 1), b.pairSeed("a", a.publicKey, 1));
  assert.notDeepEqual(a.pairSeed("b", b.publicKey, 1), a.pairSeed("b", b.publicKey, 2));
});
