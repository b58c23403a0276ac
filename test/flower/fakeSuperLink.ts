/**
 * A minimal in-process Fleet API server for unit tests (not Flower): checks the auth metadata
 * like the real SuperLink (signature over the timestamp, key bound to the node), hands out queued
 * instructions with their objects, and records replies. The real SuperLink is tested in
 * integration.test.ts.
 */
import * as grpc from "@grpc/grpc-js";
import { createPublicKey, verify } from "crypto";
import { decodeProto, deflateMessage, encodeProto, inflateMessage, treeIds } from "../../lib/flower/index";
import type { FlowerMessage, ObjectTree } from "../../lib/flower/index";

type Handler = (req: Record<string, unknown>, publicKey: string) => object;

/** A reply as received: the pushed message header plus the message rebuilt from pushed objects. */
export interface ReceivedReply {
  readonly header: Record<string, unknown>;
  readonly message: FlowerMessage;
}

/** Fake SuperLink state and server. */
export class FakeSuperLink {
  readonly server = new grpc.Server();
  readonly replies: ReceivedReply[] = [];
  readonly calls: string[] = [];
  private readonly queue: { header: object; tree: ObjectTree; objects: Map<string, Uint8Array> }[] = [];
  private readonly store = new Map<string, Uint8Array>();
  private readonly keys = new Map<string, string>(); // nodeId → PEM
  private nextNode = 1000n;
  private pending: { header: Record<string, unknown>; tree: ObjectTree } | undefined;
  port = 0;
  /** Refuse RegisterNode like a SuperLink with an allow-list that does not know the key. */
  rejectRegistration = false;

  /** Queue an instruction for the next PullMessages; optionally corrupt its objects. */
  enqueue(message: FlowerMessage, corrupt?: (objects: Map<string, Uint8Array>) => void): string {
    const d = deflateMessage(message);
    const objects = new Map(d.objects);
    corrupt?.(objects);
    this.queue.push({ header: { metadata: { ...message.metadata, messageId: d.messageId } }, tree: d.tree, objects });
    return d.messageId;
  }

  /** Start listening on an ephemeral 127.0.0.1 port. */
  async start(port = 0): Promise<number> {
    const rpc = (name: string, req: string, res: string, handler: Handler): void => {
      this.methods[name] = { path: `/flwr.proto.Fleet/${name}`, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
      this.impl[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        this.calls.push(name);
        if (name === "RegisterNode" && this.rejectRegistration) return cb({ code: grpc.status.UNAUTHENTICATED, details: "Public key not recognized" });
        const md = call.metadata;
        const pem = md.get("flwr-public-key-bin")[0];
        const ts = md.get("flwr-timestamp")[0];
        const sig = md.get("flwr-signature-bin")[0];
        if (!Buffer.isBuffer(pem) || typeof ts !== "string" || !Buffer.isBuffer(sig)) return cb({ code: grpc.status.UNAUTHENTICATED, details: "Missing authentication metadata" });
        if (!verify("sha256", Buffer.from(ts), createPublicKey(pem), sig)) return cb({ code: grpc.status.UNAUTHENTICATED, details: "Invalid signature" });
        const age = Date.now() / 1000 - Date.parse(ts) / 1000;
        if (!/\+00:00$/.test(ts) || !(age > -5 && age < 305)) return cb({ code: grpc.status.UNAUTHENTICATED, details: "Invalid timestamp" });
        try {
          const request = decodeProto(req, call.request);
          const node = (request.node as { nodeId?: string } | null)?.nodeId ?? (request.nodeId as string | undefined);
          if (node !== undefined && this.keys.get(node) !== pem.toString()) return cb({ code: grpc.status.UNAUTHENTICATED, details: "Invalid node ID" });
          cb(null, Buffer.from(encodeProto(res, handler(request, pem.toString()))));
        } catch (e) {
          cb({ code: grpc.status.UNKNOWN, details: (e as Error).message });
        }
      };
    };
    rpc("RegisterNode", "RegisterNodeFleetRequest", "RegisterNodeFleetResponse", (_r, pem) => {
      const id = (this.nextNode++).toString();
      this.keys.set(id, pem);
      return { nodeId: id };
    });
    rpc("ActivateNode", "ActivateNodeRequest", "ActivateNodeResponse", (_r, pem) => ({ nodeId: [...this.keys].find(([, k]) => k === pem)?.[0] }));
    rpc("SendNodeHeartbeat", "SendNodeHeartbeatRequest", "SendNodeHeartbeatResponse", () => ({ success: true }));
    rpc("DeactivateNode", "DeactivateNodeRequest", "DeactivateNodeResponse", () => ({}));
    rpc("UnregisterNode", "UnregisterNodeFleetRequest", "UnregisterNodeFleetResponse", (r) => {
      this.keys.delete(r.nodeId as string);
      return {};
    });
    rpc("PullMessages", "PullMessagesRequest", "PullMessagesResponse", () => {
      const next = this.queue.shift();
      if (!next) return { messagesList: [], messageObjectTrees: [] };
      for (const [id, c] of next.objects) this.store.set(id, c);
      return { messagesList: [{ ...next.header, content: {} }], messageObjectTrees: [next.tree] };
    });
    rpc("PullObject", "PullObjectRequest", "PullObjectResponse", (r) => {
      const c = this.store.get(r.objectId as string);
      return c ? { objectFound: true, objectAvailable: true, objectContent: c } : { objectFound: false };
    });
    rpc("ConfirmMessageReceived", "ConfirmMessageReceivedRequest", "ConfirmMessageReceivedResponse", () => ({}));
    rpc("PushMessages", "PushMessagesRequest", "PushMessagesResponse", (r) => {
      const header = (r.messagesList as Record<string, unknown>[])[0];
      const tree = (r.messageObjectTrees as Record<string, unknown>[])[0];
      const toTree = (t: Record<string, unknown>): ObjectTree => ({ objectId: t.objectId as string, children: (t.children as Record<string, unknown>[]).map(toTree) });
      this.pending = { header, tree: toTree(tree) };
      const ids = treeIds(this.pending.tree);
      const missing = ids.filter((id) => !this.store.has(id));
      this.maybeComplete();
      return { results: { [(header.metadata as { messageId: string }).messageId]: 0 }, objectsToPush: missing };
    });
    rpc("PushObject", "PushObjectRequest", "PushObjectResponse", (r) => {
      this.store.set(r.objectId as string, r.objectContent as Uint8Array);
      this.maybeComplete();
      return { stored: true };
    });
    this.server.addService(this.methods as unknown as grpc.ServiceDefinition, this.impl as unknown as grpc.UntypedServiceImplementation);
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return this.port;
  }

  private readonly methods: Record<string, object> = {};
  private readonly impl: Record<string, unknown> = {};

  private maybeComplete(): void {
    const p = this.pending;
    if (!p || !treeIds(p.tree).every((id) => this.store.has(id))) return;
    this.pending = undefined;
    this.replies.push({ header: p.header, message: inflateMessage(p.tree.objectId, this.store) });
  }

  /** Stop at once (like a killed SuperLink). */
  kill(): void {
    this.server.forceShutdown();
  }
}
