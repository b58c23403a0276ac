import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SecAggError,
  SharedMaskClient,
  SharedMaskServer,
  X25519Key,
  applyMask,
  createFixedPointCodec,
  decodeFixedPoint,
  encodeFixedPoint,
  pairMaskSeed,
  pairSign,
  runSecAggRound,
  seededRandom,
  shamirCombine,
  sumMod32,
  wireBytes,
  SECAGG_STEPS,
} from "../../lib/privacy";
import type { DropoutPlan, ForwardedShares, MaskedInput, UnmaskResponse } from "../../lib/privacy";
import { weightedAverage } from "../../lib/federation/aggregate";
import { Rng } from "../../lib/util/rng";

const SCALE = 2 ** 22;
const codec = createFixedPointCodec({ scale: SCALE, clipValue: 16, maxParticipants: 1 });

function randomInputs(rng: Rng, n: number, d: number): { inputs: Map<string, Float32Array>; weights: Map<string, number> } {
  const ids = Array.from({ length: n }, (_v, i) => `p${String(i).padStart(2, "0")}`);
  return {
    inputs: new Map(ids.map((id) => [id, Float32Array.from({ length: d }, () => 0.5 * rng.normal())] as const)),
    weights: new Map(ids.map((id) => [id, 1 + rng.int(100)] as const)),
  };
}

/** Random dropouts at every step, leaving at least t participants to answer the unmask request. */
function randomDropouts(rng: Rng, ids: readonly string[], t: number): DropoutPlan {
  const order = ids.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let budget = ids.length - t;
  const plan: Record<string, string[]> = {};
  for (const step of SECAGG_STEPS) {
    const k = budget > 0 ? Math.min(budget, 1 + rng.int(Math.max(1, Math.floor(budget / 2)))) : 0;
    plan[step] = order.splice(0, k);
    budget -= k;
  }
  return plan;
}

test("the secure mean equals plain FedAvg to the fixed-point resolution, n = 3…50, random dropouts at every step", () => {
  const rng = new Rng(1803);
  const d = 37;
  // Every n up to 10, then a geometric sample up to 50 (a round costs O(n²) key agreements).
  for (const n of [3, 4, 5, 6, 7, 8, 9, 10, 13, 17, 23, 31, 40, 50]) {
    const { inputs, weights } = randomInputs(rng, n, d);
    const ids = [...inputs.keys()];
    const t = Math.max(2, Math.floor(n / 2) + 1);
    const dropouts = randomDropouts(rng, ids, t);
    const r = runSecAggRound({ round: n, inputs, weights, threshold: t, dropouts, seed: 7 * n });
    const gone = new Set([...(dropouts.advertiseKeys ?? []), ...(dropouts.shareKeys ?? []), ...(dropouts.maskedInput ?? [])]);
    const survivors = ids.filter((id) => !gone.has(id));
    assert.deepEqual(r.survivors, survivors, `n=${n}`);
    assert.deepEqual(r.dropped.unmasking.sort(), [...(dropouts.unmasking ?? [])].sort());
    // Exactly the plain fixed-point sum of the survivors' encoded, weighted inputs.
    const total = ids.reduce((s, id) => s + (weights.get(id) as number), 0);
    const plain = sumMod32(
      survivors.map((id) => encodeFixedPoint(Float64Array.from(inputs.get(id) as Float32Array, (x) => ((weights.get(id) as number) / total) * x), codec)),
    );
    assert.deepEqual(r.encodedSum, plain, `n=${n}: encoded sum`);
    // And FedAvg (float32 weightedAverage of the survivors) to the resolution the result states.
    const fedavg = weightedAverage(
      survivors.map((id) => ({ participantId: id, numExamples: weights.get(id) as number, weights: [{ name: "x", shape: [d], values: inputs.get(id) as Float32Array }] })),
    )[0].values;
    const bound = (survivors.length * 0.5) / SCALE / (survivors.reduce((s, id) => s + (weights.get(id) as number), 0) / total);
    assert.ok(Math.abs(r.resolution - bound) < 1e-15, `resolution ${r.resolution} vs ${bound}`);
    for (let k = 0; k < d; k++) {
      assert.ok(Math.abs(r.mean[k] - fedavg[k]) <= bound + 2 ** -23 * Math.abs(fedavg[k]), `n=${n} k=${k}: ${r.mean[k]} vs ${fedavg[k]} (bound ${bound})`);
    }
  }
});

test("seeded rounds repeat byte for byte; another seed gives other masks and the same sum", () => {
  const { inputs, weights } = randomInputs(new Rng(5), 6, 16);
  const plan = { shareKeys: ["p01"], maskedInput: ["p04"], unmasking: ["p02"] };
  const a = runSecAggRound({ round: 3, inputs, weights, threshold: 3, dropouts: plan, seed: 11 });
  const b = runSecAggRound({ round: 3, inputs, weights, threshold: 3, dropouts: plan, seed: 11 });
  const c = runSecAggRound({ round: 3, inputs, weights, threshold: 3, dropouts: plan, seed: 12 });
  assert.deepEqual(a.mean, b.mean);
  assert.deepEqual([...a.bytes.participants], [...b.bytes.participants]);
  assert.deepEqual(a.encodedSum, c.encodedSum);
  // Same seed → same first client message; other seed → other keys.
  const m = (seed: number) => new SharedMaskClient({ id: "p00", round: 3, threshold: 3, random: seededRandom(`${seed}:3:p00`) }).advertiseKeys();
  assert.deepEqual(m(11), m(11));
  assert.notDeepEqual(m(11).maskingKey, m(12).maskingKey);
});

/** A hand-driven round: clients with seeded randomness, the server, and every message kept. */
function setup(n: number, t: number, d: number, round = 1, seed = "manual") {
  const ids = Array.from({ length: n }, (_v, i) => ["alice", "bob", "carol", "dave", "erin", "frank", "grace"][i]);
  const rng = new Rng(42);
  const x = new Map(ids.map((id) => [id, Float64Array.from({ length: d }, () => 0.25 * rng.normal())] as const));
  const clients = new Map(ids.map((id) => [id, new SharedMaskClient({ id, round, threshold: t, random: seededRandom(`${seed}:${id}`) })] as const));
  const server = new SharedMaskServer({ round, threshold: t, length: d, participants: ids });
  for (const c of clients.values()) server.acceptAdvertisement(c.advertiseKeys());
  const directory = server.closeAdvertising();
  for (const c of clients.values()) server.acceptShares(c.shareKeys(directory));
  const forwarded = new Map(server.closeSharing().map((f) => [f.to, f] as const));
  return { ids, x, clients, server, directory, forwarded, codec: createFixedPointCodec({ scale: 2 ** 16, clipValue: 16, maxParticipants: n }) };
}

test("a late participant stays hidden from an honest-but-curious server (it could unmask it with pairwise masks only)", () => {
  const { ids, x, clients, server, directory, forwarded, codec: c16 } = setup(5, 3, 2048);
  const late = "erin";
  const masked = new Map<string, MaskedInput>();
  for (const id of ids) masked.set(id, (clients.get(id) as SharedMaskClient).maskInput(forwarded.get(id) as ForwardedShares, encodeFixedPoint(x.get(id) as Float64Array, c16)));
  for (const id of ids) if (id !== late) server.acceptMaskedInput(masked.get(id) as MaskedInput);
  const request = server.closeMasking();
  assert.deepEqual(request.survivors, ["alice", "bob", "carol", "dave"]);
  const responses: UnmaskResponse[] = [];
  for (const id of ["alice", "bob", "carol"]) {
    const r = (clients.get(id) as SharedMaskClient).unmask(request);
    responses.push(r);
    server.acceptUnmaskResponse(r);
  }
  const result = server.finish();
  assert.deepEqual(result.droppedAfterSharing, [late]);
  const survivorsPlain = sumMod32(["alice", "bob", "carol", "dave"].map((id) => encodeFixedPoint(x.get(id) as Float64Array, c16)));
  assert.deepEqual(result.sum, survivorsPlain);
  // Erin's masked input now arrives; the server refuses it by name ...
  const y = masked.get(late) as MaskedInput;
  assert.throws(() => server.acceptMaskedInput(y), /"erin" arrived while the server is at step "done" \(too late or out of order\)/);
  // ... but a curious server keeps it and uses everything it legitimately holds: it reconstructs
  // erin's masking key from the revealed shares and strips every pairwise mask from y.
  const index = new Map(directory.participants.map((e, i) => [e.id, i + 1] as const));
  const keyShares = responses.map((r) => ({ index: index.get(r.from) as number, value: (r.secretKeyShares.find((s) => s.owner === late) as { share: Buffer }).share }));
  const erinKey = new X25519Key(shamirCombine(keyShares, 3));
  assert.deepEqual(erinKey.publicKey, directory.participants.find((e) => e.id === late)?.maskingKey);
  const stripped = Uint32Array.from(y.masked);
  for (const v of ids) {
    if (v === late) continue;
    const peer = directory.participants.find((e) => e.id === v)?.maskingKey as Buffer;
    applyMask(stripped, pairMaskSeed(erinKey, peer, 1, late, v), pairSign(late, v) === 1 ? -1 : 1);
  }
  // Nobody revealed a self-mask share of erin's, so what is left is x_erin + PRG(b_erin):
  assert.ok(responses.every((r) => r.selfMaskShares.every((s) => s.owner !== late)), "a self-mask share of erin was revealed");
  // (the test, not the server, knows erin's seeded random stream: keys, then b_erin)
  const stream = seededRandom(`manual:${late}`);
  stream(64);
  const selfMask = Uint32Array.from(encodeFixedPoint(x.get(late) as Float64Array, c16));
  applyMask(selfMask, stream(32), 1);
  assert.deepEqual(stripped, selfMask, "the server removed every pairwise mask: only the self-mask protects erin");
  // ... which leaves uniform noise, uncorrelated with erin's input.
  const guess = decodeFixedPoint(stripped, c16);
  const truth = x.get(late) as Float64Array;
  const close = guess.filter((g, k) => Math.abs(g - truth[k]) < 1e-3).length;
  assert.ok(close < 5, `${close} of ${truth.length} coordinates recovered`);
  const counts = new Array<number>(256).fill(0);
  for (const b of new Uint8Array(stripped.buffer)) counts[b]++;
  const e = (4 * stripped.length) / 256;
  const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 400, `chi2 = ${chi2} over 255 dof`);
  // Asking dave (who has not answered) to reveal b_erin gives one share — below t; asking one who
  // answered is refused by name.
  const lie = { kind: "unmaskRequest" as const, round: 1, survivors: ["alice", "bob", "carol", "dave", "erin"] };
  assert.throws(() => (clients.get("alice") as SharedMaskClient).unmask(lie), /refusing to reveal the self-mask share of "erin": this client already revealed its masking-key share/);
  const daveAnswer = (clients.get("dave") as SharedMaskClient).unmask(lie);
  assert.equal(daveAnswer.selfMaskShares.filter((s) => s.owner === late).length, 1);
  assert.throws(() => shamirCombine(daveAnswer.selfMaskShares.filter((s) => s.owner === late).map((s) => ({ index: 4, value: s.share })), 3), /needs 3 shares, got 1/);
});

test("contrast: today's pairwise-only protocol exposes the same late participant", async () => {
  const { SecAggParticipant, SecAggServer } = await import("../../lib/privacy/secureAggregation");
  const ids = ["alice", "bob", "carol", "dave", "erin"];
  const rng = new Rng(42);
  const c16 = createFixedPointCodec({ scale: 2 ** 16, clipValue: 16, maxParticipants: 5 });
  const x = new Map(ids.map((id) => [id, Float64Array.from({ length: 256 }, () => 0.25 * rng.normal())] as const));
  const parts = new Map(ids.map((id) => [id, new SecAggParticipant(id)] as const));
  const directory = new Map(ids.map((id) => [id, (parts.get(id) as InstanceType<typeof SecAggParticipant>).publicKey] as const));
  const server = new SecAggServer({ round: 1, directory, length: 256, threshold: 3 });
  const masked = new Map(ids.map((id) => [id, (parts.get(id) as InstanceType<typeof SecAggParticipant>).maskInput(1, encodeFixedPoint(x.get(id) as Float64Array, c16), directory)] as const));
  for (const id of ids.slice(0, 4)) server.receive(id, masked.get(id) as Uint32Array);
  const revealed = new Map<string, Buffer>();
  server.finish((s, dropped) => {
    const seed = (parts.get(s) as InstanceType<typeof SecAggParticipant>).revealSeedFor(dropped, directory, 1);
    revealed.set(s, seed);
    return seed;
  });
  const y = Uint32Array.from(masked.get("erin") as Uint32Array);
  for (const [s, seed] of revealed) applyMask(y, seed, pairSign("erin", s) === 1 ? -1 : 1);
  assert.deepEqual(y, encodeFixedPoint(x.get("erin") as Float64Array, c16), "the late input is fully exposed");
});

test("a survivor never reveals both shares of anyone; an identical repeated request gets the identical answer", () => {
  const { ids, x, clients, server, forwarded, codec: c16 } = setup(5, 3, 8);
  for (const id of ids) {
    const m = (clients.get(id) as SharedMaskClient).maskInput(forwarded.get(id) as ForwardedShares, encodeFixedPoint(x.get(id) as Float64Array, c16));
    if (id !== "carol") server.acceptMaskedInput(m);
  }
  const request = server.closeMasking();
  const bob = clients.get("bob") as SharedMaskClient;
  const first = bob.unmask(request);
  assert.deepEqual(first.secretKeyShares.map((s) => s.owner), ["carol"]);
  assert.deepEqual(first.selfMaskShares.map((s) => s.owner), ["alice", "bob", "dave", "erin"]);
  assert.equal(bob.unmask(request), first);
  // Flip: claim carol survived and dave dropped.
  assert.throws(
    () => bob.unmask({ ...request, survivors: ["alice", "bob", "carol", "erin"] }),
    (e: unknown) => e instanceof SecAggError && e.kind === "rejected" && e.participant === "carol" && /self-mask share of "carol"/.test(e.message),
  );
  // Claim dave dropped too: refusing his masking-key share, as his self-mask share is out.
  assert.throws(() => bob.unmask({ ...request, survivors: ["alice", "bob", "erin"] }), /refusing to reveal the masking-key share of "dave"/);
  // Not a survivor itself, unknown survivors, fewer than t survivors: refused.
  const erin = clients.get("erin") as SharedMaskClient;
  assert.throws(() => erin.unmask({ ...request, survivors: ["alice", "bob", "dave"] }), /this client is not among the survivors/);
  assert.throws(() => erin.unmask({ ...request, survivors: ["alice", "erin", "mallory"] }), /survivor "mallory" did not share keys/);
  assert.throws(
    () => erin.unmask({ ...request, survivors: ["alice", "erin"] }),
    (e: unknown) => e instanceof SecAggError && e.kind === "below-threshold" && /the survivor set \(U3\) has 2 participant\(s\), fewer than the threshold 3/.test(e.message),
  );
  // The server refuses a response that mixes both kinds for one owner.
  const forged = { ...first, from: "alice", secretKeyShares: [...first.secretKeyShares, { owner: "dave", share: first.selfMaskShares[0].share }] };
  assert.throws(() => server.acceptUnmaskResponse(forged), /"alice" did not send exactly one 33-byte masking-key share per dropped participant/);
});

test("tampered, replayed and misaddressed shares are rejected by name", () => {
  const { x, clients, forwarded, codec: c16 } = setup(4, 3, 8);
  const alice = clients.get("alice") as SharedMaskClient;
  const input = encodeFixedPoint(x.get("alice") as Float64Array, c16);
  const f = forwarded.get("alice") as ForwardedShares;
  const fromBob = f.shares.find((s) => s.from === "bob") as ForwardedShares["shares"][number];
  const withShare = (replace: ForwardedShares["shares"][number], extra = false): ForwardedShares => ({
    ...f,
    shares: extra ? [...f.shares, replace] : f.shares.map((s) => (s.from === replace.from && !extra ? replace : s)),
  });
  // One flipped bit in bob's ciphertext.
  const flipped = Buffer.from(fromBob.ciphertext);
  flipped[20] ^= 1;
  const tampered = (() => {
    try {
      alice.maskInput(withShare({ ...fromBob, ciphertext: flipped }), input);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(tampered instanceof SecAggError && tampered.kind === "rejected" && tampered.participant === "bob", String(tampered));
  assert.match((tampered as Error).message, /share from "bob" to "alice" in round 1 failed authentication: it was tampered with, replayed from another round/);
  // Carol's share to alice presented as bob's.
  const fromCarol = f.shares.find((s) => s.from === "carol") as ForwardedShares["shares"][number];
  assert.throws(() => alice.maskInput(withShare({ ...fromCarol, from: "bob" }), input), /share from "bob" to "alice" in round 1 failed authentication/);
  // Bob's share for carol forwarded to alice.
  const forCarol = (forwarded.get("carol") as ForwardedShares).shares.find((s) => s.from === "bob") as ForwardedShares["shares"][number];
  assert.throws(() => alice.maskInput(withShare({ ...forCarol, to: "alice" }), input), /share from "bob" to "alice" in round 1 failed authentication/);
  // The same share twice (replay within the round).
  assert.throws(() => alice.maskInput(withShare(fromBob, true), input), /a second share from "bob" \(replayed\)/);
  // A share from round 1 replayed in round 2 (same ids, the round-2 clients have fresh keys).
  const round2 = setup(4, 3, 8, 2, "manual-round-2");
  const alice2 = round2.clients.get("alice") as SharedMaskClient;
  const f2 = round2.forwarded.get("alice") as ForwardedShares;
  assert.throws(
    () => alice2.maskInput({ ...f2, shares: f2.shares.map((s) => (s.from === "bob" ? fromBob : s)) }, input),
    /share from "bob" to "alice" in round 2 failed authentication: it was tampered with, replayed from another round/,
  );
  // Even the same keys in another round would not verify: the round is in the key derivation and the AAD.
  // The untouched message still works (nothing above changed the client's state).
  assert.equal(alice.maskInput(f, input).masked.length, 8);
  // The server rejects replayed and misplaced messages by name.
  const { server } = setup(4, 3, 8, 5, "server-side");
  const late = new SharedMaskClient({ id: "alice", round: 5, threshold: 3, random: seededRandom(2) }).advertiseKeys();
  assert.throws(() => server.acceptAdvertisement(late), /"alice" arrived while the server is at step "masking"/);
  const fresh = new SharedMaskServer({ round: 6, threshold: 3, length: 8, participants: ["alice", "bob", "carol"] });
  const a = new SharedMaskClient({ id: "alice", round: 6, threshold: 3, random: seededRandom(1) }).advertiseKeys();
  fresh.acceptAdvertisement(a);
  assert.throws(() => fresh.acceptAdvertisement(a), /"alice" already sent this step's message \(replayed\)/);
  assert.throws(() => fresh.acceptAdvertisement({ ...a, round: 5 }), /message from "alice" is for round 5 \(replayed\?\)/);
  assert.throws(() => fresh.acceptAdvertisement({ ...a, from: "mallory" }), /"mallory" is not expected at this step/);
});

test("fewer than t participants at any step: a clear error, nothing decoded", () => {
  const { inputs } = randomInputs(new Rng(9), 5, 4);
  const cases: Array<[DropoutPlan, RegExp]> = [
    [{ advertiseKeys: ["p00", "p01", "p02"] }, /advertise keys: only 2 of 5 participant\(s\) advertised keys, fewer than the threshold 3 \(missing: p00, p01, p02\)/],
    [{ shareKeys: ["p03", "p04"], advertiseKeys: ["p00"] }, /share keys: only 2 of 4 participant\(s\) shared their keys, fewer than the threshold 3 \(missing: p03, p04\)/],
    [{ maskedInput: ["p01", "p02", "p03"] }, /masked input collection: only 2 of 5 participant\(s\) sent a masked input/],
    [{ shareKeys: ["p00"], unmasking: ["p01", "p02"] }, /unmasking: only 2 of 4 participant\(s\) answered the unmask request, fewer than the threshold 3 \(missing: p01, p02\); the round is abandoned and nothing was decoded/],
  ];
  for (const [dropouts, message] of cases) {
    assert.throws(
      () => runSecAggRound({ round: 4, inputs, threshold: 3, dropouts, seed: 1 }),
      (e: unknown) => e instanceof SecAggError && e.kind === "below-threshold" && message.test(e.message),
      JSON.stringify(dropouts),
    );
  }
  // At exactly t it succeeds.
  const ok = runSecAggRound({ round: 4, inputs, threshold: 3, dropouts: { shareKeys: ["p00"], unmasking: ["p01"] }, seed: 1 });
  assert.deepEqual(ok.survivors, ["p01", "p02", "p03", "p04"]);
  // Bad input is named.
  assert.throws(() => runSecAggRound({ round: 1, inputs, threshold: 6 }), /threshold must be an integer in \[2, 5\]/);
  assert.throws(() => runSecAggRound({ round: 1, inputs, dropouts: { unmasking: ["zoe"] } }), /dropouts.unmasking names unknown participant "zoe"/);
  assert.throws(() => runSecAggRound({ round: 1, inputs, dropouts: { shareKeys: ["p01"], unmasking: ["p01"] } }), /"p01" drops out at two steps/);
  const big = new Map(inputs);
  big.set("p03", Float32Array.from([0, 17, 0, 0]));
  assert.throws(() => runSecAggRound({ round: 1, inputs: big }), /"p03"'s value #1 = 17 is outside ±16/);
  assert.throws(() => runSecAggRound({ round: 1, inputs, weights: new Map([["p00", 1]]) }), /weight of "p01" must be a finite number ≥ 0, got undefined/);
});

test("bytes: every message is counted once on each side; the masked vector dominates for long inputs", () => {
  const { inputs } = randomInputs(new Rng(3), 10, 1000);
  const r = runSecAggRound({ round: 1, inputs, threshold: 6, seed: 2, dropouts: { maskedInput: ["p09"] } });
  const parts = [...r.bytes.participants.values()];
  assert.equal(parts.reduce((s, p) => s + p.sent, 0), r.bytes.server.received);
  assert.equal(parts.reduce((s, p) => s + p.received, 0), r.bytes.server.sent);
  const full = r.bytes.participants.get("p00") as { sent: number; received: number };
  // p00 sends: advertise (5+5+34+34) + 9 shares of 12+66+28 bytes + masked (5+5+4+4000) + unmask response.
  const advertise = wireBytes({ kind: "advertiseKeys", round: 1, from: "p00", encryptionKey: Buffer.alloc(32), maskingKey: Buffer.alloc(32) });
  assert.equal(advertise, 5 + 5 + 34 + 34);
  const response = 5 + 5 + 4 + 9 * (5 + 35) + 4 + 1 * (5 + 35);
  assert.equal(full.sent, advertise + (5 + 5 + 4 + 9 * (5 + 2 + 66 + 28)) + (5 + 5 + 4 + 4000) + response);
  const overhead = full.sent - (5 + 5 + 4 + 4000);
  assert.ok(overhead <= 150 * 9 + 200, `protocol overhead ${overhead} bytes for 9 peers`);
});
