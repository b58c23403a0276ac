/**
 * By-dataset partition: each participant holds one whole source dataset (the domain-shift scenario,
 * e.g. participant 0 = MNIST, 1 = Fashion-MNIST, 2 = UCI digits). Given the source id of every
 * sample of a concatenated dataset, it returns the samples of source i as participant i.
 */
import { Dataset, sampleLength } from "../dataset";
import { Partition } from "./partitionArgs";

/** Group sample indices by their source id (`domains[i]` in [0, numDomains)): one participant per source. */
export function byDatasetPartition(domains: ArrayLike<number>, options: { numDomains?: number } = {}): Partition {
  let max = -1;
  for (let i = 0; i < domains.length; i++) {
    const d = domains[i];
    if (!(Number.isInteger(d) && d >= 0)) throw new Error(`byDatasetPartition: domains must be integers >= 0, got ${d} at index ${i}`);
    if (d > max) max = d;
  }
  const numDomains = options.numDomains ?? max + 1;
  if (max >= numDomains) throw new Error(`byDatasetPartition: domain ${max} is outside [0, numDomains=${numDomains})`);
  const parts: Partition = Array.from({ length: numDomains }, () => []);
  for (let i = 0; i < domains.length; i++) parts[domains[i]].push(i);
  return parts;
}

/** A concatenation of datasets plus the source index of every sample. */
export interface ConcatenatedDataset {
  readonly dataset: Dataset;
  /** `domains[i]` = index in the input list of the dataset sample i came from. */
  readonly domains: Int32Array;
}

/**
 * Concatenate datasets that share a sample shape and a number of classes (labels keep their
 * integer values; class names are taken from the first dataset). Resize images first if needed.
 */
export function concatDatasets(datasets: readonly Dataset[], name?: string): ConcatenatedDataset {
  if (datasets.length === 0) throw new Error("concatDatasets: datasets must not be empty");
  const first = datasets[0];
  for (const ds of datasets) {
    if (ds.sampleShape.join("x") !== first.sampleShape.join("x")) {
      throw new Error(
        `concatDatasets: ${ds.name} has sample shape [${ds.sampleShape.join(", ")}] but ${first.name} has [${first.sampleShape.join(", ")}]; ` +
          "load them with the same resizeTo",
      );
    }
    if (ds.numClasses !== first.numClasses) {
      throw new Error(`concatDatasets: ${ds.name} has ${ds.numClasses} classes but ${first.name} has ${first.numClasses}`);
    }
  }
  const len = sampleLength(first);
  const total = datasets.reduce((a, d) => a + d.y.length, 0);
  const x = new Float32Array(total * len);
  const y = new Int32Array(total);
  const domains = new Int32Array(total);
  let at = 0;
  datasets.forEach((ds, d) => {
    x.set(ds.x, at * len);
    y.set(ds.y, at);
    domains.fill(d, at, at + ds.y.length);
    at += ds.y.length;
  });
  return {
    dataset: { name: name ?? datasets.map((d) => d.name).join("+"), x, y, sampleShape: first.sampleShape, numClasses: first.numClasses, classNames: first.classNames },
    domains,
  };
}
