/**
 * Choose the tfjs backend at run time: tfjs-node-gpu → tfjs-node → wasm → cpu.
 *
 * Why this order: the native bindings (tfjs-node[-gpu]) run TensorFlow's C++ kernels and are by
 * far the fastest, but their install script downloads libtensorflow, which fails on locked-down
 * machines; they are optional dependencies and are simply absent there. wasm is 4–25× faster than
 * the pure-JS cpu backend, and fedtune registers the gradient kernels it lacks for CNN training
 * (lib/kernels). cpu is the last resort and is always there.
 *
 * `FEDTUNE_BACKEND=<node-gpu|node|wasm|cpu>` forces one; a forced backend that cannot be loaded is
 * an error, never a silent fallback.
 */
import * as tf from "@tensorflow/tfjs";
import { registerWasmTrainingKernels } from "./kernels/index";
import { productPath } from "./kernels/native";
import { inNotebook } from "./viz/display";

/** The backends fedtune knows, fastest first. */
export const BACKEND_NAMES = ["node-gpu", "node", "wasm", "cpu"] as const;

/** One of `BACKEND_NAMES`. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What `initBackend` chose and why. */
export interface BackendInfo {
  /** fedtune's name for the backend. */
  readonly name: BackendName;
  /** tfjs's name for it (`tensorflow`, `wasm`, `cpu`). */
  readonly tfjsName: string;
  /** One sentence: why this one runs. */
  readonly reason: string;
  /** Kernels fedtune registered on top of tfjs (e.g. wasm conv gradients). */
  readonly extraKernels: readonly string[];
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Force a backend (overrides `FEDTUNE_BACKEND`). */
  readonly backend?: BackendName;
  /** Print the one-line "fedtune: backend …" message (default true, once per process). */
  readonly log?: boolean;
}

let current: Promise<BackendInfo> | undefined;
let logged = false;

/** Why a backend could not be loaded (module missing, native library missing, init failed). */
class BackendUnavailable extends Error {}

function loadModule(id: string): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(id);
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    if (/Cannot find module/.test(msg) && msg.includes(id)) throw new BackendUnavailable(`${id} is not installed`);
    throw new BackendUnavailable(`${id} cannot be loaded (${msg})`);
  }
}

async function activate(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case "node-gpu":
    case "node": {
      const pkg = name === "node-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
      loadModule(pkg);
      if (!(await tf.setBackend("tensorflow"))) throw new BackendUnavailable(`${pkg} loaded but its backend failed to start`);
      return { name, tfjsName: "tensorflow", reason: `${pkg} is installed (native TensorFlow)`, extraKernels: [] };
    }
    case "wasm": {
      loadModule("@tensorflow/tfjs-backend-wasm");
      let ok = false;
      try {
        ok = await tf.setBackend("wasm");
      } catch (e) {
        throw new BackendUnavailable(`wasm backend failed to start: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!ok) throw new BackendUnavailable("wasm backend failed to start");
      const extra = registerWasmTrainingKernels();
      return {
        name,
        tfjsName: "wasm",
        reason: "no native TensorFlow binding is installed; wasm (with fedtune's gradient kernels) is the fastest CPU backend" +
          `; matrix products: ${productPath()}`,
        extraKernels: extra,
      };
    }
    case "cpu": {
      await tf.setBackend("cpu");
      return { name, tfjsName: "cpu", reason: "pure-JS fallback", extraKernels: [] };
    }
  }
}

function parseForced(value: string | undefined, source: string): BackendName | undefined {
  if (value === undefined || value === "") return undefined;
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendName> = { tensorflow: "node", "tfjs-node": "node", "tfjs-node-gpu": "node-gpu", gpu: "node-gpu" };
  const name = (BACKEND_NAMES as readonly string[]).includes(v) ? (v as BackendName) : alias[v];
  if (!name) throw new Error(`${source}: unknown backend "${value}"; allowed: ${BACKEND_NAMES.join(", ")}`);
  return name;
}

async function choose(options: InitBackendOptions): Promise<BackendInfo> {
  const forced = options.backend ?? parseForced(process.env.FEDTUNE_BACKEND, "FEDTUNE_BACKEND");
  if (forced) {
    try {
      const info = await activate(forced);
      return { ...info, reason: `forced by ${options.backend ? "initBackend({backend})" : "FEDTUNE_BACKEND"}; ${info.reason}` };
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`fedtune: backend "${forced}" was forced but is unavailable: ${why}. Unset FEDTUNE_BACKEND to choose automatically.`);
    }
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const info = await activate(name);
      return skipped.length ? { ...info, reason: `${info.reason}; skipped: ${skipped.join("; ")}` } : info;
    } catch (e) {
      if (!(e instanceof BackendUnavailable)) throw e;
      skipped.push(`${name} (${e.message})`);
    }
  }
  throw new Error("fedtune: no tfjs backend could be started");
}

/**
 * Select and start the backend once per process (later calls return the same choice) and log it.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (!current) {
    current = choose(options).then((info) => {
      if (options.log !== false && !logged && process.env.FEDTUNE_QUIET !== "1") {
        logged = true;
        // In a notebook the line is ordinary output (stdout), not a red stderr box; in a terminal it
        // goes to stderr, keeping stdout for results.
        const line = `fedtune: backend ${info.name} — ${info.reason}`;
        if (inNotebook()) console.log(line);
        else console.error(line);
      }
      return info;
    });
    current.catch(() => {
      current = undefined;
    });
  } else if (options.backend) {
    // A second, different forced choice is a programming error worth reporting.
    return current.then((info) => {
      if (info.name !== options.backend) {
        throw new Error(`fedtune: backend already initialised as ${info.name}; cannot switch to ${options.backend} in the same process`);
      }
      return info;
    });
  }
  return current;
}

/**
 * Turn tfjs's "Kernel 'X' not registered for backend 'Y'" into a sentence that says what to do;
 * other errors pass through unchanged. `what` names the operation, e.g. "training participant-2".
 */
export function explainBackendError(e: unknown, what: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(err.message);
  if (!m) return err;
  return new Error(
    `${what}: the ${m[2]} backend has no "${m[1]}" kernel, which this model needs. ` +
      `Use another backend (FEDTUNE_BACKEND=cpu, or install @tensorflow/tfjs-node for native speed) or a model without that layer.`,
  );
}

/** The backend chosen by `initBackend`, or undefined before it ran. */
export async function backendInfo(): Promise<BackendInfo | undefined> {
  return current;
}
