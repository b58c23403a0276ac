/**
 * Messages ⇄ Flower object trees: `Message → RecordDict → ArrayRecord/ConfigRecord/MetricRecord →
 * Array → ArrayChunk`, each a content-addressed object (see inflatable.ts). `deflateMessage` gives
 * what `PushMessages`/`PushObject` need; `inflateMessage` rebuilds a message from pulled objects.
 */
import { encodeObject, EncodedObject, ObjectTree, parseObject, ParsedObject, pythonJson } from "./inflatable";
import { decodeProto, encodeProto } from "./protoSchema";
import type { ConfigValue, FlowerArray, FlowerMessage, FlowerRecord, MessageError, MessageMetadata, MetricValue, RecordDict } from "./records";

/** Flower's default chunk size for array data (flwr/common/constant.py, MAX_ARRAY_CHUNK_SIZE). */
export const ARRAY_CHUNK_BYTES = 5 * 1024 * 1024;

/** A message as objects: the root (Message) id, every object by id, and the tree of ids. */
export interface DeflatedMessage {
  /** Object id of the Message object: the message id. */
  readonly messageId: string;
  /** Every object of the tree, by id (each once). */
  readonly objects: ReadonlyMap<string, Uint8Array>;
  readonly tree: ObjectTree;
}

interface Node {
  readonly obj: EncodedObject;
  readonly children: readonly Node[];
}

/** Unique nodes by id, in first-use order. */
function unique(nodes: readonly Node[]): Node[] {
  const seen = new Map<string, Node>();
  for (const n of nodes) if (!seen.has(n.obj.id)) seen.set(n.obj.id, n);
  return [...seen.values()];
}

function utf8(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

function deflateArray(array: FlowerArray, chunkBytes: number): Node {
  // An empty array still has one (empty) chunk, as in Python.
  const count = Math.max(1, Math.ceil(array.data.length / chunkBytes));
  const chunks: Node[] = [];
  for (let i = 0; i < count; i++) {
    const part = array.data.subarray(i * chunkBytes, Math.min(array.data.length, (i + 1) * chunkBytes));
    chunks.push({ obj: encodeObject("ArrayChunk", [], part), children: [] });
  }
  const children = unique(chunks);
  const index = new Map(children.map((c, i) => [c.obj.id, i]));
  const body = { dtype: array.dtype, shape: [...array.shape], stype: array.stype, arraychunk_ids: chunks.map((c) => index.get(c.obj.id) as number) };
  return { obj: encodeObject("Array", children.map((c) => c.obj.id), utf8(pythonJson(body))), children };
}

function metricValueProto(key: string, v: MetricValue): object {
  if (typeof v === "number") return { double: v };
  if (typeof v === "bigint") return v > 0x7fffffffffffffffn ? { uint64: v } : { sint64: v };
  if (v.length > 0 && typeof v[0] === "bigint") return { sintList: { vals: v } };
  if ((v as readonly unknown[]).every((x) => typeof x === "number")) return { doubleList: { vals: v } };
  throw new Error(`MetricRecord "${key}": a list must hold only numbers or only bigints`);
}

function configValueProto(key: string, v: ConfigValue): object {
  if (typeof v === "boolean") return { bool: v };
  if (typeof v === "string") return { string: v };
  if (v instanceof Uint8Array) return { bytes: v };
  if (typeof v === "number" || typeof v === "bigint") return metricValueProto(key, v);
  const list = v as readonly unknown[];
  if (list.length > 0 && list.every((x) => typeof x === "boolean")) return { boolList: { vals: list } };
  if (list.length > 0 && list.every((x) => typeof x === "string")) return { stringList: { vals: list } };
  if (list.length > 0 && list.every((x) => x instanceof Uint8Array)) return { bytesList: { vals: list } };
  return metricValueProto(key, list as MetricValue);
}

function deflateRecord(record: FlowerRecord, chunkBytes: number): Node {
  switch (record.kind) {
    case "array": {
      const arrays = [...record.arrays].map(([name, a]) => [name, deflateArray(a, chunkBytes)] as const);
      const body: Record<string, string> = {};
      for (const [name, n] of arrays) body[name] = n.obj.id;
      const children = unique(arrays.map(([, n]) => n));
      return { obj: encodeObject("ArrayRecord", children.map((c) => c.obj.id), utf8(pythonJson(body))), children };
    }
    case "metric": {
      const items = [...record.values].map(([key, v]) => ({ key, value: metricValueProto(key, v) }));
      return { obj: encodeObject("MetricRecord", [], encodeProto("MetricRecord", { items })), children: [] };
    }
    case "config": {
      const items = [...record.values].map(([key, v]) => ({ key, value: configValueProto(key, v) }));
      return { obj: encodeObject("ConfigRecord", [], encodeProto("ConfigRecord", { items })), children: [] };
    }
  }
}

/** The metadata as `flwr.proto.Metadata` fields. */
function metadataProto(m: MessageMetadata, messageId: string): object {
  return { ...m, messageId };
}

/** Turn a message into its objects and tree (`chunkBytes` only for tests of chunking). */
export function deflateMessage(message: FlowerMessage, chunkBytes = ARRAY_CHUNK_BYTES): DeflatedMessage {
  if ((message.content === undefined) === (message.error === undefined)) {
    throw new Error("deflateMessage: a message must have exactly one of content or error");
  }
  let children: Node[] = [];
  if (message.content) {
    const records = [...message.content].map(([name, r]) => [name, deflateRecord(r, chunkBytes)] as const);
    const body: Record<string, string> = {};
    for (const [name, n] of records) body[name] = n.obj.id;
    const recordChildren = unique(records.map(([, n]) => n));
    children = [{ obj: encodeObject("RecordDict", recordChildren.map((c) => c.obj.id), utf8(pythonJson(body))), children: recordChildren }];
  }
  const error = message.error ? { code: BigInt(message.error.code), reason: message.error.reason } : undefined;
  const body = encodeProto("Message", { metadata: metadataProto(message.metadata, ""), error });
  const root: Node = { obj: encodeObject("Message", children.map((c) => c.obj.id), body), children };
  const objects = new Map<string, Uint8Array>();
  const toTree = (n: Node): ObjectTree => {
    objects.set(n.obj.id, n.obj.content);
    return { objectId: n.obj.id, children: n.children.map(toTree) };
  };
  const tree = toTree(root);
  return { messageId: root.obj.id, objects, tree };
}

// ---------------------------------------------------------------------------------------------
// Inflating
// ---------------------------------------------------------------------------------------------

function parseJsonBody(obj: ParsedObject): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(obj.body).toString("utf8"));
  } catch (e) {
    throw new Error(`${obj.type} ${obj.id}: body is not JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${obj.type} ${obj.id}: body must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Children named by a JSON body must be exactly the head's children. */
function namedChildren(obj: ParsedObject): Map<string, string> {
  const body = parseJsonBody(obj);
  const out = new Map<string, string>();
  for (const [name, id] of Object.entries(body)) {
    if (typeof id !== "string" || !obj.children.includes(id)) throw new Error(`${obj.type} ${obj.id}: entry "${name}" names ${JSON.stringify(id)}, which is not among its children`);
    out.set(name, id);
  }
  return out;
}

function toBigInt(v: unknown): bigint {
  return BigInt(v as string);
}

function decodeValue(v: Record<string, unknown>, key: string, where: string): ConfigValue {
  const which = v.value as string | undefined;
  switch (which) {
    case "double": case "bool": case "string": return v[which] as number | boolean | string;
    case "bytes": return new Uint8Array(v.bytes as Uint8Array);
    case "sint64": case "uint64": return toBigInt(v[which]);
    case "doubleList": case "boolList": case "stringList": return (v[which] as { vals: (number | boolean | string)[] }).vals as readonly number[];
    case "bytesList": return (v.bytesList as { vals: Uint8Array[] }).vals.map((b) => new Uint8Array(b));
    case "sintList": case "uintList": return (v[which] as { vals: unknown[] }).vals.map(toBigInt);
    default: throw new Error(`${where}: item "${key}" has no value`);
  }
}

function decodeItems(type: "MetricRecord" | "ConfigRecord", obj: ParsedObject): Map<string, ConfigValue> {
  let decoded: Record<string, unknown>;
  try {
    decoded = decodeProto(type, obj.body);
  } catch (e) {
    throw new Error(`${type} ${obj.id}: body is not a valid flwr.proto.${type} (${(e as Error).message})`);
  }
  const out = new Map<string, ConfigValue>();
  for (const item of decoded.items as { key: string; value: Record<string, unknown> | null }[]) {
    out.set(item.key, decodeValue(item.value ?? {}, item.key, `${type} ${obj.id}`));
  }
  return out;
}

/**
 * Rebuild a message from its objects (`objects`: id → content, e.g. as pulled). Every object is
 * hash-checked and parsed; errors name the object and what is wrong with it.
 */
export function inflateMessage(rootId: string, objects: ReadonlyMap<string, Uint8Array>): FlowerMessage {
  const get = (id: string, expected: readonly string[]): ParsedObject => {
    const content = objects.get(id);
    if (!content) throw new Error(`object ${id} is missing`);
    const obj = parseObject(content, id);
    if (!expected.includes(obj.type)) throw new Error(`object ${id} is a ${obj.type}, expected ${expected.join(" or ")}`);
    return obj;
  };
  const root = get(rootId, ["Message"]);
  let proto: Record<string, unknown>;
  try {
    proto = decodeProto("Message", root.body);
  } catch (e) {
    throw new Error(`Message ${rootId}: body is not a valid flwr.proto.Message (${(e as Error).message})`);
  }
  const md = (proto.metadata ?? {}) as Record<string, unknown>;
  const metadata: MessageMetadata = {
    runId: toBigInt(md.runId ?? "0"),
    messageId: rootId,
    srcNodeId: toBigInt(md.srcNodeId ?? "0"),
    dstNodeId: toBigInt(md.dstNodeId ?? "0"),
    replyToMessageId: String(md.replyToMessageId ?? ""),
    groupId: String(md.groupId ?? ""),
    ttl: Number(md.ttl ?? 0),
    messageType: String(md.messageType ?? ""),
    createdAt: Number(md.createdAt ?? 0),
  };
  if (proto.error) {
    const e = proto.error as Record<string, unknown>;
    const error: MessageError = { code: Number(e.code), reason: String(e.reason) };
    return { metadata, error };
  }
  if (root.children.length !== 1) throw new Error(`Message ${rootId}: expected 1 child (its RecordDict), got ${root.children.length}`);
  const dict = get(root.children[0], ["RecordDict"]);
  const content = new Map<string, FlowerRecord>();
  for (const [name, recordId] of namedChildren(dict)) {
    const rec = get(recordId, ["ArrayRecord", "MetricRecord", "ConfigRecord"]);
    if (rec.type === "MetricRecord") content.set(name, { kind: "metric", values: decodeItems("MetricRecord", rec) as Map<string, MetricValue> });
    else if (rec.type === "ConfigRecord") content.set(name, { kind: "config", values: decodeItems("ConfigRecord", rec) });
    else {
      const arrays = new Map<string, FlowerArray>();
      for (const [arrayName, arrayId] of namedChildren(rec)) arrays.set(arrayName, inflateArray(get(arrayId, ["Array"]), get));
      content.set(name, { kind: "array", arrays });
    }
  }
  return { metadata, content };
}

function inflateArray(obj: ParsedObject, get: (id: string, expected: readonly string[]) => ParsedObject): FlowerArray {
  const body = parseJsonBody(obj);
  const ids = body.arraychunk_ids;
  const shape = body.shape;
  if (!Array.isArray(ids) || !ids.every((i) => Number.isInteger(i) && i >= 0 && i < obj.children.length)) {
    throw new Error(`Array ${obj.id}: arraychunk_ids must index its ${obj.children.length} children, got ${JSON.stringify(ids)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`Array ${obj.id}: bad shape ${JSON.stringify(shape)}`);
  const chunks = (ids as number[]).map((i) => get(obj.children[i], ["ArrayChunk"]).body);
  const data = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    data.set(c, off);
    off += c.length;
  }
  return { dtype: String(body.dtype), shape: shape as number[], stype: String(body.stype), data };
}
