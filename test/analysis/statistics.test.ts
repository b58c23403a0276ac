import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import { meanInterval, studentTCentralProbability, studentTCriticalValue } from "../../lib/analysis/index";

test("Student t critical values match the published table (two-sided 95 % and 99 %)", () => {
  // Two-sided critical values from standard t tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
  const table95: Array<[number, number]> = [[1, 12.7062047], [2, 4.3026527], [3, 3.1824463], [4, 2.7764451], [5, 2.5705818], [9, 2.2621572], [10, 2.2281389], [29, 2.0452296], [100, 1.9839715]];
  for (const [nu, t] of table95) assert.ok(Math.abs(studentTCriticalValue(0.95, nu) - t) < 5e-7, `ν=${nu}: ${studentTCriticalValue(0.95, nu)} vs ${t}`);
  assert.ok(Math.abs(studentTCriticalValue(0.99, 1) - 63.6567412) < 5e-6);
  assert.ok(Math.abs(studentTCriticalValue(0.99, 4) - 4.6040949) < 5e-7);
  // Large ν tends to the normal quantile 1.959964.
  assert.ok(Math.abs(studentTCriticalValue(0.95, 100000) - 1.959964) < 1e-4);
});

test("the central probability has its closed forms: ν=1 (Cauchy) and ν=2", () => {
  for (const t of [0, 0.3, 1, 2.5, 40]) {
    assert.ok(Math.abs(studentTCentralProbability(t, 1) - (2 / Math.PI) * Math.atan(t)) < 1e-15);
    assert.ok(Math.abs(studentTCentralProbability(t, 2) - t / Math.sqrt(2 + t * t)) < 1e-15);
  }
  assert.throws(() => studentTCentralProbability(1, 0), /degrees of freedom must be an integer ≥ 1, got 0/);
  assert.throws(() => studentTCriticalValue(1.5, 3), /level must be in \(0, 1\), got 1.5/);
});

test("meanInterval: mean ± t·s/√n per group, computed by hand", () => {
  // Group A: 0.80, 0.84, 0.82, 0.78 → mean 0.81, deviations 0.01, 0.03, 0.01, -0.03 → s² = 0.002/3,
  // s = 0.025819889, t(0.975, 3) = 3.1824463, half-width = 3.1824463 · 0.025819889 / 2 = 0.0821704 / 2 = 0.0410852.
  // Group B: one value → no interval.
  const t = aq.from([
    { method: "A", seed: 1, value: 0.8 }, { method: "A", seed: 2, value: 0.84 }, { method: "B", seed: 1, value: 0.7 },
    { method: "A", seed: 3, value: 0.82 }, { method: "A", seed: 4, value: 0.78 },
  ]);
  const m = meanInterval(t, { by: ["method"] }).objects() as Array<Record<string, number | string>>;
  assert.deepEqual(Object.keys(m[0]), ["method", "n", "mean", "std", "halfWidth", "lo", "hi"]);
  const a = m[0] as Record<string, number>;
  assert.equal(m[0].method, "A");
  assert.equal(a.n, 4);
  assert.ok(Math.abs(a.mean - 0.81) < 1e-12);
  assert.ok(Math.abs(a.std - 0.025819889) < 1e-9);
  assert.ok(Math.abs(a.halfWidth - 0.0410852) < 1e-6);
  assert.ok(Math.abs(a.lo - (0.81 - 0.0410852)) < 1e-6 && Math.abs(a.hi - (0.81 + 0.0410852)) < 1e-6);
  const b = m[1] as Record<string, number>;
  assert.deepEqual([m[1].method, b.n, b.mean], ["B", 1, 0.7]);
  assert.ok(Number.isNaN(b.std) && Number.isNaN(b.halfWidth) && Number.isNaN(b.lo));
  // A NaN repetition is not dropped silently.
  assert.ok(Number.isNaN((meanInterval(aq.from([{ value: 1 }, { value: NaN }])).objects()[0] as { mean: number }).mean));
  // Another column and level; one group when `by` is empty.
  const w = meanInterval(t.filter((d: { method: string }) => d.method === "A"), { value: "value", level: 0.99 }).objects()[0] as Record<string, number>;
  assert.ok(Math.abs(w.halfWidth - (5.8409093 * 0.025819889) / 2) < 1e-6);
  assert.throws(() => meanInterval(t, { value: "accuracy" }), /meanInterval: table lacks column "accuracy"/);
});
