/**
 * The body of a reproduction worker thread (started through reproductionWorker.js by
 * `reproductionLanes`, scheduled by `runRepetitionGrid`): it starts the tfjs backend it is told
 * to and runs each job with the reproduction's own function on that one method and seed, so the
 * run is the one the main thread would make; it sends every trained round back as an event and
 * replies with the run's per-round series.
 */
import * as aq from "arquero";
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import type { BackendName } from "../backend";
import { personalisationFromSpec } from "../federation/personalisation/personalisationRegistry";
import { serialiseError } from "../parallel/workerThread";
import { runFedAvgPaper } from "./fedAvgPaper";
import { runPflBenchmark } from "./pflBenchmark";
import type { ReproductionMessage, ReproductionReply } from "./reproductionProtocol";

const port = parentPort;
if (!port) throw new Error("reproductionWorkerMain: must run in a worker thread (use a reproduction's workers option)");
const init = workerData as { backend: BackendName };
const send = (reply: ReproductionReply): void => port.postMessage(reply);
const ready = initBackend({ backend: init.backend, log: false });
ready.then((info) => send({ type: "ready", backend: info.name }), () => undefined);

port.on("message", (req: ReproductionMessage) => {
  void (async (): Promise<void> => {
    try {
      await ready;
      const onRound = (round: Readonly<Record<string, string | number>>): void => send({ type: "event", id: req.id, round });
      let curves: aq.ColumnTable;
      if (req.kind === "pfllib") {
        const spec = req.method.personalisation;
        const methods = [{ label: req.method.label, personalisation: () => personalisationFromSpec(spec) }];
        curves = (await runPflBenchmark({ ...req.options, seeds: [req.seed], methods, onRound })).curves;
      } else {
        curves = (await runFedAvgPaper({ ...req.options, seeds: [req.seed], methods: [req.method], onRound })).curves;
      }
      // The series as the run gave it: without the (method, seed) labels the main thread puts on every run.
      send({ type: "reply", id: req.id, ok: true, series: curves.select(aq.not("method", "seed")).objects() as Array<Record<string, unknown>> });
    } catch (e) {
      send({ type: "reply", id: req.id, ok: false, error: serialiseError(e) });
    }
  })();
});
