/**
 * A Jupyter kernel started from its kernelspec (kernelProcess.ts) and driven over ZeroMQ, without
 * Python: talks on the shell, control and iopub channels, and shuts it down with a `shutdown_request`
 * (killing it only if it does not exit). `zeromq` is the same package tslab's kernel side uses.
 */
import { ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as zmq from "zeromq";
import { channelAddress, ConnectionInfo, launchKernel, LaunchOptions } from "./kernelProcess";
import { KernelSpec } from "./kernelSpec";
import { decodeMessage, encodeMessage, JupyterMessage, newMessage } from "./wireMessage";

/** What one `execute_request` produced. */
export interface ExecuteResult {
  /** `execute_reply` status: "ok", "error" or "abort". */
  readonly status: string;
  readonly executionCount: number | null;
  /** The iopub messages answering this request, in arrival order (status messages left out). */
  readonly messages: readonly JupyterMessage[];
  readonly reply: JupyterMessage;
}

/** Options for starting a kernel. */
export interface KernelStartOptions extends LaunchOptions {
  /** How long to wait for the kernel to answer kernel_info (ms). */
  readonly startTimeoutMs?: number;
}

interface Pending {
  readonly messages: JupyterMessage[];
  reply?: JupyterMessage;
  idle: boolean;
  readonly done: (m: { reply: JupyterMessage; messages: JupyterMessage[] }) => void;
}

const KEEP_STDERR = 16_384;

/** A running kernel. */
export class KernelClient {
  /** kernel_info_reply content (language_info, implementation, …). */
  kernelInfo: Record<string, unknown> = {};
  private readonly session = crypto.randomUUID();
  private readonly pending = new Map<string, Pending>();
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  // No high-water mark: a SUB socket drops what arrives beyond it (default 1,000 messages) while we read.
  private readonly iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
  private exited: { code: number | null; signal: string | null } | undefined;
  private exitWaiters: (() => void)[] = [];
  private stderrTail = "";
  private closed = false;

  private readonly key: string;

  private constructor(
    private readonly proc: ChildProcess,
    /** Ports and key of this kernel, for other clients to attach (a heartbeat monitor, a console). */
    readonly connection: ConnectionInfo,
    private readonly connectionFile: string,
    readonly spec: KernelSpec,
  ) {
    this.key = connection.key;
  }

  /** Start the kernel described by `spec` and wait until it answers. */
  static async start(spec: KernelSpec, options: KernelStartOptions = {}): Promise<KernelClient> {
    const { process: proc, connection, connectionFile } = await launchKernel(spec, options);
    const client = new KernelClient(proc, connection, connectionFile, spec);
    client.watchProcess();
    client.shell.connect(channelAddress(connection, "shell"));
    client.control.connect(channelAddress(connection, "control"));
    client.iopub.connect(channelAddress(connection, "iopub"));
    client.iopub.subscribe();
    void client.readLoop(client.shell);
    void client.readLoop(client.control);
    void client.readLoop(client.iopub);
    try {
      await client.waitUntilReady(options.startTimeoutMs ?? 60_000);
    } catch (e) {
      await client.shutdown();
      throw e;
    }
    return client;
  }

  /** The last lines the kernel process wrote to its own stderr (not to a cell). */
  get processStderr(): string {
    return this.stderrTail;
  }

  /** The process's exit, once it has exited. */
  get exitStatus(): { code: number | null; signal: string | null } | undefined {
    return this.exited;
  }

  private watchProcess(): void {
    const keep = (b: Buffer): void => {
      this.stderrTail = (this.stderrTail + b.toString("utf8")).slice(-KEEP_STDERR);
    };
    this.proc.stderr?.on("data", keep);
    this.proc.stdout?.on("data", keep);
    this.proc.on("exit", (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.exitWaiters.splice(0)) w();
    });
    this.proc.on("error", (e) => {
      this.stderrTail += `\n${e.message}`;
      this.exited = { code: null, signal: null };
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  private async readLoop(sock: zmq.Dealer | zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, this.key);
        } catch {
          continue; // not ours or corrupt: ignore, as jupyter_client does
        }
        this.dispatch(msg, sock === this.iopub);
      }
    } catch (e) {
      if (!this.closed) this.stderrTail += `\n(kernel client: ${e instanceof Error ? e.message : String(e)})`;
    }
  }

  private dispatch(msg: JupyterMessage, fromIopub: boolean): void {
    const parentId = msg.parent_header.msg_id;
    const p = parentId ? this.pending.get(parentId) : undefined;
    if (!p) return;
    if (!fromIopub) p.reply = msg;
    else if (msg.header.msg_type === "status") {
      if (msg.content.execution_state === "idle") p.idle = true;
    } else p.messages.push(msg);
    if (p.reply && p.idle) {
      this.pending.delete(parentId as string);
      p.done({ reply: p.reply, messages: p.messages });
    }
  }

  private exitPromise(): Promise<void> {
    return this.exited ? Promise.resolve() : new Promise((r) => this.exitWaiters.push(r));
  }

  private describeExit(): string {
    const e = this.exited;
    const how = e ? (e.signal ? `killed by ${e.signal}` : `exited with code ${e.code}`) : "stopped answering";
    const tail = this.stderrTail.trim().split("\n").slice(-15).join("\n");
    return `kernel "${this.spec.name}" ${how}${tail ? `; its last output:\n${tail}` : ""}`;
  }

  /** Send `msg` on shell (or control) and wait for its reply and the kernel's idle status. */
  private request(
    msg: JupyterMessage,
    timeoutMs: number,
    channel: "shell" | "control" = "shell",
  ): Promise<{ reply: JupyterMessage; messages: JupyterMessage[] }> {
    if (this.exited) return Promise.reject(new Error(this.describeExit()));
    return new Promise((resolve, reject) => {
      const id = msg.header.msg_id;
      let timer: NodeJS.Timeout | undefined;
      const onExit = (): void => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new Error(this.describeExit()));
      };
      this.exitWaiters.push(onExit);
      this.pending.set(id, {
        messages: [],
        idle: false,
        done: (m) => {
          clearTimeout(timer);
          this.exitWaiters = this.exitWaiters.filter((w) => w !== onExit);
          resolve(m);
        },
      });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.pending.delete(id);
          this.exitWaiters = this.exitWaiters.filter((w) => w !== onExit);
          reject(new KernelTimeoutError(`${msg.header.msg_type} got no answer within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      const sock = channel === "shell" ? this.shell : this.control;
      sock.send(encodeMessage(msg, this.key)).catch((e: unknown) => {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      });
    });
  }

  /**
   * iopub is a PUB/SUB channel: messages published before our subscription reaches the kernel are
   * lost. Ask kernel_info until both its reply and its iopub status arrive (jupyter_client does the same).
   */
  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.exited) throw new Error(this.describeExit());
      try {
        const { reply } = await this.request(newMessage("kernel_info_request", this.session, {}), Math.min(2_000, end - Date.now()));
        this.kernelInfo = reply.content;
        return;
      } catch (e) {
        if (!(e instanceof KernelTimeoutError)) throw e;
      }
    }
    throw new Error(`kernel "${this.spec.name}" did not answer within ${timeoutMs / 1000} s. ${this.describeExit()}`);
  }

  /** Run `code`; resolves when the kernel is idle again. Rejects with KernelTimeoutError after `timeoutMs`. */
  async execute(code: string, timeoutMs = Infinity): Promise<ExecuteResult> {
    const msg = newMessage("execute_request", this.session, {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    const { reply, messages } = await this.request(msg, timeoutMs);
    const count = reply.content.execution_count;
    return {
      status: String(reply.content.status),
      executionCount: typeof count === "number" ? count : null,
      messages,
      reply,
    };
  }

  /**
   * Ask the kernel to shut down (control channel), wait for it to exit, kill it if it does not
   * within `graceMs`, close the sockets and remove the connection file. Safe to call twice.
   */
  async shutdown(graceMs = 10_000): Promise<void> {
    if (!this.exited) {
      try {
        await this.request(newMessage("shutdown_request", this.session, { restart: false }), graceMs / 2, "control");
      } catch {
        // no answer: the kill below handles it
      }
      const exited = await Promise.race([this.exitPromise().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs / 2).unref())]);
      if (!exited) {
        this.proc.kill("SIGTERM");
        const gone = await Promise.race([this.exitPromise().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2_000).unref())]);
        if (!gone) {
          this.proc.kill("SIGKILL");
          await this.exitPromise();
        }
      }
    }
    if (!this.closed) {
      this.closed = true;
      this.shell.close();
      this.control.close();
      this.iopub.close();
      fs.rmSync(path.dirname(this.connectionFile), { recursive: true, force: true });
    }
  }

  /** Kill the kernel process now (after a timeout) and release everything. */
  async kill(): Promise<void> {
    if (!this.exited) {
      this.proc.kill("SIGKILL");
      await this.exitPromise();
    }
    await this.shutdown();
  }
}

/** A request got no answer in time. */
export class KernelTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelTimeoutError";
  }
}
