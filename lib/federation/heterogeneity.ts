/**
 * Simulated system heterogeneity: each participant has a device profile (compute speed, link
 * bandwidths, latency, dropout probability). From the work a participant did and the bytes it moved
 * we compute its simulated round time; a deadline turns slow participants into stragglers, who
 * either fail or (with partial work) do only the steps that fit. Nothing sleeps: times are numbers.
 */
import { Rng } from "../util/rng";

/** A participant's simulated device. */
export interface DeviceProfile {
  /** Training throughput, in samples per second (forward + backward). */
  readonly computeSamplesPerSecond: number;
  /** Upload bandwidth, in megabits per second. */
  readonly uploadMbps: number;
  /** Download bandwidth, in megabits per second. */
  readonly downloadMbps: number;
  /** One-way latency per transfer, in seconds; default 0. */
  readonly latencySeconds?: number;
  /** Probability of dropping out of a round it was sampled for, in [0, 1]; default 0. */
  readonly dropoutProbability?: number;
}

/** Round-level heterogeneity settings. */
export interface HeterogeneityOptions {
  /** Round deadline in simulated seconds; participants that would finish later are stragglers. Default none. */
  readonly deadlineSeconds?: number;
  /** Stragglers do as many optimiser steps as fit before the deadline instead of failing; default false. */
  readonly partialWork?: boolean;
}

/** Options for `sampleDeviceProfiles` (medians of log-normal distributions). */
export interface DeviceProfileDistribution {
  /** Median training throughput (samples/s); default 500. */
  readonly medianSamplesPerSecond?: number;
  /** Median upload bandwidth (Mbit/s); default 5. */
  readonly medianUploadMbps?: number;
  /** Median download bandwidth (Mbit/s); default 20. */
  readonly medianDownloadMbps?: number;
  /** Log-scale spread σ of all three; default 0.7 (≈ 4× between the 10th and 90th percentile). */
  readonly sigma?: number;
  /** Latency per transfer (s); default 0.05. */
  readonly latencySeconds?: number;
  /** Dropout probability of every device; default 0. */
  readonly dropoutProbability?: number;
}

/** `n` seeded device profiles with log-normal speeds and bandwidths. */
export function sampleDeviceProfiles(n: number, seed: number, options: DeviceProfileDistribution = {}): DeviceProfile[] {
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`sampleDeviceProfiles: n must be an integer ≥ 0, got ${n}`);
  const sigma = options.sigma ?? 0.7;
  if (!(sigma >= 0)) throw new Error(`sampleDeviceProfiles: sigma must be ≥ 0, got ${sigma}`);
  const rng = new Rng(seed);
  const logNormal = (median: number): number => median * Math.exp(sigma * rng.normal());
  return Array.from({ length: n }, () => ({
    computeSamplesPerSecond: logNormal(options.medianSamplesPerSecond ?? 500),
    uploadMbps: logNormal(options.medianUploadMbps ?? 5),
    downloadMbps: logNormal(options.medianDownloadMbps ?? 20),
    latencySeconds: options.latencySeconds ?? 0.05,
    dropoutProbability: options.dropoutProbability ?? 0,
  }));
}

/** Throw unless the profile's numbers make sense; `who` names the participant. */
export function checkDeviceProfile(p: DeviceProfile, who: string): void {
  const positive: Array<keyof DeviceProfile> = ["computeSamplesPerSecond", "uploadMbps", "downloadMbps"];
  for (const k of positive) {
    const v = p[k];
    if (!(typeof v === "number" && v > 0)) throw new Error(`DeviceProfile of ${who}: ${k} must be > 0, got ${String(v)}`);
  }
  const lat = p.latencySeconds ?? 0;
  if (!(lat >= 0)) throw new Error(`DeviceProfile of ${who}: latencySeconds must be ≥ 0, got ${lat}`);
  const d = p.dropoutProbability ?? 0;
  if (!(d >= 0 && d <= 1)) throw new Error(`DeviceProfile of ${who}: dropoutProbability must be in [0, 1], got ${d}`);
}

/** Simulated seconds to move `bytes` over a `mbps` link, plus latency. */
export function transferSeconds(bytes: number, mbps: number, latencySeconds = 0): number {
  return (bytes * 8) / (mbps * 1e6) + latencySeconds;
}

/** Simulated timing of one participant's round. */
export interface SimulatedTiming {
  /** Receiving the global model. */
  readonly downloadSeconds: number;
  /** Local training. */
  readonly computeSeconds: number;
  /** Sending the update. */
  readonly uploadSeconds: number;
  /** Sum of the three. */
  readonly totalSeconds: number;
}

/** Timing from a profile (undefined → an infinitely fast device), samples trained and bytes moved. */
export function simulateTiming(profile: DeviceProfile | undefined, samples: number, bytesDown: number, bytesUp: number): SimulatedTiming {
  if (!profile) return { downloadSeconds: 0, computeSeconds: 0, uploadSeconds: 0, totalSeconds: 0 };
  const lat = profile.latencySeconds ?? 0;
  const downloadSeconds = transferSeconds(bytesDown, profile.downloadMbps, lat);
  const uploadSeconds = transferSeconds(bytesUp, profile.uploadMbps, lat);
  const computeSeconds = samples / profile.computeSamplesPerSecond;
  return { downloadSeconds, computeSeconds, uploadSeconds, totalSeconds: downloadSeconds + computeSeconds + uploadSeconds };
}

/**
 * Optimiser steps a straggler can take before the deadline (partial work), or 0 if even the
 * transfers do not fit; undefined when there is no limit.
 */
export function stepsWithinDeadline(
  profile: DeviceProfile | undefined,
  deadlineSeconds: number | undefined,
  batchSize: number,
  bytesDown: number,
  bytesUp: number,
): number | undefined {
  if (!profile || deadlineSeconds === undefined) return undefined;
  const comms = simulateTiming(profile, 0, bytesDown, bytesUp).totalSeconds;
  const budget = deadlineSeconds - comms;
  if (budget <= 0) return 0;
  return Math.floor((budget * profile.computeSamplesPerSecond) / batchSize);
}

/** Whether a participant drops out of `round`: a seeded coin flip per (seed, round, participant). */
export function dropsOut(profile: DeviceProfile | undefined, rng: Rng): boolean {
  const p = profile?.dropoutProbability ?? 0;
  return p > 0 && rng.next() < p;
}
