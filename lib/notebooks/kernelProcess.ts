/**
 * A kernel process started from its kernelspec, as jupyter_client starts one: a connection file with
 * free loopback ports and a random HMAC key, `{connection_file}` and `{resource_dir}` substituted in
 * the spec's argv. Talking to it is the caller's business (KernelClient, or a test's raw sockets).
 */
import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { KernelSpec } from "./kernelSpec";

/** The connection file's content (Jupyter's connection info). */
export interface ConnectionInfo {
  readonly transport: "tcp";
  readonly ip: string;
  readonly shell_port: number;
  readonly iopub_port: number;
  readonly stdin_port: number;
  readonly control_port: number;
  readonly hb_port: number;
  readonly key: string;
  readonly signature_scheme: "hmac-sha256";
  readonly kernel_name: string;
}

/** Where the kernel process and its connection file are. */
export interface LaunchedKernel {
  readonly process: ChildProcess;
  readonly connection: ConnectionInfo;
  /** Inside a fresh temporary folder; remove the folder when done. */
  readonly connectionFile: string;
}

/** Options for launching a kernel process. */
export interface LaunchOptions {
  /** Working directory of the kernel process (the kernelspec's argv may change it). */
  readonly cwd?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `tcp://127.0.0.1:<port>` of one channel. */
export function channelAddress(connection: ConnectionInfo, channel: "shell" | "iopub" | "stdin" | "control" | "hb"): string {
  return `${connection.transport}://${connection.ip}:${connection[`${channel}_port`]}`;
}

/** Write a connection file and spawn the kernel of `spec` on it (stdout and stderr piped). */
export async function launchKernel(spec: KernelSpec, options: LaunchOptions = {}): Promise<LaunchedKernel> {
  const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const connection: ConnectionInfo = {
    transport: "tcp",
    ip: "127.0.0.1",
    shell_port: ports[0],
    iopub_port: ports[1],
    stdin_port: ports[2],
    control_port: ports[3],
    hb_port: ports[4],
    key: crypto.randomBytes(32).toString("hex"),
    signature_scheme: "hmac-sha256",
    kernel_name: spec.name,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-kernel-"));
  const connectionFile = path.join(dir, "kernel.json");
  fs.writeFileSync(connectionFile, JSON.stringify(connection, null, 1), { mode: 0o600 });
  const argv = spec.argv.map((a) => a.replace(/\{connection_file\}/g, connectionFile).replace(/\{resource_dir\}/g, spec.resourceDir));
  const child = spawn(argv[0], argv.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...spec.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { process: child, connection, connectionFile };
}
