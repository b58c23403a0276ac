/**
 * The one rule behind "best" in fedtune, shared by the round loop's convergence tracker and by
 * lib/analysis's `selectedByValidation`: scanning rounds in increasing order, a round replaces the
 * best so far when its validation loss is strictly lower (ties keep the earlier round; NaN never
 * wins; the first non-NaN loss wins over "nothing yet", written NaN or +∞).
 */

/** Whether validation loss `candidate` should replace `best` under the rule above (scanning rounds in increasing order). */
export function improvesValidation(candidate: number, best: number): boolean {
  return !Number.isNaN(candidate) && (Number.isNaN(best) || candidate < best);
}
