/**
 * Where a fedtune SuperNode keeps its personal state (FedPer/FedRep heads, Ditto's personal model,
 * FedBN's norms, FedAvg+FT's fine-tuned model) between rounds: in memory, or in a state directory
 * so that a restarted node continues with its own personal model. One entry per personalisation
 * method (a ServerApp may switch methods between runs). Files are `.npz` (the weights, names kept)
 * written atomically (temp file, fsync, rename), so a crash leaves the old state or the new one.
 */
import * as fs from "fs";
import * as path from "path";
import type { PersonalState } from "../federation/personalisation/personalisation";
import { writeFileAtomic } from "../federation/checkpoint";
import type { ModelWeights } from "../model/weights";
import { decodeNpz, encodeNpz } from "./npz";

/** A node's personal state per method. */
export interface NodeStateStore {
  /** The state of `method` ({} when there is none yet). */
  load(method: string): PersonalState;
  /** Keep `state` as the state of `method`. */
  save(method: string, state: PersonalState): void;
}

/** State in memory only (lost when the process ends). */
export class MemoryStateStore implements NodeStateStore {
  private readonly states = new Map<string, PersonalState>();

  /** The stored state, or {}. */
  load(method: string): PersonalState {
    return this.states.get(method) ?? {};
  }

  /** Keep it in memory. */
  save(method: string, state: PersonalState): void {
    this.states.set(method, state);
  }
}

/**
 * State in `dir` as `<participant>.<method>.npz`, cached in memory. The stored weights must have
 * the names and shapes of `template` (the node's model): another model's state is an error
 * naming the file, never silently used.
 */
export class DirectoryStateStore implements NodeStateStore {
  private readonly memory = new MemoryStateStore();
  private readonly loaded = new Set<string>();

  /** Create `dir` if needed. */
  constructor(readonly dir: string, readonly participantId: string, private readonly template: ModelWeights) {
    if (!/^[A-Za-z0-9._-]+$/.test(participantId)) throw new Error(`DirectoryStateStore: participant id ${JSON.stringify(participantId)} cannot be a file name (use letters, digits, . _ -)`);
    fs.mkdirSync(dir, { recursive: true });
  }

  /** The file of `method`'s state. */
  file(method: string): string {
    return path.join(this.dir, `${this.participantId}.${method}.npz`);
  }

  /** From memory, else from disk (checked against the model), else {}. */
  load(method: string): PersonalState {
    if (!this.loaded.has(method)) {
      this.loaded.add(method);
      const file = this.file(method);
      if (fs.existsSync(file)) this.memory.save(method, { weights: this.read(file) });
    }
    return this.memory.load(method);
  }

  /** In memory and, atomically, on disk. */
  save(method: string, state: PersonalState): void {
    this.loaded.add(method);
    this.memory.save(method, state);
    if (state.weights) writeFileAtomic(this.file(method), encodeNpz(state.weights));
  }

  private read(file: string): ModelWeights {
    const arrays = decodeNpz(fs.readFileSync(file), file);
    return this.template.map((t) => {
      const a = arrays.get(t.name);
      if (!a) throw new Error(`personal state ${file}: lacks array "${t.name}" of the model; delete the file to start afresh`);
      if (a.shape.length !== t.shape.length || a.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`personal state ${file}: array "${t.name}" has shape [${a.shape}], the model needs [${t.shape}]; delete the file to start afresh`);
      }
      return { name: t.name, shape: [...t.shape], values: a.values instanceof Float32Array ? a.values : Float32Array.from(a.values) };
    });
  }
}
