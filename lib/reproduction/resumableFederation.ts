/**
 * Long reproduction runs survive being stopped: each (method, seed) run checkpoints into its own
 * folder (lib/federation/checkpoint.ts, written atomically) and, when started again with the same
 * folder, continues from the last checkpoint bitwise as if it had never stopped.
 */
import * as fs from "fs";
import * as path from "path";
import { Federation, type FederationOptions } from "../federation/federation";
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from "../federation/checkpoint";

/** Where and how often a run checkpoints. */
export interface RunCheckpointing {
  /** Root folder; each run gets `<root>/<method slug>-seed-<seed>/`. */
  readonly dir: string;
  /** Write a checkpoint every this many rounds (default 1) and when the run ends. */
  readonly every?: number;
}

/** The checkpoint folder of one run: the method label reduced to [a-z0-9-], then the seed. */
export function runCheckpointDir(root: string, method: string, seed: number): string {
  const slug = method.toLowerCase().replace(/∞/g, "inf").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return path.join(root, `${slug}-seed-${seed}`);
}

/** One run's own checkpointing under `root` (its folder from `runCheckpointDir`), or undefined when the runs do not checkpoint. */
export function runCheckpointing(root: RunCheckpointing | undefined, method: string, seed: number): RunCheckpointing | undefined {
  return root && { dir: runCheckpointDir(root.dir, method, seed), every: root.every };
}

/** A started federation for `options`: continued from `dir`'s checkpoint when there is one, else fresh (round 0 evaluated). */
export async function resumableFederation(options: FederationOptions, checkpoint: RunCheckpointing | undefined): Promise<Federation> {
  const withCheckpoint: FederationOptions = checkpoint ? { ...options, checkpoint: { dir: checkpoint.dir, every: checkpoint.every ?? 1 } } : options;
  if (checkpoint && fs.existsSync(path.join(checkpoint.dir, CHECKPOINT_FILE))) {
    return Federation.fromSnapshot(withCheckpoint, loadCheckpoint(checkpoint.dir));
  }
  const f = new Federation(withCheckpoint);
  await f.start();
  return f;
}

/** Write `f`'s checkpoint now (a run that stops early, e.g. at a target, ends on a round the `every` schedule skipped). */
export function finalCheckpoint(f: Federation, checkpoint: { readonly dir: string } | undefined): void {
  if (checkpoint) saveCheckpoint(checkpoint.dir, f.snapshot());
}
