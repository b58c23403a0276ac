/**
 * The one scheduler of fedtune's worker threads: `count` jobs on `lanes` lanes (one per thread),
 * each lane taking the next job as soon as its previous one is done, so a slow job never holds up
 * the others. The fit pool runs a round's fits and evaluations this way; `runRepetitions` runs
 * whole repetitions this way.
 */
import * as os from "node:os";

/** The default number of lanes where a caller gives none: this machine's cores (`os.availableParallelism()`). */
export function coreCount(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/**
 * Run jobs 0 … count−1 on `lanes` lanes (`job(lane, index)`); results in job order. The first
 * failure rejects at once and no lane starts another job (jobs already running are left to the
 * caller, e.g. to terminate their threads).
 */
export async function runInLanes<T>(count: number, lanes: number, job: (lane: number, index: number) => Promise<T>): Promise<T[]> {
  if (!(Number.isInteger(lanes) && lanes >= 1)) throw new Error(`runInLanes: lanes must be an integer ≥ 1, got ${lanes}`);
  const results = new Array<T>(count);
  let next = 0;
  let failed = false;
  const lane = async (slot: number): Promise<void> => {
    while (!failed && next < count) {
      const i = next++;
      try {
        results[i] = await job(slot, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, (_, slot) => lane(slot)));
  return results;
}
