/**
 * A Flower SuperNode in TypeScript: registers with a SuperLink's Fleet API, keeps itself online
 * with heartbeats, pulls instructions and their object trees, hands each message to a handler,
 * and pushes the reply (or an error reply) with its objects. A lost SuperLink is reported and
 * re-joined with exponential backoff under a fresh key (a restarted SuperLink forgets all nodes);
 * `stop()` deactivates and unregisters the node.
 */
import * as grpc from "@grpc/grpc-js";
import { FleetApiError, FleetClient, FleetConnectionOptions, PulledMessage } from "./fleetClient";
import { treeIds } from "./inflatable";
import { deflateMessage, inflateMessage } from "./messageObjects";
import { NodeIdentity } from "./nodeIdentity";
import { ERROR_CODES, FlowerMessage, MessageError, MessageMetadata, RecordDict } from "./records";
import { plainToTlsProblem, speaksTls } from "./tlsDiagnosis";

/** Computes the reply content of one instruction; a throw becomes an error reply. */
export type MessageHandler = (message: FlowerMessage) => Promise<RecordDict> | RecordDict;

/** Reconnection policy after the SuperLink is lost. */
export interface ReconnectOptions {
  /** First wait in ms; default 1,000. */
  readonly initialDelayMs?: number;
  /** Longest wait in ms; default 30,000. */
  readonly maxDelayMs?: number;
  /** Give up (run() rejects) after this long without a SuperLink, in ms; default 300,000; 0 = at once. */
  readonly giveUpAfterMs?: number;
}

/** Options of a `SuperNode`. */
export interface SuperNodeOptions extends FleetConnectionOptions {
  /** What to do with each instruction. */
  readonly handler: MessageHandler;
  /** Seconds the node promises to send heartbeats within, in [10, 1800]; default 30. */
  readonly heartbeatIntervalSeconds?: number;
  /** Wait between empty polls in ms; default 500. */
  readonly pollIntervalMs?: number;
  readonly reconnect?: ReconnectOptions;
  /** Where progress lines go; default stderr. */
  readonly log?: (line: string) => void;
  /** Called on every event (for tests, metrics, UIs). */
  readonly onEvent?: (event: SuperNodeEvent) => void;
}

/** What a SuperNode reports about one handled instruction. */
export interface MessageReport {
  readonly runId: bigint;
  readonly messageType: string;
  readonly messageId: string;
  /** Error reply sent instead of content, if any. */
  readonly error?: MessageError;
  /** Whether the SuperLink accepted the reply. */
  readonly accepted: boolean;
  /** Bytes of object content pulled (instruction) and pushed (reply). */
  readonly bytesPulled: number;
  readonly bytesPushed: number;
  /** gRPC payload bytes sent + received for this message (pulls, confirm, push, objects). */
  readonly grpcBytes: number;
  /** Seconds spent in the handler and in total (pull to pushed). */
  readonly handlerSeconds: number;
  readonly totalSeconds: number;
}

/** Events of a SuperNode's life. */
export type SuperNodeEvent =
  | { readonly type: "connected"; readonly nodeId: bigint }
  | { readonly type: "disconnected"; readonly reason: string; readonly retryInMs: number }
  | { readonly type: "message"; readonly report: MessageReport }
  | { readonly type: "stopped" };

const HEARTBEAT_MIN = 10;
const HEARTBEAT_MAX = 1800;

/** Errors that mean "the SuperLink no longer knows this node" (e.g. it restarted): join again. */
function nodeLost(e: FleetApiError): boolean {
  return (e.code === grpc.status.UNAUTHENTICATED && /Invalid node ID/i.test(e.details)) || (e.code === grpc.status.UNKNOWN && /not found/i.test(e.details));
}

/** A TypeScript SuperNode bound to one SuperLink. */
export class SuperNode {
  /** The current node id (undefined while not registered). */
  nodeId: bigint | undefined;
  /** Reports of all handled messages, in order. */
  readonly reports: MessageReport[] = [];
  private readonly options: SuperNodeOptions;
  private readonly heartbeatSeconds: number;
  private readonly log: (line: string) => void;
  private client: FleetClient | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;

  /** Check the options; nothing connects before `run()`. */
  constructor(options: SuperNodeOptions) {
    const hb = options.heartbeatIntervalSeconds ?? 30;
    if (!(hb >= HEARTBEAT_MIN && hb <= HEARTBEAT_MAX)) {
      throw new Error(`SuperNode: heartbeatIntervalSeconds must be in [${HEARTBEAT_MIN}, ${HEARTBEAT_MAX}], got ${hb}`);
    }
    if (!options.rootCertificates && options.insecure !== true) {
      throw new Error("SuperNode: give rootCertificates for TLS, or insecure: true for a plain connection");
    }
    this.options = options;
    this.heartbeatSeconds = hb;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /**
   * Join the SuperLink and serve instructions until `stop()`. Rejects when the SuperLink rejects
   * the node, or stays unreachable longer than `reconnect.giveUpAfterMs`.
   */
  run(): Promise<void> {
    if (!this.running) this.running = this.loop();
    return this.running;
  }

  /** Finish the message in hand, stop heartbeats, deactivate and unregister; resolves when done. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.running) await this.running.catch(() => undefined);
    else await this.leave();
  }

  private async loop(): Promise<void> {
    const policy = this.options.reconnect ?? {};
    const initial = policy.initialDelayMs ?? 1000;
    const maxDelay = policy.maxDelayMs ?? 30_000;
    const giveUp = policy.giveUpAfterMs ?? 300_000;
    let delay = initial;
    let lostSince: number | undefined;
    try {
      while (!this.stopping) {
        try {
          await this.join();
          lostSince = undefined;
          delay = initial;
          await this.serve();
        } catch (e) {
          this.stopHeartbeat();
          this.closeClient();
          this.nodeId = undefined;
          if (this.stopping) break;
          if (!(e instanceof FleetApiError)) throw e;
          if (e.tlsProblem) throw new Error(`SuperNode: cannot connect to ${this.options.address}: ${e.tlsProblem.message}`);
          if (e.unreachable && !this.options.rootCertificates && (await speaksTls(this.options.address))) {
            throw new Error(`SuperNode: cannot connect to ${this.options.address}: ${plainToTlsProblem(this.options.address).message}`);
          }
          if (!e.unreachable && !nodeLost(e)) {
            throw new Error(`SuperNode: the SuperLink at ${this.options.address} rejected the node: ${e.message}`);
          }
          const now = Date.now();
          lostSince = lostSince ?? now;
          const why = e.unreachable ? `SuperLink at ${this.options.address} is unreachable (${e.message})` : `the SuperLink no longer knows this node — it probably restarted (${e.message})`;
          if (now - lostSince + delay > giveUp) {
            throw new Error(`SuperNode: ${why}; gave up after ${((now - lostSince) / 1000).toFixed(1)} s`);
          }
          this.log(`supernode: ${why}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
          this.emit({ type: "disconnected", reason: why, retryInMs: delay });
          await this.sleep(delay);
          delay = Math.min(maxDelay, delay * 2);
        }
      }
    } finally {
      await this.leave();
      this.emit({ type: "stopped" });
    }
  }

  /** Register a fresh key, activate, start heartbeats. */
  private async join(): Promise<void> {
    this.client = new FleetClient(this.options, NodeIdentity.generate());
    const registered = await this.client.registerNode();
    const activated = await this.client.activateNode(this.heartbeatSeconds);
    if (activated !== registered) throw new Error(`SuperNode: ActivateNode returned node ${activated}, RegisterNode ${registered}`);
    this.nodeId = registered;
    this.startHeartbeat();
    this.log(`supernode: connected to ${this.options.address} as node ${registered}`);
    this.emit({ type: "connected", nodeId: registered });
  }

  /** Poll and handle instructions until stopping; transport errors propagate. */
  private async serve(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 500;
    while (!this.stopping) {
      const client = this.client as FleetClient;
      const nodeId = this.nodeId as bigint;
      const pulled = await client.pullMessages(nodeId);
      if (!pulled) {
        await this.sleep(poll);
        continue;
      }
      await this.handle(client, nodeId, pulled);
    }
  }

  /** Pull the objects, confirm, run the handler, push the reply. */
  private async handle(client: FleetClient, nodeId: bigint, pulled: PulledMessage): Promise<void> {
    const t0 = Date.now();
    const grpc0 = client.traffic.bytesSent + client.traffic.bytesReceived;
    const ins = { ...pulled.metadata, messageId: pulled.tree.objectId };
    const objects = new Map<string, Uint8Array>();
    let bytesPulled = 0;
    let content: RecordDict | undefined;
    let error: MessageError | undefined;
    let handlerSeconds = 0;
    try {
      for (const id of treeIds(pulled.tree)) {
        const c = await this.pullObject(client, nodeId, ins.runId, id);
        objects.set(id, c);
        bytesPulled += c.length;
      }
      await client.confirmMessageReceived(nodeId, ins.runId, ins.messageId);
      let message: FlowerMessage | undefined;
      try {
        message = inflateMessage(ins.messageId, objects);
      } catch (e) {
        error = { code: ERROR_CODES.CLIENT_APP_RAISED_EXCEPTION, reason: `malformed message: ${(e as Error).message}` };
      }
      if (message) {
        const h0 = Date.now();
        try {
          content = await this.options.handler(message);
        } catch (e) {
          error = { code: ERROR_CODES.CLIENT_APP_RAISED_EXCEPTION, reason: `${(e as Error).name}: ${(e as Error).message}` };
        }
        handlerSeconds = (Date.now() - h0) / 1000;
      }
    } catch (e) {
      if (e instanceof FleetApiError && (e.unreachable || nodeLost(e))) {
        this.log(`supernode: lost ${ins.messageType} message ${ins.messageId.slice(0, 12)}… of run ${ins.runId} (${e.message})`);
        throw e;
      }
      // e.g. PERMISSION_DENIED (the run ended) or a missing object: nothing to reply to.
      this.log(`supernode: could not fetch ${ins.messageType} message ${ins.messageId.slice(0, 12)}… of run ${ins.runId}: ${(e as Error).message}`);
      return;
    }
    if (error) this.log(`supernode: replying to ${ins.messageType} of run ${ins.runId} with an error: ${error.reason}`);
    const { accepted, bytesPushed } = await this.reply(client, nodeId, ins, content, error);
    const report: MessageReport = {
      runId: ins.runId,
      messageType: ins.messageType,
      messageId: ins.messageId,
      error,
      accepted,
      bytesPulled,
      bytesPushed,
      grpcBytes: client.traffic.bytesSent + client.traffic.bytesReceived - grpc0,
      handlerSeconds,
      totalSeconds: (Date.now() - t0) / 1000,
    };
    this.reports.push(report);
    this.emit({ type: "message", report });
  }

  /** PullObject with Flower's retry rule for objects registered but not yet uploaded. */
  private async pullObject(client: FleetClient, nodeId: bigint, runId: bigint, id: string): Promise<Uint8Array> {
    let wait = 200;
    for (let attempt = 0; attempt < 500; attempt++) {
      const r = await client.pullObject(nodeId, runId, id);
      if (!r.found) throw new Error(`object ${id} is not on the SuperLink`);
      if (r.available) return r.content;
      await this.sleep(wait);
      wait = Math.min(10_000, wait * 2);
    }
    throw new Error(`object ${id} never became available`);
  }

  /** Build, push and upload the reply; transport errors propagate, refusals are logged. */
  private async reply(client: FleetClient, nodeId: bigint, ins: MessageMetadata, content: RecordDict | undefined, error: MessageError | undefined): Promise<{ accepted: boolean; bytesPushed: number }> {
    const createdAt = Date.now() / 1000; // seconds, as Python's time.time()
    const metadata: MessageMetadata = {
      runId: ins.runId,
      messageId: "",
      srcNodeId: nodeId,
      dstNodeId: ins.srcNodeId,
      replyToMessageId: ins.messageId,
      groupId: ins.groupId,
      ttl: ins.createdAt + ins.ttl - createdAt,
      messageType: ins.messageType,
      createdAt,
    };
    const deflated = error ? deflateMessage({ metadata, error }) : deflateMessage({ metadata, content: content ?? new Map() });
    const pushed = { ...metadata, messageId: deflated.messageId };
    let push: { accepted: boolean; objectsToPush: string[] };
    try {
      push = await client.pushMessage(nodeId, pushed, deflated.tree, error);
    } catch (e) {
      if (e instanceof FleetApiError && !(e.unreachable || nodeLost(e))) {
        this.log(`supernode: reply to ${ins.messageType} of run ${ins.runId} refused: ${e.message}`);
        return { accepted: false, bytesPushed: 0 };
      }
      throw e;
    }
    let bytesPushed = 0;
    for (const id of push.objectsToPush) {
      const c = deflated.objects.get(id);
      if (!c) throw new Error(`SuperNode: the SuperLink asked for object ${id}, which is not part of the reply`);
      if (!(await client.pushObject(nodeId, ins.runId, id, c))) this.log(`supernode: the SuperLink did not store object ${id}`);
      bytesPushed += c.length;
    }
    if (!push.accepted) this.log(`supernode: the SuperLink dropped the reply to ${ins.messageType} of run ${ins.runId} (see its log for why)`);
    return { accepted: push.accepted, bytesPushed };
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    // Python sends every (interval − 5) × U(0.7, 0.9) s; the midpoint keeps us deterministic.
    const everyMs = Math.max(1, this.heartbeatSeconds - 5) * 0.8 * 1000;
    const beat = (): void => {
      const client = this.client;
      const nodeId = this.nodeId;
      if (!client || nodeId === undefined || this.stopping) return;
      client.sendHeartbeat(nodeId, this.heartbeatSeconds).then(
        (ok) => {
          if (!ok) this.log("supernode: heartbeat not accepted");
        },
        (e: Error) => this.log(`supernode: heartbeat failed: ${e.message}`),
      );
      this.heartbeatTimer = setTimeout(beat, everyMs);
      this.heartbeatTimer.unref();
    };
    this.heartbeatTimer = setTimeout(beat, everyMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Heartbeats off first (a late heartbeat would re-activate), then deactivate and unregister. */
  private async leave(): Promise<void> {
    this.stopHeartbeat();
    const client = this.client;
    const nodeId = this.nodeId;
    if (client && nodeId !== undefined) {
      try {
        await client.deactivateNode(nodeId);
        await client.unregisterNode(nodeId);
        this.log(`supernode: node ${nodeId} deactivated and unregistered`);
      } catch (e) {
        this.log(`supernode: could not leave cleanly: ${(e as Error).message}`);
      }
    }
    this.nodeId = undefined;
    this.closeClient();
  }

  private closeClient(): void {
    this.client?.close();
    this.client = undefined;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private emit(event: SuperNodeEvent): void {
    this.options.onEvent?.(event);
  }
}
