// @ts-check
/**
 * Starts tslab's TypeScript kernel (the project's pinned tslab 1.0.22) with a ZeroMQ transport that
 * keeps zeromq 6's rules. Usage (from kernel.json): `node launch.js <connection_file>`, with the
 * project root as working directory.
 *
 * Why: tslab's `ZmqServer` sends fire-and-forget (`sock.send(...)`, never awaited), written for
 * zeromq 5. zeromq 6 allows one send in flight per socket and answers any other with an exception:
 *  - EBADF "Socket is closed": a heartbeat ping that arrives as the kernel shuts down is echoed on
 *    the closed heartbeat socket. The rejection is unhandled, and once tfjs-backend-wasm is loaded
 *    (emscripten rethrows unhandled rejections) the kernel dies with exit code 7 instead of 0 —
 *    seen with nbclient (jupyter_client pings the heartbeat every second).
 *  - EBUSY "Socket is busy writing": after 512 sends in one event-loop turn zeromq defers the next
 *    one, and every further send throws. A cell printing ~500 lines at once loses the rest of its
 *    output and its `idle` status, so a client waits for the cell until its timeout.
 *  - EBUSY "Socket is blocked by a bind or unbind operation": tslab starts its receive loops before
 *    binding; a request that arrives while iopub is still binding is never answered.
 * The fix lives here, not in a patch to node_modules: no install hook to maintain (works with
 * `npm ci --ignore-scripts` and for every consumer), and it uses tslab only through the classes it
 * exports (`ZmqServer`, `JupyterHandlerImpl`, `createExecutor`, `createConverter`). Everything else
 * (message handling, execution, completion) is tslab's own. `startKernel` below is tslab's, minus
 * the look-up of another tslab installation (this launcher always runs the project's).
 */
"use strict";
const fs = require("fs");
const { createConverter } = require("tslab/dist/converter");
const { createExecutor } = require("tslab/dist/executor");
const { JupyterHandlerImpl, ZmqServer } = require("tslab/dist/jupyter");

/** Write to the kernel's own stderr (tslab redirects process.stderr into the notebook's cell). @param {string} text */
function logToKernelStderr(text) {
  try {
    fs.writeSync(2, `fedtune-ts kernel: ${text}\n`);
  } catch {
    // stderr gone: nothing left to tell
  }
}

/** @param {unknown} e */
const messageOf = (e) => (e instanceof Error ? e.message : String(e));

/** @typedef {import("zeromq").Publisher | import("zeromq").Router | import("zeromq").Reply} KernelSocket */
/** @typedef {Parameters<import("zeromq").Router["send"]>[0]} Frames */

/**
 * One socket's sends, one at a time and in order, as zeromq 6 requires. After `close()` the queued
 * messages are still sent (a shutdown_reply, the last idle status), then the socket is closed; later
 * sends are dropped, since nobody can receive them.
 */
class SerialSender {
  /** @param {KernelSocket} socket @param {string} name */
  constructor(socket, name) {
    this.socket = socket;
    this.name = name;
    this.closing = false;
    /** @type {Promise<void>} */
    this.tail = Promise.resolve();
  }

  /** Queue one multipart message; resolves when zeromq has taken it (never rejects). @param {Frames} frames */
  send(frames) {
    if (this.closing) return Promise.resolve();
    this.tail = this.tail
      .then(() => (this.socket.closed ? undefined : this.socket.send(frames)))
      .catch((e) => logToKernelStderr(`could not send on ${this.name}: ${messageOf(e)}`));
    return this.tail;
  }

  /** Send what is queued, then close the socket. Safe to call twice. */
  close() {
    if (this.closing) return;
    this.closing = true;
    void this.tail.then(() => this.socket.close());
  }
}

/**
 * Receive on `socket` until it (or its sender) is closed; `handle` each multipart message.
 * @param {import("zeromq").Router | import("zeromq").Reply} socket @param {SerialSender} sender
 * @param {(frames: Buffer[]) => unknown} handle
 */
async function receiveEach(socket, sender, handle) {
  while (!sender.closing && !socket.closed) {
    let frames;
    try {
      frames = await socket.receive();
    } catch (e) {
      if (sender.closing || socket.closed) return;
      throw e;
    }
    if (sender.closing) return;
    await handle(frames);
  }
}

/** tslab's ZmqServer with bind-before-receive and serialized sends (see the file comment). */
class SerialZmqServer extends ZmqServer {
  /** Bind the five sockets, then start receiving (tslab receives first, then binds). @override */
  async init() {
    const conn = JSON.parse(fs.readFileSync(this.configPath, "utf-8"));
    this.connInfo = conn;
    const zmq = require("zeromq");
    const sockets = {
      // No high-water mark on iopub: a PUB socket silently drops messages beyond it (default 1,000), so a
      // cell printing thousands of lines at once lost its tail whenever the client read slower than that.
      iopub: new zmq.Publisher({ sendHighWaterMark: 0 }),
      shell: new zmq.Router(),
      control: new zmq.Router(),
      stdin: new zmq.Router(),
      hb: new zmq.Reply(),
    };
    // Bind everything before the first message is read, so no reply can meet a socket mid-bind.
    await Promise.all(
      Object.entries(sockets).map(([name, sock]) => sock.bind(`${conn.transport}://${conn.ip}:${conn[`${name}_port`]}`)),
    );
    const senders = {
      iopub: new SerialSender(sockets.iopub, "iopub"),
      shell: new SerialSender(sockets.shell, "shell"),
      control: new SerialSender(sockets.control, "control"),
      stdin: new SerialSender(sockets.stdin, "stdin"),
      hb: new SerialSender(sockets.hb, "heartbeat"),
    };
    // tslab's handlers only call send() and close() on these fields: give them the serial senders
    // (typed as zeromq sockets in tslab's declarations, hence the casts).
    const asSocket = (/** @type {SerialSender} */ s) => /** @type {any} */ (s);
    this.iopub = asSocket(senders.iopub);
    this.shell = asSocket(senders.shell);
    this.control = asSocket(senders.control);
    this.stdin = asSocket(senders.stdin);
    this.hb = asSocket(senders.hb);
    /** @param {string} name @param {Promise<void>} receiving */
    const loop = (name, receiving) => receiving.catch((e) => logToKernelStderr(`${name} channel stopped: ${messageOf(e)}`));
    // As in tslab, shell and control messages are not awaited one by one (the handler queues executions).
    /** @param {SerialSender} sender @returns {(frames: Buffer[]) => void} */
    const dispatch = (sender) => (frames) => {
      this.handleShellMessage(asSocket(sender), ...frames).catch((e) => logToKernelStderr(`${sender.name} message failed: ${messageOf(e)}`));
    };
    void loop("shell", receiveEach(sockets.shell, senders.shell, dispatch(senders.shell)));
    void loop("control", receiveEach(sockets.control, senders.control, dispatch(senders.control)));
    // The heartbeat echoes each ping; a Reply socket must send before it receives again.
    void loop("heartbeat", receiveEach(sockets.hb, senders.hb, (frames) => senders.hb.send(frames)));
  }
}

/** Start the TypeScript kernel on the connection file `configPath` (tslab's startKernel, project-local). @param {string} configPath */
function startKernel(configPath) {
  /** @type {ReturnType<typeof createConverter> | undefined} */
  let node;
  /** @type {ReturnType<typeof createConverter> | undefined} */
  let browser;
  const convs = {
    get node() {
      return (node ??= createConverter({ isJS: false, isBrowser: false }));
    },
    get browser() {
      return (browser ??= createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
  void convs.node; // warm the converter, as tslab does
  const executor = createExecutor(process.cwd(), convs, { log: console.log, error: console.error });
  const server = new SerialZmqServer(new JupyterHandlerImpl(executor, false), configPath);
  process.on("SIGINT", () => executor.interrupt());
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  server.init().catch((e) => {
    logToKernelStderr(`could not start on ${configPath}: ${messageOf(e)}`);
    process.exit(1);
  });
}

const configPath = process.argv[2];
if (!configPath) {
  logToKernelStderr("usage: node launch.js <connection_file>");
  process.exit(2);
}
startKernel(configPath);
