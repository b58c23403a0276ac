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

/** Run a kit script to completion; resolves to its exit code and output. */
function runScript(kit: string, script: string, args: readonly string[], ports: SuperLinkPorts): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(kit, script), args, { env: kitEnv(ports), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A SuperLink started by the kit in `dir`. */
export class KitSuperLink {
  /** Where the kit lives, the state folder, and the ports. */
  constructor(readonly kit: string, readonly dir: string, readonly ports: SuperLinkPorts) {}

  /** Fleet API address for SuperNodes. */
  get fleetAddress(): string {
    return `127.0.0.1:${this.ports.fleet}`;
  }

  /** Start it (waits until its ports listen). */
  async start(): Promise<void> {
    const r = await runScript(this.kit, "superlink.sh", ["start", "--dir", this.dir], this.ports);
    if (r.code !== 0) throw new Error(`superlink.sh start failed (${r.code}): ${r.stderr}`);
  }

  /** Stop it and everything it spawned (ServerApps included). */
  async stop(): Promise<void> {
    const r = await runScript(this.kit, "superlink.sh", ["stop", "--dir", this.dir], this.ports);
    if (r.code !== 0) throw new Error(`superlink.sh stop failed (${r.code}): ${r.stderr}`);
  }

  /** Submit a run of `appDir` with run-config overrides; with `waitSeconds`, wait for it to complete. */
  async startRun(appDir: string, overrides: Record<string, string | number | boolean>, waitSeconds?: number): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = [...(waitSeconds ? [`--wait=${waitSeconds}`] : []), appDir, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`)];
    return runScript(this.kit, "start-run.sh", args, this.ports);
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
