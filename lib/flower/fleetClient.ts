/**
 * A typed client for Flower's Fleet API (`flwr.proto.Fleet`, flwr ≥ 1.23) over @grpc/grpc-js:
 * one method per RPC a SuperNode uses, every call signed by the node's identity. Ids are bigints
 * (uint64 on the wire). Failures raise `FleetApiError` carrying the gRPC status and the RPC name.
 */
import * as grpc from "@grpc/grpc-js";
import type { ObjectTree } from "./inflatable";
import { AUTH_METADATA_KEYS, NodeIdentity } from "./nodeIdentity";
import { decodeProto, encodeProto } from "./protoSchema";
import type { MessageError, MessageMetadata } from "./records";
import { fleetTlsCredentials } from "./tlsCredentials";
import { diagnoseTlsError, TlsProblem } from "./tlsDiagnosis";

/** Where and how to reach a SuperLink's Fleet API. */
export interface FleetConnectionOptions {
  /** "host:port" of the Fleet API (grpc-rere), e.g. "127.0.0.1:9092". */
  readonly address: string;
  /** PEM root certificate(s) for TLS; without them the channel is plain (`insecure` must be true). */
  readonly rootCertificates?: Uint8Array;
  /** Use plain HTTP/2; only sensible on loopback or a trusted network. */
  readonly insecure?: boolean;
  /** Deadline of each call in milliseconds; default 60,000. */
  readonly callTimeoutMs?: number;
}

/** A failed Fleet API call. */
export class FleetApiError extends Error {
  /** gRPC status code (grpc.status). */
  readonly code: number;
  /** The RPC that failed, e.g. "PullMessages". */
  readonly rpc: string;
  /** The server's (or transport's) detail text. */
  readonly details: string;

  /** Set when the connection failed on TLS (untrusted certificate, plain peer): retrying will not help. */
  readonly tlsProblem: TlsProblem | undefined;

  /** Wrap a gRPC failure of `rpc`; `tlsProblem` replaces the transport's text when the handshake failed. */
  constructor(rpc: string, code: number, details: string, tlsProblem?: TlsProblem) {
    super(tlsProblem ? `Fleet.${rpc} failed: ${tlsProblem.message}` : `Fleet.${rpc} failed: ${grpc.status[code] ?? code} ${JSON.stringify(details)}`);
    this.name = "FleetApiError";
    this.rpc = rpc;
    this.code = code;
    this.details = details;
    this.tlsProblem = tlsProblem;
  }

  /**
   * True when the SuperLink could not be reached (down, restarting, wrong address), not for TLS
   * problems. CANCELLED counts: this client never cancels a call, so it is the server cancelling
   * the calls in flight as it shuts down (a SuperLink stopped during a PushObject). So does an INTERNAL
   * that grpc-js made from the HTTP/2 stream being reset under a call ("Received RST_STREAM …": the
   * SuperLink's process ended mid-call); an INTERNAL the server itself returned stays a refusal.
   */
  get unreachable(): boolean {
    const transient: number[] = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED];
    const streamReset = this.code === grpc.status.INTERNAL && /^Received RST_STREAM/.test(this.details);
    return !this.tlsProblem && (transient.includes(this.code) || streamReset);
  }
}

/** The message header returned by `PullMessages`, with its object tree. */
export interface PulledMessage {
  readonly metadata: MessageMetadata;
  readonly tree: ObjectTree;
}

/** Result of `PullObject`. */
export interface PulledObject {
  readonly found: boolean;
  readonly available: boolean;
  readonly content: Uint8Array;
}

/** Byte counters of the serialized requests and responses of one client. */
export interface TrafficCounters {
  bytesSent: number;
  bytesReceived: number;
}

function toTree(t: Record<string, unknown>): ObjectTree {
  return { objectId: String(t.objectId), children: ((t.children as Record<string, unknown>[]) ?? []).map(toTree) };
}

function toMetadata(md: Record<string, unknown>): MessageMetadata {
  return {
    runId: BigInt(md.runId as string),
    messageId: String(md.messageId),
    srcNodeId: BigInt(md.srcNodeId as string),
    dstNodeId: BigInt(md.dstNodeId as string),
    replyToMessageId: String(md.replyToMessageId),
    groupId: String(md.groupId),
    ttl: Number(md.ttl),
    messageType: String(md.messageType),
    createdAt: Number(md.createdAt),
  };
}

/** One signed gRPC channel to a SuperLink's Fleet API. */
export class FleetClient {
  /** Bytes of every request sent and response received (protobuf payloads). */
  readonly traffic: TrafficCounters = { bytesSent: 0, bytesReceived: 0 };
  private readonly client: grpc.Client;
  private readonly identity: NodeIdentity;
  private readonly callTimeoutMs: number;
  private readonly address: string;
  /** The last failed TLS handshake (cleared by a successful one). */
  private lastTlsError: Error | undefined;

  /** Open a channel (lazily connected) to `options.address`, signing calls with `identity`. */
  constructor(options: FleetConnectionOptions, identity: NodeIdentity) {
    if (!/^[^\s]+:\d+$/.test(options.address)) throw new Error(`FleetClient: address must be "host:port", got ${JSON.stringify(options.address)}`);
    if (!options.rootCertificates && options.insecure !== true) {
      throw new Error("FleetClient: give rootCertificates for TLS, or insecure: true for a plain connection");
    }
    const credentials = options.rootCertificates
      ? fleetTlsCredentials(options.rootCertificates, options.address, (e) => (this.lastTlsError = e))
      : grpc.credentials.createInsecure();
    this.address = options.address;
    this.client = new grpc.Client(options.address, credentials, {
      // Array chunks are up to 5 MiB; grpc-js refuses messages over 4 MiB by default.
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      // Fail fast and let the SuperNode's backoff decide when to retry.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2000,
    });
    this.identity = identity;
    this.callTimeoutMs = options.callTimeoutMs ?? 60_000;
  }

  /** Make one signed unary call. */
  private call(rpc: string, requestType: string, responseType: string, request: object): Promise<Record<string, unknown>> {
    const auth = this.identity.authMetadata();
    const metadata = new grpc.Metadata();
    metadata.set(AUTH_METADATA_KEYS.publicKey, auth.publicKey);
    metadata.set(AUTH_METADATA_KEYS.timestamp, auth.timestamp);
    metadata.set(AUTH_METADATA_KEYS.signature, auth.signature);
    const payload = Buffer.from(encodeProto(requestType, request));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        `/flwr.proto.Fleet/${rpc}`,
        (b) => b,
        (b) => b,
        payload,
        metadata,
        { deadline: Date.now() + this.callTimeoutMs },
        (err, response) => {
          if (err) {
            const tlsProblem = err.code === grpc.status.UNAVAILABLE && this.lastTlsError ? diagnoseTlsError(this.lastTlsError, this.address) : undefined;
            return reject(new FleetApiError(rpc, err.code, err.details ?? err.message, tlsProblem));
          }
          if (!response) return reject(new FleetApiError(rpc, grpc.status.INTERNAL, "empty response"));
          this.traffic.bytesSent += payload.length;
          this.traffic.bytesReceived += response.length;
          try {
            resolve(decodeProto(responseType, response));
          } catch (e) {
            reject(new FleetApiError(rpc, grpc.status.INTERNAL, `undecodable response: ${(e as Error).message}`));
          }
        },
      );
    });
  }

  /** `RegisterNode`: register this identity's public key; returns the node id. */
  async registerNode(): Promise<bigint> {
    const r = await this.call("RegisterNode", "RegisterNodeFleetRequest", "RegisterNodeFleetResponse", { publicKey: this.identity.publicKeyPem });
    return BigInt(r.nodeId as string);
  }

  /** `ActivateNode`: mark the node online for 2 × `heartbeatIntervalSeconds`; returns the node id. */
  async activateNode(heartbeatIntervalSeconds: number): Promise<bigint> {
    const r = await this.call("ActivateNode", "ActivateNodeRequest", "ActivateNodeResponse", {
      publicKey: this.identity.publicKeyPem,
      heartbeatInterval: heartbeatIntervalSeconds,
    });
    return BigInt(r.nodeId as string);
  }

  /** `SendNodeHeartbeat`: extend the node's online time; returns the server's success flag. */
  async sendHeartbeat(nodeId: bigint, heartbeatIntervalSeconds: number): Promise<boolean> {
    const r = await this.call("SendNodeHeartbeat", "SendNodeHeartbeatRequest", "SendNodeHeartbeatResponse", {
      node: { nodeId },
      heartbeatInterval: heartbeatIntervalSeconds,
    });
    return r.success === true;
  }

  /** `PullMessages`: the next instruction for this node, or undefined when there is none. */
  async pullMessages(nodeId: bigint): Promise<PulledMessage | undefined> {
    const r = await this.call("PullMessages", "PullMessagesRequest", "PullMessagesResponse", { node: { nodeId } });
    const messages = r.messagesList as Record<string, unknown>[];
    const trees = r.messageObjectTrees as Record<string, unknown>[];
    if (messages.length === 0) return undefined;
    const md = messages[0].metadata as Record<string, unknown> | null;
    if (!md) throw new FleetApiError("PullMessages", grpc.status.INTERNAL, "message without metadata");
    if (trees.length === 0) throw new FleetApiError("PullMessages", grpc.status.INTERNAL, "message without object tree");
    return { metadata: toMetadata(md), tree: toTree(trees[0]) };
  }

  /** `PullObject`: one object's content, if the SuperLink has it. */
  async pullObject(nodeId: bigint, runId: bigint, objectId: string): Promise<PulledObject> {
    const r = await this.call("PullObject", "PullObjectRequest", "PullObjectResponse", { node: { nodeId }, runId, objectId });
    return { found: r.objectFound === true, available: r.objectAvailable === true, content: new Uint8Array(r.objectContent as Uint8Array) };
  }

  /** `ConfirmMessageReceived`: let the SuperLink delete the pulled message and its objects. */
  async confirmMessageReceived(nodeId: bigint, runId: bigint, messageObjectId: string): Promise<void> {
    await this.call("ConfirmMessageReceived", "ConfirmMessageReceivedRequest", "ConfirmMessageReceivedResponse", { node: { nodeId }, runId, messageObjectId });
  }

  /**
   * `PushMessages` of one reply: `metadata.messageId` must be the reply's object id. Exactly one of
   * content (sent empty: it lives in the object store) or `error`. Returns the ids still to push.
   */
  async pushMessage(nodeId: bigint, metadata: MessageMetadata, tree: ObjectTree, error?: MessageError): Promise<{ accepted: boolean; objectsToPush: string[] }> {
    const message = error ? { metadata, error: { code: BigInt(error.code), reason: error.reason } } : { metadata, content: {} };
    const r = await this.call("PushMessages", "PushMessagesRequest", "PushMessagesResponse", {
      node: { nodeId },
      messagesList: [message],
      messageObjectTrees: [tree],
    });
    const results = (r.results ?? {}) as Record<string, number>;
    // A refused reply comes back keyed "None" without a gRPC error (see PROTOCOL.md §2.8).
    return { accepted: Object.prototype.hasOwnProperty.call(results, metadata.messageId), objectsToPush: (r.objectsToPush as string[]) ?? [] };
  }

  /** `PushObject`: upload one object the SuperLink asked for; returns its `stored` flag. */
  async pushObject(nodeId: bigint, runId: bigint, objectId: string, content: Uint8Array): Promise<boolean> {
    const r = await this.call("PushObject", "PushObjectRequest", "PushObjectResponse", { node: { nodeId }, runId, objectId, objectContent: content });
    return r.stored === true;
  }

  /** `DeactivateNode`: mark the node offline. */
  async deactivateNode(nodeId: bigint): Promise<void> {
    await this.call("DeactivateNode", "DeactivateNodeRequest", "DeactivateNodeResponse", { nodeId });
  }

  /** `UnregisterNode`: forget the node and its key. */
  async unregisterNode(nodeId: bigint): Promise<void> {
    await this.call("UnregisterNode", "UnregisterNodeFleetRequest", "UnregisterNodeFleetResponse", { nodeId });
  }

  /** Close the channel. */
  close(): void {
    this.client.close();
  }
}
