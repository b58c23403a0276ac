/**
 * The experiment config: one JSON/YAML document describing a whole run — data and partitioner,
 * model, local training, the personalised fine-tuning phase, federation rounds and strategy,
 * personalisation, heterogeneity and privacy. The schema (zod) is the single source of truth: it
 * fills in defaults, rejects unknown fields, and `configHelpText` documents it field by field.
 * Every default together is the document's scenario (pretrained CNN, three participants holding
 * MNIST, Fashion-MNIST and UCI digits, lr 0.001, momentum 0.9, early stopping, FedAvg + FedPer).
 */
import { z } from "zod";
import { DATASET_CATALOG } from "../data/catalog";
import { trainingSampleCount } from "../data/manifest";
import { strategyNames } from "../federation/strategies/index";
import { LOCAL_PHASE_DEFAULTS, LOCAL_TRAINING_DEFAULTS } from "../federation/localTrainingDefaults";
import { createStrategy } from "../federation/strategies/index";
import { sampleSize } from "../federation/sampling";
import { PARTICIPANT_TRAIN_MAX } from "../scenario/documentScenario";
import { ConfigError, configIssuesFromZod } from "./configError";

/** The committed datasets (the optional ones, e.g. fashion-mnist-full, exist only where `npm run data` built them). */
const datasetNames = Object.values(DATASET_CATALOG).filter((d) => !d.optional).map((d) => d.name) as [string, ...string[]];
const strategyNameTuple = [...strategyNames] as unknown as [string, ...string[]];

const int = (min: number, max?: number): z.ZodNumber => {
  const n = z.number().int().min(min);
  return max === undefined ? n : n.max(max);
};
const fraction = (): z.ZodNumber => z.number().gt(0).lt(1);
/** A share of local samples that may be 0 (no such split). */
const share = (): z.ZodNumber => z.number().min(0).lt(1);
const NO_VALIDATION = "0 = no validation split: train on every local sample; early stopping and convergence have nothing to watch (they are off), and figures selected by validation are – (NaN)";
const imageSize = z.tuple([int(1, 512), int(1, 512)]);

// ------------------------------------------------------------------------------------------ data

const byDatasetSchema = z
  .object({
    kind: z.literal("by-dataset").describe("one participant per dataset (domain shift: each holds a different dataset)"),
    datasets: z.array(z.enum(datasetNames)).min(1).default(["mnist", "fashion-mnist", "digits"]).describe("one participant per entry, named after it"),
    trainSize: int(10, PARTICIPANT_TRAIN_MAX).default(600).describe("local training samples per participant (train + validation), from the start of its training file"),
    testSize: int(1).default(500).describe("test samples per participant, from its test file"),
    validationFraction: share().default(0.2).describe(`share of the local training samples kept for early stopping (${NO_VALIDATION})`),
    resizeTo: imageSize.optional().describe("[height, width] all images are resized to (default [28, 28] for images)"),
  })
  .strict();

/** The partitioner section (shared with the Flower participant config). */
export const partitionerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("iid").describe("uniformly at random, equal sizes") }).strict(),
  z
    .object({
      kind: z.literal("dirichlet").describe("label skew: class shares per participant drawn from Dirichlet(alpha)"),
      alpha: z.number().gt(0).describe("concentration; small = strong label skew (0.1), large = near iid (100)"),
      minSize: int(1).optional().describe("resample until every participant has at least this many samples"),
    })
    .strict(),
  z
    .object({
      kind: z.literal("shard").describe("pathological skew: sorted by label, cut into shards, a few shards each"),
      shardsPerParticipant: int(1).describe("shards given to each participant"),
    })
    .strict(),
  z
    .object({
      kind: z.literal("quantity").describe("quantity skew: participant sizes follow a heavy-tailed law"),
      distribution: z.enum(["lognormal", "power-law"]).optional().describe("size law (default lognormal)"),
      sigma: z.number().gt(0).optional().describe("lognormal spread"),
      exponent: z.number().gt(0).optional().describe("power-law exponent"),
      minSize: int(1).optional().describe("smallest participant size"),
    })
    .strict(),
]);

/** The data section of kind "partition" (its fields are shared with the Flower participant config). */
export const partitionSchema = z
  .object({
    kind: z.literal("partition").describe("one dataset split among participants by a partitioner"),
    dataset: z.enum(datasetNames).describe("the dataset whose training file is partitioned"),
    participants: int(1, 1000).default(3).describe("number of participants"),
    partitioner: partitionerSchema.default({ kind: "iid" }).describe("how samples are assigned to participants"),
    limit: int(1).optional().describe("use only the first `limit` training samples (default all)"),
    validationFraction: share().default(0.1).describe(`share of each participant's samples for validation / early stopping (${NO_VALIDATION})`),
    testFraction: share().default(0.2).describe("share of each participant's samples for its test split (0 = none: per-participant test figures are – (NaN); use evaluation.central)"),
    resizeTo: imageSize.optional().describe("[height, width] images are resized to"),
  })
  .strict();

const dataSchema = z
  .discriminatedUnion("kind", [byDatasetSchema, partitionSchema])
  .default({ kind: "by-dataset" })
  .describe("which data each participant holds");

// ----------------------------------------------------------------------------------------- model

/** The model section (its cnn and mlp kinds are shared with the Flower participant config). */
export const modelSchema = z
  .discriminatedUnion("kind", [
    z
      .object({
        kind: z.literal("pretrained").describe("a saved tfjs model whose head is replaced by a fresh one for the participants' classes"),
        path: z.string().min(1).optional().describe("model folder (model.json + weights.bin); default models/pretrained-cnn; relative to the config file"),
      })
      .strict(),
    z
      .object({
        kind: z.literal("cnn").describe("a fresh convolutional network (randomly initialised from the seed)"),
        filters: z.array(int(1, 1024)).min(1).default([32, 64]).describe("filters of each conv → pool block"),
        kernelSize: int(1, 15).default(3).describe("square kernel size"),
        denseUnits: int(0, 4096).default(128).describe("units of the dense layer before the head (0 = none)"),
        batchNorm: z.boolean().default(false).describe("batch normalisation after each convolution (needed by fedbn)"),
      })
      .strict(),
    z
      .object({
        kind: z.literal("mlp").describe("a fresh multi-layer perceptron"),
        hiddenUnits: z.array(int(1, 4096)).default([64]).describe("units of each hidden layer"),
        activation: z.enum(["relu", "tanh", "sigmoid", "elu"]).default("relu").describe("hidden activation"),
        batchNorm: z.boolean().default(false).describe("batch normalisation after each hidden layer (needed by fedbn)"),
      })
      .strict(),
  ])
  .default({ kind: "pretrained" })
  .describe("the network every participant fine-tunes");

// -------------------------------------------------------------------------------------- training

const trainingObject = z
  .object({
    trainableLayers: z
      .union([int(1), z.literal("all")])
      .optional()
      .describe('weighted layers that train, counted from the end, or "all" (default 2 for a pretrained model, "all" otherwise)'),
    epochs: int(1, 1000).default(LOCAL_TRAINING_DEFAULTS.epochs).describe("local epochs per federated round"),
    batchSize: z
      .union([int(1), z.literal("full")])
      .default(LOCAL_TRAINING_DEFAULTS.batchSize)
      .describe('mini-batch size, or "full" for the participant\'s whole training split (B = ∞)'),
    dropLastPartialBatch: z.boolean().default(false).describe("skip each epoch's last batch when it is smaller than batchSize"),
    localUpdate: z
      .enum(["minibatch", "fedsgd"])
      .default("minibatch")
      .describe('"fedsgd": one full-batch gradient step per round (McMahan et al. 2017\'s FedSGD: epochs 1, batchSize "full")'),
    learningRate: z.number().gt(0).max(10).default(LOCAL_TRAINING_DEFAULTS.learningRate).describe("SGD learning rate (the document's 0.001)"),
    momentum: z.number().min(0).lt(1).default(LOCAL_TRAINING_DEFAULTS.momentum).describe("SGD momentum (the document's 0.9)"),
    earlyStoppingPatience: int(0).default(LOCAL_TRAINING_DEFAULTS.earlyStoppingPatience).describe("early stopping inside each round's local training, in epochs (0 = off; no effect without a validation split)"),
  })
  .strict();

/** FedSGD fixes epochs and batch size: fill them in, and name a conflicting value given with it. */
function fedSgdSettings(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (raw === null || typeof raw !== "object" || (raw as { localUpdate?: unknown }).localUpdate !== "fedsgd") return raw;
  const t = raw as Record<string, unknown>;
  const fixed: Record<string, unknown> = { epochs: 1, batchSize: "full" };
  for (const [key, value] of Object.entries(fixed)) {
    if (key in t && t[key] !== value) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `is ${JSON.stringify(t[key])} but localUpdate "fedsgd" takes one full-batch step per round: leave ${key} out or set it to ${JSON.stringify(value)}` });
    }
  }
  return { ...t, ...fixed };
}

// zod 3.25 types a preprocess's output as the inner schema's input (defaults unapplied); the output is the object's.
const trainingSettings = z.preprocess(fedSgdSettings, trainingObject) as unknown as z.ZodEffects<typeof trainingObject>;

/** The local-training section (shared with the Flower participant config). */
export const trainingSchema = trainingSettings
  .default({})
  .describe("local training (SGD with momentum) in every round");

const localPhaseSchema = z
  .object({
    enabled: z.boolean().default(true).describe("run phase 1: each participant fine-tunes alone before federation (the local-only baseline)"),
    maxEpochs: int(1, 1000).default(LOCAL_PHASE_DEFAULTS.maxEpochs).describe("upper bound on phase-1 epochs"),
    patience: int(0).default(LOCAL_PHASE_DEFAULTS.patience).describe("phase-1 early stopping on validation loss, in epochs (0 = off; without a validation split every epoch runs)"),
    warmStart: z
      .boolean()
      .default(true)
      .describe("start phase 2 from the phase-1 models: global = Σ|Dᵢ|/|D|·θᵢ, personal parts = each participant's own"),
  })
  .strict()
  .default({})
  .describe("phase 1, personalised fine-tuning with early stopping");

// ------------------------------------------------------------------------------------ federation

const federationSchema = z
  .object({
    rounds: int(1, 10000).default(10).describe("round budget of phase 2 (joint fine-tuning)"),
    strategy: z
      .object({
        name: z.enum(strategyNameTuple).default("FedAvg").describe("server aggregation method"),
        options: z
          .record(z.union([z.number(), z.boolean()]))
          .default({})
          .describe("strategy options, e.g. {\"mu\": 0.01} for FedProx, {\"eta\": 0.01} for FedAdam"),
      })
      .strict()
      .default({})
      .describe("how the server aggregates updates"),
    sampling: z
      .object({
        fraction: z.number().gt(0).max(1).default(1).describe("fraction of participants sampled per round"),
        minParticipants: int(1).default(1).describe("at least this many are sampled"),
      })
      .strict()
      .default({})
      .describe("client sampling per round"),
    convergencePatience: int(1).optional().describe("stop early when the weighted validation loss has not improved for this many rounds"),
    evaluateEvery: int(1).default(1).describe("evaluate personal models every k rounds (and at the end)"),
    onTooFewUpdates: z
      .enum(["fail", "skip"])
      .default("fail")
      .describe('a round without a usable update, or one that secure aggregation refuses (below its threshold): "fail" stops the run, "skip" keeps the global model and goes on'),
  })
  .strict()
  .default({})
  .describe("phase 2, joint fine-tuning rounds");

// ------------------------------------------------------------------------------------ evaluation

const evaluationSchema = z
  .object({
    central: z
      .object({
        dataset: z.enum(datasetNames).describe("dataset whose test file is the server's test set (same sample shape and classes as the participants')"),
        size: int(1).optional().describe("test samples from the start of that test file (default all)"),
      })
      .strict()
      .optional()
      .describe("a central test set: the server scores each round's global model on it (centralAccuracy, centralLoss; the \"central\" row of the results)"),
    models: z
      .enum(["all", "used"])
      .default("all")
      .describe(
        '"all": every round evaluates the global model on every participant and, when due, the personal models; "used": only the models the personalisation method uses (fedper, fedrep, fedbn, local-only: personal models only — their global model has parts that never train; none: the global model only; fedavg-ft, ditto: both)',
      ),
  })
  .strict()
  .default({})
  .describe("evaluation besides each participant's own splits");

// ------------------------------------------------------------------------------- personalisation

export const personalisationSchema = z
  .discriminatedUnion("method", [
    z.object({ method: z.literal("none").describe("every participant uses the global model") }).strict(),
    z.object({ method: z.literal("local-only").describe("no sharing: each participant keeps training its own model") }).strict(),
    z
      .object({
        method: z.literal("fedavg-ft").describe("FedAvg, then each participant fine-tunes the global model locally"),
        epochs: int(1, 1000).default(20).describe("maximum fine-tuning epochs"),
        patience: int(1).default(3).describe("fine-tuning early-stopping patience"),
        trainableLayers: int(1).default(1).describe("last layers that fine-tune"),
      })
      .strict(),
    z
      .object({
        method: z.literal("fedper").describe("shared body, personal head (Arivazhagan et al. 2019)"),
        headLayers: int(1).default(1).describe("last weighted layers kept personal"),
      })
      .strict(),
    z
      .object({
        method: z.literal("fedrep").describe("personal head trained first, then the shared body (Collins et al. 2021)"),
        headLayers: int(1).default(1).describe("last weighted layers kept personal"),
        headEpochs: int(1).optional().describe("head epochs per round (default the round's epochs)"),
        bodyEpochs: int(1).optional().describe("body epochs per round (default the round's epochs)"),
      })
      .strict(),
    z
      .object({
        method: z.literal("ditto").describe("a personal model pulled towards the global one (Li et al. 2021)"),
        lambda: z.number().min(0).default(0.1).describe("pull strength λ"),
        personalEpochs: int(1).optional().describe("personal epochs per round"),
      })
      .strict(),
    z.object({ method: z.literal("fedbn").describe("batch-norm layers stay local (Li et al. 2021); needs batchNorm: true") }).strict(),
  ])
  .default({ method: "fedper" })
  .describe("what each participant's personal model is");

// --------------------------------------------------------------------------------- heterogeneity

const heterogeneitySchema = z
  .object({
    devices: z
      .object({
        medianSamplesPerSecond: z.number().gt(0).default(500).describe("median training throughput"),
        medianUploadMbps: z.number().gt(0).default(5).describe("median upload bandwidth"),
        medianDownloadMbps: z.number().gt(0).default(20).describe("median download bandwidth"),
        sigma: z.number().min(0).default(0.7).describe("log-normal spread of the three"),
        latencySeconds: z.number().min(0).default(0.05).describe("latency per transfer"),
        dropoutProbability: z.number().min(0).max(1).default(0).describe("chance a sampled participant drops out of a round"),
      })
      .strict()
      .optional()
      .describe("simulated device profiles (seeded, log-normal); absent = ideal devices"),
    deadlineSeconds: z.number().gt(0).optional().describe("round deadline in simulated seconds; later participants are stragglers"),
    partialWork: z.boolean().default(false).describe("stragglers do the steps that fit before the deadline instead of failing"),
  })
  .strict()
  .default({})
  .describe("simulated system heterogeneity (nothing sleeps: times are computed)");

// --------------------------------------------------------------------------------------- privacy

const dpSide = z.enum(["server", "client"]).default("server").describe("who clips the updates");
const probability = (): z.ZodDefault<z.ZodNumber> => z.number().min(0).max(1).default(0);
const privacySchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("none").describe("no differential privacy") }).strict(),
    z
      .object({
        kind: z.literal("dp-fixed").describe("central DP, fixed clip norm (McMahan et al. 2018)"),
        noiseMultiplier: z.number().min(0).describe("noise std = z·C/n"),
        clipNorm: z.number().gt(0).describe("L2 clip norm C of each update"),
        side: dpSide,
        delta: z.number().gt(0).lt(1).default(1e-5).describe("δ at which ε is reported"),
      })
      .strict(),
    z
      .object({
        kind: z.literal("dp-adaptive").describe("central DP, clip norm following a quantile of update norms (Andrew et al. 2021)"),
        noiseMultiplier: z.number().min(0).describe("noise multiplier z"),
        initialClipNorm: z.number().gt(0).default(0.1).describe("starting clip norm"),
        targetQuantile: z.number().min(0).max(1).default(0.5).describe("quantile of update norms left unclipped"),
        clipNormLearningRate: z.number().gt(0).default(0.2).describe("geometric step of the clip norm"),
        clippedCountStddev: z
          .number()
          .min(0)
          .optional()
          .describe("noise std σ_b on the unclipped count (default n/20 per round; must exceed noiseMultiplier/2, so set it when few participants train)"),
        side: dpSide,
        delta: z.number().gt(0).lt(1).default(1e-5).describe("δ at which ε is reported"),
      })
      .strict(),
    z
      .object({
        kind: z
          .literal("secure-aggregation")
          .describe("secure aggregation: the server learns only the example-weighted mean of the updates, never one (needs FedAvg or FedProx, weighted)"),
        protocol: z
          .enum(["bonawitz", "pairwise"])
          .default("bonawitz")
          .describe('"bonawitz": self-masks and t-of-n secret-shared keys (Bonawitz et al. 2017), a late input stays hidden; "pairwise": pairwise masks only, cheaper, exposes an input that arrives after its masks were removed'),
        threshold: int(2).describe("t: fewest participants that must remain at every protocol step; fewer, and the round is refused and the global model kept"),
        clipValue: z.number().gt(0).max(256).default(16).describe("largest change |θᵢ − θ| of one weight a participant may send (fixed-point range); larger updates are rejected before masking"),
        dropout: z
          .object({
            advertiseKeys: probability().describe("never advertises its keys (bonawitz only)"),
            shareKeys: probability().describe("advertises its keys, then does not share them (bonawitz only)"),
            maskedInput: probability().describe("its masked input never arrives; its update is not in the mean"),
            unmasking: probability().describe("does not help unmask; its update is in the mean (bonawitz only)"),
          })
          .strict()
          .default({})
          .describe("simulation: per protocol step, the chance that a participant that reached it drops out there (seeded by the run's seed)"),
      })
      .strict(),
  ])
  .default({ kind: "none" })
  .describe("privacy of the aggregation: differential privacy (dp-fixed, dp-adaptive) or secure aggregation");

// ---------------------------------------------------------------------------------------- config

const baseSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
      .default("experiment")
      .describe("run name, used in the run folder's name"),
    description: z.string().optional().describe("free text shown in the report"),
    seed: int(0, 2 ** 31 - 1).default(0).describe("the one seed behind data splits, initialisation, shuffles, sampling and noise"),
    repetitions: int(1, 1000)
      .optional()
      .describe("run the experiment this many times, with seeds seed, seed+1, …; results are mean ± 95 % interval (default 1)"),
    seeds: z
      .array(int(0, 2 ** 31 - 1))
      .min(1)
      .optional()
      .describe("run once per seed in this list (instead of seed / repetitions); results are mean ± 95 % interval"),
    data: dataSchema,
    model: modelSchema,
    training: trainingSchema,
    localPhase: localPhaseSchema,
    federation: federationSchema,
    evaluation: evaluationSchema,
    personalisation: personalisationSchema,
    heterogeneity: heterogeneitySchema,
    privacy: privacySchema,
  })
  .strict();

/** The experiment config schema (zod), with cross-field checks. */
export const experimentConfigSchema = baseSchema.superRefine((c, ctx) => {
  const issue = (path: Array<string | number>, message: string): void => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
  try {
    createStrategy(c.federation.strategy.name, c.federation.strategy.options);
  } catch (e) {
    issue(["federation", "strategy", "options"], (e as Error).message.replace(/^createStrategy: /, ""));
  }
  const trainable = c.training.trainableLayers ?? (c.model.kind === "pretrained" ? 2 : "all");
  const p = c.personalisation;
  if ((p.method === "fedper" || p.method === "fedrep") && trainable !== "all" && p.headLayers >= trainable) {
    issue(
      ["personalisation", "headLayers"],
      `is ${p.headLayers} but training.trainableLayers is ${trainable}: every trained layer would stay personal and federation would share nothing that trains; use fewer head layers or more trainable layers`,
    );
  }
  if (p.method === "fedbn" && (c.model.kind === "pretrained" || !c.model.batchNorm)) {
    issue(["personalisation", "method"], `"fedbn" keeps batch-norm layers local, but the model has none; use model.kind "cnn" or "mlp" with batchNorm: true`);
  }
  if (c.heterogeneity.partialWork && c.heterogeneity.deadlineSeconds === undefined) {
    issue(["heterogeneity", "partialWork"], "needs heterogeneity.deadlineSeconds (partial work is what fits before the deadline)");
  }
  if (c.heterogeneity.deadlineSeconds !== undefined && c.heterogeneity.devices === undefined) {
    issue(["heterogeneity", "deadlineSeconds"], "needs heterogeneity.devices (ideal devices finish instantly, so a deadline would change nothing)");
  }
  if (c.seeds !== undefined) {
    const dup = c.seeds.find((s, i) => c.seeds!.indexOf(s) !== i);
    if (dup !== undefined) issue(["seeds"], `lists seed ${dup} twice; each repetition needs its own seed`);
    if (c.repetitions !== undefined && c.repetitions !== c.seeds.length) {
      issue(["repetitions"], `is ${c.repetitions} but seeds lists ${c.seeds.length} seed(s); give one of the two, or make them agree`);
    }
  }
  const n = c.data.kind === "by-dataset" ? c.data.datasets.length : c.data.participants;
  if (c.federation.sampling.minParticipants > n) {
    issue(["federation", "sampling", "minParticipants"], `is ${c.federation.sampling.minParticipants} but there are only ${n} participants`);
  } else if (c.privacy.kind === "secure-aggregation") {
    const { strategy, sampling } = c.federation;
    secureAggregationIssues(c.privacy, strategy.name, strategy.options, sampling.fraction, sampling.minParticipants, n).forEach(([path, message]) => issue(path, message));
  }
  if (c.data.kind === "by-dataset") {
    const seen = new Set<string>();
    c.data.datasets.forEach((d, i) => {
      if (seen.has(d)) issue(["data", "datasets", i], `"${d}" is listed twice; each dataset is one participant`);
      seen.add(d);
    });
  }
  if (c.data.kind === "partition" && c.data.validationFraction + c.data.testFraction >= 1) {
    issue(["data", "testFraction"], `validationFraction + testFraction must be < 1, got ${c.data.validationFraction} + ${c.data.testFraction}`);
  }
  if (c.data.kind === "partition") {
    // Each participant needs 1 training sample, plus 1 validation and 1 test sample when those
    // fractions are > 0 (see lib/data/splitParticipant): caught here, naming the field, rather than
    // deep in the partitioner.
    const d = c.data;
    const count = trainingSampleCount(d.dataset);
    const available = count === undefined ? undefined : Math.min(count, d.limit ?? count);
    const each = 1 + (d.validationFraction > 0 ? 1 : 0) + (d.testFraction > 0 ? 1 : 0);
    const parts = ["1 training", ...(d.validationFraction > 0 ? ["1 validation"] : []), ...(d.testFraction > 0 ? ["1 test"] : [])].join(" + ");
    if (available !== undefined && d.participants * each > available) {
      issue(
        ["data", "participants"],
        `is ${d.participants} but ${d.dataset} has ${available} training samples${available < (count ?? 0) ? " (data.limit)" : ""}; ` +
          `each participant needs at least ${each} (${parts}), so at most ${Math.floor(available / each)} participants`,
      );
    }
  }
  if (c.data.validationFraction === 0 && c.federation.convergencePatience !== undefined) {
    issue(["federation", "convergencePatience"], "watches the validation loss, but data.validationFraction is 0 (no validation split); remove one of them");
  }
});

/** Why a secure-aggregation section cannot work with the rest of the config, as (path, message) pairs. */
function secureAggregationIssues(
  // Optional fields: tslab compiles lib/ without strictNullChecks, where zod's outputs are partial.
  p: { readonly protocol?: "bonawitz" | "pairwise"; readonly threshold?: number; readonly dropout?: Readonly<Partial<Record<"advertiseKeys" | "shareKeys" | "maskedInput" | "unmasking", number>>> },
  name: string,
  options: Readonly<Record<string, number | boolean>>,
  fraction: number,
  minParticipants: number,
  participants: number,
): Array<[Array<string | number>, string]> {
  const out: Array<[Array<string | number>, string]> = [];
  let weightedMean: boolean | undefined;
  try {
    weightedMean = createStrategy(name, options).weightedMean === true;
  } catch {
    // Bad strategy options are reported on their own field.
  }
  if (weightedMean === false) {
    out.push([
      ["federation", "strategy", "name"],
      `is "${name}"${options.weighted === false ? " with weighted: false" : ""}, but privacy.kind "secure-aggregation" needs a weighted mean (FedAvg or FedProx, weighted): the server never sees a single update`,
    ]);
  }
  const perRound = sampleSize(participants, { fraction, minParticipants });
  const threshold = p.threshold ?? 2;
  if (threshold > perRound) {
    out.push([
      ["privacy", "threshold"],
      perRound < participants
        ? `is ${threshold} but only ${perRound} of the ${participants} participants are sampled per round (federation.sampling); every round would be refused`
        : `is ${threshold} but there are only ${participants} participants`,
    ]);
  }
  if (p.protocol === "pairwise") {
    for (const step of ["advertiseKeys", "shareKeys", "unmasking"] as const) {
      const q = p.dropout?.[step] ?? 0;
      if (q > 0) out.push([["privacy", "dropout", step], `is ${q}, but the pairwise protocol has only the maskedInput step; use protocol "bonawitz"`]);
    }
  }
  return out;
}

/** A config as written by a user (every field optional where a default exists). */
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;
/** A resolved config: defaults filled in, checked. */
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
/** The data section of a resolved config. */
export type DataConfig = ExperimentConfig["data"];
/** The model section of a resolved config. */
export type ModelConfig = ExperimentConfig["model"];
/** The personalisation section of a resolved config. */
export type PersonalisationConfig = ExperimentConfig["personalisation"];
/** The privacy section of a resolved config. */
export type PrivacyConfig = ExperimentConfig["privacy"];

/**
 * Check `raw` (parsed JSON/YAML) against the schema and fill in defaults. Throws a `ConfigError`
 * whose message names each bad field by its path and lists the allowed values or fields.
 * `source` names the file in messages.
 */
export function parseExperimentConfig(raw: unknown, source = "config"): ExperimentConfig {
  const result = experimentConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(source, configIssuesFromZod(result.error, raw, baseSchema));
}

/** The trainable-layer count that applies to `config` (its own, or the model kind's default). */
export function resolvedTrainableLayers(config: ExperimentConfig): number | "all" {
  return config.training.trainableLayers ?? (config.model.kind === "pretrained" ? 2 : "all");
}

/**
 * The seeds of the repetitions `config` asks for: `seeds` when given, else `repetitions` seeds
 * counted up from `seed` (seed, seed+1, …), else just `seed`.
 */
export function repetitionSeeds(config: ExperimentConfig): number[] {
  if (config.seeds !== undefined) return [...config.seeds];
  return Array.from({ length: config.repetitions ?? 1 }, (_, k) => config.seed + k);
}

/** The config of one repetition: `config` with `seed` set and no repetitions (what a single run with that seed resolves to). */
export function singleSeedConfig(config: ExperimentConfig, seed: number): ExperimentConfig {
  const { seeds: _seeds, repetitions: _repetitions, ...rest } = config;
  return { ...rest, seed };
}

/** The default experiment: the document's scenario (every default of the schema), named "document-scenario". */
export function documentExperimentConfig(): ExperimentConfig {
  return parseExperimentConfig({ name: "document-scenario", description: "The document's scenario: pretrained CNN, three participants with different datasets, personalised fine-tuning with early stopping, then joint fine-tuning rounds (FedAvg + FedPer)." });
}
