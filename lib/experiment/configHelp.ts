/**
 * The documentation of every config field, generated from the schema (so it cannot drift from
 * what the parser accepts): path, type or allowed values, default, and what the field does.
 */
import { documentFields, FieldDoc } from "./schemaIntrospection";
import { experimentConfigSchema } from "./experimentConfig";

/** Every documented field of the experiment config. */
export function configFieldDocs(): FieldDoc[] {
  return documentFields(experimentConfigSchema);
}

/** The fields as help text: one block per field, indented by nesting depth. */
export function configHelpText(options: { width?: number } = {}): string {
  const width = options.width ?? 100;
  const wrap = (text: string, indent: string): string[] => {
    const words = text.split(/\s+/).filter(Boolean);
    const lines: string[] = [];
    let line = "";
    for (const w of words) {
      if (line && indent.length + line.length + 1 + w.length > width) {
        lines.push(indent + line);
        line = w;
      } else line = line ? `${line} ${w}` : w;
    }
    if (line) lines.push(indent + line);
    return lines;
  };
  const out: string[] = [];
  for (const f of configFieldDocs()) {
    const indent = "  ".repeat(f.depth + 1);
    const tail = f.required ? "required" : f.defaultJson !== undefined ? `default ${f.defaultJson}` : "optional";
    out.push(f.isVariant ? `${indent}when ${f.path}:` : `${indent}${f.path}  ·  ${f.type}  ·  ${tail}`);
    if (f.description) out.push(...wrap(f.description, indent + "    "));
  }
  return out.join("\n");
}

/** The fields as a Markdown table (for the README). */
export function configHelpMarkdown(): string {
  const esc = (s: string): string => s.replace(/\|/g, "\\|");
  const rows = configFieldDocs().map((f) =>
    f.isVariant
      ? `| **\`${esc(f.path)}\`** | | | ${esc(f.description)} |`
      : `| \`${esc(f.path)}\` | ${esc(f.type)} | ${f.required ? "required" : f.defaultJson !== undefined ? `\`${esc(f.defaultJson)}\`` : "–"} | ${esc(f.description)}${f.variant ? ` (${esc(f.variant)})` : ""} |`,
  );
  return ["| field | type | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
}
