/**
 * The protobuf messages of Flower's Fleet API (flwr 1.23), defined here from the protocol's facts:
 * message names, field numbers and wire types as in upstream `framework/proto/flwr/proto/*.proto`
 * (fleet, message, heartbeat, node, run, recorddict, error). Only what a SuperNode sends or reads
 * is defined. Field names are camelCase (only numbers and types reach the wire).
 *
 * Why a hand-written descriptor: fedtune commits none of Flower's files, and protobufjs builds
 * encoders from a JSON descriptor at load time, so no code generation step is needed.
 */
import * as protobuf from "protobufjs";

type Fields = Record<string, { type: string; id: number; rule?: "repeated"; keyType?: string }>;
interface MessageDescriptor {
  fields: Fields;
  oneofs?: Record<string, { oneof: string[] }>;
  nested?: Record<string, MessageDescriptor>;
}

const node = { node: { type: "Node", id: 1 } };
const list = (type: string): MessageDescriptor => ({ fields: { vals: { type, id: 1, rule: "repeated" } } });
const item = (valueType: string): MessageDescriptor => ({
  fields: { items: { type: "Item", id: 1, rule: "repeated" } },
  nested: { Item: { fields: { key: { type: "string", id: 1 }, value: { type: valueType, id: 2 } } } },
});

const MESSAGES: Record<string, MessageDescriptor> = {
  Node: { fields: { nodeId: { type: "uint64", id: 1 } } },
  Error: { fields: { code: { type: "sint64", id: 1 }, reason: { type: "string", id: 2 } } },
  Metadata: {
    fields: {
      runId: { type: "uint64", id: 1 },
      messageId: { type: "string", id: 2 },
      srcNodeId: { type: "uint64", id: 3 },
      dstNodeId: { type: "uint64", id: 4 },
      replyToMessageId: { type: "string", id: 5 },
      groupId: { type: "string", id: 6 },
      ttl: { type: "double", id: 7 },
      messageType: { type: "string", id: 8 },
      createdAt: { type: "double", id: 9 },
    },
  },
  Message: {
    fields: { metadata: { type: "Metadata", id: 1 }, content: { type: "RecordDict", id: 2 }, error: { type: "Error", id: 3 } },
  },
  ObjectTree: { fields: { objectId: { type: "string", id: 1 }, children: { type: "ObjectTree", id: 2, rule: "repeated" } } },
  // recorddict.proto: only the container messages; record bodies travel as separate objects.
  DoubleList: list("double"),
  SintList: list("sint64"),
  UintList: list("uint64"),
  BoolList: list("bool"),
  StringList: list("string"),
  BytesList: list("bytes"),
  MetricRecordValue: {
    fields: {
      double: { type: "double", id: 1 },
      sint64: { type: "sint64", id: 2 },
      uint64: { type: "uint64", id: 3 },
      doubleList: { type: "DoubleList", id: 21 },
      sintList: { type: "SintList", id: 22 },
      uintList: { type: "UintList", id: 23 },
    },
    oneofs: { value: { oneof: ["double", "sint64", "uint64", "doubleList", "sintList", "uintList"] } },
  },
  ConfigRecordValue: {
    fields: {
      double: { type: "double", id: 1 },
      sint64: { type: "sint64", id: 2 },
      uint64: { type: "uint64", id: 3 },
      bool: { type: "bool", id: 4 },
      string: { type: "string", id: 5 },
      bytes: { type: "bytes", id: 6 },
      doubleList: { type: "DoubleList", id: 21 },
      sintList: { type: "SintList", id: 22 },
      uintList: { type: "UintList", id: 23 },
      boolList: { type: "BoolList", id: 24 },
      stringList: { type: "StringList", id: 25 },
      bytesList: { type: "BytesList", id: 26 },
    },
    oneofs: {
      value: { oneof: ["double", "sint64", "uint64", "bool", "string", "bytes", "doubleList", "sintList", "uintList", "boolList", "stringList", "bytesList"] },
    },
  },
  MetricRecord: item("MetricRecordValue"),
  ConfigRecord: item("ConfigRecordValue"),
  // Only ever sent empty (reply content lives in the object store), so no items are defined.
  RecordDict: { fields: {} },
  // fleet.proto
  RegisterNodeFleetRequest: { fields: { publicKey: { type: "bytes", id: 1 } } },
  RegisterNodeFleetResponse: { fields: { nodeId: { type: "uint64", id: 1 } } },
  ActivateNodeRequest: { fields: { publicKey: { type: "bytes", id: 1 }, heartbeatInterval: { type: "double", id: 2 } } },
  ActivateNodeResponse: { fields: { nodeId: { type: "uint64", id: 1 } } },
  DeactivateNodeRequest: { fields: { nodeId: { type: "uint64", id: 1 } } },
  DeactivateNodeResponse: { fields: {} },
  UnregisterNodeFleetRequest: { fields: { nodeId: { type: "uint64", id: 1 } } },
  UnregisterNodeFleetResponse: { fields: {} },
  SendNodeHeartbeatRequest: { fields: { ...node, heartbeatInterval: { type: "double", id: 2 } } },
  SendNodeHeartbeatResponse: { fields: { success: { type: "bool", id: 1 } } },
  Reconnect: { fields: { reconnect: { type: "uint64", id: 1 } } },
  PullMessagesRequest: { fields: { ...node, messageIds: { type: "string", id: 2, rule: "repeated" } } },
  PullMessagesResponse: {
    fields: {
      reconnect: { type: "Reconnect", id: 1 },
      messagesList: { type: "Message", id: 2, rule: "repeated" },
      messageObjectTrees: { type: "ObjectTree", id: 3, rule: "repeated" },
    },
  },
  PushMessagesRequest: {
    fields: {
      ...node,
      messagesList: { type: "Message", id: 2, rule: "repeated" },
      messageObjectTrees: { type: "ObjectTree", id: 3, rule: "repeated" },
    },
  },
  PushMessagesResponse: {
    fields: {
      reconnect: { type: "Reconnect", id: 1 },
      results: { type: "uint32", id: 2, keyType: "string" },
      objectsToPush: { type: "string", id: 3, rule: "repeated" },
    },
  },
  PushObjectRequest: {
    fields: { ...node, runId: { type: "uint64", id: 2 }, objectId: { type: "string", id: 3 }, objectContent: { type: "bytes", id: 4 } },
  },
  PushObjectResponse: { fields: { stored: { type: "bool", id: 1 } } },
  PullObjectRequest: { fields: { ...node, runId: { type: "uint64", id: 2 }, objectId: { type: "string", id: 3 } } },
  PullObjectResponse: {
    fields: { objectFound: { type: "bool", id: 1 }, objectAvailable: { type: "bool", id: 2 }, objectContent: { type: "bytes", id: 3 } },
  },
  ConfirmMessageReceivedRequest: { fields: { ...node, runId: { type: "uint64", id: 2 }, messageObjectId: { type: "string", id: 3 } } },
  ConfirmMessageReceivedResponse: { fields: {} },
};

/** Wrap the messages in the `flwr.proto` package namespace. */
function toProtobufJson(messages: Record<string, MessageDescriptor>): protobuf.INamespace {
  return { nested: { flwr: { nested: { proto: { nested: messages as unknown as Record<string, protobuf.AnyNestedObject> } } } } };
}

/** The protobufjs root holding every Fleet API message under `flwr.proto`. */
export const FLOWER_PROTO_ROOT: protobuf.Root = protobuf.Root.fromJSON(toProtobufJson(MESSAGES));

/** Names of the messages defined here (without the `flwr.proto.` prefix). */
export type FlowerMessageName = keyof typeof MESSAGES & string;

/** The protobufjs type of `flwr.proto.<name>`. */
export function protoType(name: string): protobuf.Type {
  return FLOWER_PROTO_ROOT.lookupType(`flwr.proto.${name}`);
}

/**
 * Encode a plain object as `flwr.proto.<name>`. 64-bit fields take bigints or decimal strings
 * (protobufjs parses strings exactly); bytes fields take Uint8Arrays.
 */
export function encodeProto(name: string, value: object): Uint8Array {
  const type = protoType(name);
  const message = type.fromObject(bigintsToStrings(value) as Record<string, unknown>);
  return type.encode(message).finish();
}

/** Deep copy with bigints as decimal strings; byte arrays are kept as they are. */
function bigintsToStrings(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(bigintsToStrings);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = bigintsToStrings(v);
  return out;
}

/**
 * Decode bytes as `flwr.proto.<name>` into a plain object: 64-bit integers become decimal strings
 * (exact), bytes stay Uint8Array, unset scalars get their defaults, a set oneof names its member.
 */
export function decodeProto(name: string, bytes: Uint8Array): Record<string, unknown> {
  const type = protoType(name);
  const message = type.decode(bytes);
  return type.toObject(message, { longs: String, defaults: true, oneofs: true, arrays: true, objects: true }) as Record<string, unknown>;
}
