import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import { barChart, figureHtml, figuresPage, lineChart } from "../../lib/viz/index";

const history = aq.table({
  round: [2, 1, 1, 2, 1, 2],
  participant: ["a", "a", "b", "b", "c", "c"],
  accuracy: [0.6, 0.5, 0.4, 0.7, 0.1, 0.2],
});

test("lineChart draws one trace per participant, points sorted by x", () => {
  const fig = lineChart(history, { x: "round", y: "accuracy", color: "participant", title: "acc" });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ["a", "b", "c"],
  );
  assert.deepEqual(fig.data[0].x, [1, 2]);
  assert.deepEqual(fig.data[0].y, [0.5, 0.6]);
  assert.deepEqual(fig.data[1].y, [0.4, 0.7]);
});

test("lineChart with dash splits each participant by scope", () => {
  const t = aq.table({ round: [1, 1, 1, 1], participant: ["a", "a", "b", "b"], scope: ["global", "personal", "global", "personal"], v: [1, 2, 3, 4] });
  const fig = lineChart(t, { x: "round", y: "v", color: "participant", dash: "scope" });
  assert.equal(fig.data.length, 4);
  assert.deepEqual(
    fig.data.map((d) => d.name),
    ["a · global", "a · personal", "b · global", "b · personal"],
  );
});

test("a missing column names the column and the ones that exist", () => {
  assert.throws(() => lineChart(history, { x: "round", y: "loss" }), /lineChart: table has no column "loss"; columns: round, participant, accuracy/);
});

test("barChart groups by color and keeps the bar mode", () => {
  const fig = barChart(history, { x: "participant", y: "accuracy", color: "round", barmode: "stack" });
  assert.equal(fig.data.length, 2);
  assert.equal(fig.layout["barmode"], "stack");
});

test("figure HTML escapes </script> in data and a page inlines plotly.js exactly once", () => {
  const evil = aq.table({ x: [1], y: [2], name: ["</script><script>alert(1)</script>"] });
  const html = figureHtml(lineChart(evil, { x: "x", y: "y", color: "name" }));
  assert.ok(!html.includes("</script><script>alert"), "data cannot close the script element");
  const page = figuresPage([lineChart(history, { x: "round", y: "accuracy" }), barChart(history, { x: "participant", y: "accuracy" })]);
  const copies = page.split("plotly.js v").length - 1;
  assert.equal(copies, 1, "plotly.js is inlined once per page");
  assert.equal(page.split('class="fedtune-plot"').length - 1, 2);
});

test("charts read filtered and ordered tables as they are, not their underlying columns", () => {
  const t = aq.table({ round: [1, 2, 3, 4], participant: ["a", "b", "a", "b"], v: [10, 20, 30, 40] });
  const fig = lineChart(t.filter((d: { participant: string }) => d.participant === "b"), { x: "round", y: "v", color: "participant" });
  assert.equal(fig.data.length, 1);
  assert.deepEqual(fig.data[0].y, [20, 40]);
  const bars = barChart(t.orderby(aq.desc("v")).filter((d: { v: number }) => d.v > 15), { x: "round", y: "v" });
  assert.deepEqual(bars.data[0].y, [40, 30, 20]);
});
