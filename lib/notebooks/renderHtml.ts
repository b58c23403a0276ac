/**
 * Render an executed notebook to one self-contained HTML page, without nbconvert: markdown cells
 * through `marked`, code cells with their source and outputs. Rich outputs are shown the way
 * nbconvert's HTML exporter picks them (text/html first, then SVG, PNG, JPEG, markdown, plain
 * text), so fedtune's charts (an HTML fallback next to the plotly mime type, plotly.js sent once
 * per notebook by the kernel) draw as they do in a nbconvert export.
 */
import { marked } from "marked";
import type { NotebookOutput } from "./cellOutputs";
import type { Notebook } from "./notebookFile";

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** HTML-escape text. */
function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const str = (v: unknown): string => (Array.isArray(v) ? v.join("") : String(v ?? ""));

function richOutput(data: Record<string, unknown>): string {
  if ("text/html" in data) return str(data["text/html"]);
  if ("image/svg+xml" in data) return str(data["image/svg+xml"]);
  if ("image/png" in data) return `<img src="data:image/png;base64,${str(data["image/png"]).replace(/\s/g, "")}">`;
  if ("image/jpeg" in data) return `<img src="data:image/jpeg;base64,${str(data["image/jpeg"]).replace(/\s/g, "")}">`;
  if ("text/markdown" in data) return marked.parse(str(data["text/markdown"]), { async: false });
  if ("text/plain" in data) return `<pre>${esc(str(data["text/plain"]))}</pre>`;
  return "";
}

function output(o: NotebookOutput): string {
  switch (o.output_type) {
    case "stream":
      return `<div class="output output-${o.name === "stderr" ? "stderr" : "stdout"}"><pre>${esc(o.text.replace(ANSI, ""))}</pre></div>`;
    case "error":
      return `<div class="output output-error"><pre>${esc([`${o.ename}: ${o.evalue}`, ...o.traceback].join("\n").replace(ANSI, ""))}</pre></div>`;
    default:
      return `<div class="output output-${o.output_type === "execute_result" ? "result" : "display"}">${richOutput(o.data)}</div>`;
  }
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}
.cell{margin:1em 0}
.input{display:flex;gap:.5em}
.prompt{color:#307fc1;font-family:monospace;min-width:5.5em;text-align:right;flex:none}
.input pre{background:#f7f7f7;border:1px solid #e0e0e0;border-radius:3px;padding:.5em;margin:0;flex:1;overflow-x:auto}
.outputs{margin-left:6em;overflow-x:auto}
.output pre{margin:.3em 0;white-space:pre-wrap}
.output-stderr pre{background:#fdd;padding:.3em}
.output-error pre{background:#fdd;color:#a00;padding:.3em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em}
`;

/** The notebook as one HTML page (title: `title`, default the notebook's first heading). */
export function renderHtml(nb: Notebook, title?: string): string {
  const heading = nb.cells.find((c) => c.cell_type === "markdown")?.source.match(/^#\s+(.+)$/m)?.[1];
  const parts: string[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type === "markdown") {
      parts.push(`<div class="cell markdown">${marked.parse(cell.source, { async: false })}</div>`);
    } else if (cell.cell_type === "code") {
      const n = cell.execution_count ?? " ";
      parts.push(
        `<div class="cell code"><div class="input"><div class="prompt">In&nbsp;[${n}]:</div><pre><code>${esc(cell.source)}</code></pre></div>` +
          `<div class="outputs">${(cell.outputs ?? []).map(output).join("\n")}</div></div>`,
      );
    } else {
      parts.push(`<div class="cell raw"><pre>${esc(cell.source)}</pre></div>`);
    }
  }
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title ?? heading ?? "notebook")}</title>` +
    `<style>${STYLE}</style></head>\n<body>\n${parts.join("\n")}\n</body></html>\n`
  );
}
