/**
 * A personalisation method as plain data (`Personalisation.toSpec()`), so a worker thread can
 * rebuild the very method the main thread uses: `postMessage` cannot carry a class instance, its
 * kind and constructor options it can. Each method describes itself; `personalisationRegistry.ts`
 * rebuilds it (`personalisationFromSpec`), the way `Trainer.toSpec` / `Trainer.fromSpec` do.
 */

/** A JSON value (what a spec's options may hold). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** Constructor options of a method, JSON only. */
export type PersonalisationSpecOptions = { readonly [key: string]: JsonValue | undefined };

/** A personalisation method as data: registered kind plus constructor options. */
export interface PersonalisationSpec {
  /** Registered kind, e.g. "FedPer". */
  readonly kind: string;
  /** Constructor options, JSON only; they rebuild an equal method. */
  readonly options: PersonalisationSpecOptions;
  /** Module a worker loads first if it does not know `kind` (it must call `registerPersonalisation`); built-ins need none. */
  readonly module?: string;
}

/** `options[key]` if it is a number, else undefined (for `fromSpec` of a method). */
export function specNumber(options: PersonalisationSpecOptions, key: string): number | undefined {
  const v = options[key];
  return typeof v === "number" ? v : undefined;
}
