/**
 * The kernel's ZeroMQ transport (jupyter/kernels/fedtune-ts/launch.js) under the loads that broke
 * tslab's own: heartbeat pings in flight at shutdown (was "Error: Socket is closed", EBADF, exit 7
 * once the wasm backend is loaded), a burst of output (was EBUSY, lost lines and a lost idle status),
 * requests queued before the kernel has bound its sockets (was EBUSY, unanswered requests); and the
 * same through nbclient where Jupyter is installed. Every wait is for an event, with a generous ceiling.
 */
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { test } from "node:test";
import * as zmq from "zeromq";
import { channelAddress, findKernelSpec, KernelClient, launchKernel, readNotebook } from "../../lib/notebooks/index";
import { decodeMessage, encodeMessage, newMessage } from "../../lib/notebooks/wireMessage";
import { findPython, jupyterEnv } from "../../scripts/jupyter-env";
import { until } from "../until";

const ROOT = path.resolve(__dirname, "..", "..");
const SHUTDOWN_TROUBLE = /Socket is closed|EBADF|EBUSY|Socket is busy|blocked by a bind/;
const env = { FEDTUNE_QUIET: "1", FEDTUNE_BACKEND: "" };
const spec = (): ReturnType<typeof findKernelSpec> => findKernelSpec("fedtune-ts", ROOT);

test("heartbeat pings in flight at shutdown: the kernel (wasm backend loaded) exits with 0 and writes nothing", async () => {
  const kernel = await KernelClient.start(spec(), { cwd: ROOT, env });
  let replies = 0;
  let flooding = true;
  const hb = new zmq.Dealer({ linger: 0 });
  try {
    // emscripten (tfjs-backend-wasm) turns an unhandled rejection into a crash: the case seen in CI.
    const r = await kernel.execute('import { initBackend } from "./lib/backend";\nawait initBackend({ backend: "wasm" });', 300_000);
    assert.equal(r.status, "ok");
    hb.connect(channelAddress(kernel.connection, "hb"));
    // A Dealer may send many pings without waiting (a Request socket would send one at a time).
    void (async () => {
      while (flooding) {
        await hb.send(["", "ping"]);
        await new Promise((res) => setImmediate(res));
      }
    })().catch(() => undefined);
    void (async () => {
      for await (const frames of hb) if (frames[frames.length - 1].toString() === "ping") replies++;
    })().catch(() => undefined);
    await until(() => replies >= 50, "50 heartbeat echoes");
    await kernel.shutdown(60_000);
  } finally {
    flooding = false;
    hb.close();
    await kernel.kill();
  }
  assert.ok(replies >= 50, `the heartbeat answered (${replies} echoes)`);
  assert.deepEqual(kernel.exitStatus, { code: 0, signal: null }, kernel.processStderr);
  assert.doesNotMatch(kernel.processStderr, SHUTDOWN_TROUBLE);
  assert.equal(kernel.processStderr, "");
});

test("a cell printing 2,000 lines at once: every line arrives, in order, and the cell ends", async () => {
  const kernel = await KernelClient.start(spec(), { cwd: ROOT, env });
  try {
    // 2,000 sends in one event-loop turn: zeromq 6 defers the 513th, and tslab's next sends threw EBUSY.
    const r = await kernel.execute("for (let i = 0; i < 2000; i++) console.log(`line ${i}`);", 300_000);
    assert.equal(r.status, "ok");
    const text = r.messages
      .filter((m) => m.header.msg_type === "stream")
      .map((m) => String(m.content.text))
      .join("");
    assert.equal(text, Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(""));
    await kernel.shutdown(60_000);
  } finally {
    await kernel.kill();
  }
  assert.deepEqual(kernel.exitStatus, { code: 0, signal: null }, kernel.processStderr);
  assert.equal(kernel.processStderr, "");
});

test("600 requests queued before the kernel has bound its sockets are each answered once", async () => {
  const launched = await launchKernel(spec(), { cwd: ROOT, env });
  const { connection } = launched;
  let stderr = "";
  launched.process.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  launched.process.stdout?.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) => launched.process.on("exit", (code, signal) => res({ code, signal })));
  const shell = new zmq.Dealer({ linger: 0 });
  const control = new zmq.Dealer({ linger: 0 });
  const session = crypto.randomUUID();
  const answered = new Map<string, number>();
  try {
    shell.connect(channelAddress(connection, "shell"));
    control.connect(channelAddress(connection, "control"));
    // Queued in ZeroMQ before the kernel listens; it reads them in one burst once its sockets are bound.
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const msg = newMessage("kernel_info_request", session, {});
      ids.push(msg.header.msg_id);
      await shell.send(encodeMessage(msg, connection.key));
    }
    void (async () => {
      for await (const frames of shell) {
        const reply = decodeMessage(frames, connection.key);
        const parent = String(reply.parent_header.msg_id);
        answered.set(parent, (answered.get(parent) ?? 0) + 1);
      }
    })().catch(() => undefined);
    await until(() => answered.size === 600, "600 kernel_info replies", 300_000);
    assert.deepEqual([...answered.keys()].sort(), [...ids].sort());
    assert.ok([...answered.values()].every((n) => n === 1), "one reply per request");
    await control.send(encodeMessage(newMessage("shutdown_request", session, { restart: false }), connection.key));
    const exit = await Promise.race([exited, new Promise<undefined>((res) => setTimeout(() => res(undefined), 60_000).unref())]);
    assert.deepEqual(exit, { code: 0, signal: null }, stderr);
  } finally {
    shell.close();
    control.close();
    if (launched.process.exitCode === null && launched.process.signalCode === null) launched.process.kill("SIGKILL");
    fs.rmSync(path.dirname(launched.connectionFile), { recursive: true, force: true });
  }
  assert.doesNotMatch(stderr, SHUTDOWN_TROUBLE);
  assert.equal(stderr, "");
});

test("through nbclient (where Jupyter is installed): the burst arrives whole and the kernel exits with 0, its stderr clean", async (t) => {
  const python = findPython(["nbclient", "nbformat", "jupyter_client"]);
  if (!python) {
    t.skip("no Python with nbclient: this path runs where Jupyter is installed (CI installs it)");
    return;
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-nbclient-"));
  try {
    const fixture = path.join(__dirname, "fixtures", "burst-output.ipynb");
    // jupyter_client starts the kernel with this process's stderr: the kernel's own messages land in r.stderr.
    const r = spawnSync(python, [path.join(ROOT, "scripts", "run_notebooks.py"), "--no-html", "--out", out, fixture], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...jupyterEnv(), ...env },
      timeout: 600_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok in [\d.]+ s -> .*burst-output\.ipynb \(kernel exited with 0\)/);
    assert.doesNotMatch(r.stderr, SHUTDOWN_TROUBLE);
    const nb = readNotebook(path.join(out, "burst-output.ipynb"));
    const text = (id: string): string =>
      (nb.cells.find((c) => c.id === id)?.outputs ?? []).map((o) => [(o as { text?: string | string[] }).text ?? ""].flat().join("")).join("");
    assert.equal(text("burst"), Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(""));
    assert.equal(text("after"), "after the burst: wasm\n");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
