/**
 * A Markdown summary of notebook runs, for a CI job summary ($GITHUB_STEP_SUMMARY) or a pull
 * request comment: one table row per notebook (result, time, cells run, charts, assertions
 * passed), then the failing cell's source and error, and output differences, per failed notebook.
 */
import { cellLabel, cellSource } from "./notebookJson";
import { notebookStats, NotebookRun, runPassed } from "./notebookRun";
import { stripAnsi } from "./junitXml";

/** Seconds as "12.3 s" or "2 min 05 s". */
export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, "0")} s`;
}

/** Text safe inside a Markdown table cell. */
function tableCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A fenced code block that no line of `text` can close. */
function fence(text: string, lang = ""): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((t) => t.length));
  const f = "`".repeat(longest + 1);
  return `${f}${lang}\n${text.replace(/\s+$/, "")}\n${f}`;
}

/** The Markdown summary of `runs`; `wallSeconds` is the whole command's time (with --jobs, less than the sum). */
export function markdownSummary(runs: readonly NotebookRun[], options: { title?: string; wallSeconds?: number; jobs?: number } = {}): string {
  const passed = runs.filter(runPassed).length;
  const failed = runs.length - passed;
  const wall = options.wallSeconds ?? runs.reduce((t, r) => t + r.seconds, 0);
  const lines: string[] = [];
  lines.push(`## ${options.title ?? "Notebooks"}: ${failed === 0 ? "✅" : "❌"} ${passed} passed, ${failed} failed in ${formatSeconds(wall)}${options.jobs && options.jobs > 1 ? ` (${options.jobs} in parallel)` : ""}`);
  lines.push("");
  lines.push("| notebook | result | time | cells run | charts | assertions passed |");
  lines.push("|---|---|---:|---:|---:|---:|");
  for (const r of runs) {
    const s = notebookStats(r.executed, r.failure);
    let result = "✅ passed";
    if (r.failure) result = `❌ ${cellLabel(r.executed, r.failure.index).replace(/ \(.*$/, "")} failed`;
    else if (r.error) result = `❌ ${r.error.split("\n")[0]}`;
    else if (r.differences?.length) result = `❌ ${r.differences.length} output difference(s)`;
    const params = r.parameters?.length ? `<br>${r.parameters.map((p) => `\`${p}\``).join(" ")}` : "";
    lines.push(`| \`${tableCell(r.path)}\`${params} | ${tableCell(result)} | ${formatSeconds(r.seconds)} | ${s.cellsRun}/${s.codeCells} | ${s.charts} | ${s.assertionsPassed} |`);
  }
  for (const r of runs.filter((x) => !runPassed(x))) {
    lines.push("");
    lines.push(`### ❌ \`${r.path}\``);
    if (r.failure) {
      const f = r.failure;
      lines.push("");
      lines.push(`**${cellLabel(r.executed, f.index)}** raised \`${f.ename}\`:`);
      lines.push("");
      lines.push(fence(cellSource(r.executed.cells[f.index]), "ts"));
      lines.push("");
      lines.push(fence(stripAnsi([`${f.ename}: ${f.message}`, f.details ?? ""].join("\n"))));
    }
    if (r.error) {
      lines.push("");
      lines.push(fence(stripAnsi(r.error)));
    }
    if (r.differences?.length) {
      lines.push("");
      lines.push("Outputs that differ from the reference:");
      lines.push("");
      for (const d of r.differences) lines.push(`- ${d.cell >= 0 ? `${tableCell(cellLabel(r.executed, d.cell))}: ` : ""}${d.message}`);
    }
  }
  return lines.join("\n") + "\n";
}
