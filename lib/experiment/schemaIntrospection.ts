/**
 * Reading a zod schema back: unwrap defaults and optionals, find the sub-schema at a config path,
 * and describe a field's type in words. Used by config errors (to list the allowed fields and
 * values at the place a mistake was made) and by `fedtune run --help` (to document every field
 * from the schema itself, so the help can never drift from what is accepted).
 */
import { z } from "zod";

/** A schema with its default, optional-ness and description peeled off. */
export interface UnwrappedSchema {
  readonly schema: z.ZodTypeAny;
  readonly optional: boolean;
  readonly defaultValue: unknown;
  readonly hasDefault: boolean;
  readonly description: string | undefined;
}

/** Peel ZodDefault, ZodOptional, ZodNullable and ZodEffects (refinements) off `schema`. */
export function unwrapSchema(schema: z.ZodTypeAny): UnwrappedSchema {
  let s = schema;
  let optional = false;
  let hasDefault = false;
  let defaultValue: unknown;
  let description = s.description;
  for (;;) {
    description = description ?? s.description;
    if (s instanceof z.ZodDefault) {
      hasDefault = true;
      defaultValue = (s._def as { defaultValue: () => unknown }).defaultValue();
      s = s._def.innerType as z.ZodTypeAny;
    } else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      optional = true;
      s = s._def.innerType as z.ZodTypeAny;
    } else if (s instanceof z.ZodEffects) {
      s = s._def.schema as z.ZodTypeAny;
    } else break;
  }
  return { schema: s, optional, hasDefault, defaultValue, description: description ?? s.description };
}

function own(value: unknown, key: string | number): unknown {
  if (value === null || typeof value !== "object") return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string | number, unknown>)[key] : undefined;
}

/** The raw value at `path` inside `raw` (undefined where the path leaves the data). */
export function valueAtPath(raw: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = raw;
  for (const k of path) v = own(v, k);
  return v;
}

/** The object options of a discriminated union: discriminator key and option value → object schema. */
function unionOptions(s: z.ZodDiscriminatedUnion<string, z.ZodDiscriminatedUnionOption<string>[]>): {
  key: string;
  byValue: Map<string, z.AnyZodObject>;
} {
  const byValue = new Map<string, z.AnyZodObject>();
  for (const o of s.options) {
    const lit = unwrapSchema(o.shape[s.discriminator] as z.ZodTypeAny).schema;
    if (lit instanceof z.ZodLiteral) byValue.set(String(lit.value), o);
  }
  return { key: s.discriminator, byValue };
}

/**
 * The object schema that describes the value at `path` (for a discriminated union, the option
 * chosen by the raw data's discriminator), or undefined when the path leaves the schema.
 */
export function objectSchemaAt(root: z.ZodTypeAny, path: ReadonlyArray<string | number>, raw: unknown): z.AnyZodObject | undefined {
  let s: z.ZodTypeAny | undefined = root;
  const walked: Array<string | number> = [];
  for (let i = 0; i <= path.length; i++) {
    if (s === undefined) return undefined;
    let u: z.ZodTypeAny = unwrapSchema(s).schema;
    if (u instanceof z.ZodDiscriminatedUnion) {
      const { key, byValue } = unionOptions(u);
      const chosen = byValue.get(String(own(valueAtPath(raw, walked), key)));
      if (!chosen) return undefined;
      u = chosen;
    }
    if (i === path.length) return u instanceof z.ZodObject ? (u as z.AnyZodObject) : undefined;
    const k = path[i];
    walked.push(k);
    if (u instanceof z.ZodObject) s = (u.shape as Record<string, z.ZodTypeAny>)[String(k)];
    else if (u instanceof z.ZodArray) s = u.element as z.ZodTypeAny;
    else if (u instanceof z.ZodRecord) s = u.valueSchema as z.ZodTypeAny;
    else if (u instanceof z.ZodTuple) s = (u.items as z.ZodTypeAny[])[Number(k)];
    else return undefined;
  }
  return undefined;
}

/** Field names of an object schema, in declaration order. */
export function objectFields(s: z.AnyZodObject): string[] {
  return Object.keys(s.shape as Record<string, unknown>);
}

function numberBounds(s: z.ZodNumber): string {
  const parts: string[] = [];
  let isInt = false;
  for (const c of s._def.checks) {
    if (c.kind === "int") isInt = true;
    else if (c.kind === "min") parts.push(`${c.inclusive ? "≥" : ">"} ${c.value}`);
    else if (c.kind === "max") parts.push(`${c.inclusive ? "≤" : "<"} ${c.value}`);
  }
  return `${isInt ? "integer" : "number"}${parts.length ? " " + parts.join(", ") : ""}`;
}

/** The type of a (sub-)schema in words: `integer ≥ 1`, `"iid" | "dirichlet"`, `list of …`. */
export function describeType(schema: z.ZodTypeAny): string {
  const s = unwrapSchema(schema).schema;
  if (s instanceof z.ZodNumber) return numberBounds(s);
  if (s instanceof z.ZodString) return "string";
  if (s instanceof z.ZodBoolean) return "true | false";
  if (s instanceof z.ZodLiteral) return JSON.stringify(s.value);
  if (s instanceof z.ZodEnum) return (s.options as string[]).map((o) => JSON.stringify(o)).join(" | ");
  if (s instanceof z.ZodArray) return `list of ${describeType(s.element as z.ZodTypeAny)}`;
  if (s instanceof z.ZodTuple) return `[${(s.items as z.ZodTypeAny[]).map(describeType).join(", ")}]`;
  if (s instanceof z.ZodUnion) return (s.options as z.ZodTypeAny[]).map(describeType).join(" | ");
  if (s instanceof z.ZodRecord) return `object of ${describeType(s.valueSchema as z.ZodTypeAny)}`;
  if (s instanceof z.ZodDiscriminatedUnion) {
    const { key, byValue } = unionOptions(s);
    return `object with ${key} ${[...byValue.keys()].map((k) => JSON.stringify(k)).join(" | ")}`;
  }
  if (s instanceof z.ZodObject) return "object";
  return "value";
}

/** One documented field of the schema (for help texts). */
export interface FieldDoc {
  /** Dotted path as written in a config, e.g. "federation.strategy.name". */
  readonly path: string;
  /** Nesting depth (0 for top-level fields), counting union variants as a level. */
  readonly depth: number;
  readonly type: string;
  /** JSON of the default, or undefined when required / no default. */
  readonly defaultJson: string | undefined;
  readonly required: boolean;
  readonly description: string;
  /** For a field that exists only in one variant of a union: that variant, e.g. `data.kind = "partition"`. */
  readonly variant?: string;
  /** True for the line that introduces a union variant (`data.kind = "partition"`). */
  readonly isVariant?: boolean;
}

/** Every field of `schema`, depth first, in declaration order; union variants introduce their own fields. */
export function documentFields(schema: z.ZodTypeAny, prefix = "", depth = 0, variant?: string): FieldDoc[] {
  const out: FieldDoc[] = [];
  const u = unwrapSchema(schema).schema;
  const field = (key: string, child: z.ZodTypeAny, d: number, v: string | undefined): void => {
    const w = unwrapSchema(child);
    const path = prefix ? `${prefix}.${key}` : key;
    out.push({
      path,
      depth: d,
      type: describeType(child),
      defaultJson: w.hasDefault ? JSON.stringify(w.defaultValue) : undefined,
      required: !w.hasDefault && !w.optional,
      description: w.description ?? "",
      variant: v,
    });
    out.push(...documentFields(child, path, d + 1, v));
  };
  if (u instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(u.shape as Record<string, z.ZodTypeAny>)) field(key, child, depth, variant);
  } else if (u instanceof z.ZodDiscriminatedUnion) {
    const { key, byValue } = unionOptions(u);
    for (const [value, option] of byValue) {
      const tag = `${prefix ? `${prefix}.` : ""}${key} = ${JSON.stringify(value)}`;
      const disc = unwrapSchema(option.shape[key] as z.ZodTypeAny);
      out.push({ path: tag, depth, type: JSON.stringify(value), defaultJson: undefined, required: false, description: disc.description ?? "", variant: tag, isVariant: true });
      for (const [k, child] of Object.entries(option.shape as Record<string, z.ZodTypeAny>)) {
        if (k !== key) field(k, child, depth + 1, tag);
      }
    }
  }
  return out;
}
