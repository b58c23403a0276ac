/**
 * `fedtune supernode`: run a fedtune participant as a Flower SuperNode.
 *
 *   fedtune supernode --superlink 127.0.0.1:9092 --participant hospital-1.json [--insecure]
 *   fedtune supernode --superlink link.example.org:9092 --participant p.json --root-certificates ca.pem
 *   fedtune supernode --participant p.json --write-initial-arrays init.npz
 *
 * Exit codes: 0 after a clean stop (SIGINT/SIGTERM: the node deactivates and unregisters),
 * 1 when the SuperLink rejects the node or stays unreachable, 2 on bad arguments or config.
 */
import * as fs from "fs";
import { initBackend } from "../lib/backend";
import { encodeNpz } from "../lib/flower/npz";
import { loadParticipant } from "../lib/flower/participantApp";
import { personalisedHandler } from "../lib/flower/personalisedApp";
import { DirectoryStateStore, MemoryStateStore } from "../lib/flower/nodeStateStore";
import { readParticipantConfig } from "../lib/flower/participantConfig";
import { SuperNode } from "../lib/flower/superNode";

/** Usage text of `fedtune supernode`. */
export const SUPERNODE_USAGE = `usage: fedtune supernode --participant <config.json> (--superlink <host:port> | --write-initial-arrays <out.npz>) [options]

  --superlink HOST:PORT         Fleet API (grpc-rere) of the Flower SuperLink, e.g. 127.0.0.1:9092
  --participant FILE            participant config (JSON: id, dataset, partition, participantIndex,
                                numParticipants, seed, model, training, personalisation;
                                the experiment schema's sections, same defaults)
  --root-certificates FILE      PEM CA certificate(s): connect with TLS
  --insecure                    plain connection (default only for loopback addresses)
  --heartbeat-interval SECONDS  promised heartbeat interval, 10..1800 (default 30)
  --give-up-after SECONDS       exit when the SuperLink stays unreachable this long (default 300)
  --state-dir DIR               keep the personal state (heads, Ditto's model, FedBN's norms) in DIR, written
                                atomically each round, so that a restarted node continues its personal model
                                (default: in memory only)
  --write-initial-arrays FILE   write the model's initial weights as .npz (for the ServerApp) and exit

The personalisation method (none, local-only, fedavg-ft, fedper, fedrep, ditto, fedbn) comes from the
participant config's "personalisation" section, or from the ServerApp's config record ("personalisation").
`;

class UsageError extends Error {}

interface CliArgs {
  superlink?: string;
  participant?: string;
  rootCertificates?: string;
  insecure: boolean;
  heartbeatInterval: number;
  giveUpAfter: number;
  writeInitialArrays?: string;
  stateDir?: string;
}

function parseArgs(argv: readonly string[]): CliArgs | "help" {
  const args: CliArgs = { insecure: false, heartbeatInterval: 30, giveUpAfter: 300 };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    if (raw === "-h" || raw === "--help") return "help";
    const eq = raw.indexOf("=");
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (eq > 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const seconds = (min: number, max: number): number => {
      const v = value();
      const n = Number(v);
      if (!(Number.isFinite(n) && n >= min && n <= max)) throw new UsageError(`${flag} must be a number of seconds in [${min}, ${max}], got ${JSON.stringify(v)}`);
      return n;
    };
    switch (flag) {
      case "--superlink": args.superlink = value(); break;
      case "--participant": args.participant = value(); break;
      case "--root-certificates": args.rootCertificates = value(); break;
      case "--insecure": args.insecure = true; break;
      case "--heartbeat-interval": args.heartbeatInterval = seconds(10, 1800); break;
      case "--give-up-after": args.giveUpAfter = seconds(0, 1e9); break;
      case "--write-initial-arrays": args.writeInitialArrays = value(); break;
      case "--state-dir": args.stateDir = value(); break;
      default: throw new UsageError(`unknown argument ${JSON.stringify(raw)}`);
    }
  }
  if (!args.participant) throw new UsageError("--participant is required");
  if (!args.superlink && !args.writeInitialArrays) throw new UsageError("--superlink is required");
  if (args.superlink && !/^[^\s:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(args.superlink)) throw new UsageError(`--superlink must be HOST:PORT, got ${JSON.stringify(args.superlink)}`);
  return args;
}

function isLoopback(address: string): boolean {
  const host = address.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** Run `fedtune supernode` with `argv` (the arguments after "supernode"); resolves to the exit code. */
export async function supernodeMain(argv: readonly string[]): Promise<number> {
  let args: CliArgs | "help";
  let config;
  try {
    args = parseArgs(argv);
    if (args === "help") {
      process.stdout.write(SUPERNODE_USAGE);
      return 0;
    }
    config = readParticipantConfig(args.participant as string);
  } catch (e) {
    process.stderr.write(`fedtune supernode: ${(e as Error).message}\n`);
    if (e instanceof UsageError) process.stderr.write(SUPERNODE_USAGE);
    return 2;
  }
  let rootCertificates: Buffer | undefined;
  if (args.rootCertificates) {
    try {
      rootCertificates = fs.readFileSync(args.rootCertificates);
    } catch (e) {
      process.stderr.write(`fedtune supernode: cannot read --root-certificates ${args.rootCertificates}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  if (args.superlink && !rootCertificates && !args.insecure && !isLoopback(args.superlink)) {
    process.stderr.write(`fedtune supernode: ${args.superlink} is not a loopback address; pass --root-certificates for TLS, or --insecure to send in the clear\n`);
    return 2;
  }
  await initBackend();
  const participant = loadParticipant(config);
  if (args.writeInitialArrays) {
    fs.writeFileSync(args.writeInitialArrays, encodeNpz(participant.initialWeights));
    process.stderr.write(`fedtune supernode: wrote ${participant.initialWeights.length} initial arrays of "${config.id}" to ${args.writeInitialArrays}\n`);
    if (!args.superlink) return 0;
  }
  const superlink = args.superlink as string;
  const d = participant.data;
  process.stderr.write(
    `fedtune supernode: participant "${config.id}" (${config.dataset} share ${config.participantIndex + 1}/${config.numParticipants}: ` +
      `${d.train.y.length} train, ${d.validation.y.length} validation, ${d.test.y.length} test samples; ` +
      `personalisation ${config.personalisation?.method ?? "none"} unless the ServerApp says otherwise${args.stateDir ? `; state in ${args.stateDir}` : ""})\n`,
  );
  const node = new SuperNode({
    address: superlink,
    insecure: !rootCertificates,
    rootCertificates,
    heartbeatIntervalSeconds: args.heartbeatInterval,
    reconnect: { giveUpAfterMs: args.giveUpAfter * 1000 },
    handler: personalisedHandler(participant, {
      stateStore: args.stateDir ? new DirectoryStateStore(args.stateDir, config.id, participant.initialWeights) : new MemoryStateStore(),
    }),
    onEvent: (e) => {
      if (e.type !== "message") return;
      const r = e.report;
      const status = r.error ? `error reply (${r.error.reason})` : r.accepted ? "replied" : "reply dropped";
      process.stderr.write(
        `fedtune supernode: run ${r.runId} ${r.messageType}: ${status} in ${r.totalSeconds.toFixed(2)} s ` +
          `(handler ${r.handlerSeconds.toFixed(2)} s; ${r.bytesPulled} B in, ${r.bytesPushed} B out)\n`,
      );
    },
  });
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`fedtune supernode: second ${signal}, exiting without leaving the federation\n`);
      process.exit(130);
    }
    process.stderr.write(`fedtune supernode: ${signal}: finishing the current message, then leaving the federation (again to force)\n`);
    void node.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await node.run();
    return 0;
  } catch (e) {
    process.stderr.write(`fedtune supernode: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    participant.trainer.dispose();
  }
}

if (require.main === module) {
  supernodeMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`fedtune supernode: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
