/**
 * Label runs and stack them: `labelRun(history, { method: "FedAvg", seed: 1 })` adds constant label
 * columns, `concatRuns([...])` stacks labelled tables into one, so that one chart or one rollup
 * compares runs (`color: "method"`, `groupby("method")`). Every analysis verb keeps label columns.
 */
import * as aq from "arquero";
import type { Table } from "../federation/history";

/** Label values: one constant per column. */
export type RunLabels = Readonly<Record<string, string | number | boolean>>;

/** `table` with one constant column per label (a label that names an existing column is an error). */
export function labelRun(table: Table, labels: RunLabels): Table {
  const names = Object.keys(labels);
  if (names.length === 0) throw new Error("labelRun: no labels given");
  const have = table.columnNames();
  for (const n of names) {
    if (have.includes(n)) throw new Error(`labelRun: the table already has a column "${n}"; choose another label name`);
    const v = labels[n];
    if (typeof v !== "string" && typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v))) {
      throw new Error(`labelRun: label "${n}" must be a string, a finite number or a boolean, got ${String(v)}`);
    }
  }
  const n = table.numRows();
  return table.assign(aq.table(Object.fromEntries(names.map((k) => [k, new Array(n).fill(labels[k])]))));
}

/** Stack tables with the same columns (in any order) into one; a table whose columns differ is an error naming its index and the difference. */
export function concatRuns(tables: readonly Table[]): Table {
  if (tables.length === 0) throw new Error("concatRuns: no tables given");
  const first = tables[0].columnNames();
  tables.forEach((t, i) => {
    const cols = t.columnNames();
    const missing = first.filter((c) => !cols.includes(c));
    const extra = cols.filter((c) => !first.includes(c));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `concatRuns: table ${i} has different columns from table 0` +
          (missing.length > 0 ? `; lacks ${missing.join(", ")}` : "") +
          (extra.length > 0 ? `; has extra ${extra.join(", ")}` : ""),
      );
    }
  });
  return tables.slice(1).reduce((a, b) => a.concat(b.select(...first)), tables[0]);
}

/** Label each table and stack them: `labelledRuns([[{ method: "FedAvg" }, h1], [{ method: "FedProx" }, h2]])`. */
export function labelledRuns(runs: ReadonlyArray<readonly [RunLabels, Table]>): Table {
  return concatRuns(runs.map(([labels, table]) => labelRun(table, labels)));
}
