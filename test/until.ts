/**
 * Waiting in tests for an event, not for a fixed time: the machine running them may be loaded
 * (seen: load 20 on 2 cores), so a wait ends as soon as its condition holds and fails only at a
 * ceiling far above the normal duration, naming what did not happen.
 */

/** Default ceiling: two minutes, far above what any condition here needs on an idle machine. */
export const GENEROUS_MS = 120_000;

/** Resolve once `condition()` holds (checked every `everyMs`); reject after `ceilingMs`, naming `what`. */
export async function until(condition: () => boolean, what: string, ceilingMs = GENEROUS_MS, everyMs = 20): Promise<void> {
  const end = Date.now() + ceilingMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ceilingMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
