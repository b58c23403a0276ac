import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { initBackend } from "../../lib/backend";
import { parseExperimentConfig, resumeExperiment, runExperiment } from "../../lib/experiment/index";

const ROOT = path.resolve(__dirname, "..", "..");
const KILLED_RUN = path.join(__dirname, "fixtures", "killedRun.ts");
const CLI = path.join(ROOT, "bin", "fedtune.js");

// Every piece of state a resume must restore: server momentum (FedAvgM), client sampling (2 of 3
// per round), seeded dropouts, Ditto's personal models, phase-1 warm start.
const config = parseExperimentConfig({
  name: "resume-test",
  seed: 5,
  data: { kind: "partition", dataset: "digits", participants: 3, limit: 600, partitioner: { kind: "dirichlet", alpha: 1, minSize: 40 } },
  model: { kind: "mlp", hiddenUnits: [32] },
  training: { learningRate: 0.05, batchSize: 16 },
  localPhase: { maxEpochs: 6, patience: 2 },
  federation: { rounds: 4, strategy: { name: "FedAvgM", options: { serverMomentum: 0.9 } }, sampling: { fraction: 0.67, minParticipants: 2 } },
  personalisation: { method: "ditto", lambda: 0.1 },
  heterogeneity: { devices: { dropoutProbability: 0.2 } },
});

let dir = "";
let configFile = "";
let reference = "";
const ARTEFACTS = ["metrics.csv", "summary.csv", "local-phase.csv", "models/global/weights.bin", "models/personal/p1/weights.bin"];

before(async () => {
  await initBackend({ log: false });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-resume-"));
  configFile = path.join(dir, "config.json");
  fs.writeFileSync(configFile, JSON.stringify(config));
  reference = path.join(dir, "uninterrupted");
  await runExperiment(config, { outDir: reference, report: false });
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run the fixture in a child process that SIGKILLs itself at `when`; returns the run folder. */
function killedRun(when: string): string {
  const out = path.join(dir, `killed-${when.replace(/:/g, "-")}`);
  const r = spawnSync(process.execPath, ["--import", "tsx", KILLED_RUN, configFile, out, when], { encoding: "utf8", cwd: ROOT, env: { ...process.env, FEDTUNE_QUIET: "1" } });
  assert.equal(r.signal, "SIGKILL", `the child was not killed at ${when}: status ${r.status}, ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`killing at ${when}`));
  return out;
}

function assertSameArtefacts(out: string): void {
  for (const f of ARTEFACTS) {
    const a = fs.readFileSync(path.join(reference, f));
    const b = fs.readFileSync(path.join(out, f));
    assert.ok(a.equals(b), `${f} differs from the uninterrupted run`);
  }
}

test("killed (SIGKILL) right after round 2, resumed: byte-identical history, table and models", async () => {
  // The reference exercises the state that must survive: 2 of 3 sampled, a dropout after round 2.
  const csv = fs.readFileSync(path.join(reference, "metrics.csv"), "utf8");
  assert.match(csv, /^[34],server,server,failed,1$/m);
  assert.match(csv, /^1,server,server,sampled,2$/m);
  const out = killedRun("round:2");
  const meta = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  assert.equal(meta.status, "running");
  assert.equal(meta.roundsDone, 2);
  const r = await resumeExperiment(out, { report: false });
  assert.equal(r.resumedFromRound, 2);
  assert.equal(r.roundsRun, 4);
  assertSameArtefacts(out);
});

test("killed in the middle of round 3 (after one participant trained), resumed: identical, and no temp file is left", async () => {
  const out = killedRun("fit:3:1");
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8")).roundsDone, 2);
  // What a kill in the middle of an atomic write leaves (the kill above lands between writes).
  const stale = [path.join(out, "run.json.tmp-999999-4"), path.join(out, "checkpoint", "checkpoint.json.tmp-999999-7"), path.join(out, "report.html.tmp")];
  for (const f of stale) fs.writeFileSync(f, "half a file");
  const r = await resumeExperiment(out, { report: false });
  const temps: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/\.tmp/.test(e.name)) temps.push(path.join(d, e.name));
    }
  };
  walk(out);
  assert.deepEqual(temps, []);
  assert.equal(r.resumedFromRound, 2);
  assertSameArtefacts(out);
});

test("killed during phase 1, resumed with the CLI (fedtune run --resume): identical", () => {
  const out = killedRun("local:2");
  const meta = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  assert.equal(meta.localPhaseDone, false);
  const r = spawnSync(process.execPath, [CLI, "run", "--resume", out, "--no-report", "--plain"], { encoding: "utf8", env: { ...process.env, FEDTUNE_QUIET: "1" } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /participant +train +local-only +global last/);
  assert.match(r.stdout, /run folder: /);
  assertSameArtefacts(out);
});

test("a new run that fails before anything resumable is written leaves no run folder behind", async () => {
  const out = path.join(dir, "fails-early");
  const bad = parseExperimentConfig({ name: "fails-early", model: { kind: "pretrained", path: path.join(dir, "no-such-model") } });
  await assert.rejects(runExperiment(bad, { outDir: out, report: false }), /no-such-model/);
  assert.equal(fs.existsSync(out), false, "no half-made folder (config.json, run.json \"running\")");
});

test("--resume of something that is not a run folder is a clear error", async () => {
  await assert.rejects(resumeExperiment(dir), /is not a fedtune run folder \(no run\.json\)/);
  const r = spawnSync(process.execPath, [CLI, "run", "--resume", path.join(dir, "nope")], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /does not exist/);
});
