/** Small seeded synthetic datasets for model and federation tests (no files, no downloads). */
import type { Dataset, ParticipantData } from "../../lib/data/dataset";
import { Rng } from "../../lib/util/rng";

/** Gaussian blobs: class c centred at a seeded random point, unit-ish spread. */
export function gaussianBlobs(options: {
  n: number;
  dims: number;
  numClasses: number;
  seed: number;
  spread?: number;
  classWeights?: readonly number[];
  name?: string;
  centres?: readonly number[][];
}): Dataset {
  const { n, dims, numClasses, seed } = options;
  const rng = new Rng(seed);
  const centres = options.centres ?? blobCentres(dims, numClasses, 12345);
  const spread = options.spread ?? 1;
  const w = options.classWeights ?? new Array<number>(numClasses).fill(1);
  const total = w.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * dims);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.next() * total;
    let c = 0;
    while (c < numClasses - 1 && u >= w[c]) u -= w[c++];
    y[i] = c;
    for (let d = 0; d < dims; d++) x[i * dims + d] = centres[c][d] + spread * rng.normal();
  }
  return {
    name: options.name ?? "blobs",
    x,
    y,
    sampleShape: [dims],
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, c) => `c${c}`),
  };
}

/** Seeded class centres shared by all splits of one task. */
export function blobCentres(dims: number, numClasses: number, seed: number, scale = 2): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: numClasses }, () => Array.from({ length: dims }, () => scale * rng.normal()));
}

/** A participant's train/validation/test splits drawn from the same class mix. */
export function blobParticipant(options: {
  dims: number;
  numClasses: number;
  seed: number;
  sizes?: [number, number, number];
  classWeights?: readonly number[];
  spread?: number;
}): ParticipantData {
  const [ntr, nva, nte] = options.sizes ?? [40, 20, 40];
  const base = { dims: options.dims, numClasses: options.numClasses, classWeights: options.classWeights, spread: options.spread };
  return {
    train: gaussianBlobs({ ...base, n: ntr, seed: options.seed * 3 + 1, name: "train" }),
    validation: gaussianBlobs({ ...base, n: nva, seed: options.seed * 3 + 2, name: "validation" }),
    test: gaussianBlobs({ ...base, n: nte, seed: options.seed * 3 + 3, name: "test" }),
  };
}
