/**
 * The golden setups: a dozen small, seeded runs that together touch every part of the round loop
 * (strategies, personalisation methods, DP on both sides, secure aggregation with dropouts,
 * heterogeneity, sampling, faults, the worker pool and `fedtune run`). Each case returns its
 * history rows and final weights; `goldenHash` reduces them to one SHA-256. The hashes recorded by
 * record.ts from the code before the federation-core redesign must come out unchanged.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildMlp, Trainer } from "../../../lib/model/index";
import type { ModelWeights } from "../../../lib/model/weights";
import {
  createParticipants,
  createStrategy,
  Ditto,
  FedAvg,
  FedAvgFineTune,
  FedBN,
  FedPer,
  FedProx,
  FedRep,
  LocalOnly,
  runFederation,
  sampleDeviceProfiles,
  withFault,
  withFaults,
  type FitExecutor,
  type FederationOptions,
  type HistoryRow,
} from "../../../lib/federation/index";
import { DpAdaptiveClipping, DpFixedClipping, SecureAggregation } from "../../../lib/privacy/index";
import { createWorkerPool } from "../../../lib/parallel/workerPoolFitExecutor";
import { parseExperimentConfig, runExperiment } from "../../../lib/experiment/index";
import { smallData } from "../../reliability/fixtures/smallRun";

/** What a golden case produced. */
export interface GoldenOutput {
  readonly rows: readonly HistoryRow[];
  readonly weights: readonly ModelWeights[];
}

/**
 * Metrics that measure wall-clock time (they differ between runs by nature); excluded from the hash.
 * These are the only history entries the redesign was allowed to add.
 */
export const WALL_CLOCK_METRICS: ReadonlySet<string> = new Set(["trainSeconds", "evaluateSeconds"]);

/** SHA-256 over the rows (in order, values as exact float64 bits) and every weight tensor. */
export function goldenHash(out: GoldenOutput): string {
  const h = createHash("sha256");
  const f64 = new Float64Array(1);
  for (const r of out.rows) {
    if (WALL_CLOCK_METRICS.has(r.metric)) continue;
    f64[0] = r.value;
    h.update(`${r.round}|${r.participant}|${r.scope}|${r.metric}|`);
    h.update(Buffer.from(f64.buffer.slice(0)));
  }
  for (const w of out.weights) {
    for (const t of w) {
      h.update(`${t.name}:${t.shape.join("x")}|`);
      h.update(Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength));
    }
  }
  return h.digest("hex");
}

function trainerFor(batchNorm = false): Trainer {
  return new Trainer(buildMlp({ inputShape: [6], hiddenUnits: [8], numClasses: 4, seed: 3, batchNorm }));
}

/** Four non-IID blob participants, 2 rounds of 1 epoch, seed 5; `patch` adds the case's options. */
async function federate(patch: Partial<FederationOptions> & { trainer?: Trainer; n?: number; profiles?: boolean } = {}): Promise<GoldenOutput> {
  const trainer = patch.trainer ?? trainerFor();
  const n = patch.n ?? 4;
  const profiles = patch.profiles ? sampleDeviceProfiles(n, 9, { dropoutProbability: 0.25, medianSamplesPerSecond: 25, medianUploadMbps: 5, medianDownloadMbps: 20, sigma: 0.8 }) : undefined;
  try {
    const options: FederationOptions = {
      participants: createParticipants(trainer, smallData(n), { profiles }),
      strategy: new FedAvg(),
      rounds: 2,
      fitConfig: { epochs: 1, batchSize: 8, learningRate: 0.1 },
      seed: 5,
      ...patch,
    };
    const r = await runFederation(options);
    const personal = [...r.personalWeights.keys()].sort().map((k) => r.personalWeights.get(k) as ModelWeights);
    return { rows: r.rows, weights: [r.globalWeights, r.bestGlobalWeights, ...personal] };
  } finally {
    trainer.dispose();
  }
}

/** The "faulty" case's faults as an executor wrapper around `executor` (must give the same history). */
export async function faultyThroughExecutor(executor: FitExecutor): Promise<GoldenOutput> {
  return federate({ rounds: 3, fitExecutor: withFaults(executor, { p1: { kind: "nan", onCalls: [2] }, p2: { kind: "throw", onCalls: [1] } }) });
}

/** The golden cases by name. */
export const GOLDEN_CASES: Readonly<Record<string, () => Promise<GoldenOutput>>> = {
  fedavg: () => federate({ evaluation: { every: 2 }, recordWallClock: true }),
  fedprox: () => federate({ strategy: new FedProx({ mu: 0.1 }) }),
  fedadam: () => federate({ strategy: createStrategy("FedAdam", { eta: 0.05 }), rounds: 3, convergence: { patience: 1 } }),
  fedper: () => federate({ personalisation: new FedPer() }),
  fedrep: () => federate({ personalisation: new FedRep({ headEpochs: 1, bodyEpochs: 1 }) }),
  ditto: () => federate({ personalisation: new Ditto({ lambda: 0.1, personalEpochs: 1 }) }),
  fedbn: () => {
    const trainer = trainerFor(true);
    return federate({ trainer, personalisation: new FedBN() });
  },
  fedavgFineTune: () => federate({ personalisation: new FedAvgFineTune({ epochs: 1, batchSize: 8, learningRate: 0.05 }) }),
  localOnly: () => federate({ personalisation: new LocalOnly() }),
  dpFixedServer: () => federate({ strategy: new DpFixedClipping(new FedAvg(), { noiseMultiplier: 0.5, clipNorm: 1, seed: 17 }), rounds: 3 }),
  dpFixedClient: () => federate({ strategy: new DpFixedClipping(new FedAvg(), { noiseMultiplier: 0.5, clipNorm: 0.5, seed: 17, side: "client" }) }),
  dpAdaptive: () =>
    federate({ strategy: new DpAdaptiveClipping(createStrategy("FedAvgM", { serverMomentum: 0.5 }), { noiseMultiplier: 0.3, initialClipNorm: 0.5, seed: 4 }), rounds: 3 }),
  secureAggregationDropout: () =>
    federate({ n: 5, strategy: new SecureAggregation(new FedAvg(), { threshold: 2, dropAfterMaskingProbability: 0.4 }), evaluation: { personal: false }, rounds: 3 }),
  secureAggregationFedPer: () => federate({ n: 5, personalisation: new FedPer(), strategy: new SecureAggregation(new FedAvg(), { threshold: 3 }) }),
  heterogeneity: () =>
    federate({ n: 5, profiles: true, heterogeneity: { deadlineSeconds: 1.2, partialWork: true }, onTooFewUpdates: "skip", rounds: 3 }),
  sampling: () => federate({ n: 5, sampling: { fraction: 0.5, minParticipants: 2 }, rounds: 3 }),
  faulty: async () => {
    const trainer = trainerFor();
    const ps = createParticipants(trainer, smallData(4));
    const participants = [ps[0], withFault(ps[1], { kind: "nan", onCalls: [2] }), withFault(ps[2], { kind: "throw", onCalls: [1] }), ps[3]];
    return federate({ trainer, participants, rounds: 3 });
  },
  workerPool: async () => {
    const pool = createWorkerPool({ size: 2 });
    try {
      return await federate({ personalisation: new FedPer(), strategy: new FedProx({ mu: 0.05 }), fitExecutor: pool });
    } finally {
      await pool.dispose();
    }
  },
  fedtuneRun: async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-golden-"));
    try {
      const config = parseExperimentConfig({
        name: "golden",
        seed: 7,
        data: { kind: "partition", dataset: "digits", participants: 3, limit: 300, partitioner: { kind: "dirichlet", alpha: 1, minSize: 30 } },
        model: { kind: "mlp", hiddenUnits: [16] },
        training: { learningRate: 0.05, batchSize: 16 },
        localPhase: { maxEpochs: 3, patience: 1 },
        federation: { rounds: 2 },
        personalisation: { method: "fedper" },
        privacy: { kind: "dp-fixed", noiseMultiplier: 0.3, clipNorm: 2, side: "client" },
      });
      const r = await runExperiment(config, { outDir: path.join(dir, "run"), report: false });
      const rows = r.history.objects() as HistoryRow[];
      const local: HistoryRow[] = r.localPhase.flatMap((l, i) =>
        Object.entries(l)
          .filter(([, v]) => typeof v === "number")
          .map(([k, v]) => ({ round: -1, participant: String(i), scope: "fit" as const, metric: k, value: v as number })),
      );
      return { rows: [...local, ...rows], weights: [] };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
