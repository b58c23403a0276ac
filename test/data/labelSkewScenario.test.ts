import { test } from "node:test";
import assert from "node:assert/strict";
import { labelSkewExperimentConfig, labelSkewParticipants, LABEL_SKEW_IMAGES_PER_PARTICIPANT, LABEL_SKEW_PARTICIPANTS } from "../../lib/scenario/labelSkewScenario";
import { repetitionSeeds } from "../../lib/experiment/experimentConfig";

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
