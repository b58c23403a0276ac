/**
 * Issue 18: the cost of one round of secure aggregation with secret-shared masks (Bonawitz et al.,
 * lib/privacy/secagg) beside plain FedAvg on the same update vectors, for 10 and 100 participants:
 * computation time per participant and for the server, and bytes each sends and receives. Plain
 * FedAvg's bytes are one float32 vector per participant up, n of them into the server (the model
 * broadcast is the same in both and left out; a participant that drops sends nothing in plain FedAvg). Times come from one run each on this machine, in
 * the same process, so compare them as ratios.
 *
 * Through the wrapper: one round of `SecureAggregation(FedAvg)` (`aggregateFit`, which simulates every
 * participant's and the server's side in-process) with each protocol, beside `FedAvg.aggregateFit`
 * on the same updates — what a simulated round costs a user of the round loop.
 */
import { weightedAverage } from "../lib/federation/aggregate";
import { FedAvg } from "../lib/federation/strategies/fedAvg";
import type { FitUpdate } from "../lib/federation/types";
import type { ModelWeights } from "../lib/model/weights";
import { runSecAggRound } from "../lib/privacy/secagg/index";
import { SecureAggregation } from "../lib/privacy/secureAggregationStrategy";
import { Rng } from "../lib/util/rng";
import { BenchItem, Measurement, Ratio } from "./benchTypes";

/** One configuration's figures. */
interface SecAggCost {
  readonly participants: number;
  readonly dropped: number;
  readonly clientSeconds: number;
  readonly serverSeconds: number;
  /** Bytes sent + received by a participant that took part in every step (the largest). */
  readonly clientBytes: number;
  readonly serverBytes: number;
  readonly plainSeconds: number;
}

function measure(participants: number, length: number, dropFraction: number, seed: number): SecAggCost {
  const rng = new Rng(seed);
  const ids = Array.from({ length: participants }, (_v, i) => `p${String(i).padStart(3, "0")}`);
  const vectors = ids.map(() => Float32Array.from({ length }, () => 0.01 * rng.normal()));
  const weights = new Map(ids.map((id) => [id, 1 + rng.int(100)] as const));
  const inputs = new Map(ids.map((id, i) => [id, vectors[i]] as const));
  const dropped = ids.slice(0, Math.round(dropFraction * participants));
  const r = runSecAggRound({ round: 1, inputs, weights, threshold: Math.floor((2 * participants) / 3) + 1, dropouts: { maskedInput: dropped }, seed });
  const mean = (values: Iterable<number>): number => {
    const a = [...values];
    return a.reduce((s, v) => s + v, 0) / a.length;
  };
  const survivors = ids.filter((id) => !dropped.includes(id));
  const updates = survivors.map((id) => ({ participantId: id, numExamples: weights.get(id) as number, weights: [{ name: "update", shape: [length], values: inputs.get(id) as Float32Array }] }));
  weightedAverage(updates); // warm-up
  let reps = 0;
  const t0 = performance.now();
  do {
    weightedAverage(updates);
    reps++;
  } while (performance.now() - t0 < 200 || reps < 5);
  const plainSeconds = (performance.now() - t0) / 1000 / reps;
  return {
    participants,
    dropped: dropped.length,
    clientSeconds: mean(r.seconds.participants.values()),
    serverSeconds: r.seconds.server,
    clientBytes: Math.max(...[...r.bytes.participants.values()].map((b) => b.sent + b.received)),
    serverBytes: r.bytes.server.sent + r.bytes.server.received,
    plainSeconds,
  };
}

/** Seconds of one call of `f`, the mean over repetitions filling at least `minSeconds` (one warm-up call first when `warm`). */
function secondsPerCall(f: () => void, minSeconds: number, warm: boolean): number {
  if (warm) f();
  let reps = 0;
  const t0 = performance.now();
  do {
    f();
    reps++;
  } while (performance.now() - t0 < minSeconds * 1000);
  return (performance.now() - t0) / 1000 / reps;
}

/** One round through the strategy wrapper, per protocol, and plain FedAvg, on the same n updates (10 % drop before their masked input arrives). */
function wrapperRound(participants: number, length: number, seed: number): { bonawitz: number; pairwise: number; fedavg: number } {
  const rng = new Rng(seed + 1);
  const current: ModelWeights = [{ name: "w", shape: [length], values: Float32Array.from({ length }, () => rng.normal()) }];
  const updates: FitUpdate[] = Array.from({ length: participants }, (_v, i) => ({
    participantId: `p${String(i).padStart(3, "0")}`,
    numExamples: 1 + rng.int(100),
    metrics: {},
    weights: [{ name: "w", shape: [length], values: current[0].values.map((x) => x + 0.01 * rng.normal()) }],
  }));
  const run = { participants: updates.map((u) => u.participantId), seed, sharedMask: [true] };
  const wrapped = (protocol: "bonawitz" | "pairwise"): SecureAggregation => {
    const s = new SecureAggregation(new FedAvg(), { protocol, threshold: Math.floor((2 * participants) / 3) + 1, dropout: { maskedInput: 0.1 } });
    s.initialize(run);
    return s;
  };
  const bonawitz = wrapped("bonawitz");
  const pairwise = wrapped("pairwise");
  const fedavg = new FedAvg();
  // Secure rounds take seconds at n = 100: one timed call each (the pairwise protocol's first call also makes its key pairs, as a run's first round does).
  return {
    bonawitz: secondsPerCall(() => void bonawitz.aggregateFit(1, current, updates, []), 0, false),
    pairwise: secondsPerCall(() => void pairwise.aggregateFit(1, current, updates, []), 0, false),
    fedavg: secondsPerCall(() => void fedavg.aggregateFit(1, current, updates, []), 0.2, true),
  };
}

/** The bench item: secure aggregation vs plain FedAvg for n = 10 and 100, without and with 10 % dropping before masked input, and one round through the wrapper per protocol. */
export function secAggItem(quick: boolean, seed = 8): BenchItem {
  const length = quick ? 2_000 : 20_000;
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  const kib = 1024;
  for (const n of [10, 100]) {
    for (const drop of [0, 0.1]) {
      const c = measure(n, length, drop, seed);
      const who = `n = ${n}${c.dropped > 0 ? `, ${c.dropped} drop before masked input` : ", no dropout"}`;
      const plainClientBytes = 4 * length;
      const plainServerBytes = (n - c.dropped) * 4 * length;
      measurements.push({ label: `${who}: secure aggregation, per participant (mean)`, value: c.clientSeconds * 1000, unit: "ms", note: `${(c.clientBytes / kib).toFixed(1)} KiB sent + received by a survivor` });
      measurements.push({ label: `${who}: secure aggregation, server`, value: c.serverSeconds * 1000, unit: "ms", note: `${(c.serverBytes / kib).toFixed(1)} KiB sent + received` });
      measurements.push({ label: `${who}: plain FedAvg (weightedAverage), server`, value: c.plainSeconds * 1000, unit: "ms", note: `${(plainServerBytes / kib).toFixed(1)} KiB received; ${(plainClientBytes / kib).toFixed(1)} KiB sent per survivor` });
      ratios.push({ label: `${who}: survivor bytes, secure / plain`, value: c.clientBytes / plainClientBytes, target: "—" });
      ratios.push({ label: `${who}: server bytes, secure / plain`, value: c.serverBytes / plainServerBytes, target: "—" });
      ratios.push({ label: `${who}: server time, secure / plain`, value: c.serverSeconds / c.plainSeconds, target: "—" });
    }
    const w = wrapperRound(n, length, seed);
    const note = "one round of aggregateFit, every participant and the server simulated in-process, 10 % drop before their masked input";
    measurements.push({ label: `n = ${n}: SecureAggregation(FedAvg), protocol "bonawitz", one round`, value: w.bonawitz * 1000, unit: "ms", note });
    measurements.push({ label: `n = ${n}: SecureAggregation(FedAvg), protocol "pairwise", one round`, value: w.pairwise * 1000, unit: "ms", note });
    measurements.push({ label: `n = ${n}: FedAvg.aggregateFit, one round`, value: w.fedavg * 1000, unit: "ms", note: "the same updates in the clear" });
    ratios.push({ label: `n = ${n}: simulated round through the wrapper, bonawitz / pairwise`, value: w.bonawitz / w.pairwise, target: "—" });
    ratios.push({ label: `n = ${n}: simulated round through the wrapper, bonawitz / plain FedAvg`, value: w.bonawitz / w.fedavg, target: "—" });
  }
  return {
    id: 18,
    title: `secure aggregation with secret-shared masks (Bonawitz et al.) vs plain FedAvg, ${length.toLocaleString("en-US")} parameters, t = ⌊2n/3⌋ + 1`,
    status: "measured",
    reason: "one in-process round each: participant time is the mean over participants of its own computation (keys, Shamir, AES-GCM, masks); bytes are wire sizes of the protocol messages (messages.ts)",
    measurements,
    ratios,
  };
}
