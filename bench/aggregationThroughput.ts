import { weightedAverage, WeightedWeights } from "../lib/federation/aggregate";
import { Rng } from "../lib/util/rng";

/** Input bytes per second of `weightedAverage`, of a plain copy of the same bytes, and of the simplest Float64 sum loop. */
export interface AggregationThroughput {
  readonly participants: number;
  readonly parameters: number;
  readonly aggregateBytesPerS: number;
  readonly memcpyBytesPerS: number;
  /** `acc[k] += x[k]` into a cache-resident Float64Array: what scalar JavaScript can do per input byte at best. */
  readonly float64LoopBytesPerS: number;
}

/** Time each body in turn, `rounds` times, each turn lasting ≥ `seconds`/rounds; the fastest turn of each counts. */
function interleaved(seconds: number, rounds: number, bodies: ReadonlyArray<() => void>): number[] {
  for (const b of bodies) b(); // warm-up (JIT, page faults)
  const best = bodies.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    bodies.forEach((body, i) => {
      let n = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        body();
        n++;
        elapsed = (performance.now() - start) / 1000;
      } while (elapsed < seconds / rounds || n < 2);
      best[i] = Math.min(best[i], elapsed / n);
    });
  }
  return best;
}

/**
 * Times FedAvg's weighted average of `participants` updates with the given layer sizes against
 * (a) copying every input array into one output buffer (`Float32Array.set`, i.e. memcpy) and
 * (b) summing every input into a Float64 block with the plainest loop. All three consume the same
 * input bytes; the runs alternate so that a busy neighbour slows all of them alike.
 */
export function aggregationThroughput(layerSizes: readonly number[], participants: number, seconds: number, seed = 8): AggregationThroughput {
  const rng = new Rng(seed);
  const updates: WeightedWeights[] = [];
  for (let p = 0; p < participants; p++) {
    const weights = layerSizes.map((size, i) => {
      const values = new Float32Array(size);
      for (let k = 0; k < size; k++) values[k] = rng.normal();
      return { name: `layer_${i}`, shape: [size], values };
    });
    updates.push({ weights, numExamples: 1 + rng.int(100), participantId: `p${p}` });
  }
  const parameters = layerSizes.reduce((a, b) => a + b, 0);
  const inputBytes = participants * parameters * 4;
  const target = layerSizes.map((size) => new Float32Array(size));
  const block = new Float64Array(4096);
  const sumLoop = (): void => {
    for (const u of updates) {
      for (const w of u.weights) {
        const x = w.values;
        for (let start = 0; start < x.length; start += 4096) {
          const m = Math.min(4096, x.length - start);
          for (let k = 0; k < m; k++) block[k] += x[start + k];
        }
      }
    }
  };
  const [aggregate, memcpy, loop] = interleaved(seconds, 5, [
    () => weightedAverage(updates),
    () => {
      for (const u of updates) u.weights.forEach((w, i) => target[i].set(w.values));
    },
    sumLoop,
  ]);
  return {
    participants,
    parameters,
    aggregateBytesPerS: inputBytes / aggregate,
    memcpyBytesPerS: inputBytes / memcpy,
    float64LoopBytesPerS: inputBytes / loop,
  };
}
