import type { Dataset } from "../lib/data/dataset";
import { Rng } from "../lib/util/rng";

/** `n` seeded 28×28×1 images with uniform pixels in [0, 1) and uniform labels 0–9: for timing, not accuracy. */
export function randomImages(rng: Rng, n: number, name: string): Dataset {
  const x = new Float32Array(n * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  return { name, x, y, sampleShape: [28, 28, 1], numClasses: 10, classNames: Array.from({ length: 10 }, (_, c) => String(c)) };
}
