import { weightedAverage, WeightedWeights } from "../lib/federation/aggregate";
import { Rng } from "../lib/util/rng";

/** Input bytes per second of `weightedAverage` and of a plain copy of the same bytes. */
export interface AggregationThroughput {
  readonly participants: number;
  readonly parameters: number;
  readonly aggregateBytesPerS: number;
  readonly memcpyBytesPerS: number;
}

function repeatFor(seconds: number, body: () => void): number {
  body(); // warm-up (JIT, page faults)
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    body();
    n++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < seconds || n < 3);
  return elapsed / n;
}

/**
 * Times FedAvg's weighted average of `participants` updates with the given layer sizes against copying every input
 * array into one output buffer (`Float32Array.set`, i.e. memcpy): both consume the same input bytes.
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
  const aggregateSeconds = repeatFor(seconds, () => {
    weightedAverage(updates);
  });
  const memcpySeconds = repeatFor(seconds, () => {
    for (const u of updates) u.weights.forEach((w, i) => target[i].set(w.values));
  });
  return { participants, parameters, aggregateBytesPerS: inputBytes / aggregateSeconds, memcpyBytesPerS: inputBytes / memcpySeconds };
}
