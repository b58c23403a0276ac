/**
 * A JUnit XML report of notebook runs, the format every CI server reads (GitHub Actions via
 * test-reporter actions, GitLab, Jenkins, Azure). One <testsuite> per notebook holding one
 * <testcase> for the notebook as a whole, one per failing cell (its source and the error), and one
 * per cell whose outputs differ from the reference under --compare.
 * Written by hand: escaping text and attributes is all a writer library would add, and it would be
 * a dependency for ~40 lines.
 */
import { cellLabel, cellSource } from "./notebookJson";
import { NotebookRun, runPassed } from "./notebookRun";

/** Remove ANSI colour codes (tracebacks carry them). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}

/** Escape text for XML 1.0 content or a double-quoted attribute; characters XML 1.0 forbids are dropped. */
export function xmlEscape(text: string): string {
  return stripAnsi(text)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (s: number | undefined): string => (s === undefined || !Number.isFinite(s) ? "0" : s.toFixed(3));
const firstLine = (s: string): string => s.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";

/** JUnit `classname` of a notebook: its path without extension, dots for slashes. */
export function junitClassName(path: string): string {
  return path.replace(/\\/g, "/").replace(/\.ipynb$/, "").replace(/^\.\//, "").replace(/\//g, ".");
}

/** One notebook as a <testsuite>. */
function suiteXml(run: NotebookRun): { xml: string; tests: number; failures: number } {
  const cls = xmlEscape(junitClassName(run.path));
  const cases: string[] = [];
  const failures: string[] = [];
  if (run.failure) failures.push(`${cellLabel(run.executed, run.failure.index)} failed: ${run.failure.ename}: ${firstLine(run.failure.message)}`);
  if (run.error) failures.push(run.error);
  if (run.differences?.length) failures.push(`${run.differences.length} output difference(s) from the reference`);
  const whole = failures.length
    ? `\n      <failure type="NotebookFailed" message="${xmlEscape(firstLine(failures[0]))}">${xmlEscape(failures.join("\n"))}</failure>\n    `
    : "";
  cases.push(`    <testcase classname="${cls}" name="${xmlEscape(run.path)}" file="${xmlEscape(run.path)}" time="${seconds(run.seconds)}">${whole}</testcase>`);
  if (run.failure) {
    const f = run.failure;
    const cell = run.executed.cells[f.index];
    const body = [`${cellLabel(run.executed, f.index)}`, "", cellSource(cell), "", `${f.ename}: ${f.message}`, ...(f.details ? ["", f.details] : [])].join("\n");
    cases.push(
      `    <testcase classname="${cls}" name="${xmlEscape(cellLabel(run.executed, f.index))}" file="${xmlEscape(run.path)}" time="${seconds(run.cellSeconds?.[f.index])}">\n` +
        `      <failure type="${xmlEscape(f.ename)}" message="${xmlEscape(firstLine(f.message))}">${xmlEscape(body)}</failure>\n    </testcase>`,
    );
  }
  const byCell = new Map<number, string[]>();
  for (const d of run.differences ?? []) byCell.set(d.cell, [...(byCell.get(d.cell) ?? []), d.message]);
  for (const [cell, messages] of byCell) {
    const name = cell >= 0 ? `${cellLabel(run.executed, cell)} outputs` : "outputs";
    cases.push(
      `    <testcase classname="${cls}" name="${xmlEscape(name)}" file="${xmlEscape(run.path)}" time="0">\n` +
        `      <failure type="OutputDifference" message="${xmlEscape(firstLine(messages[0]))}">${xmlEscape(messages.join("\n"))}</failure>\n    </testcase>`,
    );
  }
  const failed = cases.filter((c) => c.includes("<failure")).length;
  const props = run.parameters?.length
    ? `    <properties>\n${run.parameters.map((p) => `      <property name="parameter" value="${xmlEscape(p)}"/>`).join("\n")}\n    </properties>\n`
    : "";
  const xml = `  <testsuite name="${xmlEscape(run.path)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="0" time="${seconds(run.seconds)}">\n${props}${cases.join("\n")}\n  </testsuite>`;
  return { xml, tests: cases.length, failures: failed };
}

/** The JUnit XML report of `runs` (in the order given). */
export function junitXml(runs: readonly NotebookRun[], name = "fedtune notebooks"): string {
  const suites = runs.map(suiteXml);
  const tests = suites.reduce((n, s) => n + s.tests, 0);
  const failures = suites.reduce((n, s) => n + s.failures, 0);
  const time = runs.reduce((t, r) => t + r.seconds, 0);
  const passed = runs.filter(runPassed).length;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<!-- ${passed} of ${runs.length} notebook(s) passed -->\n` +
    `<testsuites name="${xmlEscape(name)}" tests="${tests}" failures="${failures}" errors="0" time="${seconds(time)}">\n${suites.map((s) => s.xml).join("\n")}\n</testsuites>\n`
  );
}
