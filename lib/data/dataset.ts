/**
 * The in-memory dataset every part of fedtune passes around: features as one flat Float32Array
 * (row-major, `sampleShape` per sample, images normalised to [0, 1]) and integer labels.
 * Plain typed arrays rather than tensors, so that partitioning and splitting never touch tfjs
 * memory and a dataset can be sent to a worker thread as is.
 */
export interface Dataset {
  /** Name, e.g. "mnist" or "mnist/participant-2/train". */
  readonly name: string;
  /** Features, `length = size * product(sampleShape)`. */
  readonly x: Float32Array;
  /** Labels in [0, numClasses). */
  readonly y: Int32Array;
  /** Shape of one sample, e.g. [28, 28, 1] for images or [30] for a table row. */
  readonly sampleShape: readonly number[];
  /** Number of classes of the task. */
  readonly numClasses: number;
  /** Human-readable class names, `length = numClasses`. */
  readonly classNames: readonly string[];
}

/** Number of samples in a dataset. */
export function datasetSize(ds: Dataset): number {
  return ds.y.length;
}

/** Number of feature values per sample. */
export function sampleLength(ds: Pick<Dataset, "sampleShape">): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

/** The samples at `indices`, in that order, as a new dataset. */
export function subsetDataset(ds: Dataset, indices: ArrayLike<number>, name?: string): Dataset {
  const len = sampleLength(ds);
  const n = ds.y.length;
  const x = new Float32Array(indices.length * len);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < n)) throw new Error(`subsetDataset(${ds.name}): index ${j} out of range [0, ${n})`);
    x.set(ds.x.subarray(j * len, (j + 1) * len), i * len);
    y[i] = ds.y[j];
  }
  return { name: name ?? ds.name, x, y, sampleShape: ds.sampleShape, numClasses: ds.numClasses, classNames: ds.classNames };
}

/** A participant's local data: a training split, a validation split (for early stopping) and a test split. */
export interface ParticipantData {
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly test: Dataset;
}
