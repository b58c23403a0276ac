/**
 * Flower's content-addressed objects ("inflatable" objects, flwr/common/inflatable.py):
 * `content = utf8("<Type> <child,child,...> <bodyLength>") + 0x00 + body`, `id = sha256(content)`.
 * Messages travel as trees of these objects; the SuperLink stores and forwards them by id.
 */
import { createHash } from "crypto";

/** The seven object types a SuperLink accepts. */
export const OBJECT_TYPES = ["Message", "RecordDict", "ArrayRecord", "Array", "ArrayChunk", "ConfigRecord", "MetricRecord"] as const;

/** One of `OBJECT_TYPES`. */
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** An object split into its head fields and body. */
export interface ParsedObject {
  /** Lowercase hex SHA-256 of the whole content. */
  readonly id: string;
  readonly type: ObjectType;
  /** Child object ids, each once, in first-use order. */
  readonly children: readonly string[];
  readonly body: Uint8Array;
}

/** An object ready to be sent: its id and full content. */
export interface EncodedObject {
  readonly id: string;
  readonly content: Uint8Array;
}

/** Lowercase hex SHA-256 of `bytes`. */
export function objectId(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Build an object's content (head + NUL + body) and its id. */
export function encodeObject(type: ObjectType, children: readonly string[], body: Uint8Array): EncodedObject {
  const head = Buffer.from(`${type} ${children.join(",")} ${body.length}`, "utf8");
  const content = new Uint8Array(head.length + 1 + body.length);
  content.set(head, 0);
  content[head.length] = 0;
  content.set(body, head.length + 1);
  return { id: objectId(content), content };
}

/**
 * Split an object's content into head fields and body. Checks the head's form, the type, the body
 * length and — when `expectedId` is given — that the content hashes to it.
 */
export function parseObject(content: Uint8Array, expectedId?: string): ParsedObject {
  const id = objectId(content);
  const what = `object ${expectedId ?? id}`;
  if (expectedId !== undefined && id !== expectedId) throw new Error(`${what}: content hashes to ${id}, not to its id`);
  const nul = content.indexOf(0);
  if (nul < 0) throw new Error(`${what}: no NUL byte after the head`);
  const head = Buffer.from(content.subarray(0, nul)).toString("utf8");
  const parts = head.split(" ");
  if (parts.length !== 3) throw new Error(`${what}: malformed head ${JSON.stringify(head)}`);
  const [type, childList, lengthText] = parts;
  if (!(OBJECT_TYPES as readonly string[]).includes(type)) throw new Error(`${what}: unknown object type ${JSON.stringify(type)}`);
  const body = content.subarray(nul + 1);
  if (!/^\d+$/.test(lengthText) || Number(lengthText) !== body.length) {
    throw new Error(`${what}: head announces a body of ${lengthText} bytes, got ${body.length}`);
  }
  const children = childList === "" ? [] : childList.split(",");
  for (const c of children) if (!/^[0-9a-f]{64}$/.test(c)) throw new Error(`${what}: child id ${JSON.stringify(c)} is not a sha256 hex digest`);
  return { id, type: type as ObjectType, children, body };
}

/**
 * JSON as Python's `json.dumps` writes it by default (", " and ": " separators, non-ASCII as
 * \uXXXX), so that our object ids equal Python's for the same records.
 */
export function pythonJson(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`)
      .join(", ")}}`;
  }
  throw new Error(`pythonJson: cannot encode ${typeof value}`);
}

/** The tree of ids the Fleet API expects next to a message (`flwr.proto.ObjectTree`). */
export interface ObjectTree {
  readonly objectId: string;
  readonly children: readonly ObjectTree[];
}

/** Every id in a tree, root first, each once. */
export function treeIds(tree: ObjectTree): string[] {
  const seen = new Set<string>();
  const walk = (t: ObjectTree): void => {
    if (!seen.has(t.objectId)) seen.add(t.objectId);
    t.children.forEach(walk);
  };
  walk(tree);
  return [...seen];
}
