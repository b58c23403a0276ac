import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync, gzipSync } from "zlib";
import {
  DatasetFileContents,
  DatasetFileError,
  DatasetFileErrorKind,
  encodeDatasetFile,
  loadDataset,
  readDatasetFile,
  readManifest,
  sha256Hex,
  writeManifest,
} from "../../lib/data/index";

const REAL_DIR = path.resolve(__dirname, "..", "..", "data");
const REL = "digits/train.bin.gz";

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A temp data directory holding a copy of the manifest and the digits files. */
function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-data-"));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, "digits"));
  for (const f of ["digits/train.bin.gz", "digits/test.bin.gz", "manifest.json"]) fs.copyFileSync(path.join(REAL_DIR, f), path.join(dir, f));
  return dir;
}

/** Replace digits/train with `bytes` and record them in the manifest (a consistent but bad build). */
function writeWithManifest(dir: string, bytes: Buffer, count: number): void {
  fs.writeFileSync(path.join(dir, REL), bytes);
  const files = { ...readManifest(dir).files };
  files[REL] = { bytes: bytes.length, sha256: sha256Hex(bytes), payloadSha256: sha256Hex(gunzipSync(bytes)), count };
  writeManifest(dir, files);
}

/** Assert that loading digits/train from `dir` fails with `kind` and a message naming the file and matching `pattern`. */
function assertFails(dir: string, kind: DatasetFileErrorKind, pattern: RegExp): void {
  assert.throws(
    () => loadDataset("digits", { dataDir: dir }),
    (e: unknown) => {
      assert.ok(e instanceof DatasetFileError, `expected a DatasetFileError, got ${String(e)}`);
      assert.equal(e.kind, kind, e.message);
      assert.ok(e.message.includes(path.join(dir, "digits", "train.bin.gz")), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const original: DatasetFileContents = readDatasetFile("digits", "train", REAL_DIR);

test("the untouched copy loads", () => {
  const dir = tempDataDir();
  assert.equal(loadDataset("digits", { dataDir: dir }).y.length, 1437);
});

test("truncated file: smaller than the manifest says", () => {
  const dir = tempDataDir();
  const bytes = fs.readFileSync(path.join(dir, REL));
  fs.writeFileSync(path.join(dir, REL), bytes.subarray(0, bytes.length >> 1));
  assertFails(dir, "truncated", /file is truncated: \d+ bytes, the manifest says \d+/);
});

test("truncated gzip stream even with a matching manifest", () => {
  const dir = tempDataDir();
  const bytes = fs.readFileSync(path.join(dir, REL)).subarray(0, 5000);
  fs.writeFileSync(path.join(dir, REL), bytes);
  const files = { ...readManifest(dir).files };
  files[REL] = { ...files[REL], bytes: bytes.length, sha256: sha256Hex(bytes) };
  writeManifest(dir, files);
  assertFails(dir, "truncated", /gzip stream is truncated/);
});

test("payload shorter than the header declares", () => {
  const dir = tempDataDir();
  const payload = gunzipSync(fs.readFileSync(path.join(dir, REL)));
  writeWithManifest(dir, gzipSync(payload.subarray(0, payload.length - 100)), 1437);
  assertFails(dir, "truncated", /payload is \d+ bytes but the header declares 1437 samples of shape \[8, 8, 1\]/);
});

test("bad checksum: same size, one byte changed", () => {
  const dir = tempDataDir();
  const bytes = Buffer.from(fs.readFileSync(path.join(dir, REL)));
  bytes[bytes.length >> 1] ^= 0xff;
  fs.writeFileSync(path.join(dir, REL), bytes);
  assertFails(dir, "checksum", /checksum mismatch: SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
});

test("label out of range", () => {
  const dir = tempDataDir();
  const labels = new Uint8Array(original.labels);
  labels[17] = 10;
  writeWithManifest(dir, encodeDatasetFile({ ...original, labels }), 1437);
  assertFails(dir, "label-out-of-range", /label 10 at sample 17 is outside \[0, 10\)/);
});

test("pixel value out of range", () => {
  const dir = tempDataDir();
  const features = new Uint8Array(original.features as Uint8Array);
  features[64 * 3 + 5] = 17;
  writeWithManifest(dir, encodeDatasetFile({ ...original, features }), 1437);
  assertFails(dir, "value-out-of-range", /value 17 at sample 3 exceeds maxValue 16/);
});

test("wrong shape: header declares a shape the dataset does not have", () => {
  const dir = tempDataDir();
  writeWithManifest(dir, encodeDatasetFile({ ...original, header: { ...original.header, sampleShape: [4, 16, 1] } }), 1437);
  assertFails(dir, "wrong-shape", /sample shape is \[4, 16, 1\], dataset "digits" has shape \[8, 8, 1\]/);
});

test("wrong shape: more payload than the header declares", () => {
  const dir = tempDataDir();
  const payload = gunzipSync(fs.readFileSync(path.join(dir, REL)));
  writeWithManifest(dir, gzipSync(Buffer.concat([payload, Buffer.alloc(64)])), 1437);
  assertFails(dir, "wrong-shape", /payload is \d+ bytes but the header declares 1437 samples/);
});

test("bad header: wrong magic, broken JSON, missing field, wrong dataset", () => {
  const dir = tempDataDir();
  const payload = gunzipSync(fs.readFileSync(path.join(dir, REL)));
  const badMagic = Buffer.from(payload);
  badMagic.write("XXXX", 0, "ascii");
  writeWithManifest(dir, gzipSync(badMagic), 1437);
  assertFails(dir, "bad-header", /magic is "XXXX", expected "FTDS"/);

  const badJson = Buffer.from(payload);
  badJson[8] = "]".charCodeAt(0);
  writeWithManifest(dir, gzipSync(badJson), 1437);
  assertFails(dir, "bad-header", /header is not valid JSON/);

  const noDtype = { ...original.header } as Record<string, unknown>;
  delete noDtype.dtype;
  writeWithManifest(dir, encodeDatasetFile({ ...original, header: noDtype as unknown as typeof original.header }), 1437);
  assertFails(dir, "bad-header", /header.dtype is undefined, expected "uint8" or "float32"/);

  writeWithManifest(dir, encodeDatasetFile({ ...original, header: { ...original.header, name: "mnist" } }), 1437);
  assertFails(dir, "bad-header", /header.name is "mnist", expected "digits"/);
});

test("missing file and missing manifest entry", () => {
  const dir = tempDataDir();
  fs.unlinkSync(path.join(dir, REL));
  assertFails(dir, "missing", /file not found/);
  const files = { ...readManifest(dir).files };
  delete files[REL];
  writeManifest(dir, files);
  assertFails(dir, "not-in-manifest", /no entry "digits\/train.bin.gz"/);
});
