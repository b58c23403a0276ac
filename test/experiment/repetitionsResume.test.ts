import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { firstDifference, parseExperimentConfig, repetitionDir, resumeRepetitions, runRepetitions } from "../../lib/experiment/index";

const ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "fedtune.js");
const KILLED = path.join(__dirname, "fixtures", "killedRepetitions.ts");

// Three repetitions (seeds 4, 5, 6), each with phase 1, client sampling and 4 rounds.
const raw = {
  name: "reps-resume",
  seed: 4,
  repetitions: 3,
  data: { kind: "partition", dataset: "digits", participants: 3, limit: 450, partitioner: { kind: "shard", shardsPerParticipant: 4 } },
  model: { kind: "mlp", hiddenUnits: [16] },
  training: { learningRate: 0.05, batchSize: 16 },
  localPhase: { maxEpochs: 3, patience: 1 },
  federation: { rounds: 4, sampling: { fraction: 0.67, minParticipants: 2 } },
};
const config = parseExperimentConfig(raw);

let dir = "";
let reference = "";
let interrupted = "";
const sha = (file: string): string => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
/** Every file under `d` with its SHA-256 (to show that nothing changed). */
function tree(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (x: string): void => {
    for (const e of fs.readdirSync(x, { withFileTypes: true })) {
      const p = path.join(x, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(d, p)] = sha(p);
    }
  };
  walk(d);
  return out;
}
const SET_FILES = ["summary.csv", "repetitions.csv"];
const SEED_FILES = ["metrics.csv", "summary.csv", "local-phase.csv"];

before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-reps-resume-"));
  reference = (await runRepetitions(config, { outDir: path.join(dir, "uninterrupted"), jobs: 2, report: false })).outDir;
  const configFile = path.join(dir, "config.json");
  fs.writeFileSync(configFile, JSON.stringify(raw));
  interrupted = path.join(dir, "interrupted");
  const r = spawnSync(process.execPath, ["--import", "tsx", KILLED, configFile, interrupted, "5:2"], { encoding: "utf8", cwd: ROOT, env: { ...process.env, FEDTUNE_QUIET: "1" } });
  assert.equal(r.signal, "SIGKILL", `the child was not killed: status ${r.status}, ${r.stdout}${r.stderr}`);
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("a multi-seed run killed in its second seed resumes with fedtune run --resume: the first seed kept, the second resumed, the third run; byte-identical to an uninterrupted run", () => {
  // What the kill left: seed 4 complete, seed 5 after round 2, seed 6 not started, no set tables.
  const meta = (s: number): { status: string; roundsDone: number; updatedAt: string } => JSON.parse(fs.readFileSync(path.join(repetitionDir(interrupted, s), "run.json"), "utf8"));
  assert.equal(meta(4).status, "complete");
  assert.deepEqual([meta(5).status, meta(5).roundsDone], ["running", 2]);
  assert.equal(fs.existsSync(repetitionDir(interrupted, 6)), false);
  assert.equal(fs.existsSync(path.join(interrupted, "summary.csv")), false);
  const keptBefore = tree(repetitionDir(interrupted, 4));
  const keptStamp = meta(4).updatedAt;

  const r = spawnSync(process.execPath, [CLI, "run", "--resume", interrupted, "--jobs", "2", "--no-report"], { encoding: "utf8", env: { ...process.env, FEDTUNE_QUIET: "1" } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /seed 4 kept from the earlier run \(checked\)/);
  assert.match(r.stderr, /seed 5 resumed and done/);
  assert.match(r.stderr, /seed 6 done/);
  assert.match(r.stdout, /mean ± 95 % interval over 3 seeds \(4, 5, 6\)/);
  // The finished seed was not rerun: its folder is untouched.
  assert.deepEqual(tree(repetitionDir(interrupted, 4)), keptBefore);
  assert.equal(meta(4).updatedAt, keptStamp);
  for (const f of SET_FILES) assert.equal(sha(path.join(interrupted, f)), sha(path.join(reference, f)), f);
  for (const s of [4, 5, 6]) for (const f of SEED_FILES) assert.equal(sha(path.join(repetitionDir(interrupted, s), f)), sha(path.join(repetitionDir(reference, s), f)), `seed-${s}/${f}`);
});

test("resuming a finished set keeps every seed and rebuilds the same tables", async () => {
  const before = tree(reference);
  const r = await resumeRepetitions(reference, { jobs: 1, report: false });
  assert.deepEqual(r.repetitions.map((o) => o.how), ["kept", "kept", "kept"]);
  assert.deepEqual(tree(reference), before);
});

test("bad states are clear errors naming the folder and the field or file, and change nothing", async () => {
  const copy = path.join(dir, "bad");
  fs.cpSync(reference, copy, { recursive: true });
  const seed6 = repetitionDir(copy, 6);

  // A seed folder from another config.
  const cfgFile = path.join(seed6, "config.json");
  const good = fs.readFileSync(cfgFile, "utf8");
  fs.writeFileSync(cfgFile, good.replace(/"learningRate": 0\.05/, '"learningRate": 0.01'));
  let before = tree(copy);
  await assert.rejects(resumeRepetitions(copy, { jobs: 1, report: false }), (e: Error) => {
    assert.ok(e.message.includes(seed6), e.message);
    assert.match(e.message, /field "training\.learningRate" is 0\.01 in .*config\.json but 0\.05 in the set's config/);
    return true;
  });
  assert.deepEqual(tree(copy), before);
  fs.writeFileSync(cfgFile, good);

  // A finished seed whose table does not match its history.
  const summary = path.join(seed6, "summary.csv");
  const table = fs.readFileSync(summary, "utf8");
  fs.writeFileSync(summary, table.replace(/\n(\w+),(\d+),0\.(\d)/, (_m, p, n, d) => `\n${p},${n},0.${(Number(d) + 1) % 10}`));
  before = tree(copy);
  await assert.rejects(resumeRepetitions(copy, { jobs: 1, report: false }), /cannot keep .*seed-6: .*summary\.csv is not the table of its history/);
  assert.deepEqual(tree(copy), before);
  fs.writeFileSync(summary, table);

  // A finished seed whose metrics.csv is not its checkpoint's history.
  const metrics = path.join(seed6, "metrics.csv");
  const history = fs.readFileSync(metrics, "utf8");
  fs.writeFileSync(metrics, history.split("\n").slice(0, -3).join("\n") + "\n");
  await assert.rejects(resumeRepetitions(copy, { jobs: 1, report: false }), /cannot keep .*seed-6: .*metrics\.csv is not the history of its final checkpoint \(round 4\)/);
  fs.writeFileSync(metrics, history);

  // A finished seed whose phase-1 record is not JSON.
  const localFile = path.join(seed6, "local-phase.json");
  const localText = fs.readFileSync(localFile, "utf8");
  fs.writeFileSync(localFile, localText.slice(0, 20));
  await assert.rejects(resumeRepetitions(copy, { jobs: 1, report: false }), /cannot keep .*seed-6: .*local-phase\.json is not valid JSON/);
  fs.writeFileSync(localFile, localText);

  // A stray non-run folder where a seed should be.
  fs.rmSync(seed6, { recursive: true });
  fs.mkdirSync(seed6);
  fs.writeFileSync(path.join(seed6, "notes.txt"), "mine");
  await assert.rejects(resumeRepetitions(copy, { jobs: 1, report: false }), /seed-6 is not empty but is not a run folder/);
  assert.equal(fs.readFileSync(path.join(seed6, "notes.txt"), "utf8"), "mine");

  // The set resumed with another config; a folder that is neither a run nor a set.
  await assert.rejects(runRepetitions(parseExperimentConfig({ ...raw, federation: { ...raw.federation, rounds: 5 } }), { outDir: copy, resume: true }), /cannot resume .*bad with another config: field "federation\.rounds" is 4 in its config\.json, 5 here/);
  await assert.rejects(resumeRepetitions(path.join(dir, "nothing")), /neither a run folder \(no run\.json\) nor a multi-seed set \(no config\.json\)/);
});

test("a set resumed with more seeds (--repetitions, then --seeds a..b) keeps its seeds untouched, runs only the new ones, and equals a fresh run with all the seeds", async () => {
  const grow = path.join(dir, "grow");
  const { repetitions: _r, ...one } = raw;
  await runRepetitions(parseExperimentConfig({ ...one, seeds: [4] }), { outDir: grow, jobs: 1, report: false });
  const seed4 = tree(repetitionDir(grow, 4));
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, "run", "--resume", grow, "--no-report", ...args], { encoding: "utf8", env: { ...process.env, FEDTUNE_QUIET: "1" } });

  let r = cli("--repetitions", "2", "--jobs", "1");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /seed 4 kept from the earlier run \(checked\)/);
  assert.match(r.stderr, /seed 5 done/);
  assert.match(r.stdout, /over 2 seeds \(4, 5\)/);
  assert.deepEqual(tree(repetitionDir(grow, 4)), seed4);
  const seed5 = tree(repetitionDir(grow, 5));

  r = cli("--seeds", "4..6", "--jobs", "2");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming the multi-seed run in .*grow with seeds 4, 5, 6/);
  assert.match(r.stderr, /seed 4 kept/);
  assert.match(r.stderr, /seed 5 kept/);
  assert.match(r.stderr, /seed 6 done/);
  assert.match(r.stdout, /mean ± 95 % interval over 3 seeds \(4, 5, 6\)/);
  assert.deepEqual(tree(repetitionDir(grow, 4)), seed4);
  assert.deepEqual(tree(repetitionDir(grow, 5)), seed5);
  // Every table and every seed's history: byte for byte the fresh 3-seed run's.
  for (const f of SET_FILES) assert.equal(sha(path.join(grow, f)), sha(path.join(reference, f)), f);
  for (const s of [4, 5, 6]) for (const f of SEED_FILES) assert.equal(sha(path.join(repetitionDir(grow, s), f)), sha(path.join(repetitionDir(reference, s), f)), `seed-${s}/${f}`);
  // The set's config.json now lists the three seeds, so a plain --resume keeps all three.
  const after = await resumeRepetitions(grow, { jobs: 1, report: false });
  assert.deepEqual(after.seeds, [4, 5, 6]);
  assert.deepEqual(after.repetitions.map((o) => o.how), ["kept", "kept", "kept"]);
});

test("resuming a set with another option, or without seeds it has, is refused naming the option and the set folder; nothing changes", () => {
  const grow = path.join(dir, "grow");
  const before = tree(grow);
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, "run", ...args, "--no-report"], { encoding: "utf8", env: { ...process.env, FEDTUNE_QUIET: "1" } });
  const refused = (r: ReturnType<typeof cli>, message: RegExp): void => {
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(tree(grow), before);
  };
  refused(cli("--resume", grow, "--seeds", "4..7", "--set", "federation.rounds=5"), /--set federation\.rounds=5 makes field "federation\.rounds" 5, but the set in .*grow was run with 4 \(its config\.json\)/);
  refused(cli("--resume", grow, "--seeds", "4..7", "--set", "training={\"learningRate\":0.1,\"batchSize\":16}"), /--set training=.* makes field "training\.learningRate" 0\.1, but the set in .*grow was run with 0\.05/);
  const other = path.join(dir, "other.json");
  fs.writeFileSync(other, JSON.stringify({ ...raw, model: { kind: "mlp", hiddenUnits: [32] } }));
  refused(cli("--resume", grow, other, "--repetitions", "4"), /the config file .*other\.json makes field "model\.hiddenUnits\[0\]" 32, but the set in .*grow was run with 16/);
  refused(cli("--resume", grow, "--seeds", "5,6,7"), /--seeds 5,6,7 leaves out seed\(s\) 4, which the set in .*grow already has/);
  refused(cli("--resume", grow, "--out", path.join(dir, "x")), /--resume .*grow continues in that folder; do not pass --out/);
  refused(cli("--resume", repetitionDir(grow, 4), "--seeds", "4,5"), /--resume .*seed-4: that is a single run \(it has run\.json\)/);
});

test("firstDifference names the first differing field", () => {
  assert.equal(firstDifference({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }), undefined);
  assert.deepEqual(firstDifference({ a: { x: 1, y: 2 } }, { a: { x: 1, y: 3 } }), { field: "a.y", a: 2, b: 3 });
  assert.deepEqual(firstDifference({ a: [1, 2] }, { a: [1, 5] }), { field: "a[1]", a: 2, b: 5 });
  assert.deepEqual(firstDifference({ a: 1 }, {}), { field: "a", a: 1, b: undefined });
});
