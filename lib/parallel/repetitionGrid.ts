/**
 * The one repetition loop of fedtune: every (method, seed) run of a set goes through here, for
 * `fedtune run`'s seeds (`runRepetitions`: one method, the config), `compareMethods`' methods ×
 * seeds and the reproductions' methods × seeds (`seededRuns`, `npm run reproduce`). Runs are taken
 * seed-major (seed 1's methods in order, then seed 2's, …) by `runInLanes`, the one scheduler.
 *
 * What a seed decides and its runs share (participants, a model, initial weights: `perSeed`) is
 * built when the seed's first run starts and released when its last run ends, so on one lane the
 * loop is exactly "for each seed: prepare; for each method: run; release". On several lanes each
 * lane is usually a worker thread that gets the whole run to do. A run's result depends only on its
 * method and seed, never on its lane, and results come back in run order, so any number of lanes
 * gives the same results.
 */
import { runInLanes } from "./lanes";

/** One run of a grid: method `method` (an index into the caller's methods) with `seed`; `index` is its place in run order. */
export interface GridRun {
  readonly method: number;
  readonly seed: number;
  readonly index: number;
}

/** Options of `runRepetitionGrid`. */
export interface RepetitionGridOptions<S, R> {
  /** The seeds, in order; not empty, no seed twice. */
  readonly seeds: readonly number[];
  /** How many methods each seed runs (≥ 1). */
  readonly methods: number;
  /** Runs at once (default 1: one after another). */
  readonly lanes?: number;
  /** What a seed's runs share, built before its first run (default: nothing). */
  readonly perSeed?: (seed: number) => S | Promise<S>;
  /** Called once a seed's last run ended (or the grid failed) with what `perSeed` built, e.g. to dispose a model. */
  readonly release?: (shared: S) => void;
  /** One run, on lane `lane` (0 … lanes−1). */
  readonly run: (run: GridRun, shared: S, lane: number) => Promise<R>;
  /** Names the caller in errors (default "runRepetitionGrid"). */
  readonly caller?: string;
}

/** The runs of `seeds` × `methods` in run order (seed-major). */
export function gridRuns(seeds: readonly number[], methods: number): GridRun[] {
  return seeds.flatMap((seed, s) => Array.from({ length: methods }, (_, method) => ({ method, seed, index: s * methods + method })));
}

/** Run every (method, seed) of the grid on `lanes` lanes; results in run order (seed-major). */
export async function runRepetitionGrid<S, R>(options: RepetitionGridOptions<S, R>): Promise<R[]> {
  const caller = options.caller ?? "runRepetitionGrid";
  const { seeds, methods } = options;
  if (seeds.length === 0) throw new Error(`${caller}: seeds must list at least one seed`);
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined) throw new Error(`${caller}: seeds lists a seed twice (${twice}): ${seeds.join(", ")}`);
  if (!(Number.isInteger(methods) && methods >= 1)) throw new Error(`${caller}: methods must be an integer ≥ 1, got ${methods}`);
  const runs = gridRuns(seeds, methods);
  // Per seed: what its runs share (built once) and how many of its runs have not ended.
  const shared = new Map<number, { value: Promise<S>; left: number }>();
  const sharedFor = (seed: number): Promise<S> => {
    let entry = shared.get(seed);
    if (!entry) {
      entry = { value: Promise.resolve(options.perSeed ? options.perSeed(seed) : (undefined as S)), left: methods };
      shared.set(seed, entry);
    }
    return entry.value;
  };
  const ended = async (seed: number): Promise<void> => {
    const entry = shared.get(seed);
    if (!entry || --entry.left > 0) return;
    shared.delete(seed);
    options.release?.(await entry.value);
  };
  const running = new Set<Promise<unknown>>();
  try {
    return await runInLanes(runs.length, options.lanes ?? 1, (lane, i) => {
      const run = runs[i];
      const job = (async (): Promise<R> => {
        const value = await sharedFor(run.seed);
        try {
          return await options.run(run, value, lane);
        } finally {
          await ended(run.seed);
        }
      })();
      running.add(job);
      void job.then(() => running.delete(job), () => running.delete(job));
      return job;
    });
  } finally {
    if (shared.size > 0 && options.perSeed) {
      // A run failed: what the other lanes still run uses what their seed built, so wait for them, then release what is left.
      await Promise.allSettled([...running]);
      const left = [...shared.values()];
      shared.clear();
      for (const entry of left) {
        const value = await entry.value.then((v) => ({ ok: true as const, v }), () => ({ ok: false as const }));
        if (value.ok) options.release?.(value.v);
      }
    }
  }
}
