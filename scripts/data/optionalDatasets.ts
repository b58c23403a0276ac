/**
 * Optional datasets: too large to commit, built by `npm run data` from a Debian package when it is
 * installed, into the gitignored data/optional/ (its own manifest.json, checked by the loader like
 * the committed one, and a provenance.json). Today one: `fashion-mnist-full`, all 60,000 training
 * and 10,000 test images of Debian's dataset-fashion-mnist, in the original files' order, for
 * PFLlib's 70,000-image benchmark setting (notebook 08, `npm run reproduce -- pfllib`).
 */
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { gunzipSync } from "zlib";
import { encodeDatasetFile, sha256Hex, DATASET_FILE_VERSION } from "../../lib/data/datasetFile";
import { datasetInfo, OPTIONAL_DATA_SUBDIR } from "../../lib/data/catalog";
import { datasetFilePath } from "../../lib/data/loadDataset";
import { ManifestFileEntry, MANIFEST_FILE, readManifest, writeManifest } from "../../lib/data/manifest";
import { readIdxPair } from "./sources";

/** SHA-256 of the four source files that data/README.md's builds were made from (dataset-fashion-mnist 0.0~git20200523.55506a9-1). */
export const FASHION_MNIST_SOURCE_SHA256: Readonly<Record<string, string>> = {
  "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
  "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
  "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
  "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
};

/** The installed version of a Debian package, or undefined when it is not installed. */
function debianVersion(pkg: string): string | undefined {
  try {
    const v = execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return v.length > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Build (or with `check`, rebuild in memory and compare with data/optional/manifest.json) every
 * optional dataset whose source is installed; prints what it skipped and why. Returns the number of
 * mismatches found by `check`.
 */
export function buildOptionalDatasets(dataDir: string, options: { readonly check?: boolean } = {}): number {
  const name = "fashion-mnist-full";
  const info = datasetInfo(name);
  const src = info.optional!;
  const files = Object.keys(FASHION_MNIST_SOURCE_SHA256).map((f) => path.join(src.sourceDir, f));
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length > 0) {
    console.log(`${name}: skipped (optional): ${missing.join(", ")} not found; \`apt-get install ${src.debianPackage}\` then \`npm run data -- --optional\``);
    return 0;
  }
  const sources: Record<string, string> = {};
  for (const f of files) {
    sources[f] = sha256Hex(fs.readFileSync(f));
    const pinned = FASHION_MNIST_SOURCE_SHA256[path.basename(f)];
    if (sources[f] !== pinned) console.warn(`${name}: warning: ${f} has SHA-256 ${sources[f]}, data/README.md lists ${pinned}; the build will differ`);
  }
  const outDir = path.join(dataDir, OPTIONAL_DATA_SUBDIR);
  const previous = fs.existsSync(path.join(outDir, MANIFEST_FILE)) ? readManifest(outDir).files : {};
  const entries: Record<string, ManifestFileEntry> = {};
  let mismatches = 0;
  for (const [split, prefix] of [["train", "train"], ["test", "t10k"]] as const) {
    const raw = readIdxPair(path.join(src.sourceDir, `${prefix}-images-idx3-ubyte.gz`), path.join(src.sourceDir, `${prefix}-labels-idx1-ubyte.gz`), Infinity);
    const bytes = encodeDatasetFile({
      header: {
        format: "fedtune-dataset", version: DATASET_FILE_VERSION, name, split, sampleShape: info.sampleShape, numClasses: info.numClasses,
        classNames: info.classNames, count: raw.count, dtype: "uint8", maxValue: 255,
      },
      features: raw.features,
      labels: raw.labels,
    });
    const rel = datasetFilePath(name, split);
    const entry: ManifestFileEntry = { bytes: bytes.length, sha256: sha256Hex(bytes), payloadSha256: sha256Hex(gunzipSync(bytes)), count: raw.count };
    entries[rel] = entry;
    const same = previous[rel]?.payloadSha256 === entry.payloadSha256;
    if (!same) mismatches++;
    console.log(`optional/${rel.padEnd(28)} ${String(raw.count).padStart(6)} samples ${(entry.bytes / 1024).toFixed(0).padStart(6)} KiB  ${same ? "unchanged" : "CHANGED  "}`);
    if (!options.check) {
      fs.mkdirSync(path.join(outDir, name), { recursive: true });
      fs.writeFileSync(path.join(outDir, rel), bytes);
    }
  }
  if (options.check) return mismatches;
  writeManifest(outDir, entries);
  const provenance = { dataset: name, debianPackage: src.debianPackage, version: debianVersion(src.debianPackage) ?? "unknown (dpkg-query failed)", sourceSha256: sources };
  fs.writeFileSync(path.join(outDir, "provenance.json"), JSON.stringify(provenance, null, 2) + "\n");
  console.log(`wrote data/${OPTIONAL_DATA_SUBDIR}/ (${name}, ${MANIFEST_FILE}, provenance.json; gitignored)`);
  return 0;
}
