/**
 * Label-skew partition by Dirichlet sampling (Hsu, Qi & Brown 2019; the balanced variant of
 * Li et al. 2021, "Federated Learning on Non-IID Data Silos", as in Flower's DirichletPartitioner).
 * For each class, proportions p ~ Dir(α·1) over the participants decide who gets how many of that
 * class's samples. Small α concentrates each class on few participants; large α approaches IID.
 * Balancing: a participant that already holds ≥ N/n samples gets no more, which keeps sizes sane.
 * The whole draw is repeated until every participant has at least `minSize` samples.
 */
import { Rng } from "../../util/rng";
import { BasePartitionOptions, checkBase, checkLabels, Partition } from "./partitionArgs";

/** Options of `dirichletPartition`. */
export interface DirichletPartitionOptions extends BasePartitionOptions {
  /** Concentration α > 0: 0.1 = strong label skew, 1 = moderate, 1000 ≈ IID. */
  readonly alpha: number;
  /** Minimum samples per participant (default min(10, floor(N / numParticipants))). */
  readonly minSize?: number;
  /** Redraws allowed to reach minSize before giving up (default 100). */
  readonly maxAttempts?: number;
  /** Stop giving samples to participants that already hold ≥ N/n (default true). */
  readonly balance?: boolean;
}

/** One draw of p ~ Dirichlet(α, …, α) of length n. */
function dirichlet(rng: Rng, alpha: number, n: number): number[] {
  const g = Array.from({ length: n }, () => rng.gamma(alpha));
  const sum = g.reduce((a, b) => a + b, 0);
  if (sum > 0) return g.map((v) => v / sum);
  // With tiny α every gamma draw can underflow to 0; the limit of Dir(α→0) is all mass on one participant.
  const p = new Array<number>(n).fill(0);
  p[rng.int(n)] = 1;
  return p;
}

/** Partition `labels` among participants with Dirichlet(α) label proportions. */
export function dirichletPartition(labels: ArrayLike<number>, options: DirichletPartitionOptions): Partition {
  const fn = "dirichletPartition";
  const numClasses = checkLabels(fn, labels);
  checkBase(fn, labels.length, options);
  const { alpha, numParticipants: n } = options;
  if (!(typeof alpha === "number" && alpha > 0 && Number.isFinite(alpha))) throw new Error(`${fn}: alpha must be > 0, got ${alpha}`);
  const N = labels.length;
  const minSize = options.minSize ?? Math.min(10, Math.floor(N / n));
  if (!(Number.isInteger(minSize) && minSize >= 0)) throw new Error(`${fn}: minSize must be an integer >= 0, got ${minSize}`);
  if (minSize * n > N) throw new Error(`${fn}: minSize ${minSize} × ${n} participants exceeds the ${N} samples`);
  const maxAttempts = options.maxAttempts ?? 100;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new Error(`${fn}: maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  const balance = options.balance ?? true;

  const rng = new Rng(options.seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < N; i++) byClass[labels[i]].push(i);

  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const parts: Partition = Array.from({ length: n }, () => []);
    for (const members of byClass) {
      if (members.length === 0) continue;
      const idx = rng.shuffle(members.slice()) as number[];
      let p = dirichlet(rng, alpha, n);
      if (balance) {
        const masked = p.map((v, j) => (parts[j].length < N / n ? v : 0));
        const s = masked.reduce((a, b) => a + b, 0);
        if (s > 0) p = masked.map((v) => v / s);
      }
      // Cut points at the cumulative proportions; the last participant takes the rest.
      let start = 0;
      let cum = 0;
      for (let j = 0; j < n; j++) {
        cum += p[j];
        const end = j === n - 1 ? idx.length : Math.min(idx.length, Math.round(cum * idx.length));
        for (let k = start; k < end; k++) parts[j].push(idx[k]);
        start = Math.max(start, end);
      }
    }
    if (parts.every((q) => q.length >= minSize)) {
      for (const q of parts) rng.shuffle(q);
      return parts;
    }
  }
  throw new Error(
    `${fn}: no partition gives every participant >= minSize ${minSize} samples after ${maxAttempts} attempts ` +
      `(alpha ${alpha}, ${n} participants, ${N} samples); raise alpha, lower minSize or use fewer participants`,
  );
}
