/**
 * `data/manifest.json`: the size and SHA-256 of every committed dataset file. The loader refuses a
 * file whose bytes differ from the manifest, so a truncated or damaged checkout fails loudly.
 */
import * as fs from "fs";
import * as path from "path";

/** What the manifest records about one file. */
export interface ManifestFileEntry {
  /** Size of the compressed file in bytes. */
  readonly bytes: number;
  /** SHA-256 of the compressed file. */
  readonly sha256: string;
  /** SHA-256 of the uncompressed payload (stable even if another zlib compresses differently). */
  readonly payloadSha256: string;
  /** Number of samples. */
  readonly count: number;
}

/** The whole manifest: file path (relative to the data directory, "/"-separated) → entry. */
export interface DataManifest {
  readonly format: "fedtune-data-manifest";
  readonly version: 1;
  readonly files: Readonly<Record<string, ManifestFileEntry>>;
}

/** File name of the manifest inside the data directory. */
export const MANIFEST_FILE = "manifest.json";

/** The data directory: `FEDTUNE_DATA_DIR` if set, else the repository's `data/`. */
export function defaultDataDir(): string {
  const fromEnv = process.env.FEDTUNE_DATA_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  const besideLib = path.resolve(__dirname, "..", "..", "data");
  if (fs.existsSync(path.join(besideLib, MANIFEST_FILE))) return besideLib;
  // Notebook kernels may run compiled copies of lib/ from elsewhere: look upwards from the working directory.
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "data", MANIFEST_FILE))) return path.join(dir, "data");
    if (path.dirname(dir) === dir) return besideLib;
  }
}

/** Read and check `manifest.json` in `dataDir`; errors name the manifest file. */
export function readManifest(dataDir: string): DataManifest {
  const file = path.join(dataDir, MANIFEST_FILE);
  if (!fs.existsSync(file)) throw new Error(`${file}: data manifest not found (regenerate the data with \`npm run data\`)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: manifest is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const m = raw as Partial<DataManifest> | null;
  if (!m || m.format !== "fedtune-data-manifest" || m.version !== 1 || typeof m.files !== "object" || m.files === null) {
    throw new Error(`${file}: not a fedtune data manifest (expected format "fedtune-data-manifest", version 1)`);
  }
  for (const [name, e] of Object.entries(m.files)) {
    const ok =
      e && Number.isInteger(e.bytes) && Number.isInteger(e.count) && /^[0-9a-f]{64}$/.test(e.sha256) && /^[0-9a-f]{64}$/.test(e.payloadSha256);
    if (!ok) throw new Error(`${file}: entry "${name}" needs integer bytes and count and hex sha256 and payloadSha256`);
  }
  return m as DataManifest;
}

/** Write the manifest with sorted keys and a trailing newline, so regenerating gives a clean diff. */
export function writeManifest(dataDir: string, files: Record<string, ManifestFileEntry>): void {
  const sorted: Record<string, ManifestFileEntry> = {};
  for (const k of Object.keys(files).sort()) sorted[k] = files[k];
  const manifest: DataManifest = { format: "fedtune-data-manifest", version: 1, files: sorted };
  fs.writeFileSync(path.join(dataDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * How many training samples `dataset` ships (its `<dataset>/train.bin.gz` manifest entry), or
 * undefined when the manifest or the entry is missing (loading reports that later, with the file).
 */
export function trainingSampleCount(dataset: string, dataDir: string = defaultDataDir()): number | undefined {
  try {
    return readManifest(dataDir).files[`${dataset}/train.bin.gz`]?.count;
  } catch {
    return undefined;
  }
}
