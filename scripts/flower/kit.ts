/**
 * Helpers to drive the shared Flower kit (a real flwr 1.23 SuperLink, see ../shared/flower) from
 * TypeScript tests and scripts: find flwr and the kit, pick free ports, start/stop the SuperLink,
 * submit a run of a Flower app and wait for it.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** How to enable the Flower integration tests, for skip messages. */
export const FLOWER_HOWTO =
  "set FLWR_SRC to a flwr 1.23.x source tree (framework/py of github.com/adap/flower at tag v1.23.0, kept outside the repo) " +
  "and run ../shared/flower/install-deps.sh; FEDTUNE_FLOWER_KIT overrides the kit folder (default ../shared/flower)";

/** The kit folder, or a reason why the Flower integration cannot run here. */
export function findFlowerKit(): { kit: string } | { skip: string } {
  const kit = process.env.FEDTUNE_FLOWER_KIT ?? path.resolve(__dirname, "../../../shared/flower");
  if (!fs.existsSync(path.join(kit, "superlink.sh"))) return { skip: `no Flower kit at ${kit}; ${FLOWER_HOWTO}` };
  const src = process.env.FLWR_SRC;
  if (!src) return { skip: `FLWR_SRC is not set; ${FLOWER_HOWTO}` };
  if (!fs.existsSync(path.join(src, "flwr", "__init__.py"))) return { skip: `FLWR_SRC=${src} holds no flwr package; ${FLOWER_HOWTO}` };
  const check = spawnSync(path.join(kit, "install-deps.sh"), ["--check"], { encoding: "utf8" });
  if (check.status !== 0) return { skip: `Debian packages missing (${(check.stderr || "").trim()}); run ${kit}/install-deps.sh` };
  return { kit };
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Ports of one SuperLink. */
export interface SuperLinkPorts {
  readonly fleet: number;
  readonly serverAppIo: number;
  readonly control: number;
}

/** Three distinct free ports. */
export async function freeSuperLinkPorts(): Promise<SuperLinkPorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [fleet, serverAppIo, control] = [...ports];
  return { fleet, serverAppIo, control };
}

function kitEnv(ports: SuperLinkPorts): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SUPERLINK_FLEET_PORT: String(ports.fleet),
    SUPERLINK_SERVERAPPIO_PORT: String(ports.serverAppIo),
    SUPERLINK_CONTROL_PORT: String(ports.control),
  };
}

/** Run a kit script (or an absolute path, with the kit in FEDTUNE_FLOWER_KIT) to completion; resolves to its exit code and output. */
function runScript(kit: string, script: string, args: readonly string[], ports: SuperLinkPorts): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.resolve(kit, script), args, { env: { ...kitEnv(ports), FEDTUNE_FLOWER_KIT: kit }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** TLS files of a SuperLink: flwr 1.23's --ssl-ca-certfile, --ssl-certfile and --ssl-keyfile. */
export interface SuperLinkTls {
  readonly caCertFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Is something listening on 127.0.0.1:`port`? */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Is any process of process group `pgid` alive? */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A SuperLink started by the kit in `dir`: `superlink.sh` (plain, --insecure) or, with `tls`, the
 * kit's `bin/flower-superlink` with the --ssl-* flags (superlink.sh only starts insecure ones), as
 * the leader of its own process group so that `stop()` ends it with everything it spawned.
 */
export class KitSuperLink {
  private tlsPid: number | undefined;

  /** Where the kit lives, the state folder, the ports, and the TLS files if any. */
  constructor(readonly kit: string, readonly dir: string, readonly ports: SuperLinkPorts, readonly tls?: SuperLinkTls) {}

  /** Fleet API address for SuperNodes. */
  get fleetAddress(): string {
    return `127.0.0.1:${this.ports.fleet}`;
  }

  /** Start it (waits until its ports listen). */
  async start(): Promise<void> {
    if (this.tls) return this.startTls(this.tls);
    const r = await runScript(this.kit, "superlink.sh", ["start", "--dir", this.dir], this.ports);
    if (r.code !== 0) throw new Error(`superlink.sh start failed (${r.code}): ${r.stderr}`);
  }

  private async startTls(tls: SuperLinkTls): Promise<void> {
    fs.mkdirSync(path.join(this.dir, "home"), { recursive: true });
    const log = fs.openSync(path.join(this.dir, "superlink.log"), "a");
    const at = (port: number): string => `127.0.0.1:${port}`;
    const child = spawn(
      path.join(this.kit, "bin/flower-superlink"),
      [
        "--ssl-ca-certfile", tls.caCertFile, "--ssl-certfile", tls.certFile, "--ssl-keyfile", tls.keyFile,
        "--fleet-api-type", "grpc-rere", "--fleet-api-address", at(this.ports.fleet),
        "--serverappio-api-address", at(this.ports.serverAppIo), "--control-api-address", at(this.ports.control),
        "--storage-dir", path.join(this.dir, "ffs"),
      ],
      { cwd: this.dir, detached: true, stdio: ["ignore", log, log], env: { ...kitEnv(this.ports), HOME: path.join(this.dir, "home"), FLWR_HOME: path.join(this.dir, "flwr-home") } },
    );
    fs.closeSync(log);
    child.unref();
    this.tlsPid = child.pid;
    let exited = false;
    child.once("exit", () => (exited = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`flower-superlink (TLS) exited during start-up:\n${this.logTail()}`);
      const up = await Promise.all([this.ports.fleet, this.ports.serverAppIo, this.ports.control].map(listening));
      if (up.every((u) => u)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`flower-superlink (TLS): ports not listening after 60 s:\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stop it and everything it spawned (ServerApps included). */
  async stop(): Promise<void> {
    if (this.tls) {
      const pgid = this.tlsPid;
      this.tlsPid = undefined;
      if (pgid === undefined || !groupAlive(pgid)) return;
      process.kill(-pgid, "SIGTERM");
      for (let i = 0; i < 100 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
      if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
      return;
    }
    const r = await runScript(this.kit, "superlink.sh", ["stop", "--dir", this.dir], this.ports);
    if (r.code !== 0) throw new Error(`superlink.sh stop failed (${r.code}): ${r.stderr}`);
  }

  /** Submit a run of `appDir` with run-config overrides; with `waitSeconds`, wait for it to complete. */
  async startRun(appDir: string, overrides: Record<string, string | number | boolean>, waitSeconds?: number): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = [...(waitSeconds ? [`--wait=${waitSeconds}`] : []), appDir, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`)];
    if (!this.tls) return runScript(this.kit, "start-run.sh", args, this.ports);
    // The kit's start-run.sh speaks plain gRPC only; the repo's copy adds --root-certificates.
    const script = path.resolve(__dirname, "../../flower/start-run.sh");
    return runScript(this.kit, script, ["--root-certificates", this.tls.caCertFile, ...args], this.ports);
  }

  /** The last `lines` lines of the SuperLink's log (for failure messages). */
  logTail(lines = 30): string {
    try {
      return fs.readFileSync(path.join(this.dir, "superlink.log"), "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no superlink.log)";
    }
  }
}
