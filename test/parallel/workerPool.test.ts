import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../lib/backend";
import type { ParticipantData } from "../../lib/data/dataset";
import { buildMlp, Trainer, weightsEqual } from "../../lib/model/index";
import type { ModelWeights } from "../../lib/model/weights";
import { weightedAverage } from "../../lib/federation/aggregate";
import { configureWeightedSumThreads, prepareWeightedSumThread, releaseWeightedSumThread, weightedSumThreadStatus } from "../../lib/kernels/weightedSumThreads";
import { updateArena } from "../../lib/kernels/updateArena";
import { evaluateSerially, serialFitExecutor } from "../../lib/federation/executor";
import type { FitExecutor, FitOutcome } from "../../lib/federation/executor";
import { createParticipants, Participant } from "../../lib/federation/participant";
import type { Personalisation } from "../../lib/federation/personalisation/personalisation";
import { Ditto, FedPer, FedRep, NoPersonalisation } from "../../lib/federation/personalisation/index";
import { deriveSeed } from "../../lib/util/rng";
import { createWorkerPool } from "../../lib/parallel/workerPoolFitExecutor";
import { personalisationFromSpec } from "../../lib/federation/personalisation/personalisationRegistry";
import { blobParticipant } from "../model/fixtures";
import { runFederation } from "../../lib/federation/federation";
import { FedAvg } from "../../lib/federation/strategies/fedAvg";

const fitConfig = { epochs: 2, batchSize: 8, learningRate: 0.05, momentum: 0.9, proximalMu: 0 };

function makeTrainer(): Trainer {
  return new Trainer(buildMlp({ inputShape: [5], hiddenUnits: [8, 6], numClasses: 3, seed: 1 }));
}

const INITIAL = ((): ModelWeights => {
  const model = buildMlp({ inputShape: [5], hiddenUnits: [8, 6], numClasses: 3, seed: 1 });
  const t = new Trainer(model);
  const w = t.getWeights();
  t.dispose();
  return w;
})();

function makeData(n: number, sizes: [number, number, number] = [24, 8, 8]): ParticipantData[] {
  return Array.from({ length: n }, (_, i) => blobParticipant({ dims: 5, numClasses: 3, seed: 10 + i, sizes }));
}

/** `rounds` FedAvg rounds over all participants with `executor`; every round's outcomes and the final states. */
async function runRounds(
  executor: FitExecutor,
  participants: readonly Participant[],
  personalisation: Personalisation,
  rounds: number,
): Promise<{ outcomes: FitOutcome[][]; global: ModelWeights }> {
  // The trainer's current weights are whatever it trained last: start from the untouched initial model instead.
  let global = INITIAL;
  const outcomes: FitOutcome[][] = [];
  for (let round = 1; round <= rounds; round++) {
    const jobs = participants.map((participant) => ({ participant, global, config: { ...fitConfig, seed: deriveSeed(5, "fit", round, participant.id) } }));
    const out = await executor.run(jobs, personalisation);
    outcomes.push(out);
    // Executors change nothing; the caller (the round loop) commits the new states.
    out.forEach((o, i) => {
      if (o.ok) participants[i].state = o.newState;
    });
    const ok = out.flatMap((o) => (o.ok ? [o.update] : []));
    global = weightedAverage(ok.map((u) => ({ weights: u.weights, numExamples: u.numExamples, participantId: u.participantId })));
  }
  return { outcomes, global };
}

function assertSameOutcomes(a: FitOutcome[][], b: FitOutcome[][], label: string): void {
  assert.equal(a.length, b.length);
  a.forEach((round, r) =>
    round.forEach((o, i) => {
      const p = b[r][i];
      assert.ok(o.ok && p.ok, `${label}: round ${r + 1} job ${i} succeeded in both`);
      if (!o.ok || !p.ok) return;
      assert.equal(p.update.participantId, o.update.participantId);
      assert.equal(p.update.numExamples, o.update.numExamples);
      assert.ok(weightsEqual(o.update.weights, p.update.weights), `${label}: round ${r + 1} ${o.update.participantId} weights bitwise equal`);
      assert.deepEqual(p.update.metrics, o.update.metrics, `${label}: round ${r + 1} ${o.update.participantId} metrics`);
    }),
  );
}

test("pools of 1, 2 and 3 workers give results bitwise identical to the serial executor (FedAvg, FedPer, Ditto)", async () => {
  await initBackend({ log: false });
  const methods: Array<() => Personalisation> = [() => new NoPersonalisation(), () => new FedPer(), () => new Ditto({ lambda: 0.5, personalEpochs: 1 })];
  const data = makeData(5);
  const tensorsBefore = tf.memory().numTensors;
  const serialTrainer = makeTrainer();
  const reference = new Map<number, { outcomes: FitOutcome[][]; global: ModelWeights; states: Array<ModelWeights | undefined> }>();
  for (const [m, make] of methods.entries()) {
    const ps = createParticipants(serialTrainer, data);
    const r = await runRounds(serialFitExecutor, ps, make(), 2);
    reference.set(m, { ...r, states: ps.map((p) => p.state.weights) });
  }
  // The pool's shared updates are averaged on 2 threads even at this size (small chunks), the serial ones on 1.
  const previous = configureWeightedSumThreads({ minInputBytes: 0, chunkBytes: 64, residentChunkBytes: 64 });
  assert.equal(await prepareWeightedSumThread(), true);
  const helperCallsBefore = weightedSumThreadStatus().helperCalls;
  const residentCallsBefore = weightedSumThreadStatus().residentCalls;
  for (const size of [1, 2, 3]) {
    const pool = createWorkerPool({ size });
    const trainer = makeTrainer();
    try {
      assert.equal(pool.name, `workers(${size})`);
      for (const [m, make] of methods.entries()) {
        const method = make();
        const ps = createParticipants(trainer, data);
        const r = await runRounds(pool, ps, method, 2);
        const ref = reference.get(m)!;
        assertSameOutcomes(ref.outcomes, r.outcomes, `${method.name} on ${size} worker(s)`);
        // Updates arrive in the update arena, each variable on a 16-byte boundary, and were averaged in place on 2 threads.
        for (const o of r.outcomes.flat()) {
          if (!o.ok) continue;
          for (const w of o.update.weights) {
            assert.ok(w.values.buffer instanceof SharedArrayBuffer && w.values.byteOffset % 16 === 0, `${w.name} shared, aligned`);
            assert.notEqual(updateArena()!.address(w.values), undefined, `${w.name} in the update arena`);
          }
        }
        assert.ok(weightedSumThreadStatus().helperCalls > helperCallsBefore, "the averages used the helper thread");
        assert.ok(weightedSumThreadStatus().residentCalls > residentCallsBefore, "the averages summed the updates in place");
        assert.ok(weightsEqual(ref.global, r.global), `${method.name} on ${size} worker(s): final global model`);
        ps.forEach((p, i) => {
          const want = ref.states[i];
          if (want === undefined) assert.equal(p.state.weights, undefined);
          else assert.ok(p.state.weights && weightsEqual(want, p.state.weights), `${method.name} on ${size}: state of ${p.id} returned in its outcome`);
        });
      }
    } finally {
      await pool.dispose();
      trainer.dispose();
    }
  }
  configureWeightedSumThreads(previous);
  await releaseWeightedSumThread();
  serialTrainer.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, "no main-thread tensors left behind");
});

test("workers keep one model each: no tensor growth over many participants and rounds", async () => {
  await initBackend({ log: false });
  const trainer = makeTrainer();
  const participants = createParticipants(trainer, makeData(40, [8, 4, 4]));
  const pool = createWorkerPool({ size: 2 });
  const mainBefore = tf.memory().numTensors;
  try {
    const method = new FedPer();
    await runRounds(pool, participants, method, 1);
    const after1 = await pool.memory();
    await runRounds(pool, participants, method, 3);
    const after4 = await pool.memory();
    assert.equal(after1.length, 2);
    // One MLP (6 variables) per worker and nothing else survives a job.
    for (const m of after4) assert.equal(m.numTensors, 6);
    assert.deepEqual(after4, after1, "worker memory after 4 rounds = after 1 round");
    assert.equal(tf.memory().numTensors, mainBefore, "main thread unchanged");
    assert.equal(participants.filter((p) => p.state.weights !== undefined).length, 40);
  } finally {
    await pool.dispose();
    trainer.dispose();
  }
});

test("a participant's error is its outcome; an unregistered personalisation is refused before any work", async () => {
  await initBackend({ log: false });
  const trainer = makeTrainer();
  const data = makeData(3);
  const broken: ParticipantData = { ...data[1], train: { ...data[1].train, y: Int32Array.from(data[1].train.y, (c, i) => (i === 2 ? 7 : c)) } };
  const participants = createParticipants(trainer, [data[0], broken, data[2]]);
  const pool = createWorkerPool({ size: 2 });
  try {
    const global = trainer.getWeights();
    const jobs = participants.map((participant, i) => ({ participant, global, config: { ...fitConfig, seed: i } }));
    const out = await pool.run(jobs, new FedRep({ headEpochs: 1, bodyEpochs: 1 }));
    assert.deepEqual(out.map((o) => o.ok), [true, false, true]);
    const failure = out[1];
    assert.ok(!failure.ok && /label 7 at 2, model has 3 classes/.test(failure.error.message), !failure.ok ? failure.error.message : "");
    assert.equal(participants[1].state.weights, undefined, "a failed job leaves the state alone");
    assert.ok(participants.every((p) => p.state.weights === undefined), "the executor changes no participant");
    assert.ok(out[0].ok && out[0].newState.weights !== undefined, "the new state comes back in the outcome");
    // The same jobs serially give the same successes.
    const serialPs = createParticipants(trainer, [data[0], broken, data[2]]);
    const serial = await serialFitExecutor.run(serialPs.map((participant, i) => ({ participant, global, config: { ...fitConfig, seed: i } })), new FedRep({ headEpochs: 1, bodyEpochs: 1 }));
    assertSameOutcomes([[serial[0], serial[2]]], [[out[0], out[2]]], "FedRep with a failure");

    class Custom extends NoPersonalisation {}
    await assert.rejects(pool.run(jobs, new Custom()), /personalisation "global" \(class Custom\) describes itself as kind "NoPersonalisation", which rebuilds class NoPersonalisation/);
  } finally {
    await pool.dispose();
    trainer.dispose();
  }
  await assert.rejects(pool.run([], new NoPersonalisation()), /disposed/);
  assert.throws(() => createWorkerPool({ size: 0 }), /size must be an integer ≥ 1, got 0/);
});

test("runFederation with a worker pool writes the same history as the serial run", async () => {
  await initBackend({ log: false });
  const data = makeData(4);
  const run = async (fitExecutor?: FitExecutor) => {
    const trainer = makeTrainer();
    try {
      const r = await runFederation({
        participants: createParticipants(trainer, data),
        strategy: new FedAvg(),
        rounds: 2,
        initialWeights: INITIAL,
        sampling: { fraction: 0.75 },
        fitConfig,
        personalisation: new FedPer(),
        seed: 4,
        fitExecutor,
      });
      return r;
    } finally {
      trainer.dispose();
    }
  };
  const serial = await run();
  const pool = createWorkerPool({ size: 2 });
  try {
    const parallel = await run(pool);
    assert.ok(weightsEqual(serial.globalWeights, parallel.globalWeights), "final global model");
    // Wall-clock rows aside, the histories are the same numbers.
    const strip = (rows: typeof serial.rows) => rows.filter((r) => !/seconds/i.test(r.metric) || r.metric === "simulatedSeconds");
    assert.deepEqual(strip(parallel.rows), strip(serial.rows));
  } finally {
    await pool.dispose();
  }
});

test("personalisation methods describe themselves (toSpec) and round-trip through the registry", () => {
  const rep = personalisationFromSpec(new FedRep({ headLayers: 2, headEpochs: 3, bodyEpochs: 0 }).toSpec());
  assert.ok(rep instanceof FedRep);
  assert.deepEqual(rep.toSpec(), { kind: "FedRep", options: { headLayers: 2, headEpochs: 3, bodyEpochs: 0 } });
  const ditto = new Ditto({ lambda: 0.25 }).toSpec();
  assert.deepEqual(ditto, { kind: "Ditto", options: { lambda: 0.25, personalEpochs: undefined } });
  assert.equal(personalisationFromSpec(ditto).name, "Ditto(λ=0.25)");
  assert.throws(() => personalisationFromSpec({ kind: "Nope", options: {} }), /unknown kind "Nope"/);
});

test("the pool evaluates in parallel, bitwise as the serial evaluation, on every split", async () => {
  await initBackend({ log: false });
  const trainer = makeTrainer();
  const participants = createParticipants(trainer, makeData(3));
  const pool = createWorkerPool({ size: 2 });
  try {
    const before = tf.memory().numTensors;
    // Two models: the initial one and one trained by a participant (so the numbers are not trivial).
    const trained = (await serialFitExecutor.run([{ participant: participants[0], global: INITIAL, config: { ...fitConfig, seed: 3 } }], new NoPersonalisation()))[0];
    assert.ok(trained.ok);
    const splits = ["train", "validation", "test"] as const;
    const jobs = [INITIAL, trained.update.weights].flatMap((weights) => participants.flatMap((participant) => splits.map((split) => ({ participant, weights, split }))));
    const serial = await evaluateSerially(jobs);
    const parallel = await pool.evaluate(jobs);
    assert.equal(parallel.length, jobs.length);
    // Bit for bit: deepEqual on the numbers (Object.is semantics for NaN, exact for floats).
    assert.deepEqual(parallel, serial);
    assert.ok(serial.some((e) => e.accuracy > 0 && e.accuracy < 1), "non-trivial accuracies");
    assert.ok(serial.every((e, i) => e.numExamples === jobs[i].participant.data[jobs[i].split].y.length));
    assert.equal(tf.memory().numTensors, before, "no tensor leaks in the main thread");
    const memory = await pool.memory();
    await pool.evaluate(jobs);
    assert.deepEqual((await pool.memory()).map((m) => m.numTensors), memory.map((m) => m.numTensors), "no tensor leaks in the workers");
  } finally {
    await pool.dispose();
    trainer.dispose();
  }
});

test("a state that keeps the round's global arrays comes back as arrays of its own (the global's arena block is reused later)", async () => {
  await initBackend({ log: false });
  // FedRep without a training phase keeps personalModel(global, {}) = the global arrays themselves as its state.
  const method = (): Personalisation => new FedRep({ headEpochs: 0, bodyEpochs: 0 });
  const trainer = makeTrainer();
  const data = makeData(2);
  const pool = createWorkerPool({ size: 1 });
  try {
    const jobs = (ps: Participant[]) => ps.map((participant, i) => ({ participant, global: INITIAL, config: { ...fitConfig, seed: i } }));
    const out = await pool.run(jobs(createParticipants(trainer, data)), method());
    const serial = await serialFitExecutor.run(jobs(createParticipants(trainer, data)), method());
    out.forEach((o, i) => {
      const s = serial[i];
      assert.ok(o.ok && s.ok && o.newState.weights && s.newState.weights);
      assert.ok(weightsEqual(o.newState.weights, s.newState.weights), `participant ${i}: the state's values`);
      assert.ok(weightsEqual(o.newState.weights, INITIAL), "the state is the global model");
      for (const w of o.newState.weights) {
        assert.ok(w.values.buffer instanceof ArrayBuffer, `${w.name}: an array of its own, not a view of the round's shared memory`);
      }
    });
  } finally {
    await pool.dispose();
    trainer.dispose();
  }
});
