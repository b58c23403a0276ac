/**
 * Figures as HTML: a `<div>` plus a script that draws it with plotly.js. plotly.js (≈4.8 MB) is
 * loaded once per page or notebook — never per chart — because inlining it per chart makes a
 * notebook of ten charts weigh 50 MB. Pages built here work offline (no CDN): the library is
 * inlined from the installed `plotly.js-dist-min` package.
 */
import * as fs from "fs";
import type { PlotlyFigure } from "./figure";

let plotlySource: string | undefined;

/** The plotly.js bundle's source text (read once from node_modules). */
export function plotlyJsSource(): string {
  if (plotlySource === undefined) {
    let file: string;
    try {
      file = require.resolve("plotly.js-dist-min/plotly.min.js");
    } catch {
      throw new Error("plotly.js-dist-min is not installed: run `npm install` in the fedtune folder");
    }
    plotlySource = fs.readFileSync(file, "utf8");
  }
  return plotlySource;
}

/**
 * A `<script>` that defines `window.Plotly` and then draws every chart queued before it arrived.
 * `module`/`exports`/`define` are shadowed so that the bundle sets the global even inside pages
 * that have a CommonJS or AMD loader (Jupyter Notebook 6 ships require.js).
 */
export function plotlyLoaderHtml(): string {
  const src = plotlyJsSource().replace(/<\/script/gi, "<\\/script");
  return (
    `<script type="text/javascript">(function(){var module=undefined,exports=undefined,define=undefined;\n${src}\n}).call(window);\n` +
    `(function(){var q=window.__fedtunePlotlyQueue||[];window.__fedtunePlotlyQueue=[];for(var i=0;i<q.length;i++){try{q[i]();}catch(e){console.error(e);}}})();</script>`
  );
}

let counter = 0;

/** Escape JSON for safe embedding inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * The HTML of one chart. It draws as soon as `window.Plotly` exists; if the library comes later
 * (see `plotlyLoaderHtml`), the chart waits in a queue.
 */
export function figureHtml(fig: PlotlyFigure, options: { id?: string } = {}): string {
  const id = options.id ?? `fedtune-plot-${process.pid.toString(36)}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const heightValue = fig.layout["height"];
  const height = typeof heightValue === "number" ? heightValue : 400;
  return (
    `<div id="${id}" class="fedtune-plot" style="width:100%;min-height:${height}px"></div>\n` +
    `<script type="text/javascript">(function(){var fig=${scriptJson(fig)};` +
    `function draw(){var el=document.getElementById(${JSON.stringify(id)});if(el){window.Plotly.newPlot(el,fig.data,fig.layout,{responsive:true,displaylogo:false});}}` +
    `if(window.Plotly){draw();}else{(window.__fedtunePlotlyQueue=window.__fedtunePlotlyQueue||[]).push(draw);}})();</script>`
  );
}

/** A complete, self-contained HTML page (plotly inlined once) showing `figures` under an optional title. */
export function figuresPage(figures: readonly PlotlyFigure[], options: { title?: string; bodyHtml?: string } = {}): string {
  const title = options.title ?? "fedtune";
  const esc = title.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc}</title></head><body>\n` +
    `<h1>${esc}</h1>\n${options.bodyHtml ?? ""}\n${plotlyLoaderHtml()}\n` +
    figures.map((f) => figureHtml(f)).join("\n") +
    `\n</body></html>\n`
  );
}
