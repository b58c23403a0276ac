import { test } from "node:test";
import assert from "node:assert/strict";
import { sharedMaskProtocol } from "../../lib/privacy";
import type { SecAggStage } from "../../lib/privacy";
import { weightedAverage } from "../../lib/federation/aggregate";
import type { FitUpdate } from "../../lib/federation/types";
import type { ModelWeights } from "../../lib/model/weights";
import { Rng } from "../../lib/util/rng";

const rng = new Rng(77);
const tensor = (name: string, n: number, f: () => number) => ({ name, shape: [n], values: Float32Array.from({ length: n }, f) });
const current: ModelWeights = [tensor("body", 50, () => rng.normal()), tensor("head", 12, () => rng.normal())];
const ids = ["a", "b", "c", "d", "e", "f", "g"];
const updates: FitUpdate[] = ids.map((id) => ({
  participantId: id,
  numExamples: 10 + rng.int(90),
  metrics: {},
  weights: current.map((t) => ({ ...t, values: t.values.map((x) => x + 0.1 * rng.normal()) })),
}));
const plan: Record<string, SecAggStage> = { b: "advertise-keys", c: "share-keys", d: "masked-input", e: "unmasking" };

test("the shared-mask protocol gives FedAvg of the survivors on the shared tensors, with a dropout at every stage", () => {
  const out = sharedMaskProtocol().mean({ round: 4, current, updates, shared: [true, false], threshold: 3, dropsOut: (id, stage) => plan[id] === stage });
  if (out.ok === false) throw new Error(`expected a mean, got: ${out.reason}`);
  assert.deepEqual(out.dropped, Object.entries(plan).map(([participantId, stage]) => ({ participantId, stage })));
  // e dropped before unmasking: its masked input arrived, so it is in the mean.
  const survivors = updates.filter((u) => ["a", "e", "f", "g"].includes(u.participantId));
  assert.equal(out.numExamples, survivors.reduce((s, u) => s + u.numExamples, 0));
  const fedavg = weightedAverage(survivors);
  const fraction = out.numExamples / updates.reduce((s, u) => s + u.numExamples, 0);
  const bound = (4 * 0.5) / 2 ** 22 / fraction;
  for (let k = 0; k < 50; k++) {
    const err = Math.abs(out.weights[0].values[k] - fedavg[0].values[k]);
    assert.ok(err <= bound + 2 ** -22 * Math.abs(fedavg[0].values[k]), `body[${k}]: ${err} > ${bound}`);
  }
  assert.equal(out.weights[1], current[1], "an unshared tensor stays the global one");
});

test("fewer than t: ok false with the reason, nothing decoded", () => {
  const out = sharedMaskProtocol({ seed: 3 }).mean({ round: 5, current, updates, shared: [true, true], threshold: 5, dropsOut: (id, stage) => plan[id] === stage });
  if (out.ok === true) throw new Error("expected the round to fail below the threshold");
  assert.match(out.reason, /masked input collection: only 4 of 5 participant\(s\) sent a masked input, fewer than the threshold 5 \(missing: d\)/);
  assert.equal(out.dropped.length, 4);
  const few = sharedMaskProtocol().mean({ round: 5, current, updates: updates.slice(0, 2), shared: [true, true], threshold: 3, dropsOut: () => false });
  assert.equal(few.ok, false);
  if (few.ok === false) assert.match(few.reason, /round 5 has 2 update\(s\), fewer than the threshold 3/);
});
