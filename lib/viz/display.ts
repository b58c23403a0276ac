/**
 * Inline display in tslab notebooks. Each chart is sent as one display bundle holding both the
 * plotly mime type (`application/vnd.plotly.v1+json`, which JupyterLab renders natively) and an
 * HTML fallback (Notebook 6, nbconvert's HTML export, VS Code). The fallback needs plotly.js in
 * the page: the first chart of a kernel session also sends the library, once.
 */
import type { ColumnTable } from "arquero";
import type { PlotlyFigure } from "./figure";
import { figureHtml, plotlyLoaderHtml } from "./html";

type MimeBundle = { [mime: string]: unknown };
type WriteDisplayData = (msg: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void;

interface TslabPublic {
  display: { raw(contentType: string, b: string | Uint8Array): void; html(s: string): void };
}

function tslabWriter(): WriteDisplayData | undefined {
  try {
    // tslab's public `display.raw` sends one mime type per message; its writer (the same function
    // `display.raw` calls) takes a whole bundle, which lets the front end pick the richest type.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData?: WriteDisplayData };
    return jupyter.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

/** True when running inside a tslab kernel (a notebook), false in plain Node. */
export function inNotebook(): boolean {
  return tslabWriter() !== undefined;
}

let libraryShown = false;

/** Send a mime bundle to the notebook; returns false outside a notebook. */
export function displayBundle(bundle: MimeBundle): boolean {
  const write = tslabWriter();
  if (write) {
    write({ data: bundle, metadata: {}, transient: {} }, false);
    return true;
  }
  return false;
}

/** Show a plotly figure inline (in a notebook) — outside a notebook, print a one-line summary instead. */
export function showFigure(fig: PlotlyFigure): void {
  const write = tslabWriter();
  if (!write) {
    const title = fig.layout["title"] as { text?: string } | undefined;
    console.log(`[figure${title?.text ? `: ${title.text}` : ""} — ${fig.data.length} trace(s); shown inline in notebooks]`);
    return;
  }
  if (!libraryShown) {
    libraryShown = true;
    write({ data: { "text/html": plotlyLoaderHtml() }, metadata: {}, transient: {} }, false);
  }
  // JSON round trip: the plotly mime type must carry plain JSON (no undefined, no typed arrays).
  const json = JSON.parse(JSON.stringify(fig)) as object;
  write(
    {
      data: {
        "application/vnd.plotly.v1+json": json,
        "text/html": figureHtml(fig),
        "text/plain": `<Figure: ${fig.data.length} trace(s)>`,
      },
      metadata: {},
      transient: {},
    },
    false,
  );
}

/** Show an arquero table as an HTML table inline (first `limit` rows), or print it outside a notebook. */
export function showTable(table: ColumnTable, options: { limit?: number; digits?: number } = {}): void {
  const limit = options.limit ?? 50;
  const digits = options.digits ?? 4;
  const fmt = { limit, format: {} as Record<string, (v: unknown) => string> };
  for (const name of table.columnNames()) {
    fmt.format[name] = (v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(digits) : String(v));
  }
  const write = tslabWriter();
  if (write) {
    write({ data: { "text/html": table.toHTML(fmt), "text/plain": table.toMarkdown(fmt) }, metadata: {}, transient: {} }, false);
  } else {
    console.log(table.toMarkdown(fmt));
  }
}

/** Show raw HTML inline (in a notebook) — outside a notebook, nothing. */
export function showHtml(html: string): void {
  displayBundle({ "text/html": html });
}

/** A chart that redraws in place, e.g. once per federated round. */
export interface LiveFigure {
  /** Replace the chart's content. */
  update(fig: PlotlyFigure): void;
}

let liveCounter = 0;

/**
 * Show a figure that can be updated in place (Jupyter `update_display_data`), for live training
 * curves. Outside a notebook, updates are silent and only the last figure's summary is printed by
 * the caller if wanted.
 */
export function liveFigure(initial?: PlotlyFigure): LiveFigure {
  const displayId = `fedtune-live-${process.pid}-${Date.now().toString(36)}-${liveCounter++}`;
  let shown = false;
  const send = (fig: PlotlyFigure): void => {
    const write = tslabWriter();
    if (!write) return;
    if (!libraryShown) {
      libraryShown = true;
      write({ data: { "text/html": plotlyLoaderHtml() }, metadata: {}, transient: {} }, false);
    }
    const json = JSON.parse(JSON.stringify(fig)) as object;
    write(
      {
        data: { "application/vnd.plotly.v1+json": json, "text/html": figureHtml(fig), "text/plain": `<Figure: ${fig.data.length} trace(s)>` },
        metadata: {},
        transient: { display_id: displayId },
      },
      shown,
    );
    shown = true;
  };
  if (initial) send(initial);
  return { update: send };
}
