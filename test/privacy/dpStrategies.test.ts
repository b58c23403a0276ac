import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelWeights } from "../../lib/model/weights";
import type { FitConfig, FitUpdate } from "../../lib/federation/types";
import { FedAdam, FedAvg, FedAvgM } from "../../lib/federation/strategies";
import {
  DEFAULT_RDP_ORDERS,
  DpAdaptiveClipping,
  DpFixedClipping,
  clipLocalWeights,
  clipUpdate,
  computeRdp,
  rdpToEpsilon,
} from "../../lib/privacy";
import { Rng } from "../../lib/util/rng";

const base: FitConfig = { epochs: 1, batchSize: 8, learningRate: 0.1, momentum: 0, proximalMu: 0 };
const vec = (...xs: number[]): ModelWeights => [{ name: "w", shape: [xs.length], values: Float32Array.from(xs) }];
const upd = (id: string, w: ModelWeights, n = 1, metrics: Record<string, number> = {}): FitUpdate => ({
  participantId: id,
  weights: w,
  numExamples: n,
  metrics,
});
const vals = (w: ModelWeights): number[] => Array.from(w[0].values);

test("clipUpdate scales to the clip norm and reports the norm bit", () => {
  const c = clipUpdate(vec(3, 4), 1);
  assert.equal(c.norm, 5);
  assert.equal(c.normBit, 0);
  assert.deepEqual(vals(c.delta), [Math.fround(0.6), Math.fround(0.8)]);
  const same = clipUpdate(vec(0.3, 0.4), 1);
  assert.equal(same.normBit, 1);
  assert.deepEqual(vals(same.delta), [Math.fround(0.3), Math.fround(0.4)]);
  assert.throws(() => clipUpdate(vec(1), 0), /clipNorm must be > 0 and finite, got 0/);
  const local = clipLocalWeights(vec(4, 5), vec(1, 1), 1);
  assert.deepEqual(vals(local.weights), [Math.fround(1.6), Math.fround(1.8)]);
  assert.equal(local.normBit, 0);
});

test("DpFixedClipping without noise is the uniform mean of clipped updates, handed to the inner strategy", () => {
  const dp = new DpFixedClipping(new FedAvg(), { noiseMultiplier: 0, clipNorm: 1, seed: 1 });
  // Δ₁ = (3, 4) → (0.6, 0.8); Δ₂ = (0.3, 0) unchanged; mean (0.45, 0.4) — sizes are ignored on purpose.
  const out = dp.aggregateFit(1, vec(0, 0), [upd("a", vec(3, 4), 100), upd("b", vec(0.3, 0), 1)], []).weights;
  vals(out).forEach((x, i) => assert.ok(Math.abs(x - [0.45, 0.4][i]) < 1e-7, `${x}`));
  assert.equal(dp.privacyReport()[0].clippedFraction, 0.5);
  // Inner FedAvgM applies its momentum step to the private mean.
  const dpm = new DpFixedClipping(new FedAvgM({ serverMomentum: 0.5, serverLearningRate: 2 }), { noiseMultiplier: 0, clipNorm: 1, seed: 1 });
  const outM = dpm.aggregateFit(1, vec(1, 1), [upd("a", vec(1.5, 1))], []).weights;
  // g = 1 − 1.5 = −0.5, m = −0.5, θ = 1 + 2·0.5 = 2.
  assert.deepEqual(vals(outM), [2, 1]);
  assert.throws(() => new DpFixedClipping(new FedAvg(), { noiseMultiplier: -1, clipNorm: 1, seed: 1 }), /noiseMultiplier must be ≥ 0 and finite, got -1/);
  assert.throws(() => new DpFixedClipping(new FedAvg(), { noiseMultiplier: 1, clipNorm: 1, seed: 1, side: "both" as "server" }), /side must be "server" or "client"/);
});

test("DpFixedClipping adds seeded N(0, (zC/n)²) noise and reports ε per round", () => {
  const d = 20000;
  const zero = [{ name: "w", shape: [d], values: new Float32Array(d) }];
  const ups = [0, 1, 2, 3].map((i) => upd(`p${i}`, zero));
  const make = (seed: number) => new DpFixedClipping(new FedAvg(), { noiseMultiplier: 1.2, clipNorm: 0.5, seed, samplingRate: 1 });
  const dp = make(7);
  const out = vals(dp.aggregateFit(1, zero, ups, []).weights);
  const expectedStd = (1.2 * 0.5) / 4;
  const mean = out.reduce((a, b) => a + b, 0) / d;
  const std = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / d);
  assert.ok(Math.abs(std / expectedStd - 1) < 0.03, `std ${std} vs ${expectedStd}`);
  assert.ok(Math.abs(mean) < (4 * expectedStd) / Math.sqrt(d));
  assert.deepEqual(vals(make(7).aggregateFit(1, zero, ups, []).weights), out, "same seed, same noise");
  assert.notDeepEqual(vals(make(8).aggregateFit(1, zero, ups, []).weights).slice(0, 5), out.slice(0, 5));
  dp.aggregateFit(2, zero, ups, []).weights;
  dp.aggregateFit(3, zero, ups, []).weights;
  const report = dp.privacyReport();
  assert.deepEqual(report.map((r) => r.round), [1, 2, 3]);
  assert.equal(report[2].noiseStd, expectedStd);
  const expectedEps = rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(1, 1.2, 3), 1e-5).epsilon;
  assert.ok(Math.abs(report[2].epsilon - expectedEps) < 1e-12);
  assert.ok(report[0].epsilon < report[1].epsilon && report[1].epsilon < report[2].epsilon);
});

test("client side: participants get clipNorm; the server re-clips anything over it", () => {
  const dp = new DpFixedClipping(new FedAvg(), { noiseMultiplier: 0, clipNorm: 1, seed: 1, side: "client" });
  const cfg = dp.configureFit(1, base, ["honest", "cheat"]);
  assert.deepEqual(cfg.map((i) => i.record.clipNorm), [1, 1], "the client-side wrapper asks every participant to clip to C");
  assert.deepEqual(cfg[0].settings, base, "the typed settings are the inner strategy's");
  assert.equal(new FedAvg().configureFit(1, base, ["a"])[0].record.clipNorm, undefined);
  const honest = clipLocalWeights(vec(3, 4), vec(0, 0), 1).weights;
  const out = dp.aggregateFit(1, vec(0, 0), [upd("honest", honest), upd("cheat", vec(0, 10))], []).weights;
  vals(out).forEach((x, i) => assert.ok(Math.abs(x - [0.3, 0.9][i]) < 1e-7, `${x}`));
  assert.equal(dp.privacyReport()[0].reclipped, 1);
});

test("DpAdaptiveClipping: geometric clip-norm update by hand, convergence to the median norm, clear errors", () => {
  const norms = [1, 2, 3, 4, 5];
  const ups = norms.map((n, i) => upd(`p${i}`, vec(n, 0)));
  const dp = new DpAdaptiveClipping(new FedAvg(), { noiseMultiplier: 0, clippedCountStddev: 0, seed: 3 });
  assert.equal(dp.currentClipNorm(), 0.1);
  dp.aggregateFit(1, vec(0, 0), ups, []).weights;
  // All five norms exceed 0.1 → b̄ = 0 → C = 0.1·exp(−0.2·(0 − 0.5)).
  assert.ok(Math.abs(dp.currentClipNorm() - 0.1 * Math.exp(0.1)) < 1e-15);
  for (let r = 2; r <= 150; r++) dp.aggregateFit(r, vec(0, 0), ups, []).weights;
  assert.ok(dp.currentClipNorm() > 2.5 && dp.currentClipNorm() < 3.5, `C = ${dp.currentClipNorm()}`);
  assert.throws(
    () => new DpAdaptiveClipping(new FedAvg(), { noiseMultiplier: 1, clippedCountStddev: 0.25, seed: 1 }),
    /clippedCountStddev 0.25 is too small for noiseMultiplier 1/,
  );
  const client = new DpAdaptiveClipping(new FedAvg(), { noiseMultiplier: 0, clippedCountStddev: 0, seed: 1, side: "client" });
  assert.throws(() => client.aggregateFit(1, vec(0, 0), [upd("a", vec(0.01, 0))], []).weights, /no valid metrics.dpNormBit/);
  client.aggregateFit(1, vec(0, 0), [upd("a", vec(0.01, 0), 1, { dpNormBit: 1 }), upd("b", vec(0.01, 0), 1, { dpNormBit: 1 })], []).weights;
  assert.ok(Math.abs(client.currentClipNorm() - 0.1 * Math.exp(-0.1)) < 1e-15);
});

test("DP wrapper state (inner moments, noise stream, clip norm, accountant) round-trips through JSON", () => {
  const rng = new Rng(5);
  const rounds = [1, 2, 3].map(() => [0, 1, 2, 3, 4, 5].map((i) => upd(`p${i}`, vec(rng.normal(), rng.normal(), rng.normal()))));
  const make = () =>
    new DpAdaptiveClipping(new FedAdam(), { noiseMultiplier: 0.8, clippedCountStddev: 1, seed: 11, samplingRate: 0.5, initialClipNorm: 1 });
  const a = make();
  let cur = vec(0, 0, 0);
  cur = a.aggregateFit(1, cur, rounds[0], []).weights;
  cur = a.aggregateFit(2, cur, rounds[1], []).weights;
  const b = make();
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  assert.deepEqual(vals(b.aggregateFit(3, cur, rounds[2], []).weights), vals(a.aggregateFit(3, cur, rounds[2], []).weights));
  assert.equal(b.currentClipNorm(), a.currentClipNorm());
  assert.equal(b.privacySpent().epsilon, a.privacySpent().epsilon);
});
