import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { ScaleRunResult } from "./scaleRun";

/** One size of bench item 6, or why it has no figure. */
export type ScaleOutcome = { readonly ok: true; readonly result: ScaleRunResult } | { readonly ok: false; readonly participants: number; readonly reason: string };

/**
 * Bench item 6: runs bench/scaleRun.ts in a fresh child process per participant count (so each
 * peak RSS is that run's alone) with this process's loader flags (tsx) and the given backend.
 */
export function scaleMemory(sizes: ReadonlyArray<{ participants: number; workers: number }>, rounds: number, backend: string): ScaleOutcome[] {
  return sizes.map(({ participants, workers }) => {
    const run = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, "scaleRun.ts"), String(participants), String(rounds), String(workers)], {
      encoding: "utf8",
      timeout: 600_000,
      env: { ...process.env, FEDTUNE_BACKEND: backend, FEDTUNE_QUIET: "1" },
    });
    if (run.error !== undefined || run.status !== 0) {
      const why = run.error?.message ?? run.stderr.trim().split("\n").filter((l) => l.startsWith("scaleRun failed") || /Error/.test(l))[0] ?? `exit code ${run.status}`;
      return { ok: false, participants, reason: why };
    }
    const line = run.stdout.trim().split("\n").pop() ?? "";
    return { ok: true, result: JSON.parse(line) as ScaleRunResult };
  });
}
