import { test } from "node:test";
import assert from "node:assert/strict";
import {
  arrayRecordToWeights,
  decodeNpy,
  decodeNpz,
  deflateMessage,
  encodeNpyFloat32,
  encodeNpz,
  encodeObject,
  encodeProto,
  inflateMessage,
  parseObject,
  weightsToArrayRecord,
} from "../../lib/flower/index";
import type { ConfigValue, FlowerMessage, FlowerRecord, MessageMetadata } from "../../lib/flower/index";

// Test vectors produced by flwr 1.23.0 itself (shared/flower/PROTOCOL.md §4).
const METRIC_ID = "774e484fca5b41799eeb0ee11484ef780f1194e442b05cbf3207d51a428f5236";
const CHUNK_ID = "1c0de163ebbba9b7e6c78ba9bb113e8b94ff01a03cf67de3321ae49256aa968a";
const ARRAY_ID = "9212d8007fc7e1c8cb3f4014662a36c18bbdfb789f431008a376ef6de7b9789a";
const ARRAY_RECORD_ID = "e1d9aac05b60582412effd929448292e990aa7f251041c3175372bea7b24fc44";
const RECORD_DICT_ID = "86e5848ad0ae4c213aa55403be956107447520f31fb2cc776f51d83f9b980b60";

const metadata: MessageMetadata = {
  runId: 12345678901234567890n,
  messageId: "",
  srcNodeId: 1n,
  dstNodeId: 18446744073709551615n,
  replyToMessageId: "",
  groupId: "g",
  ttl: 43200,
  messageType: "train",
  createdAt: 1764000000.25,
};

function vectorContent(): Map<string, FlowerRecord> {
  const array = { dtype: "float32", shape: [3], stype: "numpy.ndarray", data: encodeNpyFloat32(new Float32Array([1, 2, 3]), [3]) };
  return new Map<string, FlowerRecord>([
    ["arrays", { kind: "array", arrays: new Map([["b", array]]) }],
    ["metrics", { kind: "metric", values: new Map<string, bigint | number>([["num-examples", 10n], ["loss", 0.5]]) }],
  ]);
}

test("MetricRecord object reproduces flwr's test vector", () => {
  const body = encodeProto("MetricRecord", { items: [{ key: "num-examples", value: { sint64: 10n } }, { key: "loss", value: { double: 0.5 } }] });
  assert.equal(Buffer.from(body).toString("hex"), "0a120a0c6e756d2d6578616d706c657312021014" + "0a110a046c6f7373120909000000000000e03f");
  const obj = encodeObject("MetricRecord", [], body);
  assert.equal(Buffer.from(obj.content.subarray(0, 17)).toString("latin1"), "MetricRecord  39\0");
  assert.equal(obj.id, METRIC_ID);
});

test("Array, ArrayRecord and RecordDict objects reproduce flwr's ids", () => {
  const d = deflateMessage({ metadata, content: vectorContent() });
  const ids = [...d.objects.keys()];
  for (const id of [CHUNK_ID, ARRAY_ID, ARRAY_RECORD_ID, METRIC_ID, RECORD_DICT_ID]) assert.ok(ids.includes(id), `missing ${id}`);
  const array = parseObject(d.objects.get(ARRAY_ID) as Uint8Array, ARRAY_ID);
  assert.equal(Buffer.from(array.body).toString(), '{"dtype": "float32", "shape": [3], "stype": "numpy.ndarray", "arraychunk_ids": [0]}');
  assert.equal((d.objects.get(CHUNK_ID) as Uint8Array).length, "ArrayChunk  140\0".length + 140);
  // Tree: Message → RecordDict → [ArrayRecord → Array → chunk, MetricRecord].
  assert.equal(d.tree.objectId, d.messageId);
  assert.equal(d.tree.children[0].objectId, RECORD_DICT_ID);
  assert.deepEqual(d.tree.children[0].children.map((c) => c.objectId), [ARRAY_RECORD_ID, METRIC_ID]);
});

test("messages round-trip through objects: metadata, every value type, float32 bits", () => {
  const values = new Float32Array([0.1, -3.4028234663852886e38, 1e-45, Math.PI, -0, 7]);
  const weights = [{ name: "hidden_1/kernel", shape: [2, 3], values }, { name: "head/bias", shape: [0], values: new Float32Array(0) }];
  const config = new Map<string, ConfigValue>([
    ["server-round", 3n], ["lr", 0.05], ["flag", true], ["name", "hôpital"], ["blob", new Uint8Array([0, 255])],
    ["ds", [1.5, 2.5]], ["is", [-1n, 2n]], ["bs", [true, false]], ["ss", ["a", "b"]], ["big", 18446744073709551615n],
  ]);
  const message: FlowerMessage = {
    metadata,
    content: new Map<string, FlowerRecord>([["arrays", weightsToArrayRecord(weights)], ["config", { kind: "config", values: config }]]),
  };
  const d = deflateMessage(message, 8); // tiny chunks: 24 data bytes → several chunks
  const back = inflateMessage(d.messageId, d.objects);
  assert.deepEqual({ ...back.metadata, messageId: "" }, metadata);
  assert.equal(back.metadata.messageId, d.messageId);
  const arrays = back.content?.get("arrays");
  assert.ok(arrays && arrays.kind === "array");
  const w = arrayRecordToWeights(arrays, weights);
  assert.deepEqual(Array.from(new Uint32Array(w[0].values.buffer)), Array.from(new Uint32Array(values.buffer)));
  assert.deepEqual(w[1].shape, [0]);
  const cfg = back.content?.get("config");
  assert.ok(cfg && cfg.kind === "config");
  assert.deepEqual([...cfg.values], [...config]);
});

test("identical chunks are stored once but referenced in order", () => {
  const zeros = new Float32Array(64);
  const rec = weightsToArrayRecord([{ name: "z", shape: [64], values: zeros }]);
  const d = deflateMessage({ metadata, content: new Map<string, FlowerRecord>([["arrays", rec]]) }, 64);
  const arrayNode = d.tree.children[0].children[0].children[0];
  const body = JSON.parse(Buffer.from(parseObject(d.objects.get(arrayNode.objectId) as Uint8Array).body).toString());
  // 128 header bytes + 256 zero bytes in 64-byte chunks: 2 header chunks, then 4 equal zero chunks.
  assert.deepEqual(body.arraychunk_ids, [0, 1, 2, 2, 2, 2]);
  assert.equal(arrayNode.children.length, 3);
  const back = inflateMessage(d.messageId, d.objects);
  const a = back.content?.get("arrays");
  assert.ok(a && a.kind === "array");
  assert.deepEqual(decodeNpy((a.arrays.get("z") as { data: Uint8Array }).data).values, zeros);
});

test("error replies carry no content; tampered or missing objects are refused by name", () => {
  const d = deflateMessage({ metadata, error: { code: 2, reason: "boom" } });
  assert.equal(d.tree.children.length, 0);
  assert.deepEqual(inflateMessage(d.messageId, d.objects).error, { code: 2, reason: "boom" });
  assert.throws(() => deflateMessage({ metadata }), /exactly one of content or error/);

  const ok = deflateMessage({ metadata, content: vectorContent() });
  const tampered = new Map(ok.objects);
  const chunk = Uint8Array.from(tampered.get(CHUNK_ID) as Uint8Array);
  chunk[chunk.length - 1] ^= 1;
  tampered.set(CHUNK_ID, chunk);
  assert.throws(() => inflateMessage(ok.messageId, tampered), new RegExp(`object ${CHUNK_ID}: content hashes to`));
  const missing = new Map(ok.objects);
  missing.delete(METRIC_ID);
  assert.throws(() => inflateMessage(ok.messageId, missing), new RegExp(`object ${METRIC_ID} is missing`));
  const bad = encodeObject("Array", [], Buffer.from("{}"));
  assert.throws(() => parseObject(Buffer.from("Bogus  0\0")), /unknown object type "Bogus"/);
  assert.throws(() => parseObject(Buffer.concat([Buffer.from(bad.content), Buffer.from("x")])), /announces a body of 2 bytes, got 3/);
});

test("npy: float32 exact, Fortran order transposed, bad headers named", () => {
  const npy = encodeNpyFloat32(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.equal(npy.length % 64, 24 % 64); // 128-byte header + 24 data bytes
  assert.equal((npy.length - 24) % 64, 0);
  const fortran = Uint8Array.from(npy);
  const text = Buffer.from(fortran).toString("latin1").replace("'fortran_order': False", "'fortran_order': True ");
  const f = decodeNpy(Buffer.from(text, "latin1"));
  assert.deepEqual(Array.from(f.values), [1, 3, 5, 2, 4, 6]); // column-major [1..6] read back row-major
  assert.throws(() => decodeNpy(npy.subarray(0, npy.length - 4), "array \"w\""), /array "w": shape \(2,3\) of <f4 needs 24 data bytes, got 20/);
  assert.throws(() => decodeNpy(Buffer.from("hello world")), /bad magic/);
});

test("npz: what encodeNpz writes, decodeNpz reads back bit for bit", () => {
  const weights = [
    { name: "hidden_1/kernel", shape: [2, 2], values: new Float32Array([0.1, 0.2, -0.3, 1e-30]) },
    { name: "hidden_1/bias", shape: [2], values: new Float32Array([5, 6]) },
  ];
  const arrays = decodeNpz(encodeNpz(weights));
  assert.deepEqual([...arrays.keys()], ["hidden_1/kernel", "hidden_1/bias"]);
  assert.deepEqual(arrays.get("hidden_1/kernel")?.values, weights[0].values);
  assert.deepEqual(arrays.get("hidden_1/bias")?.shape, [2]);
  assert.throws(() => decodeNpz(new Uint8Array(30)), /not a ZIP archive/);
});
