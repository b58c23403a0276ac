import { test } from "node:test";
import assert from "node:assert/strict";
import * as aq from "arquero";
import { documentExperimentConfig, participantResults } from "../../lib/experiment/index";
import type { HistoryRow } from "../../lib/federation/history";
import { buildReportHtml, REPORT_FIGURE_IDS, reportFigures, ReportInput } from "../../lib/report/reportHtml";
import { figureInPage, plotlyBundleCount } from "./fixtures/reportParsing";

/** A synthetic run: `ids` participants, `rounds` rounds, accuracies rising with the round. */
function syntheticInput(ids: readonly string[], rounds: number): ReportInput {
  const history: HistoryRow[] = [];
  for (let r = 0; r <= rounds; r++) {
    ids.forEach((id, i) => {
      for (const scope of ["global", "personal"] as const) {
        if (scope === "personal" && r === 0) continue;
        const acc = 0.5 + 0.04 * r + 0.01 * i + (scope === "personal" ? 0.1 : 0);
        history.push({ round: r, participant: id, scope, metric: "accuracy", value: acc });
        history.push({ round: r, participant: id, scope, metric: "valLoss", value: 2 - acc });
      }
    });
    history.push({ round: r, participant: "server", scope: "server", metric: "globalAccuracy", value: 0.5 + 0.04 * r });
    if (r > 0) history.push({ round: r, participant: "server", scope: "server", metric: "personalAccuracy", value: 0.6 + 0.04 * r });
  }
  const local = ids.map((id) => ({ participant: id, testAccuracy: 0.55, testLoss: 1, valLoss: 1, bestEpoch: 2, epochs: 4 }));
  return {
    config: documentExperimentConfig(),
    history,
    localCurves: aq.from(ids.flatMap((id) => [1, 2, 3].map((epoch) => ({ participant: id, epoch, trainLoss: 1 / epoch, valLoss: 1.2 / epoch })))),
    labelCounts: aq.from(ids.flatMap((id) => [0, 1, 2].map((label) => ({ participant: id, label, className: `class ${label}`, count: 10 + label })))),
    splitSizes: aq.from(ids.map((id) => ({ participant: id, train: 100, validation: 20, test: 50 }))),
    results: participantResults(history, ids.map((id) => ({ id, trainSamples: 100 })), local),
    backend: "cpu",
    strategy: "FedAvg",
    personalisation: "FedPer",
    roundsRun: rounds,
    converged: false,
  };
}

test("the curves hold exactly one trace per participant, named after it, with its numbers", () => {
  const ids = ["alpha", "beta", "gamma", "delta"];
  const figs = reportFigures(syntheticInput(ids, 3));
  assert.deepEqual(figs.personalAccuracy.data.map((d) => d.name), ids);
  assert.deepEqual(figs.globalAccuracy.data.map((d) => d.name), ids);
  assert.deepEqual(figs.localPhase?.data.map((d) => d.name), ids);
  const beta = figs.personalAccuracy.data[1];
  assert.deepEqual(beta.x, [1, 2, 3]);
  assert.deepEqual(beta.y, [1, 2, 3].map((r) => 0.5 + 0.04 * r + 0.01 + 0.1));
  // Mean figure: global, personal, and the local-only level (weighted by test size: all 0.55).
  assert.deepEqual(figs.meanAccuracy.data.map((d) => d.name), ["global model", "personal models", "local-only (phase 1)"]);
  assert.deepEqual(figs.meanAccuracy.data[2].y, [0.55, 0.55]);
  assert.equal(figs.labelDistribution.data.length, 3, "one stacked trace per class");
});

test("the page: plotly once, every figure under its id, results table, escaped text, no network", () => {
  const input = syntheticInput(["p0", "<img src=x onerror=alert(1)>"], 2);
  const html = buildReportHtml({ ...input, config: { ...input.config, description: "</script><b>bold</b>" } });
  assert.equal(plotlyBundleCount(html), 1);
  for (const id of Object.values(REPORT_FIGURE_IDS)) assert.ok(html.includes(`<div id="${id}"`), id);
  assert.equal(figureInPage(html, REPORT_FIGURE_IDS.personalAccuracy).data.length, 2);
  assert.ok(!html.includes("<img src=x"), "participant ids are escaped in HTML");
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(!html.includes("<b>bold</b>"), "the description is escaped");
  assert.ok(!/<script[^>]+src=/i.test(html), "no external script");
  assert.match(html, /<th>personal best \(round\)<\/th>/);
  assert.match(html, /<th scope="row">mean<\/th>/);
  // The resolved config is shown.
  assert.match(html, /&quot;learningRate&quot;: 0\.001/);
});

test("without phase 1 the report leaves out its figure and level", () => {
  const input = syntheticInput(["a", "b"], 2);
  const figs = reportFigures({ ...input, localCurves: aq.from([]), results: participantResults(input.history, [{ id: "a", trainSamples: 1 }, { id: "b", trainSamples: 1 }]) });
  assert.equal(figs.localPhase, undefined);
  assert.equal(figs.meanAccuracy.data.length, 2);
});

test("the report says what the pretrained body saw, escaped, and nothing for a fresh network", () => {
  const input = syntheticInput(["a", "b"], 2);
  const html = buildReportHtml({ ...input, pretrainedBody: "letters <A–Z> from fonts" });
  assert.ok(html.includes("Pretrained body saw: letters &lt;A–Z&gt; from fonts"));
  assert.ok(!buildReportHtml(input).includes("Pretrained body saw"));
});
