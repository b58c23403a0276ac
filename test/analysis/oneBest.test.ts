// "Best" has one definition (selectedByValidation). These checks tie every place that reports a
// best or selected figure to the verbs, on real runs: the round loop's best global model, the
// experiment's results table, and compareMethods' table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import { FedAvg, FedPer, NoPersonalisation, runFederation, createParticipants, type HistoryRow } from "../../lib/federation/index";
import { compareMethods } from "../../lib/scenario/compareMethods";
import { participantResults } from "../../lib/experiment/resultsTable";
import { lastSelectedMax, selectedByValidation, summarise } from "../../lib/analysis/index";
import { ConvergenceTracker } from "../../lib/federation/convergence";
import { blobParticipant } from "../model/fixtures";

const fitConfig = { epochs: 1, batchSize: 8, learningRate: 0.3, momentum: 0.9 };
const setup = () => {
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 7 }));
  const data = [1, 2, 3].map((seed) => blobParticipant({ dims: 4, numClasses: 3, seed, classWeights: seed === 1 ? [5, 1, 1] : [1, 1, 5] }));
  return { trainer, data };
};

test("the loop's best global round is selectedByValidation on the server's globalValLoss", async () => {
  await initBackend({ log: false });
  const { trainer, data } = setup();
  const r = await runFederation({ participants: createParticipants(trainer, data), strategy: new FedAvg(), rounds: 6, seed: 3, initialWeights: trainer.getWeights(), fitConfig });
  const s = selectedByValidation(r.history, { metric: "globalAccuracy", validationMetric: "globalValLoss" }).objects()[0] as { round: number };
  assert.equal(r.bestRound, s.round);
  trainer.dispose();
});

test("participantResults' best and compareMethods' figures are the verbs' figures", async () => {
  await initBackend({ log: false });
  const { trainer, data } = setup();
  const participants = data.map((d, i) => ({ id: `p${i}`, data: d }));
  const c = await compareMethods({
    trainer, participants, initialWeights: trainer.getWeights(), rounds: 4, seed: 3, fitConfig,
    methods: [
      { label: "FedAvg", strategy: () => new FedAvg(), personalisation: () => new NoPersonalisation() },
      { label: "FedPer", strategy: () => new FedAvg(), personalisation: () => new FedPer({ headLayers: 1 }) },
    ],
  });
  for (const [label, run] of c.runs) {
    const figures = lastSelectedMax(run.history).objects() as Array<{ participant: string; scope: string; last: number; selected: number; selectedRound: number; maxOptimistic: number; maxRound: number }>;
    const results = participantResults(run.rows as HistoryRow[], participants.map((p) => ({ id: p.id, trainSamples: 1 })));
    for (const p of participants) {
      const f = (scope: string) => figures.find((x) => x.participant === p.id && x.scope === scope);
      const used = f("personal") ?? f("global");
      const row = (c.table.objects() as Array<Record<string, number | string>>).find((x) => x.method === label && x.participant === p.id) as Record<string, number>;
      assert.ok(used);
      assert.deepEqual(
        [row.lastAccuracy, row.selectedAccuracy, row.bestAccuracy, row.bestRound, row.globalLastAccuracy],
        [used.last, used.selected, used.maxOptimistic, used.maxRound, f("global")?.last],
        `${label} ${p.id}`,
      );
      const res = results.find((x) => x.participant === p.id);
      assert.deepEqual([res?.globalBest, res?.globalBestRound], [f("global")?.selected, f("global")?.selectedRound]);
      if (f("personal")) assert.deepEqual([res?.personalBest, res?.personalBestRound], [f("personal")?.selected, f("personal")?.selectedRound]);
    }
  }
  trainer.dispose();
});

test("summarise's selected figures are lastSelectedMax's, for every metric of a real run", async () => {
  await initBackend({ log: false });
  const { trainer, data } = setup();
  const r = await runFederation({ participants: createParticipants(trainer, data), strategy: new FedAvg(), personalisation: new FedPer({ headLayers: 1 }), rounds: 3, seed: 5, initialWeights: trainer.getWeights(), fitConfig });
  const s = summarise(r.history).objects() as Array<Record<string, number | string>>;
  for (const metric of ["accuracy", "loss", "valAccuracy"]) {
    const verbs = lastSelectedMax(r.history, { metric }).objects() as Array<Record<string, number | string>>;
    for (const v of verbs) {
      const row = s.find((x) => x.participant === v.participant && x.scope === v.scope && x.metric === metric);
      assert.deepEqual([row?.final, row?.finalRound, row?.selected, row?.selectedRound], [v.last, v.lastRound, v.selected, v.selectedRound], `${metric} ${v.participant} ${v.scope}`);
    }
  }
  trainer.dispose();
});

test("the convergence tracker and selectedByValidation pick the same round on ties, NaN and a best round 0", () => {
  const losses = [0.5, NaN, 0.6, 0.5, 0.7]; // round 0 best; a tie at round 3 keeps round 0
  const rows: HistoryRow[] = losses.flatMap((v, round) => [
    { round, participant: "server", scope: "server" as const, metric: "globalValLoss", value: v },
    { round, participant: "server", scope: "server" as const, metric: "globalAccuracy", value: round / 10 },
  ]);
  const tracker = new ConvergenceTracker(undefined, []);
  tracker.start(losses[0], []);
  for (let round = 1; round < losses.length; round++) tracker.observe(round, losses[round], []);
  const s = selectedByValidation(rows, { metric: "globalAccuracy", validationMetric: "globalValLoss" }).objects()[0] as { round: number };
  assert.equal(tracker.state.best.round, 0);
  assert.equal(s.round, 0);
  const later = [NaN, 0.9, 0.8, 0.8];
  const t2 = new ConvergenceTracker(undefined, []);
  t2.start(later[0], []);
  for (let round = 1; round < later.length; round++) t2.observe(round, later[round], []);
  const rows2 = later.flatMap((v, round) => [
    { round, participant: "server", scope: "server" as const, metric: "globalValLoss", value: v },
    { round, participant: "server", scope: "server" as const, metric: "globalAccuracy", value: round },
  ]);
  const s2 = selectedByValidation(rows2, { metric: "globalAccuracy", validationMetric: "globalValLoss" }).objects()[0] as { round: number };
  assert.deepEqual([t2.state.best.round, s2.round], [2, 2]);
});
