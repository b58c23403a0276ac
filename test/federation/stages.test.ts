import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, FULL_BATCH, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import { Rng } from "../../lib/util/rng";
import {
  AggregationRefused,
  aggregateRound,
  checkpointObserver,
  collectUpdates,
  ConvergenceTracker,
  createParticipants,
  createStrategy,
  defaultFitConfig,
  evaluateGlobal,
  Federation,
  FedAvg,
  loadCheckpoint,
  planRound,
  restoreState,
  runFederation,
  sameInstructions,
  serialFitExecutor,
  StrategyWrapper,
  TooFewUpdatesError,
  updateValidators,
  type AggregateFitResult,
  type FitExecutor,
  type FitFailure,
  type FitOutcome,
  type FitUpdate,
  type Strategy,
} from "../../lib/federation/index";
import { NoPersonalisation } from "../../lib/federation/personalisation/noPersonalisation";
import { smallData } from "../reliability/fixtures/smallRun";

const trainer = (): Trainer => new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
const vec = (...v: number[]): ModelWeights => [{ name: "w", shape: [v.length], values: Float32Array.from(v) }];
const upd = (id: string, w: ModelWeights, n: number): FitUpdate => ({ participantId: id, weights: w, numExamples: n, metrics: {} });

test("plan: seeded sampling, per-participant instructions, dropouts and deadline step limits", () => {
  const t = trainer();
  const ps = createParticipants(t, smallData(4), {
    profiles: [
      { computeSamplesPerSecond: 100, uploadMbps: 10, downloadMbps: 10, dropoutProbability: 1 },
      { computeSamplesPerSecond: 40, uploadMbps: 1000, downloadMbps: 1000 },
      { computeSamplesPerSecond: 100, uploadMbps: 1e-6, downloadMbps: 1e-6 },
      { computeSamplesPerSecond: 100, uploadMbps: 1000, downloadMbps: 1000 },
    ],
  });
  const input = { round: 1, participants: ps, strategy: new FedAvg(), base: { ...defaultFitConfig, batchSize: 8 }, sampling: {}, seed: 1, heterogeneity: { deadlineSeconds: 2, partialWork: true }, bytes: 1000 };
  const plan = planRound({ ...input, samplingRng: new Rng(7) });
  assert.deepEqual(plan.map((e) => e.participant.id), ["p0", "p1", "p2", "p3"]);
  const [drop, slow, noBandwidth, fast] = plan;
  assert.ok(drop.kind === "fail" && drop.failure === "dropped out" && !drop.downloaded && drop.deadlineHit);
  assert.ok(noBandwidth.kind === "fail" && /transfers alone exceed 2s/.test(noBandwidth.failure) && noBandwidth.downloaded);
  // Compute budget = 2 s minus transfers (2 × 1000 B at 1000 Mbit/s = 16 µs): ⌊(2 − 1.6e-5)·40 / 8⌋ = 9 steps.
  assert.ok(slow.kind === "train" && slow.maxSteps === 9, JSON.stringify(slow.kind === "train" ? slow.maxSteps : slow));
  assert.ok(fast.kind === "train" && fast.maxSteps === Math.floor(((2 - 1.6e-5) * 100) / 8));
  assert.deepEqual(fast.instructions, { settings: input.base, record: {} });
  // A full batch (FedSGD, B = ∞) costs the participant's whole training split per step, not "infinitely much".
  const full = planRound({ ...input, base: { ...defaultFitConfig, batchSize: FULL_BATCH }, samplingRng: new Rng(7) })[3];
  const n = ps[3].data.train.y.length;
  assert.ok(full.kind === "train" && full.maxSteps === Math.floor(((2 - 1.6e-5) * 100) / n), JSON.stringify(full.kind === "train" ? [full.maxSteps, n] : full));
  // Sampling: same generator state, same choice; a strategy that answers for the wrong number of participants is an error.
  const half = { ...input, sampling: { fraction: 0.5 } };
  const a = planRound({ ...half, samplingRng: new Rng(3) }).map((e) => e.participant.id);
  assert.equal(a.length, 2);
  assert.deepEqual(planRound({ ...half, samplingRng: new Rng(3) }).map((e) => e.participant.id), a);
  const wrong: Strategy = { ...new FedAvg(), name: "Wrong", configureFit: () => [], aggregateFit: () => ({ weights: [], metrics: {} }), getState: () => ({}), setState: () => undefined };
  assert.throws(() => planRound({ ...input, strategy: wrong, samplingRng: new Rng(1) }), /strategy Wrong.configureFit returned 0 instructions for 4 participants/);
  t.dispose();
});

test("collect: every outcome becomes an update or a named failure; states come back unapplied; each update checked once", async () => {
  await initBackend({ log: false });
  const t = trainer();
  const ps = createParticipants(t, smallData(5));
  const global = t.getWeights();
  const bad = global.map((w, v) => ({ ...w, values: w.values.map((x, k) => (v === 0 && k === 0 ? NaN : x)) }));
  const state = { weights: global };
  let checks = 0;
  // An executor that answers without training: one outcome of each kind.
  const scripted: FitExecutor = {
    name: "scripted",
    async run(jobs) {
      assert.deepEqual(jobs[0].config.record, { clipNorm: 2 }, "the instructions' record reaches the job");
      return jobs.map((j, i): FitOutcome => {
        const u = (w: ModelWeights, id = j.participant.id): FitUpdate => ({ participantId: id, weights: w, numExamples: j.participant.numExamples, metrics: { samples: 10 } });
        if (i === 0) return { ok: false, error: new Error("out of memory") };
        if (i === 1) return { ok: true, update: u(bad), newState: state };
        if (i === 2) return { ok: true, update: u(global, "someone-else"), newState: state };
        if (i === 3) return { ok: true, update: u(global), newState: state, seconds: 9 };
        return { ok: true, update: u(global), newState: state, seconds: 0.1 };
      });
    },
  };
  const plan = ps.map((participant) => ({ participant, instructions: { settings: defaultFitConfig, record: { clipNorm: 2 } }, kind: "train" as const, maxSteps: undefined }));
  const counting = (): undefined => {
    checks += 1;
    return undefined;
  };
  const c = await collectUpdates({
    round: 1, plan, global, executor: scripted, personalisation: new NoPersonalisation(), localTraining: {}, seed: 1,
    validators: updateValidators(new FedAvg(), counting), timeoutSeconds: 5, heterogeneity: {}, bytes: 100, seesUpdates: false,
  });
  assert.deepEqual(c.failures.map((f) => [f.participantId, f.reason.replace(/ in .*/, "")]), [
    ["p0", "threw: out of memory"],
    ["p1", "update rejected: NaN or Inf"],
    ["p2", 'update rejected: it claims to come from "someone-else"'],
    ["p3", "timed out (local training took 9.00s, timeout 5s; update discarded)"],
  ]);
  assert.deepEqual(c.updates.map((u) => u.participantId), ["p4"]);
  assert.equal(checks, 1, "the extra validator ran once, for the one update that passed the built-in checks");
  assert.deepEqual([...c.newStates.keys()], ["p1", "p2", "p3", "p4"], "every participant that trained has a new state; none was applied");
  assert.ok(ps.every((p) => p.state.weights === undefined));
  assert.equal(c.bytesDown, 500);
  assert.equal(c.bytesUp, 100);
  assert.ok(!c.rows.some((r) => r.metric === "updateNorm"), "no per-update norm when the server must not see updates");
  assert.equal(c.rows.filter((r) => r.metric === "failed").length, 4);
  t.dispose();
});

test("aggregate: weighted mean by hand, too few updates skip or fail, refusals and NaN rewind the strategy", () => {
  const base = { round: 1, current: vec(0, 0), failures: [] as FitFailure[], minSuccessful: 1, onTooFewUpdates: "fail" as const, sampled: 3 };
  const two = [upd("a", vec(1, 2), 1), upd("b", vec(4, 8), 3)];
  const ok = aggregateRound({ ...base, strategy: new FedAvg(), updates: two });
  assert.deepEqual(Array.from(ok.weights[0].values), [(1 + 12) / 4, (2 + 24) / 4]);
  assert.equal(ok.skipped, false);
  const skip = aggregateRound({ ...base, strategy: new FedAvg(), updates: two, minSuccessful: 3, onTooFewUpdates: "skip" });
  assert.ok(skip.skipped && skip.weights === base.current);
  assert.throws(() => aggregateRound({ ...base, strategy: new FedAvg(), updates: two, minSuccessful: 3 }), (e: unknown) => e instanceof TooFewUpdatesError && e.succeeded === 2 && e.minimum === 3);
  // A server optimiser whose output is NaN: the round fails and its moments are rewound.
  const adam = createStrategy("FedAdam", { eta: 0.1 });
  const poisoned: Strategy = {
    ...adam,
    name: "Poisoned",
    configureFit: (r, b, ids) => adam.configureFit(r, b, ids),
    aggregateFit: (r, c, u, f) => ({ weights: adam.aggregateFit(r, c, u, f).weights.map((w) => ({ ...w, values: w.values.map(() => NaN) })), metrics: {} }),
    getState: () => adam.getState(),
    setState: (s) => adam.setState(s),
  };
  const before = JSON.stringify(adam.getState());
  assert.throws(() => aggregateRound({ ...base, strategy: poisoned, updates: two }), /round 1: strategy Poisoned produced NaN or Inf in "w"; the global model was kept/);
  assert.equal(JSON.stringify(adam.getState()), before);
  // A refusal (e.g. too few secure-aggregation survivors): "skip" records its failures and metrics.
  const refusing: Strategy = { ...poisoned, name: "Refusing", aggregateFit: () => { throw new AggregationRefused("2 survivors < threshold 3", [{ participantId: "a", round: 1, reason: "dropped out after masking" }], { secureAggregation: 1 }); } };
  const r = aggregateRound({ ...base, strategy: refusing, updates: two, onTooFewUpdates: "skip" });
  assert.ok(r.skipped);
  assert.deepEqual(r.lost.map((f) => f.participantId), ["a"]);
  assert.deepEqual(r.metrics, { secureAggregation: 1 });
  assert.throws(() => aggregateRound({ ...base, strategy: refusing, updates: two }), /round 1: 2 survivors < threshold 3; the global model was kept/);
});

test("evaluate: through the executor, weighted means by hand, only the participants the strategy picks, central evaluation", async () => {
  await initBackend({ log: false });
  const t = trainer();
  const ps = createParticipants(t, smallData(3));
  const w = t.getWeights();
  const tensors = tf.memory().numTensors;
  let evaluated = 0;
  const counting: FitExecutor = { ...serialFitExecutor, evaluate: async (jobs) => { evaluated += jobs.length; return jobs.map((j) => j.participant.evaluate(j.weights, j.split)); } };
  const all = await evaluateGlobal(2, w, ps, new FedAvg(), counting);
  assert.equal(evaluated, 6, "test and validation split of 3 participants, all through the executor");
  const acc = ps.map((p) => p.evaluate(w, "test"));
  const val = ps.map((p) => p.evaluate(w, "validation"));
  const n = acc.reduce((s, e) => s + e.numExamples, 0);
  assert.ok(Math.abs(all.metrics.globalAccuracy - acc.reduce((s, e) => s + e.accuracy * e.numExamples, 0) / n) < 1e-12);
  const nv = val.reduce((s, e) => s + e.numExamples, 0);
  assert.ok(Math.abs(all.valLoss - val.reduce((s, e) => s + e.loss * e.numExamples, 0) / nv) < 1e-12);
  assert.equal(all.rows.length, 12);
  class PicksOne extends StrategyWrapper {
    constructor() {
      super("PicksOne", new FedAvg());
    }
    get name(): string {
      return "PicksOne";
    }
    override configureEvaluate(_round: number, ids: readonly string[]): readonly string[] {
      return ids.slice(1, 2);
    }
    override evaluate(round: number): Record<string, number> {
      return { centralRound: round };
    }
  }
  const one = await evaluateGlobal(2, w, ps, new PicksOne(), serialFitExecutor);
  assert.deepEqual([...new Set(one.rows.map((r) => r.participant))], ["p1"]);
  assert.equal(one.metrics.globalAccuracy, acc[1].accuracy);
  assert.equal(one.metrics.centralRound, 2);
  assert.equal(tf.memory().numTensors, tensors, "no tensor leaks");
  t.dispose();
});

test("convergence: best round and patience, by hand", () => {
  const w = (x: number): ModelWeights => vec(x);
  const c = new ConvergenceTracker({ patience: 2, minDelta: 0.05 }, w(0));
  c.start(1.0, w(0));
  assert.equal(c.observe(1, 0.9, w(1)), false); // improved by 0.1 ≥ 0.05: best, sinceBest 0
  assert.equal(c.observe(2, 0.88, w(2)), false); // better but by < minDelta: best moves, sinceBest 1
  assert.equal(c.state.best.round, 2);
  assert.equal(c.observe(3, 0.95, w(3)), true); // sinceBest 2 = patience
  assert.equal(c.state.sinceBest, 2);
  const never = new ConvergenceTracker(undefined, w(0));
  never.start(NaN, w(0));
  assert.equal(never.state.best.loss, Infinity, "a NaN initial loss starts from +∞");
  for (let r = 1; r <= 5; r++) assert.equal(never.observe(r, 1, w(r)), false, "without options the run never converges");
  const personal = new ConvergenceTracker({ patience: 1, scope: "personal" }, w(0));
  personal.start(0.1, w(0));
  assert.equal(personal.state.best.loss, Infinity, "personal models do not exist at round 0");
});

test("state: snapshots round-trip; a wrong snapshot changes nothing; checkpointing is an observer of finished rounds", async () => {
  await initBackend({ log: false });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-stages-"));
  const t = trainer();
  try {
    const options = { participants: createParticipants(t, smallData(3)), strategy: createStrategy("FedAdam", { eta: 0.05 }), rounds: 3, fitConfig: { batchSize: 8, learningRate: 0.1 }, seed: 2 };
    const saved: number[] = [];
    const observe = checkpointObserver({ dir, every: 2 });
    const f = new Federation({ ...options, observers: [async (r, run) => { await observe(r, run); if (fs.existsSync(path.join(dir, "checkpoint.json"))) saved.push(loadCheckpoint(dir).round); }] });
    await f.start();
    await f.runRound();
    await f.runRound();
    await f.runRound();
    assert.deepEqual(saved, [0, 0, 2, 3], "written after rounds 0 and 2 (every 2) and after the last");
    const snap = f.snapshot();
    const g = new Federation(options);
    assert.throws(() => restoreState({ ...snap, format: "other" as typeof snap.format }, g.fingerprint(), options.participants, options.strategy), /snapshot.format is "other"/);
    assert.equal(g.round, -1, "nothing changed");
    g.restore(loadCheckpoint(dir));
    assert.equal(g.round, 3);
    assert.ok(weightsEqual(g.globalWeights, f.globalWeights));
    assert.deepEqual(g.result().rows, f.result().rows);
    assert.throws(() => checkpointObserver({ dir, every: 0 }), /checkpoint.every must be an integer ≥ 1, got 0/);
  } finally {
    t.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a strategy's own metrics reach the history as server rows, without the loop knowing the strategy", async () => {
  await initBackend({ log: false });
  const t = trainer();
  /** FedAvg that also reports how many updates it averaged and a number of its own. */
  class Counting extends StrategyWrapper {
    constructor() {
      super("Counting", new FedAvg());
    }
    get name(): string {
      return "Counting(FedAvg)";
    }
    override aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
      const r = this.inner.aggregateFit(round, current, updates, failures);
      return { weights: r.weights, metrics: { averaged: updates.length, myScore: 10 * round } };
    }
    override configureFit(round: number, base: typeof defaultFitConfig, ids: readonly string[]) {
      return sameInstructions(ids, base, { note: `round ${round}` });
    }
  }
  const r = await runFederation({ participants: createParticipants(t, smallData(4)), strategy: new Counting(), rounds: 2, sampling: { fraction: 0.5 }, fitConfig: { batchSize: 8 }, seed: 1 });
  const server = (metric: string) => r.rows.filter((x) => x.participant === "server" && x.metric === metric).map((x) => [x.round, x.value]);
  assert.deepEqual(server("averaged"), [[1, 2], [2, 2]]);
  assert.deepEqual(server("myScore"), [[1, 10], [2, 20]]);
  t.dispose();
});
