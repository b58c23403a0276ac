/**
 * The one weight-layout check: same variables (names, order, shapes, value counts). Every place that
 * needs it calls `assertSameLayout` — the round loop's structure validator, each strategy's input
 * check (so a strategy called outside the loop still names the broken participant), the
 * aggregation arithmetic, the weight arithmetic. A pair found equal is remembered (by object
 * identity; `ModelWeights` and `WeightTensor` are readonly, so a verified layout stays verified),
 * so in a round each update is compared once — by the loop's validator — and the later checks of
 * the same arrays are a lookup.
 */
import type { ModelWeights } from "./weights";

/** Weights → weights with the same layout, checked earlier (a union-find forest without ranks; weak keys, so nothing is kept alive by its own entry). */
const sameLayoutAs = new WeakMap<ModelWeights, ModelWeights>();

/** The representative of the layout class `w` has been found to belong to. */
function representative(w: ModelWeights): ModelWeights {
  let r = w;
  for (let next = sameLayoutAs.get(r); next !== undefined; next = sameLayoutAs.get(r)) r = next;
  return r;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** Whether `reference` and `other` were already found to have the same layout (no comparison made). */
export function knownSameLayout(reference: ModelWeights, other: ModelWeights): boolean {
  return reference === other || representative(reference) === representative(other);
}

/**
 * Throw unless `other` has the same variables (names, order, shapes, value counts) as `reference`.
 * `context` starts the message, `otherLabel` names the owner of `other`: `context: otherLabel variable "v" has shape [3], expected [2]`.
 */
export function assertSameLayout(reference: ModelWeights, other: ModelWeights, context: string, otherLabel: string): void {
  if (knownSameLayout(reference, other)) return;
  if (reference.length !== other.length) {
    throw new Error(`${context}: ${otherLabel} has ${other.length} variables, expected ${reference.length} (${reference.map((w) => w.name).join(", ")})`);
  }
  for (let v = 0; v < reference.length; v++) {
    const r = reference[v];
    const o = other[v];
    if (r.name !== o.name) throw new Error(`${context}: ${otherLabel} variable #${v} is "${o.name}", expected "${r.name}"`);
    if (r.shape.length !== o.shape.length || r.shape.some((d, k) => d !== o.shape[k])) {
      throw new Error(`${context}: ${otherLabel} variable "${o.name}" has shape ${shapeText(o.shape)}, expected ${shapeText(r.shape)}`);
    }
    if (o.values.length !== r.values.length) {
      throw new Error(`${context}: ${otherLabel} variable "${o.name}" has ${o.values.length} values, expected ${r.values.length}`);
    }
  }
  sameLayoutAs.set(representative(other), representative(reference));
}
