/**
 * Seeded, bounded fuzzing of everything that reads untrusted input: dataset file decoding,
 * checkpoint loading and the strategy factory. Each input must either load or fail with the
 * loader's own error type and a message — never a TypeError/RangeError from deep inside, never a
 * hang (each loop is bounded and the whole file runs in a few seconds).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { Rng } from "../../lib/util/rng";
import { initBackend } from "../../lib/backend";
import { DatasetFileError, decodeDatasetPayload, encodeDatasetFile, gunzipDatasetFile, makeParticipants, readDatasetFile } from "../../lib/data/index";
import { createStrategy, Federation, strategyNames } from "../../lib/federation/index";
import { CHECKPOINT_FILE, CheckpointError, loadCheckpoint, saveCheckpoint } from "../../lib/federation/checkpoint";
import { smallRun } from "./fixtures/smallRun";

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A random JSON value (depth-limited), biased towards values that break naive code. */
function randomJson(rng: Rng, depth = 0, keys: readonly string[] = []): unknown {
  const pick = rng.int(depth >= 3 ? 6 : 9);
  const numbers = [0, -1, 1, 0.5, -0.5, 2, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 53, 1e-9, 3.7, 100];
  const strings = ["", "a", "__proto__", "constructor", "NaN", "1", "FedAvg", "\u0000", "x".repeat(50), "weights-0000000000000000.bin"];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
    case 3:
      return numbers[rng.int(numbers.length)];
    case 4:
      return rng.int(1000) - 500;
    case 5:
      return strings[rng.int(strings.length)];
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1, keys));
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.int(5);
      for (let i = 0; i < n; i++) {
        const k = keys.length > 0 && rng.next() < 0.8 ? keys[rng.int(keys.length)] : strings[rng.int(strings.length)];
        o[k] = randomJson(rng, depth + 1, keys);
      }
      return o;
    }
  }
}

/** Replace one randomly chosen node of a JSON tree by a random value (returns a new tree). */
function mutateJson(rng: Rng, value: unknown, keys: readonly string[]): unknown {
  if (value === null || typeof value !== "object" || rng.next() < 0.15) return randomJson(rng, 1, keys);
  if (Array.isArray(value)) {
    if (value.length === 0) return randomJson(rng, 1, keys);
    const copy = value.slice();
    const i = rng.int(copy.length);
    if (rng.next() < 0.1) copy.splice(i, 1);
    else copy[i] = mutateJson(rng, copy[i], keys);
    return copy;
  }
  const o = { ...(value as Record<string, unknown>) };
  const ks = Object.keys(o);
  if (ks.length === 0) return randomJson(rng, 1, keys);
  const k = ks[rng.int(ks.length)];
  if (rng.next() < 0.1) delete o[k];
  else o[k] = mutateJson(rng, o[k], keys);
  return o;
}

/** Assert that `f` returns or throws an error of `type` with a non-empty message. */
function onlyClearErrors(label: string, f: () => unknown, type: new (...args: never[]) => Error): "ok" | "error" {
  try {
    f();
    return "ok";
  } catch (e) {
    assert.ok(e instanceof type, `${label}: expected a ${type.name}, got ${e instanceof Error ? `${e.constructor.name}: ${e.stack}` : String(e)}`);
    assert.ok(e.message.length > 10, `${label}: message too short: ${e.message}`);
    return "error";
  }
}

test("dataset decoding: random bytes, bit flips, truncations and random headers only give DatasetFileErrors", () => {
  const rng = new Rng(2024);
  const original = readDatasetFile("digits", "test");
  const expected = { name: "digits", split: "test", sampleShape: [8, 8, 1], numClasses: 10 };
  const gz = encodeDatasetFile(original);
  const payload = gunzipSync(gz);
  const headerLength = payload.readUInt32LE(4);
  const header = JSON.parse(payload.toString("utf8", 8, 8 + headerLength)) as Record<string, unknown>;
  const headerKeys = Object.keys(header);
  const body = payload.subarray(8 + headerLength);
  const withHeader = (h: unknown, rest: Buffer = body): Buffer => {
    const hb = Buffer.from(JSON.stringify(h) ?? "null", "utf8");
    const prefix = Buffer.alloc(8);
    prefix.write("FTDS", 0, "ascii");
    prefix.writeUInt32LE(hb.length, 4);
    return Buffer.concat([prefix, hb, rest]);
  };
  const counts = { ok: 0, error: 0 };
  for (let i = 0; i < 400; i++) {
    const kind = i % 5;
    let bytes: Buffer;
    if (kind === 0) bytes = Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
    else if (kind === 1) {
      bytes = Buffer.from(payload);
      for (let k = 0, n = 1 + rng.int(8); k < n; k++) bytes[rng.int(Math.min(bytes.length, 8 + headerLength + 64))] ^= 1 << rng.int(8);
    } else if (kind === 2) bytes = payload.subarray(0, rng.int(payload.length));
    else if (kind === 3) bytes = withHeader(mutateJson(rng, header, headerKeys));
    else bytes = withHeader(randomJson(rng, 0, headerKeys), body.subarray(0, rng.int(body.length + 1)));
    counts[onlyClearErrors(`payload case ${i} (kind ${kind})`, () => decodeDatasetPayload("fuzz.bin.gz", bytes, expected), DatasetFileError)] += 1;
  }
  for (let i = 0; i < 100; i++) {
    const bytes = i % 2 === 0 ? Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256))) : gz.subarray(0, rng.int(gz.length));
    onlyClearErrors(`gzip case ${i}`, () => decodeDatasetPayload("fuzz.bin.gz", gunzipDatasetFile("fuzz.bin.gz", bytes), expected), DatasetFileError);
  }
  assert.ok(counts.error > 350, `most random inputs are refused: ${JSON.stringify(counts)}`);
  // The untouched payload still decodes (the fuzz harness itself is sound).
  assert.equal(decodeDatasetPayload("ok", payload, expected).header.count, original.header.count);
  assert.ok(gzipSync(payload).length > 0);
});

test("checkpoint loading: random bytes, random JSON, mutated metadata and damaged weights only give CheckpointErrors", async () => {
  await initBackend({ log: false });
  const { options, trainer } = smallRun(3);
  const f = new Federation(options);
  await f.start();
  await f.runRound();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-fuzz-"));
  tempDirs.push(dir);
  const { metaPath, weightsPath } = saveCheckpoint(dir, f.snapshot());
  const metaText = fs.readFileSync(metaPath, "utf8");
  const meta = JSON.parse(metaText) as unknown;
  const weights = fs.readFileSync(weightsPath);
  const keys = ["format", "version", "weightsFile", "weightsBytes", "weightsSha256", "weightSets", "snapshot", "$weights", "$float", "name", "shape", "offset", "rows", "round", "participants", "state", "weights", "globalWeights", "best", "fingerprint", "architecture"];
  const rng = new Rng(7);
  const counts = { ok: 0, error: 0, restored: 0, refused: 0 };
  for (let i = 0; i < 300; i++) {
    const kind = i % 7;
    fs.writeFileSync(weightsPath, weights);
    if (kind === 0) fs.writeFileSync(metaPath, Buffer.from(Array.from({ length: rng.int(400) }, () => rng.int(256))));
    else if (kind === 1) fs.writeFileSync(metaPath, JSON.stringify(randomJson(rng, 0, keys)) ?? "");
    else if (kind === 2) fs.writeFileSync(metaPath, metaText.slice(0, rng.int(metaText.length)));
    else if (kind === 5) {
      fs.writeFileSync(metaPath, metaText);
      const damaged = Buffer.from(weights.subarray(0, rng.next() < 0.5 ? rng.int(weights.length) : weights.length));
      if (damaged.length > 0) damaged[rng.int(damaged.length)] ^= 0xff;
      fs.writeFileSync(weightsPath, damaged);
    } else if (kind === 6) {
      // Plausible values in the right places: these load, and restore must accept or refuse them clearly.
      const m = JSON.parse(metaText) as { snapshot: Record<string, unknown> & { rows: Array<Record<string, unknown>>; best: Record<string, unknown>; fingerprint: Record<string, unknown> } };
      const s = m.snapshot;
      const edits = [
        () => (s.round = rng.int(6)),
        () => (s.samplingRngState = rng.int(2 ** 32)),
        () => (s.rows[rng.int(s.rows.length)].value = rng.normal()),
        () => (s.sinceBest = rng.int(4)),
        () => (s.best.loss = rng.normal()),
        () => (s.strategyState = randomJson(rng, 2, ["m", "v", "t", "eta"]) ?? {}),
        () => (s.fingerprint.optionsHash = "0".repeat(64)),
        () => (s.participants = []),
      ];
      edits[rng.int(edits.length)]();
      fs.writeFileSync(metaPath, JSON.stringify(m));
    } else {
      let m = meta;
      for (let k = 0, n = 1 + rng.int(3); k < n; k++) m = mutateJson(rng, m, keys);
      fs.writeFileSync(metaPath, JSON.stringify(m));
    }
    let loaded: ReturnType<typeof loadCheckpoint> | undefined;
    const outcome = onlyClearErrors(`checkpoint case ${i} (kind ${kind})`, () => (loaded = loadCheckpoint(dir)), CheckpointError);
    counts[outcome] += 1;
    if (loaded !== undefined) {
      // What loads must still be either resumable or refused with a clear Error by restore.
      const fresh = smallRun(3);
      const g = new Federation(fresh.options);
      if (onlyClearErrors(`restore case ${i}`, () => g.restore(loaded as NonNullable<typeof loaded>), Error) === "ok") counts.restored += 1;
      else counts.refused += 1;
      fresh.trainer.dispose();
    }
  }
  assert.ok(counts.error > 180 && counts.ok > 20 && counts.restored > 5, `most damaged checkpoints are refused, plausible ones load: ${JSON.stringify(counts)}`);
  fs.writeFileSync(metaPath, metaText);
  fs.writeFileSync(weightsPath, weights);
  assert.equal(loadCheckpoint(dir).round, 1, "the undamaged checkpoint still loads");
  trainer.dispose();
});

test("createStrategy with random names and random option objects: a Strategy or a clear Error", () => {
  const rng = new Rng(99);
  const optionKeys = ["acceptFailures", "weighted", "mu", "serverLearningRate", "serverMomentum", "eta", "etaL", "beta1", "beta2", "tau", "biasCorrection", "beta", "numMalicious", "numToKeep", "typo"];
  const counts = { ok: 0, error: 0 };
  for (let i = 0; i < 500; i++) {
    const name = rng.next() < 0.85 ? strategyNames[rng.int(strategyNames.length)] : (["fedavg", "FEDADAM", "FedAwesome", "", "Krum "] as const)[rng.int(5)];
    const opts: Record<string, unknown> = {};
    for (let k = 0, n = rng.int(4); k < n; k++) opts[optionKeys[rng.int(optionKeys.length)]] = randomJson(rng, 1, optionKeys);
    counts[onlyClearErrors(`createStrategy(${JSON.stringify(name)}, ${JSON.stringify(opts)})`, () => createStrategy(name, opts), Error)] += 1;
  }
  assert.ok(counts.ok > 50 && counts.error > 50, JSON.stringify(counts));
});

test("createStrategy with non-object options (null) gives a clear error", () => {
  assert.throws(() => createStrategy("FedAvg", null as unknown as object), (e: unknown) => !(e instanceof TypeError));
});

test("invalid configs fail with one sentence naming the thing: unknown strategy, α ≤ 0, fraction outside (0, 1], more participants than samples", () => {
  assert.throws(() => createStrategy("FedAwesome"), /createStrategy: unknown strategy "FedAwesome"; allowed: FedAvg/);
  assert.throws(() => makeParticipants({ dataset: "digits", partition: { kind: "dirichlet", alpha: 0 }, numParticipants: 5, seed: 1 }), /dirichletPartition: alpha must be > 0, got 0/);
  assert.throws(() => makeParticipants({ dataset: "digits", partition: { kind: "dirichlet", alpha: -1 }, numParticipants: 5, seed: 1 }), /alpha must be > 0, got -1/);
  assert.throws(() => makeParticipants({ dataset: "digits", partition: { kind: "iid" }, numParticipants: 50, limit: 20, seed: 1 }), /numParticipants \(50\) exceeds the number of samples \(20\)/);
  const { options, trainer } = smallRun(2);
  for (const fraction of [0, -0.1, 1.5, NaN]) {
    assert.throws(() => new Federation({ ...options, sampling: { fraction } }), new RegExp(`sampling: fraction must be in \\(0, 1\\], got ${fraction}`));
  }
  trainer.dispose();
});

test("a checkpoint file that does not exist, and a weights file that went missing, are named", async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-fuzz-"));
  tempDirs.push(empty);
  assert.throws(() => loadCheckpoint(empty), (e: unknown) => e instanceof CheckpointError && e.kind === "missing" && e.message.includes(path.join(empty, CHECKPOINT_FILE)));
  await initBackend({ log: false });
  const { options, trainer } = smallRun(2);
  const f = new Federation(options);
  await f.start();
  const { weightsPath } = saveCheckpoint(empty, f.snapshot());
  fs.rmSync(weightsPath);
  assert.throws(() => loadCheckpoint(empty), (e: unknown) => e instanceof CheckpointError && e.kind === "missing" && e.message.includes(weightsPath) && /incomplete/.test(e.message));
  trainer.dispose();
});
