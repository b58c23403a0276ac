/**
 * Compare the outputs of two executions of the same notebook (e.g. the Node executor and nbclient):
 * per code cell, the same execution count and the same outputs in the same order — stream name and
 * text, mime types and their data, error name and value. Element ids that embed a process id and a
 * clock (fedtune's chart divs) and cell timing metadata are not compared. Consecutive stream outputs
 * of one name are joined before comparing: how a kernel's printed text is cut into messages depends
 * on when its buffers flush (seen: 23 stream outputs in one run, 1 in another, same text), and every
 * Jupyter front end shows them as one block. Durations and rates printed by cells are masked the way
 * `--compare` masks them (outputRegression.ts): they measure the machine, not the notebook.
 */
import type { NotebookOutput } from "./cellOutputs";
import type { Notebook } from "./notebookFile";
import { withoutDurations } from "./outputRegression";

/** Text rewrites applied to both sides before comparing: ids made of pid + clock + counter. */
const VOLATILE: readonly [RegExp, string][] = [[/fedtune-(plot|live)-[0-9a-z]+-[0-9a-z]+-[0-9a-z]+/g, "fedtune-$1-ID"]];

/** Ids masked, and wall-clock figures (`11.3 s`, `40 ms`, `530 samples/s`) replaced: two runs never take the same time. */
function normal(s: string): string {
  return withoutDurations(VOLATILE.reduce((t, [re, by]) => t.replace(re, by), s));
}

function describe(o: NotebookOutput): string {
  switch (o.output_type) {
    case "stream":
      return JSON.stringify({ stream: o.name, text: normal(o.text) });
    case "error":
      return JSON.stringify({ error: o.ename, evalue: normal(o.evalue) });
    default: {
      const data: Record<string, unknown> = {};
      for (const k of Object.keys(o.data).sort()) {
        const v = o.data[k];
        data[k] = typeof v === "string" ? normal(v) : JSON.parse(normal(JSON.stringify(v)));
      }
      return JSON.stringify({ type: o.output_type, data });
    }
  }
}

/** Outputs with consecutive streams of one name joined (what a reader sees). */
function joinStreams(outputs: readonly NotebookOutput[]): NotebookOutput[] {
  const out: NotebookOutput[] = [];
  for (const o of outputs) {
    const last = out[out.length - 1];
    if (o.output_type === "stream" && last !== undefined && last.output_type === "stream" && last.name === o.name) {
      out[out.length - 1] = { ...last, text: last.text + o.text };
    } else out.push(o);
  }
  return out;
}

/** The differences between `a` and `b` (labelled `nameA`, `nameB`), one sentence each; [] when they agree. */
export function compareOutputs(a: Notebook, b: Notebook, nameA = "a", nameB = "b"): string[] {
  const diffs: string[] = [];
  if (a.cells.length !== b.cells.length) return [`${nameA} has ${a.cells.length} cells, ${nameB} has ${b.cells.length}`];
  a.cells.forEach((ca, i) => {
    const cb = b.cells[i];
    if (ca.cell_type !== "code") return;
    const where = `cell ${i + 1}${ca.id ? ` (${ca.id})` : ""}`;
    if ((ca.execution_count ?? null) !== (cb.execution_count ?? null)) {
      diffs.push(`${where}: execution_count ${ca.execution_count} in ${nameA}, ${cb.execution_count} in ${nameB}`);
    }
    const oa = joinStreams(ca.outputs ?? []).map(describe);
    const ob = joinStreams(cb.outputs ?? []).map(describe);
    if (oa.length !== ob.length) {
      diffs.push(`${where}: ${oa.length} output(s) in ${nameA}, ${ob.length} in ${nameB}`);
      return;
    }
    oa.forEach((d, j) => {
      if (d === ob[j]) return;
      let k = 0;
      while (k < d.length && d[k] === ob[j][k]) k++;
      const around = (s: string): string => JSON.stringify(s.slice(Math.max(0, k - 60), k + 80));
      diffs.push(`${where}, output ${j + 1}: differs at character ${k} — ${nameA}: ${around(d)}, ${nameB}: ${around(ob[j])}`);
    });
  });
  return diffs;
}
