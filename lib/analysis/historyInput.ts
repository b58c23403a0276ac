/**
 * What every analysis verb does first: accept a history (an arquero table or plain rows), check its
 * columns, and group its rows into series. A history may carry label columns besides the five
 * history columns (e.g. "method", "seed", "alpha" added by `labelRun`); every verb keeps them and
 * treats each distinct combination of labels as its own run.
 */
import * as aq from "arquero";
import type { HistoryRow, Table } from "../federation/history";

/** The five columns of a history table, in order. */
export const HISTORY_COLUMNS: readonly string[] = ["round", "participant", "scope", "metric", "value"];

/** A history row plus any label columns (string, number or boolean values). */
export type LabelledRow = HistoryRow & { readonly [label: string]: string | number | boolean };

/** A history as an arquero table or as plain rows. */
export type HistoryInput = Table | readonly HistoryRow[];

/** Check that `input` has the history columns (naming `verb` and the missing column) and return it as an arquero table. */
export function asHistoryTable(input: HistoryInput, verb: string): Table {
  if (Array.isArray(input)) {
    const rows = input as readonly HistoryRow[];
    if (rows.length === 0) return aq.table(Object.fromEntries(HISTORY_COLUMNS.map((c) => [c, []])));
    return aq.from(rows as HistoryRow[]);
  }
  const t = input as Table;
  return requireColumns(t, HISTORY_COLUMNS, verb);
}

/** Throw `verb: table lacks column "c"; has …` unless `table` has every column in `columns`; return the table. */
export function requireColumns(table: Table, columns: readonly string[], verb: string): Table {
  const have = table.columnNames();
  for (const c of columns) {
    if (!have.includes(c)) throw new Error(`${verb}: table lacks column "${c}"; has ${have.length > 0 ? have.join(", ") : "no columns"}`);
  }
  return table;
}

/** The label columns of a history table: every column that is not one of the five history columns, in table order. */
export function labelColumns(table: Table): string[] {
  return table.columnNames().filter((c) => !HISTORY_COLUMNS.includes(c));
}

/** One series: the rows sharing the values of `keys`, sorted by round (stable). */
export interface Series {
  /** The values of the key columns. */
  readonly key: Readonly<Record<string, unknown>>;
  /** The rows, by increasing round. */
  readonly rows: readonly LabelledRow[];
}

/** Group the rows of `table` by the columns `keys`, in order of first appearance; each group sorted by round. */
export function groupSeries(table: Table, keys: readonly string[]): Series[] {
  const groups = new Map<string, { key: Record<string, unknown>; rows: LabelledRow[] }>();
  for (const row of table.objects() as unknown as LabelledRow[]) {
    const values = keys.map((k) => row[k]);
    const id = JSON.stringify(values);
    let g = groups.get(id);
    if (g === undefined) {
      g = { key: Object.fromEntries(keys.map((k, i) => [k, values[i]])), rows: [] };
      groups.set(id, g);
    }
    g.rows.push(row);
  }
  return [...groups.values()].map((g) => ({ key: g.key, rows: g.rows.sort((a, b) => a.round - b.round) }));
}

/** An arquero table with exactly `columns` (so an empty result still has them) from plain rows. */
export function tableOf(columns: readonly string[], rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Table {
  return aq.table(Object.fromEntries(columns.map((c) => [c, rows.map((r) => r[c])])));
}
