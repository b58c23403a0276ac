import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { labelSkewExperimentConfig, labelSkewParticipants, LABEL_SKEW_CENTRAL_TEST_SIZE, LABEL_SKEW_IMAGES_PER_PARTICIPANT, LABEL_SKEW_PARTICIPANTS } from "../../lib/scenario/labelSkewScenario";
import { repetitionSeeds } from "../../lib/experiment/experimentConfig";
import { buildCentralTestSet } from "../../lib/experiment/buildExperiment";

test("label-skew scenario: 10 participants, ≤ 100 labelled Fashion-MNIST images and ≤ 2 labels each, disjoint, re-drawn per seed", () => {
  const c = labelSkewExperimentConfig();
  assert.equal(c.data.kind, "partition");
  assert.equal(c.model.kind, "pretrained");
  assert.deepEqual(repetitionSeeds(c), [0]);
  const drawn: string[] = [];
  for (const seed of [0, 1, 2]) {
    const ps = labelSkewParticipants(seed);
    assert.equal(ps.length, LABEL_SKEW_PARTICIPANTS);
    let total = 0;
    for (const p of ps) {
      const splits = [p.data.train, p.data.validation, p.data.test];
      const n = splits.reduce((a, d) => a + d.y.length, 0);
      total += n;
      assert.ok(n <= LABEL_SKEW_IMAGES_PER_PARTICIPANT && p.data.test.y.length >= 1, `seed ${seed} ${p.id}: ${n} images`);
      const labels = new Set(splits.flatMap((d) => [...d.y]));
      assert.ok(labels.size <= 2, `seed ${seed} ${p.id}: labels ${[...labels].join(",")}`);
      assert.ok(p.data.train.name.includes("fashion-mnist"));
    }
    assert.equal(total, 900);
    drawn.push(ps.map((p) => [...p.data.train.y].join("")).join("|"));
  }
  assert.notEqual(drawn[0], drawn[1]);
});

test("label-skew scenario: the central row scores the global model on all of Fashion-MNIST's held-out test file, shaped like the participants' images", () => {
  const c = labelSkewExperimentConfig();
  assert.deepEqual(c.evaluation.central, { dataset: "fashion-mnist", size: LABEL_SKEW_CENTRAL_TEST_SIZE });
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "data", "manifest.json"), "utf8"));
  assert.equal(manifest.files["fashion-mnist/test.bin.gz"].count, LABEL_SKEW_CENTRAL_TEST_SIZE, "the whole shipped test file");
  const ps = labelSkewParticipants(0);
  const central = buildCentralTestSet(c, ps)!;
  assert.equal(central.y.length, LABEL_SKEW_CENTRAL_TEST_SIZE);
  assert.equal(central.name, "central/fashion-mnist/test");
  assert.deepEqual(central.sampleShape, ps[0].data.train.sampleShape);
  assert.equal(new Set(central.y).size, 10, "every class, not the participants' two each");
});
