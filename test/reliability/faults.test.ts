import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { makeParticipants } from "../../lib/data/index";
import { buildMlp, nonFiniteWeights, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import {
  createParticipants,
  createStrategy,
  FedAvg,
  Federation,
  runFederation,
  sameInstructions,
  sampleDeviceProfiles,
  serverSeries,
  TooFewUpdatesError,
  type FederationOptions,
  type Strategy,
} from "../../lib/federation/index";
import { FAULT_KINDS, withFault, type FaultKind } from "../../lib/federation/faults";
import { smallData } from "./fixtures/smallRun";

function base(trainer: Trainer, n = 5): FederationOptions {
  return {
    participants: createParticipants(trainer, smallData(n)),
    strategy: new FedAvg(),
    rounds: 1,
    fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.1 },
    seed: 5,
    evaluation: { personal: false },
  };
}

const expected: Record<FaultKind, RegExp> = {
  throw: /^threw: injected fault: participant p4 crashed/,
  nan: /^update rejected: NaN or Inf in "hidden_1\/kernel"$/,
  infinity: /^update rejected: NaN or Inf in "head\/bias"$/,
  "missing-tensor": /^update rejected: update: participant "p\d" has 3 variables, expected 4 \(hidden_1\/kernel, hidden_1\/bias, .*\)$/,
  "extra-tensor": /^update rejected: update: participant "p\d" has 5 variables, expected 4 /,
  "wrong-shape": /^update rejected: update: participant "p\d" variable "hidden_1\/kernel" has shape \[48\], expected \[6,8\]$/,
  "zero-examples": /^update rejected: numExamples must be a positive integer, got 0$/,
  "negative-examples": /^update rejected: numExamples must be a positive integer, got -5$/,
  "fractional-examples": /^update rejected: numExamples must be a positive integer, got 2.5$/,
  slow: /^timed out \(local training took \d+\.\d\ds, timeout 3s; update discarded\)$/,
};

test("every injected fault is rejected, named and recorded; the global model equals FedAvg of the others, bitwise", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const w0 = trainer.getWeights();
  assert.equal(w0[w0.length - 1].name, "head/bias");
  // Reference: the same round with only the four healthy participants.
  const healthy = base(trainer);
  const reference = await runFederation({ ...healthy, participants: healthy.participants.slice(0, 4), initialWeights: w0 });
  for (const kind of FAULT_KINDS) {
    const o = base(trainer);
    // The timeout is real wall clock: 3 s leaves the healthy four (tens of ms each on an idle machine) room on a loaded one.
    const participants = [...o.participants.slice(0, 4), withFault(o.participants[4], { kind, delaySeconds: 4 })];
    const r = await runFederation({ ...o, participants, initialWeights: w0, timeoutSeconds: kind === "slow" ? 3 : undefined });
    assert.equal(r.failures.length, 1, `${kind}: one failure`);
    const f = r.failures[0];
    assert.equal(f.participantId, "p4");
    assert.equal(f.round, 1);
    assert.match(f.reason, expected[kind], kind);
    assert.deepEqual(nonFiniteWeights(r.globalWeights), [], `${kind}: global model finite`);
    assert.ok(weightsEqual(r.globalWeights, reference.globalWeights), `${kind}: global = FedAvg of the healthy four`);
    const failedRow = r.rows.find((x) => x.participant === "p4" && x.scope === "fit" && x.metric === "failed");
    assert.equal(failedRow?.value, 1, `${kind}: history row`);
    const server = (m: string): number | undefined => r.rows.find((x) => x.round === 1 && x.participant === "server" && x.metric === m)?.value;
    assert.equal(server("succeeded"), 4);
    assert.equal(server("failed"), 1);
  }
  trainer.dispose();
});

test("too few updates: 'fail' throws naming round, count, minimum and reasons, and leaves the federation as before the round", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const o = base(trainer, 3);
  const participants = [o.participants[0], withFault(o.participants[1], { kind: "nan", onCalls: [2] }), withFault(o.participants[2], { kind: "throw", onCalls: [2] })];
  const f = new Federation({ ...o, participants, rounds: 3, minSuccessful: 2 });
  await f.start();
  await f.runRound(); // round 1: everybody healthy
  const before = f.snapshot();
  await assert.rejects(f.runRound(), (e: unknown) => {
    assert.ok(e instanceof TooFewUpdatesError);
    assert.equal(e.round, 2);
    assert.equal(e.succeeded, 1);
    assert.equal(e.minimum, 2);
    assert.match(e.message, /round 2 has 1 usable update\(s\) of 3 sampled, fewer than minSuccessful = 2/);
    assert.match(e.message, /p1: update rejected: NaN or Inf in "hidden_1\/kernel"/);
    assert.match(e.message, /p2: threw: injected fault/);
    return true;
  });
  assert.equal(f.round, 1, "round number rolled back");
  const after = f.snapshot();
  assert.deepEqual(after.rows, before.rows);
  assert.deepEqual(after.failures, before.failures);
  assert.equal(after.samplingRngState, before.samplingRngState);
  assert.ok(weightsEqual(after.globalWeights, before.globalWeights));
  for (let i = 0; i < 3; i++) assert.equal(after.participants[i].state, before.participants[i].state, `state of p${i} restored`);

  // "skip": the round is recorded, the global model stays.
  const g = new Federation({ ...o, participants: [o.participants[0], withFault(o.participants[1], { kind: "throw" }), withFault(o.participants[2], { kind: "throw" })], minSuccessful: 2, onTooFewUpdates: "skip" });
  await g.start();
  const w = g.globalWeights;
  const rec = await g.runRound();
  assert.equal(rec.server.skipped, 1);
  assert.equal(rec.failures.length, 2);
  assert.equal(g.globalWeights, w);
  trainer.dispose();
});

test("a strategy that returns NaN cannot corrupt the global model", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const broken: Strategy = {
    name: "Broken",
    configureFit: (_r, b, ids) => sameInstructions(ids, b),
    aggregateFit: (_r, current: ModelWeights) => ({ weights: current.map((t, v) => ({ ...t, values: t.values.map((x) => (v === 1 ? NaN : x)) })), metrics: {} }),
    getState: () => ({}),
    setState: () => undefined,
  };
  const f = new Federation({ ...base(trainer), strategy: broken, rounds: 2 });
  await f.start();
  const w = f.globalWeights;
  await assert.rejects(f.runRound(), /round 1: strategy Broken produced NaN or Inf in "hidden_1\/bias"; the global model was kept/);
  assert.equal(f.globalWeights, w);
  assert.equal(f.round, 0);
  trainer.dispose();
});

test("bad options are refused with a sentence naming the option", () => {
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const o = base(trainer);
  assert.throws(() => new Federation({ ...o, onTooFewUpdates: "retry" as "skip" }), /onTooFewUpdates must be "skip" or "fail", got "retry"/);
  assert.throws(() => new Federation({ ...o, timeoutSeconds: 0 }), /timeoutSeconds must be > 0, got 0/);
  assert.throws(() => new Federation({ ...o, checkpoint: { dir: "" } }), /checkpoint.dir must be a non-empty path/);
  assert.throws(() => new Federation({ ...o, sampling: { fraction: 1.5 } }), /fraction must be in \(0, 1\], got 1.5/);
  assert.throws(() => new Federation({ ...o, sampling: { minParticipants: 9 } }), /minParticipants is 9 but there are only 5 participants/);
  trainer.dispose();
});

test("100 rounds with dropouts, crashes and NaN updates: no tensor growth", async () => {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const run = async (rounds: number): Promise<number> => {
    const o = base(trainer);
    const ps = createParticipants(trainer, smallData(5), { profiles: sampleDeviceProfiles(5, 1, { dropoutProbability: 0.3 }) });
    const participants = [ps[0], ps[1], ps[2], withFault(ps[3], { kind: "throw", onCalls: [1, 3, 5, 7, 9] }), withFault(ps[4], { kind: "nan", onCalls: [2, 4, 6, 8] })];
    const r = await runFederation({ ...o, participants, rounds, onTooFewUpdates: "skip", evaluation: { every: 10 } });
    return r.failures.length;
  };
  await run(2); // warm-up: kernels, backend caches
  const before = tf.memory().numTensors;
  const failures = await run(100);
  const after = tf.memory().numTensors;
  assert.equal(after, before, `tensors before ${before}, after ${after}`);
  assert.ok(failures > 100, `failures happened (${failures})`);
  trainer.dispose();
});

test("30 % random dropout over 50 rounds on shipped digits still converges (seeded)", async () => {
  await initBackend({ log: false });
  const data = makeParticipants({ dataset: "digits", partition: { kind: "dirichlet", alpha: 1 }, numParticipants: 10, seed: 1 });
  const run = async (dropoutProbability: number): Promise<{ acc: number[]; dropped: number }> => {
    const trainer = new Trainer(buildMlp({ inputShape: [8, 8, 1], hiddenUnits: [32], numClasses: 10, seed: 1 }));
    const r = await runFederation({
      participants: createParticipants(trainer, data, { profiles: sampleDeviceProfiles(10, 2, { dropoutProbability }) }),
      strategy: new FedAvg(),
      rounds: 50,
      fitConfig: { epochs: 1, batchSize: 16, learningRate: 0.05 },
      seed: 3,
      evaluation: { personal: false },
      onTooFewUpdates: "skip",
    });
    trainer.dispose();
    return { acc: serverSeries(r.history, "globalAccuracy").value, dropped: r.failures.filter((f) => f.reason === "dropped out").length };
  };
  const full = await run(0);
  const lossy = await run(0.3);
  const final = lossy.acc[50];
  assert.ok(lossy.dropped > 0.25 * 500 && lossy.dropped < 0.35 * 500, `≈30 % of 500 participations dropped: ${lossy.dropped}`);
  assert.ok(final >= 0.93, `accuracy after 50 rounds with 30 % dropout: ${final}`);
  assert.ok(final >= full.acc[50] - 0.03, `within 3 points of no dropout (${full.acc[50]}): ${final}`);
  assert.ok(lossy.acc[0] < 0.3, "starts near chance");
});

test("a refused round rewinds the strategy's state too: retrying gives exactly the run that never failed", async () => {
  await initBackend({ log: false });
  const make = (failOnce: boolean) => {
    const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
    const inner = createStrategy("FedAdam", { eta: 0.05 });
    let armed = failOnce;
    const flaky: Strategy = {
      name: "FlakyFedAdam",
      configureFit: (r, b, ids) => inner.configureFit(r, b, ids),
      aggregateFit: (r, c, u, f) => {
        const next = inner.aggregateFit(r, c, u, f); // advances the moments
        if (r === 2 && armed) {
          armed = false;
          return { weights: next.weights.map((t) => ({ ...t, values: t.values.map(() => Infinity) })), metrics: {} };
        }
        return next;
      },
      getState: () => inner.getState(),
      setState: (s) => inner.setState(s),
    };
    return { trainer, inner, f: new Federation({ ...base(trainer), strategy: flaky, rounds: 3, sampling: { fraction: 0.6 } }) };
  };
  const a = make(true);
  await a.f.start();
  await a.f.runRound();
  const before = a.inner.getState();
  await assert.rejects(a.f.runRound(), /round 2: strategy FlakyFedAdam produced NaN or Inf in "hidden_1\/kernel"/);
  assert.deepEqual(a.inner.getState(), before, "moments rewound");
  await a.f.runRound();
  await a.f.runRound();
  const b = make(false);
  await b.f.start();
  for (let i = 0; i < 3; i++) await b.f.runRound();
  assert.deepEqual(a.f.result().rows, b.f.result().rows);
  assert.ok(weightsEqual(a.f.globalWeights, b.f.globalWeights));
  a.trainer.dispose();
  b.trainer.dispose();
});
