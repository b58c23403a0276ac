/**
 * A fedtune participant as a Flower ClientApp running any of fedtune's personalisation methods
 * (none, local-only, FedAvg+FT, FedPer, FedRep, Ditto, FedBN), chosen by its participant config or
 * by the ServerApp's config record ("personalisation", see flowerFitSettings.ts). Training goes
 * through the one local-fit path, `Participant.fit` (personalisation, then client-side DP clipping
 * when the record carries "clip-norm"); the personal state lives in a `NodeStateStore` across
 * rounds (and restarts, with a state directory). Replies:
 * - train: only the shared arrays, named (namedPartialArrays.ts), and metrics "num-examples", the
 *   method's training metrics (kebab-case), and with clipping "clip-norm", "update-norm" (of the
 *   update sent, ≤ clip-norm) and "clipped" (1 if it had to be scaled down);
 * - evaluate: "num-examples", "loss"/"accuracy" of the global model and "personal-loss"/
 *   "personal-accuracy" of the node's personal model, both on its test split.
 * A bad record (unknown key or method) throws: the SuperNode sends it back as an error reply and
 * stays connected.
 */
import { Participant } from "../federation/participant";
import type { Personalisation } from "../federation/personalisation/personalisation";
import { personalisationOf } from "../experiment/buildExperiment";
import type { PersonalisationConfig } from "../experiment/experimentConfig";
import type { ModelWeights } from "../model/weights";
import { deriveSeed } from "../util/rng";
import { arrayRecordToWeights } from "./arrayConversion";
import { FlowerFitSettings, readFitSettings } from "./flowerFitSettings";
import { sharedArrayRecord } from "./namedPartialArrays";
import { MemoryStateStore, NodeStateStore } from "./nodeStateStore";
import type { FlowerParticipant } from "./participantApp";
import { ConfigValue, FlowerMessage, FlowerRecord, getRecord, MetricValue, RecordDict } from "./records";
import type { MessageHandler } from "./superNode";
import { CLIP_NORM_KEY } from "../federation/updateClipping";

/** One train step as the handler saw it (for tests and reports). */
export interface PersonalisedTrainRecord {
  readonly serverRound: number;
  readonly settings: FlowerFitSettings;
  readonly numExamples: number;
  /** The global weights received. */
  readonly global: ModelWeights;
  /** The full weights whose shared tensors were sent (clipped when asked). */
  readonly sent: ModelWeights;
  /** Names of the tensors sent. */
  readonly sharedNames: readonly string[];
  /** The reply's metrics. */
  readonly metrics: ReadonlyMap<string, MetricValue>;
}

/** Options of `personalisedHandler`. */
export interface PersonalisedHandlerOptions {
  /** Where personal state lives between rounds; default in memory. */
  readonly stateStore?: NodeStateStore;
  /** Called after each train step, before the reply is sent. */
  readonly onTrain?: (record: PersonalisedTrainRecord) => void;
}

/** "personal.trainLoss" → "personal-train-loss". */
function kebab(key: string): string {
  return key.replace(/\./g, "-").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function configOf(content: RecordDict): ReadonlyMap<string, ConfigValue> | undefined {
  const c = content.get("config");
  return c && c.kind === "config" ? c.values : undefined;
}

/** L2 norm of (sent − global) over the shared tensors, in float64. */
function sharedUpdateNorm(sent: ModelWeights, global: ModelWeights, mask: readonly boolean[]): number {
  let s = 0;
  sent.forEach((t, i) => {
    if (!mask[i]) return;
    const g = global[i].values;
    for (let k = 0; k < t.values.length; k++) s += (t.values[k] - g[k]) ** 2;
  });
  return Math.sqrt(s);
}

/** The message handler of a personalised participant. */
export function personalisedHandler(participant: FlowerParticipant, options: PersonalisedHandlerOptions = {}): MessageHandler {
  const p = participant;
  const node = new Participant({ id: p.config.id, data: p.data, trainer: p.trainer });
  const store = options.stateStore ?? new MemoryStateStore();
  const methods = new Map<string, Personalisation>();
  const methodFor = (c: PersonalisationConfig): Personalisation => {
    const key = JSON.stringify(c);
    let m = methods.get(key);
    if (!m) {
      m = personalisationOf(c, p.config.training);
      m.sharedMask(p.trainer); // FedBN on a model without batch norm, etc.: fail before training
      methods.set(key, m);
    }
    return m;
  };

  const train = (content: RecordDict): RecordDict => {
    const settings = readFitSettings(configOf(content), p.config);
    const personalisation = methodFor(settings.personalisation);
    const global = arrayRecordToWeights(getRecord(content, "arrays", "array"), p.initialWeights);
    const method = settings.personalisation.method;
    const seed = deriveSeed(p.config.seed, "flower-train", p.config.participantIndex, settings.serverRound);
    node.state = store.load(method);
    const update = node.fit(global, { ...settings.local, seed, ...(settings.clipNorm !== undefined ? { record: { [CLIP_NORM_KEY]: settings.clipNorm } } : {}) }, personalisation);
    store.save(method, node.state);
    const mask = personalisation.sharedMask(p.trainer);
    const metrics = new Map<string, MetricValue>([["num-examples", BigInt(node.numExamples)]]);
    for (const [k, v] of Object.entries(update.metrics)) if (Number.isFinite(v) && k !== "dpNormBit") metrics.set(kebab(k), v);
    if (settings.clipNorm !== undefined) {
      metrics.set("clip-norm", settings.clipNorm);
      metrics.set("update-norm", sharedUpdateNorm(update.weights, global, mask));
      metrics.set("clipped", update.metrics.dpNormBit === 1 ? 0 : 1);
    }
    const arrays = sharedArrayRecord(update.weights, mask);
    options.onTrain?.({ serverRound: settings.serverRound, settings, numExamples: node.numExamples, global, sent: update.weights, sharedNames: [...arrays.arrays.keys()], metrics });
    return new Map<string, FlowerRecord>([
      ["arrays", arrays],
      ["metrics", { kind: "metric", values: metrics }],
    ]);
  };

  const evaluate = (content: RecordDict): RecordDict => {
    const settings = readFitSettings(configOf(content), p.config);
    const personalisation = methodFor(settings.personalisation);
    const global = arrayRecordToWeights(getRecord(content, "arrays", "array"), p.initialWeights);
    const method = settings.personalisation.method;
    const g = node.evaluate(global);
    node.state = store.load(method);
    const personal = node.personalWeights(global, personalisation, deriveSeed(p.config.seed, "flower-personal", p.config.participantIndex, settings.serverRound));
    store.save(method, node.state);
    const pe = personalisation.hasPersonalModel ? node.evaluate(personal) : g;
    const metrics = new Map<string, MetricValue>([
      ["num-examples", BigInt(g.numExamples)],
      ["loss", g.loss],
      ["accuracy", g.accuracy],
      ["personal-loss", pe.loss],
      ["personal-accuracy", pe.accuracy],
    ]);
    return new Map<string, FlowerRecord>([["metrics", { kind: "metric", values: metrics }]]);
  };

  return (message: FlowerMessage): RecordDict => {
    const type = message.metadata.messageType;
    const content = message.content;
    if (!content) throw new Error(`${type} message has no content`);
    if (type === "train") return train(content);
    if (type === "evaluate") return evaluate(content);
    throw new Error(`participant "${p.config.id}" handles "train" and "evaluate" messages, not ${JSON.stringify(type)}`);
  };
}
