import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  ConfigError,
  closest,
  configFieldDocs,
  configHelpText,
  documentExperimentConfig,
  fitConfigOf,
  localTrainingOf,
  loadExperimentConfig,
  parseExperimentConfig,
} from "../../lib/experiment/index";
import { Rng } from "../../lib/util/rng";
import { FULL_BATCH } from "../../lib/model/trainer";
import { applySet } from "../../bin/cli";

const ROOT = path.resolve(__dirname, "..", "..");

/** The issues of a config that must fail. */
function issuesOf(raw: unknown): Array<{ path: string; message: string }> {
  try {
    parseExperimentConfig(raw, "test.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.ok(e.message.startsWith("invalid experiment config test.json:"), e.message);
    return [...e.issues];
  }
  assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}

function issueAt(raw: unknown, p: string): string {
  const issues = issuesOf(raw);
  const hit = issues.find((i) => i.path === p);
  assert.ok(hit, `no issue at ${p}; got ${JSON.stringify(issues)}`);
  return hit.message;
}

test("the defaults are the document's scenario", () => {
  const c = documentExperimentConfig();
  assert.equal(c.data.kind, "by-dataset");
  assert.deepEqual(c.data.kind === "by-dataset" && c.data.datasets, ["mnist", "fashion-mnist", "digits"]);
  assert.equal(c.model.kind, "pretrained");
  assert.equal(c.training.learningRate, 0.001);
  assert.equal(c.training.momentum, 0.9);
  assert.equal(c.training.epochs, 1);
  assert.equal(c.localPhase.enabled, true);
  assert.ok(c.localPhase.patience > 0, "early stopping on");
  assert.equal(c.federation.rounds, 10);
  assert.equal(c.federation.strategy.name, "FedAvg");
  assert.equal(c.personalisation.method, "fedper");
  // Parsing the resolved config again changes nothing (what run folders store and resume reads).
  assert.deepEqual(parseExperimentConfig(JSON.parse(JSON.stringify(c))), c);
});

test("an unknown field is named with its path, a suggestion and the allowed fields", () => {
  const top = issueAt({ fedration: {} }, "fedration");
  assert.match(top, /unknown field \(did you mean "federation"\?\)/);
  assert.match(top, /allowed fields: name, description, seed, repetitions, seeds, data, model, training, localPhase, federation, evaluation, personalisation, heterogeneity, privacy/);
  const nested = issueAt({ model: { kind: "cnn", fitlers: [8] } }, "model.fitlers");
  assert.match(nested, /did you mean "filters"/);
  assert.match(nested, /allowed fields of model: kind, filters, kernelSize, denseUnits, batchNorm/);
  // The allowed fields follow the variant actually chosen.
  assert.match(issueAt({ model: { kind: "mlp", filters: [8] } }, "model.filters"), /allowed fields of model: kind, hiddenUnits, activation, batchNorm/);
});

test("a wrong enum value names the field and lists every allowed value", () => {
  const m = issueAt({ federation: { strategy: { name: "FedAvgg" } } }, "federation.strategy.name");
  assert.match(m, /"FedAvgg" is not allowed \(did you mean "FedAvg"\?\)/);
  for (const s of ["FedAvg", "FedProx", "FedAvgM", "FedAdam", "FedYogi", "FedAdagrad", "FedMedian", "FedTrimmedAvg", "Krum"]) assert.ok(m.includes(s), s);
  const p = issueAt({ personalisation: { method: "fedperr" } }, "personalisation.method");
  assert.match(p, /allowed values: none, local-only, fedavg-ft, fedper, fedrep, ditto, fedbn/);
  assert.match(issueAt({ data: { kind: "partition", dataset: "cifar" } }, "data.dataset"), /allowed values: mnist, fashion-mnist, digits, letters, breast-cancer/);
  assert.match(issueAt({ data: { kind: "partition", dataset: "mnist", partitioner: { kind: "pathological" } } }, "data.partitioner.kind"), /allowed values: iid, dirichlet, shard, quantity/);
  assert.match(issueAt({ model: { activation: "relu" } }, "model.kind"), /is required; allowed values: pretrained, cnn, mlp/);
});

test("types, bounds and required fields are reported with the value received", () => {
  assert.match(issueAt({ federation: { rounds: "10" } }, "federation.rounds"), /expected integer ≥ 1, ≤ 10000, got string "10"/);
  assert.match(issueAt({ training: { momentum: 1 } }, "training.momentum"), /must be < 1, got 1/);
  assert.match(issueAt({ training: { learningRate: 0 } }, "training.learningRate"), /must be > 0, got 0/);
  assert.match(issueAt({ data: { kind: "partition" } }, "data.dataset"), /is required; allowed: "mnist" \| "fashion-mnist" \| "digits" \| "letters" \| "breast-cancer"/);
  assert.match(issueAt({ training: { trainableLayers: "some" } }, "training.trainableLayers"), /expected integer ≥ 1 \| "all"/);
  assert.match(issueAt({ data: { kind: "by-dataset", datasets: [] } }, "data.datasets"), /needs at least 1 entry/);
  assert.match(issueAt({ name: "my run!" }, "name"), /letters, digits/);
  assert.match(issueAt([1, 2], "(top level)"), /expected an object, got list/);
  // Every problem is reported at once, not only the first.
  const many = issuesOf({ seed: -1, federation: { rounds: 0 }, training: { batchSize: 0 } }).map((i) => i.path);
  assert.deepEqual(many.sort(), ["federation.rounds", "seed", "training.batchSize"]);
});

test("cross-field checks explain the conflict", () => {
  assert.match(issueAt({ personalisation: { method: "fedper", headLayers: 2 } }, "personalisation.headLayers"), /training.trainableLayers is 2/);
  assert.match(issueAt({ federation: { strategy: { name: "FedProx", options: { muu: 1 } } } }, "federation.strategy.options"), /no option\(s\) muu; allowed: acceptFailures, weighted, mu/);
  assert.match(issueAt({ personalisation: { method: "fedbn" } }, "personalisation.method"), /batchNorm: true/);
  assert.match(issueAt({ heterogeneity: { partialWork: true } }, "heterogeneity.partialWork"), /deadlineSeconds/);
  assert.match(issueAt({ federation: { sampling: { minParticipants: 4 } } }, "federation.sampling.minParticipants"), /only 3 participants/);
  assert.match(issueAt({ data: { kind: "by-dataset", datasets: ["mnist", "mnist"] } }, "data.datasets[1]"), /listed twice/);
});

test("more participants than a dataset's samples can serve is a config error naming data.participants", () => {
  // breast-cancer ships 455 training samples; with validation and test splits each participant needs 3.
  const base = { kind: "partition", dataset: "breast-cancer" };
  assert.equal(
    issueAt({ data: { ...base, participants: 456 } }, "data.participants"),
    "is 456 but breast-cancer has 455 training samples; each participant needs at least 3 (1 training + 1 validation + 1 test), so at most 151 participants",
  );
  assert.match(issueAt({ data: { ...base, participants: 152 } }, "data.participants"), /at most 151 participants/);
  assert.equal(parseExperimentConfig({ data: { ...base, participants: 151 } }).data.kind, "partition");
  // data.limit lowers what is available.
  assert.equal(
    issueAt({ data: { ...base, participants: 11, limit: 30 } }, "data.participants"),
    "is 11 but breast-cancer has 30 training samples (data.limit); each participant needs at least 3 (1 training + 1 validation + 1 test), so at most 10 participants",
  );
});

test("config files: JSON and YAML, syntax errors with a line, model.path relative to the file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-config-"));
  try {
    const yamlFile = path.join(dir, "exp.yaml");
    fs.writeFileSync(yamlFile, "name: from-yaml\nmodel:\n  kind: pretrained\n  path: ../models/cnn\nfederation:\n  rounds: 3\n");
    const c = loadExperimentConfig(yamlFile);
    assert.equal(c.name, "from-yaml");
    assert.equal(c.federation.rounds, 3);
    assert.equal(c.model.kind === "pretrained" && c.model.path, path.resolve(dir, "..", "models", "cnn"));
    const badJson = path.join(dir, "bad.json");
    fs.writeFileSync(badJson, '{\n  "name": "x",\n  "seed": 1,,\n}\n');
    assert.throws(() => loadExperimentConfig(badJson), (e: unknown) => e instanceof ConfigError && /bad\.json/.test(e.message) && /not valid JSON at line 3/.test(e.message));
    const badYaml = path.join(dir, "bad.yml");
    fs.writeFileSync(badYaml, "name: x\n  seed: [1\n");
    assert.throws(() => loadExperimentConfig(badYaml), (e: unknown) => e instanceof ConfigError && /not valid YAML/.test(e.message));
    const wrongField = path.join(dir, "wrong.yaml");
    fs.writeFileSync(wrongField, "federation:\n  strategy:\n    name: fedavg2\n");
    assert.throws(() => loadExperimentConfig(wrongField), (e: unknown) => e instanceof ConfigError && e.message.includes("wrong.yaml") && e.message.includes("federation.strategy.name"));
    assert.throws(() => loadExperimentConfig(path.join(dir, "x.toml")), /allowed extensions: \.json, \.yaml, \.yml/);
    assert.throws(() => loadExperimentConfig(path.join(dir, "missing.json")), /does not exist/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("every example config in examples/ is valid", () => {
  const dir = path.join(ROOT, "examples");
  const files = fs.readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f));
  assert.ok(files.length >= 3, `examples: ${files.join(", ")}`);
  for (const f of files) assert.doesNotThrow(() => loadExperimentConfig(path.join(dir, f)), f);
});

test("--help documents every field of the resolved config, with defaults", () => {
  const help = configHelpText();
  const documented = new Set(configFieldDocs().map((f) => f.path));
  // Every leaf of a fully resolved config (all variants' defaults) has a documented path.
  const leaves = (v: unknown, prefix: string): string[] =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => [`${prefix}${k}`, ...leaves(x, `${prefix}${k}.`)])
      : [];
  const samples = [
    documentExperimentConfig(),
    parseExperimentConfig({ data: { kind: "partition", dataset: "digits", partitioner: { kind: "dirichlet", alpha: 1 } }, model: { kind: "mlp" }, personalisation: { method: "ditto" }, privacy: { kind: "dp-adaptive", noiseMultiplier: 1 }, heterogeneity: { devices: {}, deadlineSeconds: 5 } }),
  ];
  for (const c of samples) {
    for (const p of leaves(c, "")) {
      if (p.startsWith("federation.strategy.options.")) continue;
      // Discriminators (data.kind, …) are documented as variants: `data.kind = "partition"`.
      const ok = documented.has(p) || [...documented].some((d) => d.startsWith(`${p} = `));
      assert.ok(ok, `field ${p} is not documented`);
      assert.ok(help.includes(p), `help text lacks ${p}`);
    }
  }
  assert.match(help, /training\.learningRate .*default 0\.001/);
  assert.match(help, /when personalisation\.method = "fedper":/);
});

test("closest() suggests near misses only", () => {
  assert.equal(closest("fedavg", ["FedAvg", "FedProx"]), "FedAvg");
  assert.equal(closest("roudns", ["rounds", "seed"]), "rounds");
  assert.equal(closest("zzzzzz", ["rounds", "seed"]), undefined);
});

test("--set overrides fields by path without touching the rest", () => {
  const c = documentExperimentConfig();
  const raw = applySet(applySet(c, "federation.rounds=3"), 'federation.strategy={"name":"FedProx","options":{"mu":0.01}}');
  const parsed = parseExperimentConfig(raw);
  assert.equal(parsed.federation.rounds, 3);
  assert.equal(parsed.federation.strategy.name, "FedProx");
  assert.equal(parsed.training.learningRate, 0.001);
  assert.equal(c.federation.rounds, 10, "the input config is not modified");
  assert.equal((applySet({}, "name=plain-string") as { name: string }).name, "plain-string");
  assert.throws(() => applySet({}, "__proto__.x=1"), /bad path/);
  assert.throws(() => applySet({}, "noequals"), /<path>=<value>/);
});

/** A random JSON value of bounded depth. */
function randomJson(rng: Rng, depth: number): unknown {
  const kinds = depth <= 0 ? 6 : 8;
  switch (rng.int(kinds)) {
    case 0:
      return null;
    case 1:
      return rng.next() < 0.5;
    case 2:
      return [0, -1, 1, 0.5, 1e9, -1e-9, 3, 2 ** 31, 1.5][rng.int(9)];
    case 3:
      return ["", "x", "mnist", "FedAvg", "fedper", "iid", "dirichlet", "pretrained", "all", "__proto__", "by-dataset", "partition"][rng.int(12)];
    case 4:
      return rng.normal() * 100;
    case 5:
      return "s" + rng.int(1000);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default: {
      const keys = ["name", "seed", "data", "model", "training", "kind", "rounds", "federation", "strategy", "options", "method", "alpha", "datasets", "dataset", "privacy", "__proto__", "constructor", "zz"];
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[keys[rng.int(keys.length)]] = randomJson(rng, depth - 1);
      return o;
    }
  }
}

/** The default config with one random field replaced, deleted or added. */
function mutate(rng: Rng, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value) || depth > 4) return randomJson(rng, 2);
  const o = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(o);
  const r = rng.next();
  if (r < 0.15 || keys.length === 0) o["extra" + rng.int(3)] = randomJson(rng, 1);
  else {
    const k = keys[rng.int(keys.length)];
    if (r < 0.3) delete o[k];
    else o[k] = rng.next() < 0.6 ? mutate(rng, o[k], depth + 1) : randomJson(rng, 2);
  }
  return o;
}

test("fuzz: random and mutated configs give a valid config or a ConfigError with paths and sentences, never a crash", () => {
  const rng = new Rng(20240607);
  const base = JSON.parse(JSON.stringify(documentExperimentConfig())) as unknown;
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 600; i++) {
    const raw = i % 3 === 0 ? randomJson(rng, 4) : mutate(rng, base);
    // Round-trip through JSON as a file would.
    const json = JSON.parse(JSON.stringify(raw) ?? "null") as unknown;
    try {
      const c = parseExperimentConfig(json, "fuzz.json");
      assert.equal(typeof c.federation.rounds, "number");
      accepted++;
    } catch (e) {
      if (!(e instanceof ConfigError)) assert.fail(`input ${JSON.stringify(json)} threw ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(e.issues.length > 0);
      for (const issue of e.issues) {
        assert.ok(issue.path.length > 0 && issue.message.length > 0, JSON.stringify(issue));
        assert.ok(!/undefined|\[object Object\]/.test(issue.message), `unclear message for ${JSON.stringify(json)}: ${issue.path}: ${issue.message}`);
      }
      rejected++;
    }
  }
  assert.ok(accepted > 20 && rejected > 200, `accepted ${accepted}, rejected ${rejected}`);
});

test("validation and test fractions may be 0; what cannot work with them is named", () => {
  const zero = parseExperimentConfig({ data: { kind: "partition", dataset: "digits", participants: 3, validationFraction: 0, testFraction: 0 } });
  assert.equal(zero.data.kind === "partition" && zero.data.validationFraction + zero.data.testFraction, 0);
  assert.equal(parseExperimentConfig({ data: { kind: "by-dataset", validationFraction: 0 } }).data.validationFraction, 0);
  assert.match(issueAt({ data: { kind: "partition", dataset: "digits", validationFraction: -0.1 } }, "data.validationFraction"), /0/);
  assert.match(issueAt({ data: { kind: "partition", dataset: "digits", testFraction: 1 } }, "data.testFraction"), /1/);
  assert.match(
    issueAt({ data: { kind: "by-dataset", validationFraction: 0 }, federation: { convergencePatience: 2 } }, "federation.convergencePatience"),
    /watches the validation loss, but data.validationFraction is 0/,
  );
  // With no validation and no test split a participant needs one sample only: digits' 1,437 training samples hold 1,000.
  assert.doesNotThrow(() => parseExperimentConfig({ data: { kind: "partition", dataset: "digits", participants: 1000, validationFraction: 0, testFraction: 0 } }));
  assert.match(
    issueAt({ data: { kind: "partition", dataset: "digits", participants: 1000, testFraction: 0 } }, "data.participants"),
    /each participant needs at least 2 \(1 training \+ 1 validation\), so at most \d+ participants/,
  );
});

test("evaluation.central and evaluation.models; defaults keep today's behaviour (no central set, every model evaluated)", () => {
  assert.deepEqual(documentExperimentConfig().evaluation, { models: "all" });
  const c = parseExperimentConfig({ evaluation: { central: { dataset: "mnist", size: 1000 } } });
  assert.deepEqual(c.evaluation.central, { dataset: "mnist", size: 1000 });
  assert.match(issueAt({ evaluation: { central: { dataset: "imagenet" } } }, "evaluation.central.dataset"), /mnist/);
  assert.ok(issuesOf({ evaluation: { central: { dataset: "mnist", size: 0 } } }).some((i) => i.path === "evaluation.central.size"));
  assert.ok(issuesOf({ evaluation: { central: { dataset: "mnist", split: "test" } } }).some((i) => i.path.startsWith("evaluation.central")));
  assert.equal(parseExperimentConfig({ evaluation: { models: "used" } }).evaluation.models, "used");
  assert.match(issueAt({ evaluation: { models: "some" } }, "evaluation.models"), /all.*used/);
});

test('training knobs: batchSize "full", dropLastPartialBatch, localUpdate "fedsgd" (with named conflicts)', () => {
  const defaults = parseExperimentConfig({}, "test.json").training;
  assert.equal(defaults.batchSize, 32);
  assert.equal(defaults.dropLastPartialBatch, false);
  assert.equal(defaults.localUpdate, "minibatch");
  assert.deepEqual(fitConfigOf(defaults), { epochs: 1, batchSize: 32, learningRate: 0.001, momentum: 0.9 });
  const full = parseExperimentConfig({ training: { batchSize: "full", dropLastPartialBatch: true } }, "test.json").training;
  assert.deepEqual(fitConfigOf(full), { epochs: 1, batchSize: FULL_BATCH, learningRate: 0.001, momentum: 0.9, dropLastPartialBatch: true });
  const sgd = parseExperimentConfig({ training: { localUpdate: "fedsgd", learningRate: 0.1 } }, "test.json").training;
  assert.equal(sgd.epochs, 1);
  assert.equal(sgd.batchSize, "full");
  assert.equal(fitConfigOf(sgd).batchSize, FULL_BATCH);
  // The one mapping of the section the runner and a Flower node read: early stopping only when patience > 0.
  assert.deepEqual(localTrainingOf(defaults), fitConfigOf(defaults));
  const patient = parseExperimentConfig({ training: { earlyStoppingPatience: 2, batchSize: "full", dropLastPartialBatch: true } }, "test.json").training;
  assert.deepEqual(localTrainingOf(patient), { epochs: 1, batchSize: FULL_BATCH, learningRate: 0.001, momentum: 0.9, dropLastPartialBatch: true, earlyStopping: { patience: 2 } });
  // Giving the fixed values again is fine; other values are errors naming the field.
  parseExperimentConfig({ training: { localUpdate: "fedsgd", epochs: 1, batchSize: "full" } }, "test.json");
  const bad = issuesOf({ training: { localUpdate: "fedsgd", epochs: 5, batchSize: 10 } });
  assert.deepEqual(bad.map((i) => i.path).sort(), ["training.batchSize", "training.epochs"]);
  assert.match(bad.find((i) => i.path === "training.epochs")?.message ?? "", /is 5 but localUpdate "fedsgd" takes one full-batch step per round/);
  assert.ok(issuesOf({ training: { batchSize: "all" } }).some((i) => i.path === "training.batchSize"));
  assert.match(configHelpText(), /dropLastPartialBatch/);
});
