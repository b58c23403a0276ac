/**
 * The messages between `WorkerPoolFitExecutor` (main thread) and a fit worker. Everything is
 * plain data that `postMessage` can clone: weights are Float32Arrays (a fit's update in a block of the main thread's
 * update arena, or else in a SharedArrayBuffer, read in place by the weighted sum), the model travels as its
 * tfjs topology JSON, the personalisation as a `PersonalisationSpec`. Every request carries an
 * id and gets exactly one reply with that id, in order.
 */
import type { Dataset } from "../data/dataset";
import type { BackendName } from "../backend";
import type { ModelWeights } from "../model/weights";
import type { ParticipantFitConfig, Split } from "../federation/participant";
import type { Evaluation } from "../model/trainer";
import type { PersonalState } from "../federation/personalisation/personalisation";
import type { PersonalisationSpec } from "../federation/personalisation/personalisationSpec";
import type { SerialisedError } from "./workerThread";
import type { ArenaLayout } from "../kernels/updateArena";
import type { WasmMemory } from "../kernels/webAssembly";

/** `workerData` of a fit worker. */
export interface FitWorkerData {
  /** Backend to start (the main thread's), or undefined to choose as `initBackend` does. */
  readonly backend: BackendName | undefined;
  /** Index of the worker in its pool (for messages). */
  readonly index: number;
}

/** The model a worker trains on: topology plus the trainer's options. */
export interface ModelMessage {
  readonly type: "model";
  readonly id: number;
  /** Identifies this model; later fit requests name it. */
  readonly modelKey: string;
  /** `model.toJSON(null, false)` of the main thread's model. */
  readonly topology: object;
  /** The main trainer's evaluation/caching batch size. */
  readonly evalBatchSize: number | undefined;
}

/** A participant's local data (sent once per worker, then cached by participant id). */
export interface DataMessage {
  readonly type: "data";
  readonly id: number;
  readonly participantId: string;
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly test: Dataset;
}

/** One job: train a cached participant from the global weights. */
export interface FitMessage {
  readonly type: "fit";
  readonly id: number;
  readonly participantId: string;
  readonly global: ModelWeights;
  readonly state: PersonalState;
  readonly config: ParticipantFitConfig;
  readonly personalisation: PersonalisationSpec;
  /** `trainable` of every weighted layer of the main model now (the model's flags may change between rounds). */
  readonly trainableFlags: readonly boolean[];
  /** A block of the main thread's update arena to write the update into (lib/kernels/updateArena.ts); absent: a new SharedArrayBuffer. */
  readonly arena?: ArenaBlock;
}

/** Where a fit worker writes its update: a block of the update arena's shared memory, laid out by `layout`. */
export interface ArenaBlock {
  readonly memory: WasmMemory;
  readonly block: number;
  readonly layout: ArenaLayout;
}

/** Evaluate weights on one split of a cached participant. */
export interface EvaluateMessage {
  readonly type: "evaluate";
  readonly id: number;
  readonly participantId: string;
  readonly weights: ModelWeights;
  readonly split: Split;
}

/** Ask for the worker's `tf.memory()` (leak checks). */
export interface MemoryMessage {
  readonly type: "memory";
  readonly id: number;
}

/** Drop cached participant data (all, or the listed ids). */
export interface ForgetMessage {
  readonly type: "forget";
  readonly id: number;
  readonly participantIds?: readonly string[];
}

/** What the main thread sends. */
export type WorkerRequest = ModelMessage | DataMessage | FitMessage | EvaluateMessage | MemoryMessage | ForgetMessage;

/** A fit's result: the update's weights and metrics, and the participant's new state. */
export interface FitResultPayload {
  readonly weights: ModelWeights;
  readonly metrics: Readonly<Record<string, number>>;
  readonly state: PersonalState;
  /** Wall-clock seconds of the fit in the worker (what a round's timeout compares). */
  readonly seconds: number;
  /** True if `weights` were written into the job's arena block (else they are in a SharedArrayBuffer of their own). */
  readonly inArena: boolean;
}

/** A worker's answer to a request. */
export type WorkerReply =
  | { readonly type: "ready"; readonly backend: string }
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly fit?: FitResultPayload; readonly evaluation?: Evaluation; readonly memory?: { numTensors: number; numBytes: number } }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: SerialisedError };

/** Errors as data across threads (kept here for the fit worker's imports). */
export { deserialiseError, serialiseError } from "./workerThread";
export type { SerialisedError } from "./workerThread";
