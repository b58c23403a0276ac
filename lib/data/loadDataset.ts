/**
 * Load a shipped dataset split from `data/` into a `Dataset`, validating everything on the way:
 * manifest entry, size, SHA-256, gzip stream, header, shape, label range, value range.
 * Any problem raises a DatasetFileError naming the file; a load either fully succeeds or throws.
 */
import * as fs from "fs";
import * as path from "path";
import { Dataset } from "./dataset";
import { DatasetInfo, DATASET_CATALOG, datasetInfo, OPTIONAL_DATA_SUBDIR } from "./catalog";
import { DatasetFileContents, DatasetFileError, decodeDatasetPayload, gunzipDatasetFile, sha256Hex } from "./datasetFile";
import { defaultDataDir, MANIFEST_FILE, readManifest } from "./manifest";
import { resizeImages } from "./resizeImages";

/** Which committed split to load. */
export type DatasetSplit = "train" | "test";

/** Options of `loadDataset`. */
export interface LoadDatasetOptions {
  /** "train" (default) or "test". */
  readonly split?: DatasetSplit;
  /** Keep only the first `limit` samples (files are stored in shuffled order, so this is a fair sample). */
  readonly limit?: number;
  /** Resize images to [height, width] (bilinear when enlarging, area when shrinking). Images only. */
  readonly resizeTo?: readonly [number, number];
  /** Tables only: z-score features with the train split's mean and std (default true). */
  readonly standardize?: boolean;
  /** Directory holding manifest.json and the dataset folders (default: the repository's data/). */
  readonly dataDir?: string;
}

/** A catalog entry plus the sample counts of the committed splits. */
export interface ShippedDatasetInfo extends DatasetInfo {
  readonly trainCount: number;
  readonly testCount: number;
}

/** Path of a split's file relative to the data directory. */
export function datasetFilePath(name: string, split: DatasetSplit): string {
  return `${name}/${split}.bin.gz`;
}

/**
 * The shipped datasets with their split sizes, read from the manifest; with `includeOptional`, also
 * the optional datasets that `npm run data` has built on this machine.
 */
export function listDatasets(options: { dataDir?: string; includeOptional?: boolean } = {}): ShippedDatasetInfo[] {
  const dataDir = options.dataDir ?? defaultDataDir();
  const shipped = Object.values(DATASET_CATALOG).filter((info) => !info.optional);
  const built = (options.includeOptional ? Object.values(DATASET_CATALOG).filter((info) => info.optional) : []).filter((info) =>
    fs.existsSync(path.join(dataDir, OPTIONAL_DATA_SUBDIR, datasetFilePath(info.name, "train"))),
  );
  return [...listIn(dataDir, shipped), ...listIn(path.join(dataDir, OPTIONAL_DATA_SUBDIR), built)];
}

/** Catalog entries with the split sizes of the manifest in `dir`. */
function listIn(dir: string, infos: readonly DatasetInfo[]): ShippedDatasetInfo[] {
  if (infos.length === 0) return [];
  const manifest = readManifest(dir);
  return infos.map((info) => {
    const count = (split: DatasetSplit): number => manifest.files[datasetFilePath(info.name, split)]?.count ?? 0;
    return { ...info, trainCount: count("train"), testCount: count("test") };
  });
}

/**
 * The folder holding `name`'s files and manifest: `dataDir`, or for an optional dataset
 * `dataDir/optional`, which must have been built (else an error naming the Debian package and the command).
 */
export function datasetDir(name: string, dataDir: string = defaultDataDir()): string {
  const info = datasetInfo(name);
  if (!info.optional) return dataDir;
  const dir = path.join(dataDir, OPTIONAL_DATA_SUBDIR);
  const manifest = path.join(dir, MANIFEST_FILE);
  const built = fs.existsSync(manifest) && readManifest(dir).files[datasetFilePath(name, "train")] !== undefined;
  if (!built) {
    throw new DatasetFileError(
      path.join(dir, datasetFilePath(name, "train")),
      "missing",
      `the optional dataset "${name}" has not been built on this machine; install the Debian package ` +
        `${info.optional.debianPackage} (\`apt-get install ${info.optional.debianPackage}\`, files in ${info.optional.sourceDir}) ` +
        "and run `npm run data`",
    );
  }
  return dir;
}

/** Read, verify and decode one split's file, without normalising. */
export function readDatasetFile(name: string, split: DatasetSplit, dataDir: string = defaultDataDir()): DatasetFileContents {
  datasetInfo(name);
  return readFileIn(name, split, datasetDir(name, dataDir));
}

/** `readDatasetFile` once the folder is known. */
function readFileIn(name: string, split: DatasetSplit, dataDir: string): DatasetFileContents {
  const info = datasetInfo(name);
  if (split !== "train" && split !== "test") throw new Error(`loadDataset(${name}): split must be "train" or "test", got ${JSON.stringify(split)}`);
  const rel = datasetFilePath(name, split);
  const file = path.join(dataDir, rel);
  const entry = readManifest(dataDir).files[rel];
  if (!entry) throw new DatasetFileError(file, "not-in-manifest", `no entry "${rel}" in ${path.join(dataDir, "manifest.json")}`);
  if (!fs.existsSync(file)) throw new DatasetFileError(file, "missing", "file not found (regenerate the data with `npm run data`)");
  const bytes = fs.readFileSync(file);
  if (bytes.length < entry.bytes) {
    throw new DatasetFileError(file, "truncated", `file is truncated: ${bytes.length} bytes, the manifest says ${entry.bytes}`);
  }
  if (bytes.length > entry.bytes) {
    throw new DatasetFileError(file, "checksum", `file has ${bytes.length} bytes, the manifest says ${entry.bytes}`);
  }
  const sha = sha256Hex(bytes);
  if (sha !== entry.sha256) {
    throw new DatasetFileError(file, "checksum", `checksum mismatch: SHA-256 is ${sha}, the manifest says ${entry.sha256}`);
  }
  const payload = gunzipDatasetFile(file, bytes);
  const payloadSha = sha256Hex(payload);
  if (payloadSha !== entry.payloadSha256) {
    throw new DatasetFileError(file, "checksum", `payload checksum mismatch: SHA-256 is ${payloadSha}, the manifest says ${entry.payloadSha256}`);
  }
  const contents = decodeDatasetPayload(file, payload, { name, split, sampleShape: info.sampleShape, numClasses: info.numClasses });
  if (contents.header.count !== entry.count) {
    throw new DatasetFileError(file, "bad-header", `header.count is ${contents.header.count}, the manifest says ${entry.count}`);
  }
  return contents;
}

/** Load a shipped dataset split as a normalised `Dataset` (see LoadDatasetOptions). */
export function loadDataset(name: string, options: LoadDatasetOptions = {}): Dataset {
  const split = options.split ?? "train";
  const info = datasetInfo(name);
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new Error(`loadDataset(${name}): limit must be a positive integer, got ${options.limit}`);
  }
  if (options.resizeTo !== undefined && info.kind !== "image") {
    throw new Error(`loadDataset(${name}): resizeTo applies to images only, "${name}" is a ${info.kind}`);
  }
  const dataDir = datasetDir(name, options.dataDir ?? defaultDataDir());
  const { header, features, labels } = readFileIn(name, split, dataDir);
  const count = Math.min(header.count, options.limit ?? header.count);
  const perSample = header.sampleShape.reduce((a, b) => a * b, 1);
  let x: Float32Array = new Float32Array(count * perSample);
  if (header.dtype === "uint8") {
    // Images: stored 0..maxValue (255 for MNIST-like, 16 for UCI digits), normalised to [0, 1].
    const scale = 1 / (header.maxValue ?? 255);
    for (let i = 0; i < x.length; i++) x[i] = features[i] * scale;
  } else {
    x.set(features.subarray(0, x.length));
    if (options.standardize ?? true) {
      const st = header.standardization;
      if (!st || st.mean.length !== perSample || st.std.length !== perSample) {
        throw new DatasetFileError(path.join(dataDir, datasetFilePath(name, split)), "bad-header", `header.standardization is missing or not ${perSample} values long`);
      }
      for (let i = 0; i < x.length; i++) {
        const f = i % perSample;
        x[i] = (x[i] - st.mean[f]) / (st.std[f] > 0 ? st.std[f] : 1);
      }
    }
  }
  let sampleShape: readonly number[] = header.sampleShape;
  if (options.resizeTo) {
    const [h, w] = options.resizeTo;
    if (h !== sampleShape[0] || w !== sampleShape[1]) {
      x = resizeImages(x, count, sampleShape, options.resizeTo);
      sampleShape = [h, w, sampleShape[2]];
    }
  }
  return {
    name: `${name}/${split}`,
    x,
    y: Int32Array.from(labels.subarray(0, count)),
    sampleShape,
    numClasses: header.numClasses,
    classNames: header.classNames,
  };
}
