import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend";
import { buildMlp, maxAbsDifference, Trainer, weightsEqual } from "../../lib/model/index";
import { createParticipants, FedAvg, FedMedian, FedPer, Federation, FedProx, runFederation, serverSeries, type FederationOptions, type HistoryRow, type Strategy } from "../../lib/federation/index";
import { DpAdaptiveClipping, DpFixedClipping, SecureAggregation } from "../../lib/privacy/index";
import { secureWeightedMean } from "../../lib/privacy/secureRound";
import { smallData } from "./fixtures/smallRun";

function setup(strategy: Strategy = new FedAvg(), rounds = 1): { options: FederationOptions; trainer: Trainer } {
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  return {
    trainer,
    options: {
      participants: createParticipants(trainer, smallData(5)),
      strategy,
      rounds,
      fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.1 },
      seed: 5,
      evaluation: { personal: false },
    },
  };
}

const serverValue = (rows: readonly HistoryRow[], round: number, metric: string): number | undefined =>
  rows.find((r) => r.round === round && r.participant === "server" && r.metric === metric)?.value;

test("secure aggregation gives FedAvg's global model within fixed-point tolerance (and the server sees no update norms)", async () => {
  await initBackend({ log: false });
  const a = setup(new FedAvg(), 3);
  const plain = await runFederation(a.options);
  const b = setup(new FedAvg(), 3);
  const secure = await runFederation({ ...b.options, strategy: new SecureAggregation(new FedAvg(), { threshold: 3 }) });
  const d = maxAbsDifference(secure.globalWeights, plain.globalWeights);
  assert.ok(d < 1e-5 && d > 0, `max |secure − plain| after 3 rounds = ${d}`);
  assert.equal(serverValue(secure.rows, 1, "secureAggregation"), 1);
  assert.ok(!secure.rows.some((r) => r.metric === "updateNorm"), "no per-participant update norms under secure aggregation");
  assert.ok(plain.rows.some((r) => r.metric === "updateNorm"));
  a.trainer.dispose();
  b.trainer.dispose();
});

test("secureWeightedMean equals the weighted mean of the survivors, with and without dropouts after masking", () => {
  const current = [{ name: "w", shape: [3], values: Float32Array.from([0.5, -1, 2]) }];
  const mk = (id: string, n: number, vals: number[]) => ({ participantId: id, numExamples: n, metrics: {}, weights: [{ name: "w", shape: [3], values: Float32Array.from(vals) }] });
  const updates = [mk("a", 10, [1, 0, 2]), mk("b", 30, [0, -2, 3]), mk("c", 20, [0.5, -1, -1])];
  const mean = (ids: string[]): number[] => {
    const us = updates.filter((u) => ids.includes(u.participantId));
    const n = us.reduce((s, u) => s + u.numExamples, 0);
    return [0, 1, 2].map((k) => us.reduce((s, u) => s + (u.numExamples / n) * u.weights[0].values[k], 0));
  };
  const all = secureWeightedMean({ round: 4, current, updates, options: { threshold: 2 } });
  assert.deepEqual(all.survivors, ["a", "b", "c"]);
  mean(["a", "b", "c"]).forEach((m, k) => assert.ok(Math.abs(all.weights[0].values[k] - m) < 1e-6, `all: ${all.weights[0].values[k]} vs ${m}`));
  const drop = secureWeightedMean({ round: 4, current, updates, options: { threshold: 2 }, dropAfterMasking: new Set(["b"]) });
  assert.deepEqual(drop.dropped, ["b"]);
  assert.equal(drop.numExamples, 30);
  mean(["a", "c"]).forEach((m, k) => assert.ok(Math.abs(drop.weights[0].values[k] - m) < 1e-6, `a,c: ${drop.weights[0].values[k]} vs ${m}`));
  assert.throws(
    () => secureWeightedMean({ round: 4, current, updates, options: { threshold: 3 }, dropAfterMasking: new Set(["b"]) }),
    /round 4 failed: 2 survivor\(s\) < threshold 3 \(dropped: b\); no seeds were requested and nothing was decoded/,
  );
});

test("dropouts after masking are recovered in the loop: the result is FedAvg of the survivors; too few survivors fail safely", async () => {
  await initBackend({ log: false });
  const s = setup();
  const r = await runFederation({ ...s.options, strategy: new SecureAggregation(new FedAvg(), { threshold: 2, dropAfterMaskingProbability: 0.4 }) });
  const dropped = r.failures.filter((f) => /dropped out after masking/.test(f.reason)).map((f) => f.participantId);
  assert.ok(dropped.length >= 1 && dropped.length <= 3, `some dropped after masking: ${dropped.join(", ")}`);
  assert.equal(serverValue(r.rows, 1, "droppedAfterMasking"), dropped.length);
  assert.equal(serverValue(r.rows, 1, "succeeded"), 5 - dropped.length);
  const ref = setup();
  const survivors = ref.options.participants.filter((p) => !dropped.includes(p.id));
  const reference = await runFederation({ ...ref.options, participants: survivors });
  const d = maxAbsDifference(r.globalWeights, reference.globalWeights);
  assert.ok(d < 1e-5, `secure mean of survivors vs FedAvg of survivors: ${d}`);

  // Everybody drops after masking: "fail" throws and rolls back (with either protocol), "skip" keeps the model.
  const expected = {
    bonawitz: /round 1: SharedMaskServer round 1, masked input collection: only 0 of 5 participant\(s\) sent a masked input, fewer than the threshold 2.*nothing was decoded; the global model was kept/,
    pairwise: /round 1: SecAggServer: round 1 failed: 0 survivor\(s\) < threshold 2.*nothing was decoded; the global model was kept/,
  };
  for (const protocol of ["bonawitz", "pairwise"] as const) {
    const f = new Federation({ ...s.options, rounds: 2, strategy: new SecureAggregation(new FedAvg(), { protocol, threshold: 2, dropAfterMaskingProbability: 1 }) });
    await f.start();
    const w0 = f.globalWeights;
    await assert.rejects(f.runRound(), expected[protocol]);
    assert.equal(f.round, 0);
    assert.equal(f.globalWeights, w0);
  }
  const g = new Federation({ ...s.options, strategy: new SecureAggregation(new FedAvg(), { threshold: 2, dropAfterMaskingProbability: 1 }), onTooFewUpdates: "skip" });
  await g.start();
  const g0 = g.globalWeights;
  const rec = await g.runRound();
  assert.equal(rec.server.skipped, 1);
  assert.equal(g.globalWeights, g0, "skip keeps the global model");
  s.trainer.dispose();
  ref.trainer.dispose();
});

test("secure aggregation refuses strategies that are not a weighted mean, and bad thresholds", () => {
  const s = setup();
  const bad: Strategy[] = [new FedMedian(), new FedAvg({ weighted: false }), new DpFixedClipping(new FedAvg(), { noiseMultiplier: 1, clipNorm: 1, seed: 1 })];
  for (const strategy of bad) {
    assert.throws(() => new SecureAggregation(strategy, { threshold: 2 }), new RegExp(`SecureAggregation needs a weighted-mean strategy .*got ${strategy.name.replace(/[()]/g, ".")}`));
  }
  assert.doesNotThrow(() => new Federation({ ...s.options, strategy: new SecureAggregation(new FedProx({ mu: 0.1 }), { threshold: 2 }) }));
  assert.throws(() => new SecureAggregation(new FedAvg(), { threshold: 1 }), /threshold must be an integer ≥ 2, got 1/);
  assert.throws(() => new Federation({ ...s.options, strategy: new SecureAggregation(new FedAvg(), { threshold: 6 }) }), /threshold is 6 but there are only 5 participants/);
  assert.throws(() => new SecureAggregation(new FedAvg(), { threshold: 2, scale: 2 ** 30 }), /overflows int32/);
  s.trainer.dispose();
});

test("secure aggregation with FedPer (only shared tensors are encoded) and resume stays bitwise identical", async () => {
  await initBackend({ log: false });
  const run = async (split?: number) => {
    const s = setup(new FedAvg(), 3);
    const secure = () => new SecureAggregation(new FedAvg(), { threshold: 2, dropAfterMaskingProbability: 0.2 });
    const o = { ...s.options, personalisation: new FedPer(), strategy: secure() };
    if (split === undefined) {
      const r = await runFederation(o);
      s.trainer.dispose();
      return r;
    }
    const f = new Federation(o);
    await f.start();
    for (let i = 0; i < split; i++) await f.runRound();
    const snap = f.snapshot();
    s.trainer.dispose();
    const t = setup(new FedAvg(), 3);
    const r = await runFederation({ ...t.options, personalisation: new FedPer(), strategy: secure(), resumeFrom: snap });
    t.trainer.dispose();
    return r;
  };
  const a = await run();
  const b = await run(1);
  assert.deepEqual(b.rows, a.rows);
  assert.ok(weightsEqual(a.globalWeights, b.globalWeights));
  // The FedPer head (last two tensors) never moves: it is not shared.
  const s = setup();
  const w0 = s.trainer.getWeights();
  s.trainer.dispose();
  assert.ok(weightsEqual(a.globalWeights.slice(-2), w0.slice(-2)));
});

test("client-side DP: participants clip and report dpNormBit; equals server-side clipping without noise; ε rows per round", async () => {
  await initBackend({ log: false });
  const run = async (side: "client" | "server", noiseMultiplier: number) => {
    const s = setup(new DpFixedClipping(new FedAvg(), { noiseMultiplier, clipNorm: 0.05, seed: 1, side }), 3);
    const r = await runFederation(s.options);
    s.trainer.dispose();
    return r;
  };
  const client = await run("client", 0);
  const server = await run("server", 0);
  const d = maxAbsDifference(client.globalWeights, server.globalWeights);
  assert.ok(d < 1e-6, `client-side vs server-side clipping: ${d}`);
  const bits = client.rows.filter((r) => r.metric === "dpNormBit");
  assert.equal(bits.length, 15, "every fit row has its norm bit");
  assert.ok(bits.every((b) => b.value === 0), "C = 0.05 clips every update");
  assert.ok(!server.rows.some((r) => r.metric === "dpNormBit"), "server side: participants send unclipped updates");
  assert.equal(serverValue(client.rows, 1, "dpReclipped"), 0, "honest participants need no re-clipping");
  assert.equal(serverValue(client.rows, 2, "dpClippedFraction"), 1);

  const noisy = await run("client", 1);
  const eps = serverSeries(noisy.history, "dpEpsilon");
  assert.deepEqual(eps.round, [1, 2, 3]);
  assert.ok(eps.value[0] > 0 && eps.value[1] > eps.value[0] && eps.value[2] > eps.value[1], `ε grows: ${eps.value.join(", ")}`);
  assert.ok((serverValue(noisy.rows, 1, "dpNoiseStd") ?? 0) > 0, "noise was added");
});

test("adaptive clipping with side 'client' runs in the loop (needs the participants' norm bits) and moves the clip norm", async () => {
  await initBackend({ log: false });
  const strategy = new DpAdaptiveClipping(new FedAvg(), { noiseMultiplier: 0.5, seed: 2, side: "client", initialClipNorm: 0.01, clippedCountStddev: 1 });
  const s = setup(strategy, 4);
  const r = await runFederation(s.options);
  const c = serverSeries(r.history, "dpClipNorm").value;
  assert.equal(c.length, 4);
  assert.ok(c[3] > c[0], `clip norm grows from a too-small start: ${c.join(", ")}`);
  assert.equal(serverSeries(r.history, "dpEpsilon").value[3], strategy.privacySpent().epsilon);
  s.trainer.dispose();
});
