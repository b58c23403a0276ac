import { BenchItem } from "./benchTypes";

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return "—";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/** The bench as a plain-text table: every item, its figures, and its ratios against the issue's targets. */
export function formatReport(items: readonly BenchItem[]): string {
  const lines: string[] = [];
  for (const item of items) {
    lines.push("");
    lines.push(`${item.id}. ${item.title} — ${item.status}${item.reason ? `: ${item.reason}` : ""}`);
    for (const m of item.measurements) {
      lines.push(`   ${pad(m.label, 96)} ${pad(formatNumber(m.value), 10)} ${pad(m.unit, 10)}${m.note ? ` ${m.note}` : ""}`);
    }
    for (const r of item.ratios) {
      const verdict = r.met === undefined ? "" : r.met ? "  met" : "  NOT met";
      const value = !Number.isFinite(r.value) ? "not measured" : r.unit === "%" ? `${(100 * r.value).toFixed(1)} %` : `${formatNumber(r.value)}×`;
      lines.push(`   ratio ${pad(r.label, 90)} ${pad(value, 16)} target ${r.target}${verdict}`);
    }
  }
  return lines.join("\n");
}
