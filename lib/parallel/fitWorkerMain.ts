/**
 * The body of a fit worker thread (started through fitWorker.js). It owns one tfjs backend, ONE
 * model built from the main thread's topology and one `Trainer`; every job swaps the job's
 * weights in, so a worker serves any number of participants. Participants' data are cached by id.
 * Each job runs `Participant.fit` — the very code the serial executor runs — on a participant
 * rebuilt from the cached data and the job's state, so its result depends only on the job.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import type { ParticipantData } from "../data/dataset";
import { Participant } from "../federation/participant";
import type { Personalisation, PersonalState } from "../federation/personalisation/personalisation";
import { weightedLayers } from "../model/modelWeights";
import { toSharedWeights } from "../model/sharedWeights";
import { writeToArena } from "../kernels/updateArena";
import { Trainer } from "../model/trainer";
import type { Evaluation } from "../model/trainer";
import type { ModelWeights } from "../model/weights";
import type { EvaluateMessage, FitMessage, FitResultPayload, FitWorkerData, ModelMessage, WorkerReply, WorkerRequest } from "./fitProtocol";
import { serialiseError } from "./fitProtocol";
import { personalisationFromSpec } from "../federation/personalisation/personalisationRegistry";

const port = parentPort;
if (!port) throw new Error("fitWorkerMain: must run in a worker thread (use createWorkerPool)");
const init = workerData as FitWorkerData;

let trainer: Trainer | undefined;
let modelKey: string | undefined;
const data = new Map<string, ParticipantData>();
/** Rebuilt personalisations by spec: instances cache per-trainer masks, so keep them. */
const methods = new Map<string, Personalisation>();

function send(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(reply, transfer);
}

async function setModel(msg: ModelMessage): Promise<void> {
  if (trainer) trainer.dispose();
  trainer = undefined;
  modelKey = undefined;
  methods.clear();
  trainer = await Trainer.fromSpec({ topology: msg.topology, evalBatchSize: msg.evalBatchSize ?? 512 });
  modelKey = msg.modelKey;
}

function fit(msg: FitMessage): FitResultPayload {
  if (!trainer || modelKey === undefined) throw new Error(`worker ${init.index}: no model was sent before the fit of participant ${msg.participantId}`);
  const cached = data.get(msg.participantId);
  if (!cached) throw new Error(`worker ${init.index}: no data cached for participant ${msg.participantId}`);
  const layers = weightedLayers(trainer.model);
  if (layers.length !== msg.trainableFlags.length) {
    throw new Error(`worker ${init.index}: model has ${layers.length} weighted layers, the job sent ${msg.trainableFlags.length} trainable flags`);
  }
  layers.forEach((l, i) => (l.layer.trainable = msg.trainableFlags[i]));
  const key = JSON.stringify(msg.personalisation);
  let method = methods.get(key);
  if (!method) {
    method = personalisationFromSpec(msg.personalisation);
    methods.set(key, method);
  }
  const participant = new Participant({ id: msg.participantId, data: cached, trainer });
  participant.state = msg.state;
  const t0 = performance.now();
  // The global weights are read where they arrived, on the round's shared memory (nothing writes to them), as the
  // serial executor hands every participant the same global arrays. A private copy per job was work the serial run does
  // not do: a fresh 1.7 MB allocation for the default CNN whose ~400 pages can each fault in anew (about 20 µs per
  // minor fault on a VM like the bench's).
  const update = participant.fit(msg.global, msg.config, method);
  const seconds = (performance.now() - t0) / 1000;
  // In the main thread's update arena (else in a SharedArrayBuffer), the update reaches the main thread without a copy
  // and its weighted sum reads it in place.
  const inArena = msg.arena === undefined ? undefined : writeToArena(msg.arena.memory, msg.arena.block, msg.arena.layout, update.weights);
  return { weights: inArena ?? toSharedWeights(update.weights), metrics: update.metrics, state: ownState(participant.state), seconds, inArena: inArena !== undefined };
}

/**
 * The participant's new state with arrays of its own: a method may keep arrays of the job's global weights in it (FedRep
 * without a training phase keeps `personalModel(global, …)`), and those live on the round's shared memory, in a block
 * of the main thread's update arena that a later round reuses once the round is over. Such arrays are copied (same
 * bits); the others are this job's own and move without a copy.
 */
function ownState(state: PersonalState): PersonalState {
  const weights = state.weights;
  if (weights === undefined || weights.every((w) => w.values.buffer instanceof ArrayBuffer)) return state;
  return { ...state, weights: weights.map((w) => (w.values.buffer instanceof ArrayBuffer ? w : { ...w, values: w.values.slice() })) };
}

/** Evaluate on a cached participant's split: `Participant.evaluate`, the code the serial evaluation runs. */
function evaluate(msg: EvaluateMessage): Evaluation {
  if (!trainer || modelKey === undefined) throw new Error(`worker ${init.index}: no model was sent before the evaluation of participant ${msg.participantId}`);
  const cached = data.get(msg.participantId);
  if (!cached) throw new Error(`worker ${init.index}: no data cached for participant ${msg.participantId}`);
  return new Participant({ id: msg.participantId, data: cached, trainer }).evaluate(msg.weights, msg.split);
}

/** Buffers of the result that can move instead of being copied (all are this job's own; none is cached). */
function transferables(...weights: Array<ModelWeights | undefined>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const w of weights) for (const t of w ?? []) if (t.values.buffer instanceof ArrayBuffer) out.add(t.values.buffer);
  return [...out];
}

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    switch (msg.type) {
      case "model":
        await setModel(msg);
        send({ type: "reply", id: msg.id, ok: true });
        return;
      case "data":
        data.set(msg.participantId, { train: msg.train, validation: msg.validation, test: msg.test });
        send({ type: "reply", id: msg.id, ok: true });
        return;
      case "forget":
        if (msg.participantIds) for (const id of msg.participantIds) data.delete(id);
        else data.clear();
        send({ type: "reply", id: msg.id, ok: true });
        return;
      case "memory": {
        const m = tf.memory();
        send({ type: "reply", id: msg.id, ok: true, memory: { numTensors: m.numTensors, numBytes: m.numBytes } });
        return;
      }
      case "evaluate":
        send({ type: "reply", id: msg.id, ok: true, evaluation: evaluate(msg) });
        return;
      case "fit": {
        const result = fit(msg);
        send({ type: "reply", id: msg.id, ok: true, fit: result }, transferables(result.weights, result.state.weights));
        return;
      }
    }
  } catch (e) {
    send({ type: "reply", id: (msg as { id: number }).id, ok: false, error: serialiseError(e) });
  }
}

// Requests are handled one at a time, in arrival order (a model must exist before a fit runs on it).
let queue: Promise<void> = Promise.resolve();
const ready = initBackend({ backend: init.backend, log: false }).then((info) => send({ type: "ready", backend: info.name }));
queue = ready;
port.on("message", (msg: WorkerRequest) => {
  queue = queue.then(() => handle(msg));
});
ready.catch((e: unknown) => {
  // Without a backend the worker is useless: say why and let the pool see the exit.
  const err = serialiseError(e);
  console.error(`fedtune worker ${init.index}: ${err.message}`);
  process.exit(1);
});
