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
import { lastSelectedMax, selectedByValidation } from "../../lib/analysis/index";
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
