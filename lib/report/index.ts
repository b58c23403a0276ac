/** Run reports: a self-contained HTML page (plotly inlined once) with results, curves, data and config. */
export * from "./reportHtml";
export * from "./repetitionReport";
