/**
 * The on-disk format of one dataset split (`data/<name>/<split>.bin.gz`), gzip-compressed:
 *
 *   bytes 0..3   ASCII magic "FTDS"
 *   bytes 4..7   header length H (uint32, little-endian)
 *   bytes 8..    H bytes of UTF-8 JSON header (DatasetFileHeader)
 *   then         features: count × product(sampleShape) values of `dtype` (little-endian)
 *   then         labels: count × uint8
 *
 * Why a home-made format: it is a few lines to write and read without dependencies, the JSON
 * header makes every file self-describing (shape, classes, value range), and every field can be
 * checked so that a bad file fails loudly instead of training on garbage.
 */
import { createHash } from "crypto";
import { gunzipSync, gzipSync } from "zlib";

/** Magic bytes at the start of every (uncompressed) dataset file. */
export const DATASET_FILE_MAGIC = "FTDS";
/** Format version this code reads and writes. */
export const DATASET_FILE_VERSION = 1;

/** Element type of the stored features. */
export type FeatureDtype = "uint8" | "float32";

/** The JSON header of a dataset file. */
export interface DatasetFileHeader {
  readonly format: "fedtune-dataset";
  readonly version: number;
  /** Dataset name, e.g. "mnist". */
  readonly name: string;
  /** "train" or "test". */
  readonly split: string;
  /** Shape of one sample, e.g. [28, 28, 1]. */
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Number of samples. */
  readonly count: number;
  readonly dtype: FeatureDtype;
  /** Largest allowed stored value for uint8 images; the loader divides by it to normalise to [0, 1]. */
  readonly maxValue?: number;
  /** Column names of a table (length = sampleShape[0]). */
  readonly featureNames?: readonly string[];
  /** Per-feature mean and standard deviation of the *train* split, for z-scoring tables. */
  readonly standardization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

/** A decoded dataset file: header, raw features and labels, exactly as stored. */
export interface DatasetFileContents {
  readonly header: DatasetFileHeader;
  readonly features: Uint8Array | Float32Array;
  readonly labels: Uint8Array;
}

/** Error raised for any invalid dataset file; the message always names the file. */
export class DatasetFileError extends Error {
  /** What kind of problem, so tests and callers can tell the cases apart. */
  readonly kind: DatasetFileErrorKind;
  /** The file concerned. */
  readonly file: string;

  /** Build an error for `file` of the given kind. */
  constructor(file: string, kind: DatasetFileErrorKind, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "DatasetFileError";
    this.kind = kind;
    this.file = file;
  }
}

/** The distinct ways a dataset file can be wrong. */
export type DatasetFileErrorKind =
  | "missing"
  | "not-in-manifest"
  | "truncated"
  | "checksum"
  | "corrupt"
  | "bad-header"
  | "wrong-shape"
  | "label-out-of-range"
  | "value-out-of-range";

/** Product of the entries of a shape. */
function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Encode header + features + labels into the gzip-compressed file bytes. */
export function encodeDatasetFile(contents: DatasetFileContents): Buffer {
  const { header, features, labels } = contents;
  const perSample = shapeSize(header.sampleShape);
  if (labels.length !== header.count) {
    throw new Error(`encodeDatasetFile(${header.name}/${header.split}): ${labels.length} labels for count ${header.count}`);
  }
  if (features.length !== header.count * perSample) {
    throw new Error(
      `encodeDatasetFile(${header.name}/${header.split}): ${features.length} feature values, expected ${header.count} × ${perSample}`,
    );
  }
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const prefix = Buffer.alloc(8);
  prefix.write(DATASET_FILE_MAGIC, 0, "ascii");
  prefix.writeUInt32LE(headerBytes.length, 4);
  let featureBytes: Buffer;
  if (header.dtype === "uint8") {
    featureBytes = Buffer.from(features.buffer, features.byteOffset, features.byteLength);
  } else {
    featureBytes = Buffer.alloc(features.length * 4);
    for (let i = 0; i < features.length; i++) featureBytes.writeFloatLE(features[i], i * 4);
  }
  const payload = Buffer.concat([prefix, headerBytes, featureBytes, Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength)]);
  // Level 9 and no file name/mtime in the gzip header: the same data always gives the same bytes.
  return gzipSync(payload, { level: 9 });
}

/** SHA-256 of bytes, as lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Gunzip the file bytes; a cut-off or damaged stream becomes a DatasetFileError naming `file`. */
export function gunzipDatasetFile(file: string, bytes: Uint8Array): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/unexpected end/i.test(msg)) throw new DatasetFileError(file, "truncated", `gzip stream is truncated (${msg})`);
    throw new DatasetFileError(file, "corrupt", `gzip stream is corrupt (${msg})`);
  }
}

/**
 * Parse and validate an uncompressed payload against what the caller expects of it.
 * Checks in order: magic, header JSON and every header field, payload length, label range, value range.
 */
export function decodeDatasetPayload(
  file: string,
  payload: Uint8Array,
  expected: { name: string; split: string; sampleShape: readonly number[]; numClasses: number },
): DatasetFileContents {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 8) throw new DatasetFileError(file, "truncated", `payload is ${buf.length} bytes, too short for the 8-byte prefix`);
  const magic = buf.toString("ascii", 0, 4);
  if (magic !== DATASET_FILE_MAGIC) {
    throw new DatasetFileError(file, "bad-header", `magic is ${JSON.stringify(magic)}, expected "${DATASET_FILE_MAGIC}"`);
  }
  const headerLength = buf.readUInt32LE(4);
  if (8 + headerLength > buf.length) {
    throw new DatasetFileError(file, "truncated", `header length ${headerLength} runs past the end of the ${buf.length}-byte payload`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString("utf8", 8, 8 + headerLength));
  } catch (e) {
    throw new DatasetFileError(file, "bad-header", `header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const header = checkHeader(file, raw, expected);
  const perSample = shapeSize(header.sampleShape);
  const bytesPerValue = header.dtype === "uint8" ? 1 : 4;
  const featureStart = 8 + headerLength;
  const featureBytes = header.count * perSample * bytesPerValue;
  const expectedLength = featureStart + featureBytes + header.count;
  if (buf.length !== expectedLength) {
    const kind = buf.length < expectedLength ? "truncated" : "wrong-shape";
    throw new DatasetFileError(
      file,
      kind,
      `payload is ${buf.length} bytes but the header declares ${header.count} samples of shape [${header.sampleShape.join(", ")}] ` +
        `(${header.dtype}), i.e. ${expectedLength} bytes`,
    );
  }
  let features: Uint8Array | Float32Array;
  if (header.dtype === "uint8") {
    features = new Uint8Array(buf.subarray(featureStart, featureStart + featureBytes));
  } else {
    const f = new Float32Array(header.count * perSample);
    for (let i = 0; i < f.length; i++) f[i] = buf.readFloatLE(featureStart + 4 * i);
    features = f;
  }
  const labels = new Uint8Array(buf.subarray(featureStart + featureBytes, expectedLength));
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= header.numClasses) {
      throw new DatasetFileError(file, "label-out-of-range", `label ${labels[i]} at sample ${i} is outside [0, ${header.numClasses})`);
    }
  }
  if (header.dtype === "uint8" && header.maxValue !== undefined) {
    for (let i = 0; i < features.length; i++) {
      if (features[i] > header.maxValue) {
        throw new DatasetFileError(
          file,
          "value-out-of-range",
          `value ${features[i]} at sample ${Math.floor(i / perSample)} exceeds maxValue ${header.maxValue}`,
        );
      }
    }
  } else {
    for (let i = 0; i < features.length; i++) {
      if (!Number.isFinite(features[i])) {
        throw new DatasetFileError(file, "value-out-of-range", `non-finite value ${features[i]} at sample ${Math.floor(i / perSample)}`);
      }
    }
  }
  return { header, features, labels };
}

/** Check every header field; each failure is one sentence naming the field and the value. */
function checkHeader(
  file: string,
  raw: unknown,
  expected: { name: string; split: string; sampleShape: readonly number[]; numClasses: number },
): DatasetFileHeader {
  const bad = (detail: string): never => {
    throw new DatasetFileError(file, "bad-header", detail);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad("header is not a JSON object");
  const h = raw as Record<string, unknown>;
  if (h.format !== "fedtune-dataset") bad(`header.format is ${JSON.stringify(h.format)}, expected "fedtune-dataset"`);
  if (h.version !== DATASET_FILE_VERSION) bad(`header.version is ${JSON.stringify(h.version)}, this code reads version ${DATASET_FILE_VERSION}`);
  if (h.name !== expected.name) bad(`header.name is ${JSON.stringify(h.name)}, expected "${expected.name}"`);
  if (h.split !== expected.split) bad(`header.split is ${JSON.stringify(h.split)}, expected "${expected.split}"`);
  if (h.dtype !== "uint8" && h.dtype !== "float32") bad(`header.dtype is ${JSON.stringify(h.dtype)}, expected "uint8" or "float32"`);
  if (!Number.isInteger(h.count) || (h.count as number) < 0) bad(`header.count is ${JSON.stringify(h.count)}, expected an integer >= 0`);
  if (!Number.isInteger(h.numClasses) || (h.numClasses as number) < 1 || (h.numClasses as number) > 256) {
    bad(`header.numClasses is ${JSON.stringify(h.numClasses)}, expected an integer in [1, 256]`);
  }
  if (!Array.isArray(h.classNames) || h.classNames.length !== h.numClasses || !h.classNames.every((c) => typeof c === "string")) {
    bad(`header.classNames must be ${String(h.numClasses)} strings, got ${JSON.stringify(h.classNames)}`);
  }
  const shape = h.sampleShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    return bad(`header.sampleShape is ${JSON.stringify(shape)}, expected a non-empty list of positive integers`);
  }
  if (h.maxValue !== undefined && !(typeof h.maxValue === "number" && h.maxValue > 0 && h.maxValue <= 255)) {
    bad(`header.maxValue is ${JSON.stringify(h.maxValue)}, expected a number in (0, 255]`);
  }
  if (h.numClasses !== expected.numClasses) {
    throw new DatasetFileError(file, "wrong-shape", `header.numClasses is ${String(h.numClasses)}, dataset "${expected.name}" has ${expected.numClasses} classes`);
  }
  const sameShape = shape.length === expected.sampleShape.length && shape.every((d, i) => d === expected.sampleShape[i]);
  if (!sameShape) {
    throw new DatasetFileError(
      file,
      "wrong-shape",
      `sample shape is [${shape.join(", ")}], dataset "${expected.name}" has shape [${expected.sampleShape.join(", ")}]`,
    );
  }
  return h as unknown as DatasetFileHeader;
}
