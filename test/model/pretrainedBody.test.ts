import { test } from "node:test";
import assert from "node:assert/strict";
import { readPretrainingInfo } from "../../lib/model/pretrainingInfo";
import {
  documentParticipants,
  OVERLAP_PRETRAINED_CNN_DIR,
  overlapPretrainingData,
  PRETRAINED_CNN_DIR,
  publicPretrainingData,
} from "../../lib/scenario/documentScenario";

test("the shipped body's pretraining data holds none of the participants' classes", () => {
  const pub = publicPretrainingData({ trainCount: 500, validationCount: 100 });
  assert.equal(pub.train.y.length, 500);
  assert.equal(pub.validation.y.length, 100);
  assert.equal(pub.train.numClasses, 26);
  assert.deepEqual([...pub.train.classNames], Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i)));
  const participantClasses = new Set(documentParticipants({ trainSize: 20, testSize: 10 }).flatMap((p) => [...p.data.train.classNames]));
  for (const c of pub.train.classNames) assert.ok(!participantClasses.has(c), `class ${c} is also a participant's class`);
  // The earlier body's data, by contrast, is made of the participants' own classes.
  const overlap = overlapPretrainingData({ mnistCount: 50, fashionCount: 50 });
  assert.ok(overlap.train.classNames.includes("T-shirt/top") && overlap.train.classNames.includes("digit 0"));
});

test("publicPretrainingData: defaults take every image; a bad count names the option and the range", () => {
  const all = publicPretrainingData();
  assert.equal(all.train.y.length, 24232);
  assert.equal(all.validation.y.length, 4316);
  assert.throws(() => publicPretrainingData({ trainCount: 0 }), /publicPretrainingData: trainCount must be an integer in \[1, 24232\], got 0/);
  assert.throws(() => publicPretrainingData({ validationCount: 5000 }), /validationCount must be an integer in \[1, 4316\], got 5000/);
});

test("pretraining.json says what each committed body saw", () => {
  const shipped = readPretrainingInfo(PRETRAINED_CNN_DIR);
  assert.match(shipped.saw, /letters A–Z/);
  assert.match(shipped.saw, /no digit, no clothing/);
  assert.ok(shipped.validation.accuracy > 0.5, `validation accuracy ${shipped.validation.accuracy}`);
  assert.equal(shipped.data.classes.length, 26);
  const overlap = readPretrainingInfo(OVERLAP_PRETRAINED_CNN_DIR);
  assert.match(overlap.saw, /MNIST \+ Fashion-MNIST/);
});
