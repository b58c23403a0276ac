/**
 * Seeded random numbers. Every random choice in fedtune (sampling, shuffling, initialisation,
 * dropout, noise) draws from an `Rng` so that the same seed gives the same run.
 * Algorithm: mulberry32 for uniforms (fast, 32-bit state that fits in a checkpoint).
 */
export class Rng {
  private s: number;

  /** Create a generator from an integer seed. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    // Warm up so that nearby seeds diverge quickly.
    for (let i = 0; i < 4; i++) this.nextUint32();
  }

  /** Serialisable state, for checkpoints. */
  get state(): number {
    return this.s;
  }

  /** Rebuild a generator from `state`. */
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.s = state >>> 0;
    return r;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new Error(`Rng.int: n must be > 0, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) sample (Marsaglia–Tsang), used by Dirichlet partitioning. */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new Error(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) {
      const u = this.next() || Number.MIN_VALUE;
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** In-place Fisher–Yates shuffle; returns the same array. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }

  /** k distinct indices from 0..n-1, in random order. */
  sample(n: number, k: number): number[] {
    if (k > n) throw new Error(`Rng.sample: cannot pick ${k} of ${n}`);
    return Array.from(this.permutation(n).subarray(0, k));
  }

  /** A child generator with an independent stream, derived deterministically (e.g. per participant). */
  fork(label: string | number): Rng {
    let h = this.s ^ 0x85ebca6b;
    const s = String(label);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return new Rng(h >>> 0);
  }
}

/** Derive a 31-bit integer seed from a base seed and labels (for tfjs initialisers, which take a number). */
export function deriveSeed(seed: number, ...labels: Array<string | number>): number {
  let h = (Math.floor(seed) ^ 0x811c9dc5) >>> 0;
  for (const label of labels) {
    const s = String(label);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2f, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}
