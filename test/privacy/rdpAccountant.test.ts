import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_RDP_ORDERS,
  RdpAccountant,
  computeRdp,
  findNoiseMultiplier,
  logErfc,
  rdpToEpsilon,
  sampledGaussianRdp,
} from "../../lib/privacy";

// Published reference points (δ = 1e-5):
//  - TF Privacy tutorials/README.md (MNIST, N = 60000, batch 256, classic conversion, steps = ⌊epochs·N/256⌋):
//      σ = 1.12, 60 epochs → ε = 2.92;  σ = 0.6, 30 epochs → ε = 9.74;  σ = 1.2, 10 epochs → ε = 1.20
//  - Opacus tests/accountants_test.py (improved conversion, Balle et al. 2020):
//      σ = 1.5, q = 0.04, steps = ⌊90/0.04⌋ = 2250 → ε = 7.32911117143
//      get_noise_multiplier(ε = 8, δ = 1e-5, q = 0.04, 90 epochs) → σ ≈ 1.4253 (bisection to 0.01)
const q = 256 / 60000;
const steps = (epochs: number): number => Math.floor((epochs * 60000) / 256);
const eps = (sigma: number, rate: number, t: number, conv: "classic" | "improved"): number =>
  rdpToEpsilon(DEFAULT_RDP_ORDERS, computeRdp(rate, sigma, t), 1e-5, conv).epsilon;

test("classic conversion reproduces TF Privacy's published MNIST epsilons", () => {
  assert.ok(Math.abs(eps(1.12, q, steps(60), "classic") - 2.92) < 0.01);
  assert.ok(Math.abs(eps(0.6, q, steps(30), "classic") - 9.74) < 0.02);
  assert.ok(Math.abs(eps(1.2, q, steps(10), "classic") - 1.2) < 0.01);
  // The σ = 1.1, 60 epochs point from Abadi et al. / the brief: ε ≈ 3.0.
  assert.ok(Math.abs(eps(1.1, q, steps(60), "classic") - 3.0) < 0.02);
});

test("improved conversion reproduces Opacus's RDPAccountant test value", () => {
  const acc = new RdpAccountant();
  acc.step(1.5, 0.04, 2250);
  const spent = acc.getPrivacySpent(1e-5);
  assert.ok(Math.abs(spent.epsilon - 7.32911117143) < 1e-6, String(spent.epsilon));
  // improved ≤ classic at every point
  assert.ok(spent.epsilon < acc.getPrivacySpent(1e-5, "classic").epsilon);
  const sigma = findNoiseMultiplier({ targetEpsilon: 8, targetDelta: 1e-5, sampleRate: 0.04, steps: 2250 });
  assert.ok(Math.abs(sigma - 1.4253) < 0.011, String(sigma));
});

test("closed forms: q = 1 is the Gaussian mechanism; q = 0 spends nothing; composition is additive", () => {
  assert.equal(sampledGaussianRdp(1, 2, 5), 5 / 8);
  assert.equal(sampledGaussianRdp(0, 2, 5), 0);
  const one = computeRdp(0.01, 1.3, 1, [2, 4.5, 32]);
  const ten = computeRdp(0.01, 1.3, 10, [2, 4.5, 32]);
  ten.forEach((x, i) => assert.ok(Math.abs(x - 10 * one[i]) < 1e-12));
  // Integer order α = 2 for the SGM has the closed form log(1 + q²(e^{1/σ²} − 1)) (Mironov et al. 2019).
  const a2 = sampledGaussianRdp(0.05, 1.5, 2);
  assert.ok(Math.abs(a2 - Math.log(1 + 0.05 ** 2 * (Math.exp(1 / 1.5 ** 2) - 1))) < 1e-12);
  // Fractional orders sit between their integer neighbours (RDP is monotone in α).
  const [r2, r25, r3] = computeRdp(0.05, 1.5, 1, [2, 2.5, 3]);
  assert.ok(r2 < r25 && r25 < r3);
  assert.ok(Math.abs(logErfc(0) - Math.log(1)) < 1e-7 && Math.abs(logErfc(3) - Math.log(2.209049699858544e-5)) < 1e-6);
});

test("accountant history round-trips and steps merge", () => {
  const acc = new RdpAccountant();
  acc.step(1, 0.1);
  acc.step(1, 0.1);
  acc.step(2, 0.1, 3);
  assert.deepEqual(acc.getHistory(), [
    { noiseMultiplier: 1, sampleRate: 0.1, steps: 2 },
    { noiseMultiplier: 2, sampleRate: 0.1, steps: 3 },
  ]);
  const copy = RdpAccountant.fromHistory(JSON.parse(JSON.stringify(acc.getHistory())));
  assert.deepEqual(copy.getPrivacySpent(1e-5), acc.getPrivacySpent(1e-5));
  assert.equal(copy.totalSteps, 5);
  assert.throws(() => new RdpAccountant({ orders: [1, 2] }), /orders must be a non-empty list of numbers > 1/);
  assert.throws(() => rdpToEpsilon([2], [1], 0), /delta must be in \(0, 1\), got 0/);
});
