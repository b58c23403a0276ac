/**
 * A ServerApp's ConfigRecord → the settings of one round on a fedtune node: which personalisation
 * method (and its options), the local-training config (lr, epochs, batch size, momentum, FedProx
 * μ) and the client-side DP clip norm. Keys the node does not know, values of the wrong type and
 * methods or options fedtune does not have are errors naming the key, so a ServerApp typo is
 * reported in the reply instead of being ignored.
 */
import { FULL_BATCH } from "../model/trainer";
import { localTrainingOf } from "../experiment/trainingSettings";
import { z } from "zod";
import { personalisationSchema } from "../experiment/experimentConfig";
import type { PersonalisationConfig } from "../experiment/experimentConfig";
import type { LocalTrainingConfig } from "../federation/personalisation/personalisation";
import type { ParticipantConfig } from "./participantConfig";
import { ConfigValue, configNumber } from "./records";

/** What a node does in one round. */
export interface FlowerFitSettings {
  /** "server-round" (0 when absent); seeds this round's shuffles. */
  readonly serverRound: number;
  /** The personalisation method: the record's "personalisation", else the participant config's, else "none". */
  readonly personalisation: PersonalisationConfig;
  /** Local training of this round. */
  readonly local: LocalTrainingConfig;
  /** Client-side DP: the L2 bound on the update sent ("clip-norm"), if any. */
  readonly clipNorm?: number;
}

/** Config-record keys of method options → fields of the personalisation schema. */
const METHOD_OPTION_KEYS: Readonly<Record<string, string>> = {
  "head-layers": "headLayers",
  "head-epochs": "headEpochs",
  "body-epochs": "bodyEpochs",
  "ditto-lambda": "lambda",
  "personal-epochs": "personalEpochs",
  "fine-tune-epochs": "epochs",
  "fine-tune-patience": "patience",
  "fine-tune-layers": "trainableLayers",
};

/** Every config-record key a fedtune node reads. */
export const FLOWER_CONFIG_KEYS: readonly string[] = [
  "server-round", "lr", "learning-rate", "local-epochs", "epochs", "batch-size", "momentum", "proximal-mu", "clip-norm", "personalisation",
  ...Object.keys(METHOD_OPTION_KEYS),
];

/** The method names a node accepts (the experiment schema's). */
export const PERSONALISATION_NAMES: readonly string[] = personalisationSchema.removeDefault().options.map((o) => o.shape.method.value);

/** Parse a personalisation section with the experiment schema; `source` and the key names prefix errors. */
export function parsePersonalisation(value: unknown, source: string): PersonalisationConfig {
  const r = personalisationSchema.safeParse(value);
  if (r.success) return r.data;
  const fieldToKey = Object.fromEntries(Object.entries(METHOD_OPTION_KEYS).map(([k, f]) => [f, k]));
  throw new Error(`${source}: ${r.error.issues.map((i) => formatIssue(i, fieldToKey)).join("; ")}`);
}

function formatIssue(issue: z.ZodIssue, fieldToKey: Record<string, string>): string {
  if (issue.code === "invalid_union_discriminator") {
    return `unknown personalisation method; fedtune has ${PERSONALISATION_NAMES.join(", ")}`;
  }
  if (issue.code === "unrecognized_keys") {
    return `option(s) ${issue.keys.map((k) => JSON.stringify(fieldToKey[k] ?? k)).join(", ")} do not apply to this method`;
  }
  const field = issue.path.join(".");
  return `${JSON.stringify(fieldToKey[field] ?? field)}: ${issue.message}`;
}

/** Read a train or evaluate ConfigRecord against the participant's own defaults. */
export function readFitSettings(config: ReadonlyMap<string, ConfigValue> | undefined, participant: ParticipantConfig): FlowerFitSettings {
  const values = config ?? new Map<string, ConfigValue>();
  const unknown = [...values.keys()].filter((k) => !FLOWER_CONFIG_KEYS.includes(k));
  if (unknown.length > 0) {
    throw new Error(`config record: key(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")} unknown to fedtune's node (known: ${FLOWER_CONFIG_KEYS.join(", ")})`);
  }
  const t = participant.training;
  // The participant's own settings (the runner's mapping of the same section); the record's keys override them.
  const own = localTrainingOf(t);
  const lr = configNumber(values, values.has("lr") ? "lr" : "learning-rate", own.learningRate);
  const epochs = configNumber(values, values.has("local-epochs") ? "local-epochs" : "epochs", own.epochs);
  const batchSize = configNumber(values, "batch-size", own.batchSize);
  const momentum = configNumber(values, "momentum", own.momentum);
  const proximalMu = configNumber(values, "proximal-mu", 0);
  const clip = values.has("clip-norm") ? configNumber(values, "clip-norm", 0) : undefined;
  if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`config record: "lr" must be > 0, got ${lr}`);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`config record: "local-epochs" must be an integer ≥ 1, got ${epochs}`);
  if (!((Number.isInteger(batchSize) && batchSize >= 1) || batchSize === FULL_BATCH)) throw new Error(`config record: "batch-size" must be an integer ≥ 1, got ${batchSize}`);
  if (!(momentum >= 0 && momentum < 1)) throw new Error(`config record: "momentum" must be in [0, 1), got ${momentum}`);
  if (!(proximalMu >= 0 && Number.isFinite(proximalMu))) throw new Error(`config record: "proximal-mu" must be ≥ 0, got ${proximalMu}`);
  if (clip !== undefined && !(clip > 0 && Number.isFinite(clip))) throw new Error(`config record: "clip-norm" must be > 0, got ${clip}`);
  return {
    serverRound: configNumber(values, "server-round", 0),
    personalisation: personalisationFrom(values, participant),
    local: {
      ...own,
      epochs,
      batchSize,
      learningRate: lr,
      momentum,
      proximalMu,
      // A node's model is its own cnn/mlp (no pretrained body): unless told, every layer trains.
      trainable: t.trainableLayers === undefined || t.trainableLayers === "all" ? "all" : { lastLayers: t.trainableLayers },
    },
    clipNorm: clip,
  };
}

/** The record's method (with its option keys) or the participant's own. */
function personalisationFrom(values: ReadonlyMap<string, ConfigValue>, participant: ParticipantConfig): PersonalisationConfig {
  const own: PersonalisationConfig = participant.personalisation ?? { method: "none" };
  const name = values.get("personalisation");
  if (name !== undefined && typeof name !== "string") throw new Error(`config record: "personalisation" must be a string, got ${typeof name}`);
  const options: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(METHOD_OPTION_KEYS)) if (values.has(key)) options[field] = configNumber(values, key, 0);
  if (name === undefined && Object.keys(options).length === 0) return own;
  const method = name ?? own.method;
  if (!PERSONALISATION_NAMES.includes(method)) {
    throw new Error(`config record: "personalisation" ${JSON.stringify(method)} is not a fedtune method (${PERSONALISATION_NAMES.join(", ")})`);
  }
  // Same method as the participant's own: the record's options override its options.
  const base = method === own.method ? { ...own } : { method };
  return parsePersonalisation({ ...base, ...options }, `config record (personalisation ${JSON.stringify(method)})`);
}
