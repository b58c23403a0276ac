// evaluation.models "used": the loop evaluates only the models the personalisation says are
// meaningful (FedPer: personal models only — its global head never trains; plain FedAvg: the
// global model only). Training is untouched: the rows that remain, and the weights, are bitwise
// those of the default ("all") run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend";
import { buildMlp, Trainer } from "../../lib/model/index";
import {
  createParticipants, Ditto, evaluateSerially, FedAvg, FedPer, LocalOnly, NoPersonalisation, runFederation, serialFitExecutor,
  type FederationOptions, type FitExecutor, type HistoryRow, type Personalisation,
} from "../../lib/federation/index";
import { blobParticipant } from "../model/fixtures";

const fitConfig = { epochs: 1, batchSize: 8, learningRate: 0.3, momentum: 0.9 };

/** The serial executor, counting evaluation jobs. */
function counting(): { executor: FitExecutor; jobs: () => number } {
  let n = 0;
  return { executor: { ...serialFitExecutor, evaluate: async (jobs) => ((n += jobs.length), evaluateSerially(jobs)) }, jobs: () => n };
}

async function both(personalisation: () => Personalisation, extra: Partial<FederationOptions> = {}) {
  await initBackend({ log: false });
  const trainer = new Trainer(buildMlp({ inputShape: [4], hiddenUnits: [6], numClasses: 3, seed: 7 }));
  const data = [1, 2, 3].map((seed) => blobParticipant({ dims: 4, numClasses: 3, seed, classWeights: seed === 1 ? [5, 1, 1] : [1, 1, 5] }));
  const initialWeights = trainer.getWeights();
  const run = async (models: "all" | "used") => {
    const c = counting();
    const r = await runFederation({
      participants: createParticipants(trainer, data), strategy: new FedAvg(), personalisation: personalisation(), rounds: 3, seed: 3,
      initialWeights, fitConfig, fitExecutor: c.executor, ...extra, evaluation: { models, ...extra.evaluation },
    });
    return { r, jobs: c.jobs() };
  };
  const all = await run("all");
  const used = await run("used");
  trainer.dispose();
  return { all, used };
}

const isGlobal = (r: HistoryRow) => r.scope === "global" || (r.scope === "server" && /^global(Accuracy|Loss|ValLoss)$/.test(r.metric));
const isPersonal = (r: HistoryRow) => r.scope === "personal" || (r.scope === "server" && /^personal(Accuracy|Loss|ValLoss)$/.test(r.metric));

test('FedPer with "used": no global evaluation (a third of the evaluation jobs), every other row and the weights unchanged', async () => {
  const { all, used } = await both(() => new FedPer({ headLayers: 1 }));
  assert.equal(used.r.rows.filter(isGlobal).length, 0);
  assert.deepEqual(used.r.rows, all.r.rows.filter((r) => !isGlobal(r)));
  assert.deepEqual(used.r.globalWeights, all.r.globalWeights);
  assert.deepEqual([...used.r.personalWeights.values()], [...all.r.personalWeights.values()]);
  // 3 participants × (test + validation): "all" evaluates the global model at rounds 0–3 and personal models at 1–3.
  assert.deepEqual([all.jobs, used.jobs], [6 * 4 + 6 * 3, 6 * 3]);
  assert.equal(used.r.bestRound, 0, "no global validation loss: the global-best model stays the starting one");
});

test('plain FedAvg with "used": no personal rows (they were copies of the global ones); local-only and Ditto as declared', async () => {
  const none = await both(() => new NoPersonalisation());
  assert.deepEqual(none.used.r.rows, none.all.r.rows.filter((r) => !isPersonal(r)));
  assert.equal(none.used.jobs, none.all.jobs, "the personal rows were copies: no evaluation is saved");
  assert.equal(none.used.r.bestRound, none.all.r.bestRound);
  const local = await both(() => new LocalOnly());
  assert.deepEqual(local.used.r.rows, local.all.r.rows.filter((r) => !isGlobal(r)));
  const ditto = await both(() => new Ditto({ lambda: 0.1 }));
  assert.deepEqual(ditto.used.r.rows, ditto.all.r.rows, "Ditto uses both models");
});

test('convergence with "used": without a scope it watches the models that are evaluated; a scope naming a skipped model is an error', async () => {
  const { used } = await both(() => new FedPer({ headLayers: 1 }), { convergence: { patience: 1 } });
  assert.ok(used.r.roundsRun >= 1);
  await assert.rejects(
    both(() => new FedPer({ headLayers: 1 }), { convergence: { patience: 1, scope: "global" } }),
    /convergence.scope "global" watches the global model, which evaluation.models "used" does not evaluate for FedPer/,
  );
  await assert.rejects(both(() => new FedPer({ headLayers: 1 }), { evaluation: { models: "sometimes" as "used" } }), /evaluation.models must be "all" or "used", got "sometimes"/);
});
