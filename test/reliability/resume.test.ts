import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer, weightsEqual } from "../../lib/model/index";
import type { ParticipantData } from "../../lib/data/dataset";
import {
  createParticipants,
  createStrategy,
  Ditto,
  FedPer,
  Federation,
  runFederation,
  sampleDeviceProfiles,
  type FederationOptions,
  type FederationResult,
  type Personalisation,
} from "../../lib/federation/index";
import { CheckpointError, loadCheckpoint, saveCheckpoint } from "../../lib/federation/checkpoint";
import { DpFixedClipping } from "../../lib/privacy/index";
import { blobParticipant } from "../model/fixtures";

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-ckpt-"));
  tempDirs.push(d);
  return d;
}

function blobData(n: number): ParticipantData[] {
  return Array.from({ length: n }, (_, i) => {
    const w = [0.1, 0.1, 0.1, 0.1];
    w[i % 4] = 1;
    w[(i + 1) % 4] = 1;
    return blobParticipant({ dims: 6, numClasses: 4, seed: 20 + i, sizes: [24 + 4 * i, 8, 12], classWeights: w, spread: 1.5 });
  });
}

interface Setup {
  strategy: string;
  personalisation?: () => Personalisation;
  dropout?: number;
  dp?: boolean;
}

/** Fresh trainer, participants, strategy and personalisation: what a new process would build. */
function fresh(setup: Setup, rounds: number): { options: FederationOptions; trainer: Trainer } {
  const trainer = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3 }));
  const data = blobData(5);
  const profiles = setup.dropout ? sampleDeviceProfiles(5, 9, { dropoutProbability: setup.dropout }) : undefined;
  const inner = createStrategy(setup.strategy, setup.strategy === "FedAdam" ? { eta: 0.05 } : {});
  const strategy = setup.dp ? new DpFixedClipping(inner, { noiseMultiplier: 0.5, clipNorm: 1, seed: 4 }) : inner;
  return {
    trainer,
    options: {
      participants: createParticipants(trainer, data, { profiles }),
      strategy,
      personalisation: setup.personalisation?.(),
      rounds,
      fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.1 },
      sampling: { fraction: 0.6, minParticipants: 2 },
      seed: 11,
      convergence: { patience: 50 },
      evaluation: { every: 2 },
    },
  };
}

async function uninterrupted(setup: Setup, rounds: number): Promise<FederationResult> {
  const { options, trainer } = fresh(setup, rounds);
  const r = await runFederation(options);
  trainer.dispose();
  return r;
}

async function resumed(setup: Setup, rounds: number, stopAfter: number): Promise<FederationResult> {
  const dir = tempDir();
  const first = fresh(setup, rounds);
  const f = new Federation(first.options);
  await f.start();
  for (let r = 0; r < stopAfter; r++) await f.runRound();
  saveCheckpoint(dir, f.snapshot());
  first.trainer.dispose();
  const second = fresh(setup, rounds);
  const snap = loadCheckpoint(dir, { expect: second.trainer.getWeights() });
  const result = await runFederation({ ...second.options, resumeFrom: snap });
  second.trainer.dispose();
  return result;
}

const setups: Array<[string, Setup]> = [
  ["FedAvg", { strategy: "FedAvg" }],
  ["FedAdam (server state)", { strategy: "FedAdam" }],
  ["FedAvg + FedPer + 30% dropout", { strategy: "FedAvg", personalisation: () => new FedPer(), dropout: 0.3 }],
  ["FedAdam + Ditto (personal state) + dropout", { strategy: "FedAdam", personalisation: () => new Ditto({ lambda: 0.1 }), dropout: 0.2 }],
  ["DpFixedClipping(FedAvg) (noise generator state)", { strategy: "FedAvg", dp: true }],
];

for (const [label, setup] of setups) {
  test(`resume after a checkpoint = uninterrupted run, bitwise: ${label}`, async () => {
    await initBackend({ log: false });
    const a = await uninterrupted(setup, 5);
    const b = await resumed(setup, 5, 2);
    assert.equal(b.roundsRun, 5);
    assert.deepEqual(b.rows, a.rows);
    assert.deepEqual(b.failures, a.failures);
    assert.ok(weightsEqual(b.globalWeights, a.globalWeights), "final global weights bitwise equal");
    assert.ok(weightsEqual(b.bestGlobalWeights, a.bestGlobalWeights), "best weights bitwise equal");
    assert.equal(b.bestRound, a.bestRound);
    for (const [id, w] of a.personalWeights) assert.ok(weightsEqual(b.personalWeights.get(id) ?? [], w), `personal weights of ${id}`);
    if (setup.dropout) assert.ok(a.failures.some((f) => f.reason === "dropped out"), "dropout actually happened");
  });
}

test("a checkpoint round-trips NaN, ±Infinity and −0 in rows exactly, and the weights file is content-addressed", async () => {
  await initBackend({ log: false });
  const { options, trainer } = fresh({ strategy: "FedAvg" }, 3);
  const f = new Federation(options);
  await f.start();
  await f.runRound();
  const snap = f.snapshot();
  const odd = { ...snap, rows: [...snap.rows, { round: 1, participant: "server", scope: "server" as const, metric: "odd", value: NaN }, { round: 1, participant: "server", scope: "server" as const, metric: "odd2", value: -0 }, { round: 1, participant: "server", scope: "server" as const, metric: "odd3", value: -Infinity }] };
  const dir = tempDir();
  saveCheckpoint(dir, odd);
  const back = loadCheckpoint(dir);
  assert.deepEqual(back.rows, odd.rows);
  assert.ok(Object.is(back.rows[back.rows.length - 2].value, -0));
  await f.runRound();
  saveCheckpoint(dir, f.snapshot());
  const files = fs.readdirSync(dir).sort();
  assert.equal(files.length, 2, `old weights file removed, no temp files left: ${files.join(", ")}`);
  assert.equal(loadCheckpoint(dir).round, 2);
  trainer.dispose();
});

test("resume refuses a different architecture, other participants or other options, naming what differs; nothing is changed", async () => {
  await initBackend({ log: false });
  const { options, trainer } = fresh({ strategy: "FedAvg" }, 4);
  const f = new Federation(options);
  await f.start();
  await f.runRound();
  const dir = tempDir();
  saveCheckpoint(dir, f.snapshot());
  const snap = loadCheckpoint(dir);

  const wide = new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [9], numClasses: 4, seed: 3 }));
  assert.throws(() => loadCheckpoint(dir, { expect: wide.getWeights() }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError && e.kind === "architecture");
    assert.match(e.message, /checkpoint\.json/);
    assert.match(e.message, /variable #0 is "hidden_1\/kernel" \[6, 8\], the model has "hidden_1\/kernel" \[6, 9\]/);
    return true;
  });
  const wideFed = new Federation({ ...options, participants: createParticipants(wide, blobData(5)), trainer: wide });
  assert.throws(() => wideFed.restore(snap), /different model architecture: variable #0 is "hidden_1\/kernel" \[6, 8\]/);
  assert.equal(wideFed.round, -1, "a refused restore changes nothing");

  const fewer = new Federation({ ...options, participants: options.participants.slice(0, 4) });
  assert.throws(() => fewer.restore(snap), /participants differ.*not in snapshot: none; unknown: p4/);
  const otherSeed = new Federation({ ...options, seed: 12 });
  assert.throws(() => otherSeed.restore(snap), /run options differ.*seed: snapshot 11, now 12/);
  const otherLr = new Federation({ ...options, fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.2 } });
  assert.throws(() => otherLr.restore(snap), /fitConfig/);
  // A larger round budget is allowed (continue a finished run).
  const longer = new Federation({ ...options, rounds: 6 });
  longer.restore(snap);
  assert.equal(longer.round, 1);
  wide.dispose();
  trainer.dispose();
});
