/**
 * Issue 18 at loop level: Bonawitz secure aggregation as the `SecureAggregation` wrapper in real
 * Federation runs (small MLP, real tfjs), with seeded dropouts at every protocol step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import { buildMlp, maxAbsDifference, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import {
  createParticipants,
  FedAvg,
  Federation,
  runFederation,
  StrategyWrapper,
  weightedAverage,
  type AggregateFitResult,
  type FederationOptions,
  type FederationResult,
  type FitFailure,
  type FitUpdate,
  type HistoryRow,
  type Strategy,
} from "../../lib/federation/index";
import { createWorkerPool } from "../../lib/parallel/workerPoolFitExecutor";
import { dropoutStage, resolveDropoutProbabilities, SecureAggregation, type SecAggDropoutProbabilities, type SecAggStage } from "../../lib/privacy/index";
import { smallData } from "../reliability/fixtures/smallRun";

const N = 8;
const SEED = 5;
const ROUNDS = 4;
const DROPOUT: SecAggDropoutProbabilities = { advertiseKeys: 0.1, shareKeys: 0.1, maskedInput: 0.1, unmasking: 0.1 };
const SCALE = 2 ** 22;

function options(strategy: Strategy, patch: Partial<FederationOptions> = {}): { options: FederationOptions; trainer: Trainer } {
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  return {
    trainer,
    options: {
      participants: createParticipants(trainer, smallData(N)),
      strategy,
      rounds: ROUNDS,
      fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.1 },
      seed: SEED,
      evaluation: { personal: false },
      ...patch,
    },
  };
}

/** Run to the end; the result and the global model after every round (index 0: the initial model). */
async function run(strategy: Strategy, patch: Partial<FederationOptions> = {}): Promise<{ result: FederationResult; perRound: ModelWeights[] }> {
  const s = options(strategy, patch);
  const perRound: ModelWeights[] = [];
  try {
    const result = await runFederation({ ...s.options, observers: [(r) => void perRound.push(r.globalWeights)] });
    return { result, perRound };
  } finally {
    s.trainer.dispose();
  }
}

const ids = Array.from({ length: N }, (_v, i) => `p${i}`);

/** Every (round, participant)'s dropout step by the documented rule (secAggDropouts.ts). */
function expectedStages(seed: number, dropout: SecAggDropoutProbabilities): Map<number, Map<string, SecAggStage>> {
  const p = resolveDropoutProbabilities("test", dropout);
  const out = new Map<number, Map<string, SecAggStage>>();
  for (let round = 1; round <= ROUNDS; round++) {
    const m = new Map<string, SecAggStage>();
    for (const id of ids) {
      const stage = dropoutStage(seed, round, id, p);
      if (stage !== undefined) m.set(id, stage);
    }
    out.set(round, m);
  }
  return out;
}

/** Plain FedAvg over the participants whose inputs secure aggregation keeps (not dropped before their masked input arrived). */
class FedAvgOverIncluded extends StrategyWrapper {
  constructor(private readonly stages: Map<number, Map<string, SecAggStage>>) {
    super("FedAvgOverIncluded", new FedAvg());
  }
  get name(): string {
    return "FedAvgOverIncluded";
  }
  override aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
    const stage = this.stages.get(round) as Map<string, SecAggStage>;
    const excluded = (id: string): boolean => stage.has(id) && stage.get(id) !== "unmasking";
    const lost = updates.filter((u) => excluded(u.participantId)).map((u) => ({ participantId: u.participantId, round, reason: "excluded" }));
    const next = this.inner.aggregateFit(round, current, updates.filter((u) => !excluded(u.participantId)), failures);
    return { ...next, lost };
  }
}

/** Checks, inside each round, the secure mean against weightedAverage of the included updates from the same start. */
class AgainstPlainMean extends StrategyWrapper {
  readonly errors: Array<{ round: number; error: number; bound: number }> = [];
  constructor(inner: Strategy) {
    super("AgainstPlainMean", inner);
  }
  get name(): string {
    return this.inner.name;
  }
  override get seesUpdates(): boolean {
    return this.inner.seesUpdates !== false;
  }
  override aggregateFit(round: number, current: ModelWeights, updates: readonly FitUpdate[], failures: readonly FitFailure[]): AggregateFitResult {
    const r = this.inner.aggregateFit(round, current, updates, failures);
    const lost = new Set((r.lost ?? []).map((f) => f.participantId));
    const included = updates.filter((u) => !lost.has(u.participantId));
    const plain = weightedAverage(included);
    const fraction = included.reduce((s, u) => s + u.numExamples, 0) / updates.reduce((s, u) => s + u.numExamples, 0);
    // Fixed-point rounding of each included input (driver.ts `resolution`), then float32 storage of both results.
    const bound = (included.length * 0.5) / SCALE / fraction + 2 * 2 ** -23 * Math.max(...plain.map((t) => Math.max(...t.values.map(Math.abs))));
    this.errors.push({ round, error: maxAbsDifference(r.weights, plain), bound });
    return r;
  }
}

const serverRow = (rows: readonly HistoryRow[], round: number, metric: string): number | undefined =>
  rows.find((r) => r.round === round && r.participant === "server" && r.metric === metric)?.value;

test("Bonawitz in the loop, dropouts at every step: each round's mean is plain FedAvg over the included participants to the fixed-point resolution, and so is the history", async () => {
  await initBackend({ log: false });
  const before = tf.memory().numTensors;
  const stages = expectedStages(SEED, DROPOUT);
  const all = [...stages.values()].flatMap((m) => [...m.values()]);
  for (const s of ["advertise-keys", "share-keys", "masked-input", "unmasking"] as const) assert.ok(all.includes(s), `the seed drops someone at ${s}: ${all.join(", ")}`);

  const spy = new AgainstPlainMean(new SecureAggregation(new FedAvg(), { threshold: 3, dropout: DROPOUT }));
  const secure = await run(spy);
  const plain = await run(new FedAvgOverIncluded(stages));
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");

  // Per round, from the same start: within the fixed-point bound.
  assert.equal(spy.errors.length, ROUNDS);
  for (const e of spy.errors) assert.ok(e.error <= e.bound, `round ${e.round}: |secure − plain| = ${e.error} > bound ${e.bound}`);
  assert.ok(spy.errors.some((e) => e.error > 0), "the fixed-point encoding shows (the mean is not computed in the clear)");

  // Who failed, and why, is what the seeded rule says; an unmasking dropout's input counts.
  for (let round = 1; round <= ROUNDS; round++) {
    const m = stages.get(round) as Map<string, SecAggStage>;
    const failed = secure.result.failures.filter((f) => f.round === round);
    const excluded = ids.filter((id) => m.has(id) && m.get(id) !== "unmasking");
    assert.deepEqual(failed.map((f) => f.participantId).sort(), excluded.sort(), `round ${round} failures`);
    for (const f of failed) assert.match(f.reason, m.get(f.participantId) === "masked-input" ? /dropped out after masking/ : /dropped out of secure aggregation before (advertising|sharing) its keys/);
    const count = (s: SecAggStage): number => [...m.values()].filter((v) => v === s).length;
    const rows = secure.result.rows;
    assert.equal(serverRow(rows, round, "droppedAtAdvertiseKeys"), count("advertise-keys"));
    assert.equal(serverRow(rows, round, "droppedAtShareKeys"), count("share-keys"));
    assert.equal(serverRow(rows, round, "droppedAfterMasking"), count("masked-input"));
    assert.equal(serverRow(rows, round, "droppedAtUnmasking"), count("unmasking"));
    assert.equal(serverRow(rows, round, "succeeded"), N - excluded.length);
    assert.equal(serverRow(rows, round, "skipped"), 0);
  }

  // The whole history equals plain FedAvg over the included participants, up to the encoding.
  assert.equal(secure.perRound.length, ROUNDS + 1);
  for (let r = 1; r <= ROUNDS; r++) {
    const d = maxAbsDifference(secure.perRound[r], plain.perRound[r]);
    assert.ok(d < 1e-5, `global model after round ${r}: |secure − plain| = ${d}`);
  }
  const key = (r: HistoryRow): string => `${r.round}|${r.participant}|${r.scope}|${r.metric}`;
  const secureOnly = /^(secureAggregation|dropped)/;
  const plainOnly = new Set(["updateNorm"]); // the server sees no single update under secure aggregation
  const a = secure.result.rows.filter((r) => !secureOnly.test(r.metric));
  const b = plain.result.rows.filter((r) => !plainOnly.has(r.metric));
  assert.deepEqual(a.map(key), b.map(key), "the same rows in the same order");
  a.forEach((r, i) => {
    const tolerance = /globalUpdateNorm|[Ll]oss/.test(r.metric) ? 1e-4 : 0;
    assert.ok(Math.abs(r.value - b[i].value) <= tolerance, `${key(r)}: secure ${r.value} vs plain ${b[i].value}`);
  });
});

test("fewer than t at a step: the round is refused, the global model kept, the refusal named in every participant's failure", async () => {
  await initBackend({ log: false });
  const before = tf.memory().numTensors;
  const dropout = { advertiseKeys: 0.4 };
  const threshold = 7;
  const stages = expectedStages(SEED, dropout);
  const refused = [...stages].filter(([, m]) => N - m.size < threshold).map(([round]) => round);
  assert.ok(refused.length > 0 && refused.length < ROUNDS, `some rounds are refused, not all: ${refused.join(", ")}`);

  const secure = await run(new SecureAggregation(new FedAvg(), { threshold, dropout }), { onTooFewUpdates: "skip" });
  for (let round = 1; round <= ROUNDS; round++) {
    const m = stages.get(round) as Map<string, SecAggStage>;
    const rows = secure.result.rows;
    const failures = secure.result.failures.filter((f) => f.round === round);
    if (refused.includes(round)) {
      assert.equal(serverRow(rows, round, "skipped"), 1);
      assert.equal(serverRow(rows, round, "secureAggregationRefused"), 1);
      assert.equal(serverRow(rows, round, "droppedAtAdvertiseKeys"), m.size);
      assert.ok(weightsEqual(secure.perRound[round], secure.perRound[round - 1]), `round ${round} kept the global model`);
      assert.equal(failures.length, N, "no update is in an aggregate: everyone's failure says why");
      const why = new RegExp(`secure aggregation refused the round: SharedMaskServer round ${round}, advertise keys: only ${N - m.size} of ${N} participant\\(s\\) advertised keys, fewer than the threshold ${threshold}`);
      for (const f of failures) assert.match(f.reason, why);
      for (const f of failures.filter((f) => m.has(f.participantId))) assert.match(f.reason, /^dropped out of secure aggregation before advertising its keys/);
    } else {
      assert.equal(serverRow(rows, round, "skipped"), 0);
      assert.equal(serverRow(rows, round, "secureAggregationRefused"), undefined);
      assert.equal(failures.length, m.size);
      assert.ok(!weightsEqual(secure.perRound[round], secure.perRound[round - 1]), `round ${round} aggregated`);
    }
  }

  // Under "fail" the refused round throws with the reason and leaves the federation as it was.
  const s = options(new SecureAggregation(new FedAvg(), { threshold, dropout }));
  const f = new Federation(s.options);
  await f.start();
  for (let round = 1; round < refused[0]; round++) await f.runRound();
  const kept = f.globalWeights;
  await assert.rejects(f.runRound(), new RegExp(`round ${refused[0]}: SharedMaskServer round ${refused[0]}, advertise keys: .*fewer than the threshold ${threshold}.*the global model was kept`));
  assert.equal(f.round, refused[0] - 1);
  assert.equal(f.globalWeights, kept);
  s.trainer.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

test("Bonawitz in the loop is deterministic per seed (keys from the OS CSPRNG do not matter), equals the pairwise protocol bit for bit with masked-input dropouts only, and the worker pool gives the serial history", async () => {
  await initBackend({ log: false });
  const before = tf.memory().numTensors;
  const secure = (dropout: SecAggDropoutProbabilities = DROPOUT, protocol: "bonawitz" | "pairwise" = "bonawitz") => new SecureAggregation(new FedAvg(), { threshold: 3, dropout, protocol });
  const a = await run(secure());
  const b = await run(secure());
  assert.deepEqual(b.result.rows, a.result.rows);
  assert.ok(weightsEqual(a.result.globalWeights, b.result.globalWeights));
  const other = await run(secure(), { seed: SEED + 1 });
  assert.notDeepEqual(other.result.failures.map((f) => `${f.round}${f.participantId}`), a.result.failures.map((f) => `${f.round}${f.participantId}`), "another seed, other dropouts");

  const masked = { maskedInput: 0.3 };
  const bonawitz = await run(secure(masked, "bonawitz"));
  const pairwise = await run(secure(masked, "pairwise"));
  assert.ok(bonawitz.result.failures.length > 0);
  assert.deepEqual(pairwise.result.rows, bonawitz.result.rows);
  assert.ok(weightsEqual(pairwise.result.globalWeights, bonawitz.result.globalWeights));

  const pool = createWorkerPool({ size: 2 });
  try {
    const pooled = await run(secure(), { fitExecutor: pool });
    assert.deepEqual(pooled.result.rows, a.result.rows);
    assert.ok(weightsEqual(pooled.result.globalWeights, a.result.globalWeights));
  } finally {
    await pool.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

test("SecureAggregation options: protocol and per-step dropouts are checked, each error naming the option", () => {
  const make = (o: object) => () => new SecureAggregation(new FedAvg(), { threshold: 2, ...o });
  assert.equal(make({})().protocol.name, "bonawitz");
  assert.equal(make({})().name, "SecureAggregation(FedAvg, t=2)");
  assert.equal(make({ protocol: "pairwise" })().name, "SecureAggregation(FedAvg, t=2, pairwise)");
  assert.deepEqual(make({ dropAfterMaskingProbability: 0.2 })().dropout, { advertiseKeys: 0, shareKeys: 0, maskedInput: 0.2, unmasking: 0 });
  assert.throws(make({ protocol: "bonawits" }), /SecureAggregation: protocol must be "bonawitz", "pairwise" or a SecureMeanProtocol, got "bonawits"/);
  assert.throws(make({ protocol: "pairwise", dropout: { shareKeys: 0.1 } }), /dropout\.shareKeys is 0\.1, but the pairwise protocol has no share-keys step \(it has: masked-input\); use protocol "bonawitz"/);
  assert.throws(make({ dropout: { unmask: 0.1 } }), /SecureAggregation: dropout\.unmask is not a protocol step \(allowed: advertiseKeys, shareKeys, maskedInput, unmasking\)/);
  assert.throws(make({ dropout: { unmasking: 1.5 } }), /SecureAggregation: dropout\.unmasking must be a probability in \[0, 1\], got 1\.5/);
  assert.throws(make({ dropout: { maskedInput: 0.1 }, dropAfterMaskingProbability: 0.1 }), /give the masked-input dropout once/);
});
