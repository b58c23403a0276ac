/**
 * Checkpoints of a federation on disk: a directory with one JSON metadata file
 * (`checkpoint.json`) and one binary file holding every weight set as little-endian float32
 * (`weights-<sha256 prefix>.bin`). The metadata names the weights file and its SHA-256, and is
 * written last, so a checkpoint is either complete or still the previous one:
 *
 *   1. write the weights to a temp file, fsync, rename to its content-addressed name;
 *   2. write the metadata to a temp file, fsync, rename over `checkpoint.json`, fsync the directory;
 *   3. delete weights files the metadata no longer references.
 *
 * A process killed at any point leaves a loadable checkpoint (the old or the new one). Loading
 * checks everything (JSON, format, version, weights size and checksum, every shape) and fails with
 * a `CheckpointError` naming the file; with `expect` it also refuses a checkpoint of a different
 * model architecture, naming the first mismatching variable.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { ModelWeights, WeightTensor } from "../model/weights";
import type { FitFailure, StrategyState } from "./types";
import type { HistoryRow, HistoryScope } from "./history";
import type { PersonalState } from "./personalisation/personalisation";
import {
  architectureOf,
  assertSameArchitecture,
  FederationFingerprint,
  FederationSnapshot,
  ParticipantSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  VariableSignature,
} from "./snapshot";

/** The metadata file of a checkpoint directory. */
export const CHECKPOINT_FILE = "checkpoint.json";
/** Format tag of the metadata file. */
export const CHECKPOINT_FORMAT = "fedtune-checkpoint";
/** Metadata version this code writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** The ways a checkpoint can be unusable. */
export type CheckpointErrorKind = "missing" | "corrupt" | "truncated" | "checksum" | "version" | "architecture";

/** Error for an unusable checkpoint; the message names the file. */
export class CheckpointError extends Error {
  /** What is wrong. */
  readonly kind: CheckpointErrorKind;
  /** The file concerned. */
  readonly file: string;

  /** Build an error about `file`. */
  constructor(file: string, kind: CheckpointErrorKind, detail: string) {
    super(`${file}: ${detail}`);
    this.name = "CheckpointError";
    this.kind = kind;
    this.file = file;
  }
}

/** Float32Array bytes can be copied as they are (the file is little-endian). */
const LITTLE_ENDIAN = os.endianness() === "LE";

/** Where a tensor's values are in the weights file (in float32 elements). */
interface TensorRef {
  readonly name: string;
  readonly shape: number[];
  readonly offset: number;
}

/** The metadata file's content. */
interface CheckpointMeta {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly weightsFile: string;
  readonly weightsBytes: number;
  readonly weightsSha256: string;
  /** Distinct weight sets; the snapshot refers to them by index. */
  readonly weightSets: TensorRef[][];
  /** The snapshot with every ModelWeights replaced by `{ "$weights": index }`. */
  readonly snapshot: unknown;
}

// ---------------------------------------------------------------------------------------------
// Saving
// ---------------------------------------------------------------------------------------------

/** Write `snapshot` into `dir` (created if needed) atomically; returns the two file paths. */
export function saveCheckpoint(dir: string, snapshot: FederationSnapshot): { metaPath: string; weightsPath: string } {
  if (typeof dir !== "string" || dir.length === 0) throw new Error(`saveCheckpoint: dir must be a non-empty path, got ${JSON.stringify(dir)}`);
  fs.mkdirSync(dir, { recursive: true });
  // Distinct weight sets by identity: global, best and personal weights are often the same object.
  const sets: ModelWeights[] = [];
  const index = new Map<ModelWeights, number>();
  const ref = (w: ModelWeights): { $weights: number } => {
    let i = index.get(w);
    if (i === undefined) {
      i = sets.length;
      sets.push(w);
      index.set(w, i);
    }
    return { $weights: i };
  };
  const encoded = {
    ...snapshot,
    globalWeights: ref(snapshot.globalWeights),
    best: { ...snapshot.best, weights: ref(snapshot.best.weights) },
    participants: snapshot.participants.map((p) => {
      const extra = Object.keys(p.state).filter((k) => k !== "weights");
      if (extra.length > 0) throw new Error(`saveCheckpoint: personal state of participant "${p.id}" has keys [${extra.join(", ")}] that cannot be stored (only "weights")`);
      return {
        id: p.id,
        state: p.state.weights === undefined ? {} : { weights: ref(p.state.weights) },
        ...(p.personalWeights === undefined ? {} : { personalWeights: ref(p.personalWeights) }),
      };
    }),
  };
  const total = sets.reduce((s, w) => s + w.reduce((a, t) => a + t.values.length, 0), 0);
  const bytes = Buffer.alloc(total * 4);
  const weightSets: TensorRef[][] = [];
  let offset = 0;
  for (const w of sets) {
    const refs: TensorRef[] = [];
    for (const t of w) {
      const n = shapeSize(t.shape);
      if (n !== t.values.length) throw new Error(`saveCheckpoint: weight "${t.name}" has shape [${t.shape.join(", ")}] but ${t.values.length} values`);
      if (LITTLE_ENDIAN) Buffer.from(t.values.buffer, t.values.byteOffset, 4 * n).copy(bytes, 4 * offset);
      else for (let k = 0; k < n; k++) bytes.writeFloatLE(t.values[k], 4 * (offset + k));
      refs.push({ name: t.name, shape: t.shape.slice(), offset });
      offset += n;
    }
    weightSets.push(refs);
  }
  const sha = createHash("sha256").update(bytes).digest("hex");
  const weightsFile = `weights-${sha.slice(0, 16)}.bin`;
  const weightsPath = path.join(dir, weightsFile);
  writeFileAtomic(weightsPath, bytes);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    weightsFile,
    weightsBytes: bytes.length,
    weightsSha256: sha,
    weightSets,
    snapshot: encoded,
  };
  const metaPath = path.join(dir, CHECKPOINT_FILE);
  writeFileAtomic(metaPath, Buffer.from(JSON.stringify(meta, exactNumbers), "utf8"));
  // Only now is the old weights file unreferenced.
  for (const f of fs.readdirSync(dir)) {
    if (f !== weightsFile && /^weights-[0-9a-f]{16}\.bin$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  return { metaPath, weightsPath };
}

let tempCounter = 0;

/** Write `data` to a temp file in the same directory, fsync it, rename it over `file`, fsync the directory. */
export function writeFileAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${++tempCounter}`;
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/** JSON replacer: NaN, ±Infinity and −0 become `{"$float": "..."}` so they survive the round trip. */
function exactNumbers(_key: string, v: unknown): unknown {
  if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0))) return { $float: Object.is(v, -0) ? "-0" : String(v) };
  return v;
}

/** JSON reviver undoing `exactNumbers`. */
function reviveNumbers(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$float" && typeof o.$float === "string" && ["NaN", "Infinity", "-Infinity", "-0"].includes(o.$float)) {
      return Number(o.$float);
    }
  }
  return v;
}

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Options for `loadCheckpoint`. */
export interface LoadCheckpointOptions {
  /** Refuse the checkpoint unless its model has these variables (names, shapes, order). */
  readonly expect?: ModelWeights | readonly VariableSignature[];
}

/** Read and fully validate the checkpoint in `dir`; throws a CheckpointError naming the file otherwise. */
export function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): FederationSnapshot {
  const metaPath = path.join(dir, CHECKPOINT_FILE);
  if (!fs.existsSync(metaPath)) {
    throw new CheckpointError(metaPath, "missing", `no checkpoint here (${CHECKPOINT_FILE} does not exist)`);
  }
  const text = fs.readFileSync(metaPath, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text, reviveNumbers);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const kind = /end of (json )?input|unterminated/i.test(msg) ? "truncated" : "corrupt";
    throw new CheckpointError(metaPath, kind, `not valid JSON (${msg}); the file is ${kind === "truncated" ? "truncated" : "corrupt"}`);
  }
  const bad = (detail: string): never => {
    throw new CheckpointError(metaPath, "corrupt", detail);
  };
  const meta = asObject(raw, "the metadata", bad);
  if (meta.format !== CHECKPOINT_FORMAT) bad(`format is ${JSON.stringify(meta.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (meta.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(metaPath, "version", `version is ${JSON.stringify(meta.version)}, this code reads version ${CHECKPOINT_VERSION}`);
  }
  const weightsFile = meta.weightsFile;
  if (typeof weightsFile !== "string" || !/^weights-[0-9a-f]{16}\.bin$/.test(weightsFile)) bad(`weightsFile is ${JSON.stringify(weightsFile)}, expected "weights-<16 hex>.bin"`);
  const weightsBytes = meta.weightsBytes;
  if (!(Number.isInteger(weightsBytes) && (weightsBytes as number) >= 0 && (weightsBytes as number) % 4 === 0)) {
    bad(`weightsBytes is ${JSON.stringify(weightsBytes)}, expected a non-negative multiple of 4`);
  }
  if (typeof meta.weightsSha256 !== "string" || !/^[0-9a-f]{64}$/.test(meta.weightsSha256)) bad(`weightsSha256 is ${JSON.stringify(meta.weightsSha256)}, expected 64 hex digits`);
  const weightsPath = path.join(dir, weightsFile as string);
  if (!fs.existsSync(weightsPath)) {
    throw new CheckpointError(weightsPath, "missing", `weights file referenced by ${CHECKPOINT_FILE} does not exist; the checkpoint is incomplete`);
  }
  const bytes = fs.readFileSync(weightsPath);
  if (bytes.length !== weightsBytes) {
    throw new CheckpointError(
      weightsPath,
      bytes.length < (weightsBytes as number) ? "truncated" : "corrupt",
      `is ${bytes.length} bytes, ${CHECKPOINT_FILE} says ${String(weightsBytes)}; the checkpoint is incomplete or corrupt`,
    );
  }
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== meta.weightsSha256) {
    throw new CheckpointError(weightsPath, "checksum", `SHA-256 is ${sha}, ${CHECKPOINT_FILE} expects ${String(meta.weightsSha256)}; the checkpoint is corrupt`);
  }
  const totalFloats = bytes.length / 4;
  if (!Array.isArray(meta.weightSets)) bad("weightSets must be an array");
  const sets: ModelWeights[] = (meta.weightSets as unknown[]).map((set, i) => {
    if (!Array.isArray(set)) return bad(`weightSets[${i}] must be an array`);
    return set.map((r, v): WeightTensor => {
      const where = `weightSets[${i}][${v}]`;
      const t = asObject(r, where, bad);
      if (typeof t.name !== "string") bad(`${where}.name must be a string, got ${JSON.stringify(t.name)}`);
      const shape = t.shape;
      if (!Array.isArray(shape) || shape.length > 16 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        return bad(`${where}.shape must be a list of non-negative integers, got ${short(shape)}`);
      }
      const n = shapeSize(shape as number[]);
      const off = t.offset;
      if (!(Number.isInteger(off) && (off as number) >= 0 && (off as number) + n <= totalFloats)) {
        return bad(`${where} ("${String(t.name)}") at offset ${short(off)} with ${n} values runs past the ${totalFloats} values of ${weightsFile}`);
      }
      const values = new Float32Array(n);
      const start = 4 * (off as number);
      if (LITTLE_ENDIAN) new Uint8Array(values.buffer).set(bytes.subarray(start, start + 4 * n));
      else for (let k = 0; k < n; k++) values[k] = bytes.readFloatLE(start + 4 * k);
      return { name: t.name as string, shape: (shape as number[]).slice(), values };
    });
  });
  const snapshot = decodeSnapshot(meta.snapshot, sets, bad);
  if (options.expect !== undefined) {
    const expected = options.expect.length > 0 && "values" in options.expect[0] ? architectureOf(options.expect as ModelWeights) : (options.expect as readonly VariableSignature[]);
    try {
      assertSameArchitecture(expected, snapshot.fingerprint.architecture, "checkpoint");
    } catch (e) {
      throw new CheckpointError(metaPath, "architecture", (e as Error).message);
    }
  }
  return snapshot;
}

type Bad = (detail: string) => never;

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function asObject(v: unknown, where: string, bad: Bad): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(`${where} must be a JSON object, got ${short(v)}`);
  return v as Record<string, unknown>;
}

function num(v: unknown, where: string, bad: Bad, integer = false): number {
  if (typeof v !== "number" || (integer && !Number.isInteger(v))) return bad(`${where} must be ${integer ? "an integer" : "a number"}, got ${short(v)}`);
  return v;
}

/** Check every field of the stored snapshot and put the weight sets back in place. */
function decodeSnapshot(raw: unknown, sets: readonly ModelWeights[], bad: Bad): FederationSnapshot {
  const s = asObject(raw, "snapshot", bad);
  if (s.format !== SNAPSHOT_FORMAT) bad(`snapshot.format is ${short(s.format)}, expected "${SNAPSHOT_FORMAT}"`);
  if (s.version !== SNAPSHOT_VERSION) bad(`snapshot.version is ${short(s.version)}, this code reads ${SNAPSHOT_VERSION}`);
  const weights = (v: unknown, where: string): ModelWeights => {
    const o = asObject(v, where, bad);
    const i = o.$weights;
    if (!(Number.isInteger(i) && (i as number) >= 0 && (i as number) < sets.length)) return bad(`${where} refers to weight set ${short(i)}, there are ${sets.length}`);
    return sets[i as number];
  };
  const fp = asObject(s.fingerprint, "snapshot.fingerprint", bad);
  if (!Array.isArray(fp.architecture)) bad("snapshot.fingerprint.architecture must be an array");
  const architecture = (fp.architecture as unknown[]).map((a, v) => {
    const o = asObject(a, `snapshot.fingerprint.architecture[${v}]`, bad);
    if (typeof o.name !== "string" || !Array.isArray(o.shape) || !o.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      return bad(`snapshot.fingerprint.architecture[${v}] must be {name, shape}, got ${short(a)}`);
    }
    return { name: o.name, shape: o.shape as number[] };
  });
  if (!Array.isArray(fp.participants) || !fp.participants.every((p) => typeof p === "string")) bad("snapshot.fingerprint.participants must be a list of ids");
  if (typeof fp.optionsHash !== "string") bad("snapshot.fingerprint.optionsHash must be a string");
  const fingerprint: FederationFingerprint = {
    architecture,
    participants: fp.participants as string[],
    options: asObject(fp.options, "snapshot.fingerprint.options", bad),
    optionsHash: fp.optionsHash as string,
  };
  const globalWeights = weights(s.globalWeights, "snapshot.globalWeights");
  assertArch(architecture, globalWeights, "snapshot.globalWeights", bad);
  const best = asObject(s.best, "snapshot.best", bad);
  const bestWeights = weights(best.weights, "snapshot.best.weights");
  assertArch(architecture, bestWeights, "snapshot.best.weights", bad);
  if (!Array.isArray(s.rows)) bad("snapshot.rows must be an array");
  const scopes: readonly string[] = ["global", "personal", "fit", "server"];
  const rows = (s.rows as unknown[]).map((r, i): HistoryRow => {
    const o = asObject(r, `snapshot.rows[${i}]`, bad);
    if (typeof o.participant !== "string" || typeof o.metric !== "string" || typeof o.scope !== "string" || !scopes.includes(o.scope)) {
      return bad(`snapshot.rows[${i}] must be {round, participant, scope, metric, value}, got ${short(r)}`);
    }
    return { round: num(o.round, `snapshot.rows[${i}].round`, bad, true), participant: o.participant, scope: o.scope as HistoryScope, metric: o.metric, value: num(o.value, `snapshot.rows[${i}].value`, bad) };
  });
  if (!Array.isArray(s.failures)) bad("snapshot.failures must be an array");
  const failures = (s.failures as unknown[]).map((f, i): FitFailure => {
    const o = asObject(f, `snapshot.failures[${i}]`, bad);
    if (typeof o.participantId !== "string" || typeof o.reason !== "string") return bad(`snapshot.failures[${i}] must be {participantId, round, reason}, got ${short(f)}`);
    return { participantId: o.participantId, round: num(o.round, `snapshot.failures[${i}].round`, bad, true), reason: o.reason };
  });
  if (!Array.isArray(s.participants)) bad("snapshot.participants must be an array");
  const participants = (s.participants as unknown[]).map((p, i): ParticipantSnapshot => {
    const o = asObject(p, `snapshot.participants[${i}]`, bad);
    if (typeof o.id !== "string") return bad(`snapshot.participants[${i}].id must be a string, got ${short(o.id)}`);
    const st = asObject(o.state, `snapshot.participants[${i}].state`, bad);
    let state: PersonalState = {};
    if (st.weights !== undefined) {
      const w = weights(st.weights, `state of participant "${o.id}"`);
      assertArch(architecture, w, `state of participant "${o.id}"`, bad);
      state = { weights: w };
    }
    if (o.personalWeights === undefined) return { id: o.id, state };
    const pw = weights(o.personalWeights, `personal weights of participant "${o.id}"`);
    assertArch(architecture, pw, `personal weights of participant "${o.id}"`, bad);
    return { id: o.id, state, personalWeights: pw };
  });
  const strategyState = asObject(s.strategyState, "snapshot.strategyState", bad) as StrategyState;
  const converged = s.converged;
  if (typeof converged !== "boolean") bad(`snapshot.converged must be a boolean, got ${short(converged)}`);
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    round: num(s.round, "snapshot.round", bad, true),
    globalWeights,
    best: { loss: num(best.loss, "snapshot.best.loss", bad), round: num(best.round, "snapshot.best.round", bad, true), weights: bestWeights },
    sinceBest: num(s.sinceBest, "snapshot.sinceBest", bad, true),
    converged: converged as boolean,
    rows,
    failures,
    participants,
    strategyState,
    samplingRngState: num(s.samplingRngState, "snapshot.samplingRngState", bad, true),
    fingerprint,
  };
}

function assertArch(expected: readonly VariableSignature[], w: ModelWeights, where: string, bad: Bad): void {
  try {
    assertSameArchitecture(expected, architectureOf(w), where);
  } catch (e) {
    bad((e as Error).message);
  }
}
