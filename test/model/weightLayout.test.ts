import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSameLayout, knownSameLayout } from "../../lib/model/weightLayout";
import type { ModelWeights } from "../../lib/model/weights";
import { FedAvg } from "../../lib/federation/index";

const layer = (n: number): ModelWeights => [
  { name: "d/kernel", shape: [2, n], values: new Float32Array(2 * n) },
  { name: "d/bias", shape: [n], values: new Float32Array(n) },
];

/** `w` behind a proxy that counts how often its variables are read (a comparison reads each one). */
function counted(w: ModelWeights): { weights: ModelWeights; reads: () => number } {
  let reads = 0;
  const weights = new Proxy(w as object, {
    get(target, key) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads += 1;
      return Reflect.get(target, key);
    },
  }) as ModelWeights;
  return { weights, reads: () => reads };
}

test("a pair found equal is compared once; later checks of it (and of its class) are lookups", () => {
  const global = layer(3);
  const u = counted(layer(3));
  const v = layer(3);
  assertSameLayout(global, u.weights, "round 1", 'participant "a"');
  const first = u.reads();
  assert.ok(first >= 2, "the first check reads every variable");
  assertSameLayout(global, u.weights, "FedAvg round 1", 'participant "a"');
  assert.equal(u.reads(), first, "the strategy's check of the same update reads nothing");
  assertSameLayout(global, v, "round 1", 'participant "b"');
  assert.ok(knownSameLayout(u.weights, v), "two updates matching the global model match each other");
  assertSameLayout(v, u.weights, "weightedAverage", "update #1");
  assert.equal(u.reads(), first, "nor does the arithmetic's check among updates");
});

test("a mismatch is never remembered, and a strategy called outside the loop names the participant", () => {
  const global = layer(2);
  const bad = layer(3);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => assertSameLayout(global, bad, "ctx", 'participant "bob"'), /ctx: participant "bob" variable "d\/kernel" has shape \[2,3\], expected \[2,2\]/);
  }
  assert.equal(knownSameLayout(global, bad), false);
  assert.throws(() => assertSameLayout(global, global.slice(1), "ctx", "x"), /ctx: x has 1 variables, expected 2 \(d\/kernel, d\/bias\)/);
  const fedAvg = new FedAvg();
  assert.throws(
    () => fedAvg.aggregateFit(1, global, [{ participantId: "alice", weights: layer(2), numExamples: 1, metrics: {} }, { participantId: "bob", weights: bad, numExamples: 1, metrics: {} }], []),
    /FedAvg round 1: participant "bob" variable "d\/kernel" has shape \[2,3\], expected \[2,2\]/,
  );
});
