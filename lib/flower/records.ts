/**
 * Flower's message content in TypeScript: a RecordDict of named ArrayRecords, MetricRecords and
 * ConfigRecords (flwr/common/record/). Integers are bigints (Python `int`, sent as sint64) and
 * floats are numbers (Python `float`, sent as double), so a value keeps its Python type both ways.
 */

/** One array of an ArrayRecord: the complete `.npy` bytes plus the descriptive dtype and shape. */
export interface FlowerArray {
  /** NumPy dtype name, e.g. "float32" (descriptive; readers use the .npy header). */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** "numpy.ndarray" for every array fedtune sends. */
  readonly stype: string;
  /** The complete `.npy` file. */
  readonly data: Uint8Array;
}

/** A value of a MetricRecord: bigint → sint64, number → double (lists alike). */
export type MetricValue = number | bigint | readonly number[] | readonly bigint[];

/** A value of a ConfigRecord. */
export type ConfigValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | readonly number[]
  | readonly bigint[]
  | readonly boolean[]
  | readonly string[]
  | readonly Uint8Array[];

/** One record of a RecordDict, tagged with its kind. */
export type FlowerRecord =
  | { readonly kind: "array"; readonly arrays: ReadonlyMap<string, FlowerArray> }
  | { readonly kind: "metric"; readonly values: ReadonlyMap<string, MetricValue> }
  | { readonly kind: "config"; readonly values: ReadonlyMap<string, ConfigValue> };

/** Named records, in insertion order (the order Python iterates). */
export type RecordDict = ReadonlyMap<string, FlowerRecord>;

/** Routing and lifetime data of a message (`flwr.proto.Metadata`). */
export interface MessageMetadata {
  readonly runId: bigint;
  /** Object id of the message ("" inside the object body). */
  readonly messageId: string;
  readonly srcNodeId: bigint;
  readonly dstNodeId: bigint;
  readonly replyToMessageId: string;
  readonly groupId: string;
  /** Seconds the message lives after `createdAt`. */
  readonly ttl: number;
  /** "train", "evaluate", "query", "system", or "<one of those>.<identifier>". */
  readonly messageType: string;
  /** Seconds since the epoch (a double, not milliseconds). */
  readonly createdAt: number;
}

/** An error carried by a reply instead of content (`flwr.proto.Error`). */
export interface MessageError {
  readonly code: number;
  readonly reason: string;
}

/** A message: metadata plus exactly one of content or error. */
export interface FlowerMessage {
  readonly metadata: MessageMetadata;
  readonly content?: RecordDict;
  readonly error?: MessageError;
}

/** Flower's error codes (flwr/common/constant.py `ErrorCode`). */
export const ERROR_CODES = {
  UNKNOWN: 0,
  LOAD_CLIENT_APP_EXCEPTION: 1,
  CLIENT_APP_RAISED_EXCEPTION: 2,
  MESSAGE_UNAVAILABLE: 3,
  REPLY_MESSAGE_UNAVAILABLE: 4,
  NODE_UNAVAILABLE: 5,
  MOD_FAILED_PRECONDITION: 6,
} as const;

/** The record `name` of `content` if it is of `kind`, else an error naming what was found. */
export function getRecord<K extends FlowerRecord["kind"]>(content: RecordDict, name: string, kind: K): Extract<FlowerRecord, { kind: K }> {
  const record = content.get(name);
  if (!record) throw new Error(`message content has no record "${name}"; has ${[...content.keys()].map((k) => `"${k}"`).join(", ") || "none"}`);
  if (record.kind !== kind) throw new Error(`message record "${name}" is a ${record.kind} record, expected a ${kind} record`);
  return record as Extract<FlowerRecord, { kind: K }>;
}

/** A single numeric config value as a number, or `fallback` when absent; errors name the key. */
export function configNumber(config: ReadonlyMap<string, ConfigValue> | undefined, key: string, fallback: number): number {
  const v = config?.get(key);
  if (v === undefined) return fallback;
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw new Error(`config "${key}" must be a number, got ${typeof v === "object" ? "a list or bytes" : JSON.stringify(v)}`);
}
