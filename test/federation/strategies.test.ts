import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelWeights } from "../../lib/model/weights";
import type { FitConfig, FitUpdate, Strategy } from "../../lib/federation/types";
import {
  FedAdagrad,
  FedAdam,
  FedAvg,
  FedAvgM,
  FedMedian,
  FedProx,
  FedTrimmedAvg,
  FedYogi,
  Krum,
  createStrategy,
  strategyNames,
} from "../../lib/federation/strategies";
import { Rng } from "../../lib/util/rng";

const base: FitConfig = { epochs: 1, batchSize: 32, learningRate: 0.05, momentum: 0.9, proximalMu: 0 };

function vec(...xs: number[]): ModelWeights {
  return [{ name: "dense/kernel", shape: [xs.length], values: Float32Array.from(xs) }];
}
function upd(id: string, weights: ModelWeights, numExamples = 1): FitUpdate {
  return { participantId: id, weights, numExamples, metrics: {} };
}
const values = (w: ModelWeights): number[] => Array.from(w[0].values);
function close(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

test("FedAvg weighted vs unweighted, by hand", () => {
  const current = vec(0, 0);
  const ups = [upd("a", vec(1, 0), 1), upd("b", vec(2, 3), 2), upd("c", vec(4, -1), 3)];
  assert.deepEqual(values(new FedAvg().aggregateFit(1, current, ups, []).weights), [Math.fround(17 / 6), 0.5]);
  const unweighted = new FedAvg({ weighted: false });
  assert.deepEqual(values(unweighted.aggregateFit(1, current, ups, []).weights), [Math.fround(7 / 3), Math.fround(2 / 3)]);
  assert.equal(unweighted.name, "FedAvg(unweighted)");
  assert.deepEqual(new FedAvg().getState(), {});
});

test("FedProx sets proximalMu and aggregates exactly like FedAvg", () => {
  const prox = new FedProx({ mu: 0.1 });
  assert.deepEqual(prox.configureFit(3, base, ["a", "b"]), [0, 1].map(() => ({ settings: { ...base, proximalMu: 0.1 }, record: {} })));
  assert.equal(prox.name, "FedProx(mu=0.1)");
  const current = vec(0, 0, 0);
  const rng = new Rng(1);
  const ups = [1, 5, 9].map((n, i) => upd(`p${i}`, vec(rng.normal(), rng.normal(), rng.normal()), n));
  assert.deepEqual(values(prox.aggregateFit(1, current, ups, []).weights), values(new FedAvg().aggregateFit(1, current, ups, []).weights));
  assert.throws(() => new FedProx({ mu: -1 }), /FedProx: mu must be ≥ 0, got -1/);
});

test("FedAvgM momentum over two rounds, by hand", () => {
  const s = new FedAvgM({ serverLearningRate: 1, serverMomentum: 0.9 });
  // Round 1: g = 1 − 0.5 = 0.5, m = 0.5, θ = 1 − 0.5 = 0.5.
  const r1 = s.aggregateFit(1, vec(1), [upd("a", vec(0.5))], []).weights;
  assert.deepEqual(values(r1), [0.5]);
  // Round 2: g = 0.5 − 0.25 = 0.25, m = 0.9·0.5 + 0.25 = 0.7, θ = 0.5 − 0.7 = −0.2.
  const r2 = s.aggregateFit(2, r1, [upd("a", vec(0.25))], []).weights;
  assert.deepEqual(values(r2), [Math.fround(0.5 - 0.7)]);
  // η = 1, β = 0 is FedAvg.
  const plain = new FedAvgM({ serverMomentum: 0 });
  assert.deepEqual(values(plain.aggregateFit(1, vec(3), [upd("a", vec(1), 1), upd("b", vec(2), 3)], []).weights), [1.75]);
  assert.throws(() => new FedAvgM({ serverMomentum: 1 }), /serverMomentum must be ≥ 0 and < 1, got 1/);
});

/** Reference FedOpt step written out per coordinate, independent of the implementation. */
function fedOptReference(
  kind: "adam" | "yogi" | "adagrad",
  p: { eta: number; beta1: number; beta2: number; tau: number },
  rounds: Array<{ current: number[]; avg: number[] }>,
): number[][] {
  const n = rounds[0].current.length;
  const m = new Array<number>(n).fill(0);
  const v = new Array<number>(n).fill(0);
  return rounds.map(({ current, avg }, r) => {
    const t = r + 1;
    const eta = kind === "adam" ? (p.eta * Math.sqrt(1 - p.beta2 ** t)) / (1 - p.beta1 ** t) : p.eta;
    return current.map((x, k) => {
      const d = avg[k] - x;
      m[k] = p.beta1 * m[k] + (1 - p.beta1) * d;
      if (kind === "adam") v[k] = p.beta2 * v[k] + (1 - p.beta2) * d * d;
      else if (kind === "yogi") v[k] = v[k] - (1 - p.beta2) * d * d * Math.sign(v[k] - d * d);
      else v[k] = v[k] + d * d;
      return Math.fround(x + (eta * m[k]) / (Math.sqrt(v[k]) + p.tau));
    });
  });
}

function twoSteps(s: Strategy): number[][] {
  const c0 = vec(0, 1, -2);
  const r1 = s.aggregateFit(1, c0, [upd("a", vec(1, 0.5, -2), 2), upd("b", vec(1, 0.5, -1), 2)], []).weights;
  const r2 = s.aggregateFit(2, r1, [upd("a", vec(0.5, 0.5, 0.5), 1)], []).weights;
  return [values(r1), values(r2)];
}

test("FedAdam one and two steps match the formula (Flower defaults, bias-corrected)", () => {
  const got = twoSteps(new FedAdam());
  // Step 1 by hand: Δ = [1, −0.5, 0.5]; m = 0.1Δ; v = 0.01Δ²; η₁ = 0.1·√0.01/0.1 = 0.1 ⇒ θ ≈ x + 0.1·sign(Δ).
  close(got[0], [0.1, 0.9, -1.9], 1e-6, "FedAdam step 1");
  const exp = fedOptReference("adam", { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9 }, [
    { current: [0, 1, -2], avg: [1, 0.5, -1.5] },
    { current: got[0], avg: [0.5, 0.5, 0.5] },
  ]);
  assert.deepEqual(got, exp);
  // Without bias correction step 1 is the same (√(1−β₂) = 1−β₁ = 0.1), step 2 is not.
  const raw = twoSteps(new FedAdam({ biasCorrection: false }));
  close(raw[0], got[0], 1e-7, "no-bias step 1");
  assert.notDeepEqual(raw[1], got[1]);
});

test("FedYogi and FedAdagrad one and two steps match the formula", () => {
  const yogi = twoSteps(new FedYogi());
  // Step 1: v = 0.01Δ², m = 0.1Δ, η = 0.01, τ = 1e-3 ⇒ x + 0.001Δ/(0.1|Δ| + 0.001).
  close(yogi[0], [0.001 / (0.1 + 0.001), 1 - 0.0005 / (0.05 + 0.001), -2 + 0.0005 / (0.05 + 0.001)], 1e-6, "Yogi step 1");
  assert.deepEqual(
    yogi,
    fedOptReference("yogi", { eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 }, [
      { current: [0, 1, -2], avg: [1, 0.5, -1.5] },
      { current: yogi[0], avg: [0.5, 0.5, 0.5] },
    ]),
  );
  const ada = twoSteps(new FedAdagrad());
  // Step 1: m = Δ, v = Δ² ⇒ x + 0.1·sign(Δ).
  close(ada[0], [0.1, 0.9, -1.9], 1e-6, "Adagrad step 1");
  assert.deepEqual(
    ada,
    fedOptReference("adagrad", { eta: 0.1, beta1: 0, beta2: 0, tau: 1e-9 }, [
      { current: [0, 1, -2], avg: [1, 0.5, -1.5] },
      { current: ada[0], avg: [0.5, 0.5, 0.5] },
    ]),
  );
});

test("FedOpt etaL overrides the participants' learning rate only when given", () => {
  assert.equal(new FedAdam().configureFit(1, base, ["a"])[0].settings.learningRate, 0.05);
  assert.equal(new FedAdam({ etaL: 0.01 }).configureFit(1, base, ["a"])[0].settings.learningRate, 0.01);
  assert.throws(() => new FedYogi({ tau: 0 }), /FedYogi: tau must be > 0, got 0/);
});

test("getState/setState round-trips through JSON: the resumed run is bitwise identical", () => {
  const make: Array<() => Strategy> = [
    () => new FedAdam(),
    () => new FedYogi(),
    () => new FedAdagrad(),
    () => new FedAvgM(),
  ];
  const rng = new Rng(42);
  const rounds = Array.from({ length: 3 }, () =>
    [0, 1, 2].map((i) => upd(`p${i}`, vec(rng.normal(), rng.normal(), rng.normal(), rng.normal()), 1 + i)),
  );
  for (const mk of make) {
    const a = mk();
    let cur = vec(0.1, 0.2, 0.3, 0.4);
    cur = a.aggregateFit(1, cur, rounds[0], []).weights;
    cur = a.aggregateFit(2, cur, rounds[1], []).weights;
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = mk();
    b.setState(saved);
    const next = a.aggregateFit(3, cur, rounds[2], []).weights;
    const resumed = b.aggregateFit(3, cur, rounds[2], []).weights;
    assert.deepEqual(values(resumed), values(next), a.name);
    assert.deepEqual(JSON.parse(JSON.stringify(b.getState())), JSON.parse(JSON.stringify(a.getState())), a.name);
  }
  // A restored state that does not fit the model is refused with a clear message.
  const s = new FedAdam();
  s.aggregateFit(1, vec(0, 0), [upd("a", vec(1, 1))], []).weights;
  const t = new FedAdam();
  t.setState(JSON.parse(JSON.stringify(s.getState())));
  assert.throws(() => t.aggregateFit(2, vec(0, 0, 0), [upd("a", vec(1, 1, 1))], []).weights, /restored optimiser state/);
});

test("FedMedian, FedTrimmedAvg and Krum ignore one wildly wrong update among five", () => {
  const rng = new Rng(3);
  const honest = [0, 1, 2, 3].map((i) =>
    upd(`honest${i}`, vec(...Array.from({ length: 6 }, () => 1 + 0.01 * rng.normal())), 10),
  );
  const attacker = upd("attacker", vec(1e6, -1e6, 1e6, -1e6, 1e6, -1e6), 1000);
  const ups = [honest[0], honest[1], attacker, honest[2], honest[3]];
  const current = vec(0, 0, 0, 0, 0, 0);
  const fedAvg = values(new FedAvg().aggregateFit(1, current, ups, []).weights);
  assert.ok(Math.abs(fedAvg[0]) > 1e5, "sanity: FedAvg is ruined");
  for (const s of [new FedMedian(), new FedTrimmedAvg({ beta: 0.2 }), new Krum({ numMalicious: 1 }), new Krum({ numMalicious: 1, numToKeep: 3 })]) {
    const out = values(s.aggregateFit(1, current, ups, []).weights);
    out.forEach((x) => assert.ok(Math.abs(x - 1) < 0.05, `${s.name}: ${x}`));
  }
  // Krum returns one of the honest updates, bitwise.
  const k = values(new Krum({ numMalicious: 1 }).aggregateFit(1, current, ups, []).weights);
  assert.ok(honest.some((h) => values(h.weights).every((x, i) => x === k[i])));
});

test("mismatched shapes, empty rounds and refused failures give clear errors", () => {
  const current = vec(0, 0);
  const wrong: ModelWeights = [{ name: "dense/kernel", shape: [3], values: new Float32Array(3) }];
  assert.throws(
    () => new FedAvg().aggregateFit(1, current, [upd("alice", vec(1, 1)), upd("bob", wrong)], []).weights,
    /FedAvg round 1: participant "bob" variable "dense\/kernel" has shape \[3\], expected \[2\]/,
  );
  assert.throws(
    () => new FedAdam().aggregateFit(2, current, [], [{ participantId: "carol", round: 2, reason: "missed the deadline" }]).weights,
    /round 2 has no updates to aggregate \(1 failure\(s\): carol: missed the deadline\)/,
  );
  assert.throws(
    () =>
      new FedAvg({ acceptFailures: false }).aggregateFit(1, current, [upd("a", vec(1, 1))], [
        { participantId: "dave", round: 1, reason: "threw: boom" },
      ]).weights,
    /acceptFailures is false \(dave: threw: boom\)/,
  );
  assert.throws(() => new FedAvg().configureFit(0, base, ["a"]), /round must be an integer ≥ 1, got 0/);
});

test("createStrategy builds every strategy by name and lists the allowed names on a typo", () => {
  for (const name of strategyNames) assert.ok(createStrategy(name).name.startsWith(name === "Krum" ? "Krum" : name));
  assert.equal(createStrategy("fedprox", { mu: 0.5 }).configureFit(1, base, ["a"])[0].settings.proximalMu, 0.5);
  assert.equal(createStrategy("FedAdam", { eta: 0.01 }).name, "FedAdam(eta=0.01, tau=1e-9)");
  assert.throws(
    () => createStrategy("FedAvgg"),
    /unknown strategy "FedAvgg"; allowed: FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedMedian, FedTrimmedAvg, Krum/,
  );
});

test("createStrategy refuses misspelt options", () => {
  assert.throws(
    () => createStrategy("FedAvgM", { serverMomentm: 0.5 }),
    /FedAvgM has no option\(s\) serverMomentm; allowed: acceptFailures, serverLearningRate, serverMomentum/,
  );
});
