/**
 * Personalisation methods as plain data, so a worker thread can rebuild the one the main thread
 * uses. A `Personalisation` is a class instance (methods, cached masks), which `postMessage`
 * cannot carry; its kind and constructor options can. Built-in methods are registered here;
 * a method of your own is registered with `registerPersonalisation`, in a module the worker
 * also loads (its `module` path).
 *
 * The built-in entries read the constructor options back from the instance. Some of them are
 * private fields (FedRep's epochs, Ditto's personalEpochs): they are read by name until the
 * classes grow a `describe()` method of their own.
 */
import type { Personalisation } from "../federation/personalisation/personalisation";
import {
  Ditto,
  FedAvgFineTune,
  FedBN,
  FedPer,
  FedRep,
  LocalOnly,
  NoPersonalisation,
} from "../federation/personalisation/index";

/** A JSON value (what a spec's options may hold). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** A personalisation method as data: registered kind plus constructor options. */
export interface PersonalisationSpec {
  /** Registered kind, e.g. "FedPer". */
  readonly kind: string;
  /** Constructor options, JSON only. */
  readonly options: { readonly [key: string]: JsonValue | undefined };
  /** Module the worker loads first if it does not know `kind` (it must call `registerPersonalisation`). */
  readonly module?: string;
}

/** How one personalisation class is described and rebuilt. */
export interface PersonalisationKind<P extends Personalisation = Personalisation> {
  /** Unique name of the kind (usually the class name). */
  readonly kind: string;
  /** The class; an instance matches only if its constructor is exactly this one (subclasses need their own entry). */
  readonly type: abstract new (...args: never[]) => P;
  /** The options that rebuild an equal instance. */
  describe(instance: P): PersonalisationSpec["options"];
  /** Build an instance from `describe`'s options. */
  create(options: PersonalisationSpec["options"]): P;
  /** Absolute path of the module that registers this kind (for workers); built-ins need none. */
  readonly module?: string;
}

const registry = new Map<string, PersonalisationKind>();

/** Make a personalisation class describable and rebuildable (for worker threads); replaces an entry of the same kind. */
export function registerPersonalisation<P extends Personalisation>(entry: PersonalisationKind<P>): void {
  if (typeof entry.kind !== "string" || entry.kind.length === 0) throw new Error(`registerPersonalisation: kind must be a non-empty string, got "${String(entry.kind)}"`);
  registry.set(entry.kind, entry as unknown as PersonalisationKind);
}

/** The spec of `personalisation`; errors name the class when it is not registered. */
export function describePersonalisation(personalisation: Personalisation): PersonalisationSpec {
  const ctor = (personalisation as object).constructor;
  for (const entry of registry.values()) {
    if (entry.type === ctor) {
      const spec: PersonalisationSpec = { kind: entry.kind, options: entry.describe(personalisation) };
      return entry.module ? { ...spec, module: entry.module } : spec;
    }
  }
  const name = typeof ctor === "function" && ctor.name ? ctor.name : "(anonymous)";
  throw new Error(
    `describePersonalisation: personalisation "${personalisation.name}" (class ${name}) is not registered; ` +
      `call registerPersonalisation({ kind, type, describe, create, module }) so worker threads can rebuild it`,
  );
}

/** Rebuild a personalisation from its spec (loading `spec.module` first if the kind is unknown). */
export function personalisationFromSpec(spec: PersonalisationSpec): Personalisation {
  if (!registry.has(spec.kind) && spec.module) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(spec.module);
  }
  const entry = registry.get(spec.kind);
  if (!entry) {
    throw new Error(`personalisationFromSpec: unknown kind "${spec.kind}"${spec.module ? ` (module ${spec.module} did not register it)` : ""}; known: ${[...registry.keys()].join(", ")}`);
  }
  return entry.create(spec.options);
}


function num(options: PersonalisationSpec["options"], key: string): number | undefined {
  const v = options[key];
  return typeof v === "number" ? v : undefined;
}

registerPersonalisation({ kind: "NoPersonalisation", type: NoPersonalisation, describe: () => ({}), create: () => new NoPersonalisation() });
registerPersonalisation({ kind: "LocalOnly", type: LocalOnly, describe: () => ({}), create: () => new LocalOnly() });
registerPersonalisation({ kind: "FedBN", type: FedBN, describe: () => ({}), create: () => new FedBN() });
registerPersonalisation({
  kind: "FedPer",
  type: FedPer,
  describe: (p) => ({ headLayers: p.headLayers }),
  create: (o) => new FedPer({ headLayers: num(o, "headLayers") }),
});
registerPersonalisation({
  kind: "FedRep",
  type: FedRep,
  describe: (p) => ({ headLayers: p.headLayers, headEpochs: p.headEpochs, bodyEpochs: p.bodyEpochs }),
  create: (o) => new FedRep({ headLayers: num(o, "headLayers"), headEpochs: num(o, "headEpochs"), bodyEpochs: num(o, "bodyEpochs") }),
});
registerPersonalisation({
  kind: "Ditto",
  type: Ditto,
  describe: (p) => ({ lambda: p.lambda, personalEpochs: p.personalEpochs }),
  create: (o) => new Ditto({ lambda: num(o, "lambda"), personalEpochs: num(o, "personalEpochs") }),
});
registerPersonalisation({
  kind: "FedAvgFineTune",
  type: FedAvgFineTune,
  describe: (p) => ({ fineTune: JSON.parse(JSON.stringify(p.fineTune)) as JsonValue }),
  create: (o) => new FedAvgFineTune(o.fineTune as ConstructorParameters<typeof FedAvgFineTune>[0]),
});
