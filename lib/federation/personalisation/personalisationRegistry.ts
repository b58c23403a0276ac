/**
 * Rebuilding personalisation methods from their specs (`Personalisation.toSpec()`): kind → the
 * class's `fromSpec`. The built-in methods are registered here; a method of your own calls
 * `registerPersonalisation` in a module that its `toSpec()` names (`module`), so that a worker
 * thread loading that module learns the kind too.
 */
import type { Personalisation } from "./personalisation";
import type { PersonalisationSpec, PersonalisationSpecOptions } from "./personalisationSpec";
import { NoPersonalisation } from "./noPersonalisation";
import { LocalOnly } from "./localOnly";
import { FedAvgFineTune } from "./fedAvgFineTune";
import { FedPer } from "./fedPer";
import { FedRep } from "./fedRep";
import { Ditto } from "./ditto";
import { FedBN } from "./fedBn";

/** Builds a method from the options its `toSpec()` wrote. */
export type PersonalisationFactory = (options: PersonalisationSpecOptions) => Personalisation;

const registry = new Map<string, PersonalisationFactory>();

/** Make `kind` rebuildable (worker threads call `personalisationFromSpec`); replaces an entry of the same kind. */
export function registerPersonalisation(kind: string, fromSpec: PersonalisationFactory): void {
  if (typeof kind !== "string" || kind.length === 0) throw new Error(`registerPersonalisation: kind must be a non-empty string, got "${String(kind)}"`);
  if (typeof fromSpec !== "function") throw new Error(`registerPersonalisation: fromSpec of kind "${kind}" must be a function`);
  registry.set(kind, fromSpec);
}

/** Rebuild a personalisation from its spec (loading `spec.module` first if the kind is unknown). */
export function personalisationFromSpec(spec: PersonalisationSpec): Personalisation {
  if (!registry.has(spec.kind) && spec.module) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require(spec.module);
  }
  const fromSpec = registry.get(spec.kind);
  if (!fromSpec) {
    throw new Error(`personalisationFromSpec: unknown kind "${spec.kind}"${spec.module ? ` (module ${spec.module} did not register it)` : ""}; known: ${[...registry.keys()].join(", ")}`);
  }
  return fromSpec(spec.options);
}

/**
 * `personalisation.toSpec()`, checked to rebuild an object of the same class: a subclass that
 * inherits its parent's `toSpec` would otherwise be rebuilt as the parent, silently. Errors name
 * the method and its class.
 */
export function checkedSpec(personalisation: Personalisation): PersonalisationSpec {
  const ctor = (personalisation as object).constructor;
  const className = typeof ctor === "function" && ctor.name ? ctor.name : "(anonymous)";
  const spec = personalisation.toSpec();
  let rebuilt: Personalisation;
  try {
    rebuilt = personalisationFromSpec(spec);
  } catch (e) {
    throw new Error(`personalisation "${personalisation.name}" (class ${className}) cannot be rebuilt from its spec: ${e instanceof Error ? e.message : String(e)}`);
  }
  const rebuiltClass = (rebuilt as object).constructor;
  if (rebuiltClass !== ctor) {
    throw new Error(
      `personalisation "${personalisation.name}" (class ${className}) describes itself as kind "${spec.kind}", which rebuilds class ${rebuiltClass.name}; ` +
        `give class ${className} its own toSpec() and call registerPersonalisation(kind, fromSpec) in the module its spec names`,
    );
  }
  return spec;
}

registerPersonalisation("NoPersonalisation", NoPersonalisation.fromSpec);
registerPersonalisation("LocalOnly", LocalOnly.fromSpec);
registerPersonalisation("FedAvgFineTune", FedAvgFineTune.fromSpec);
registerPersonalisation("FedPer", FedPer.fromSpec);
registerPersonalisation("FedRep", FedRep.fromSpec);
registerPersonalisation("Ditto", Ditto.fromSpec);
registerPersonalisation("FedBN", FedBN.fromSpec);
