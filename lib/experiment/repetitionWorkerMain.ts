/**
 * The body of a repetition worker thread (started through repetitionWorker.js by `runRepetitions`,
 * as a `WorkerThread` scheduled by `runInLanes`): it starts the tfjs backend it is told to, runs ONE
 * experiment (`runRepetition`, the very code of a single run) per request and replies with the
 * figures of its final table.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import type { BackendName } from "../backend";
import { serialiseError } from "../parallel/workerThread";
import { runRepetition } from "./runRepetitions";
import type { RepetitionMessage, RepetitionReply } from "./repetitionProtocol";

const port = parentPort;
if (!port) throw new Error("repetitionWorkerMain: must run in a worker thread (use runRepetitions)");
const init = workerData as { backend: BackendName };
const send = (reply: RepetitionReply): void => port.postMessage(reply);
const ready = initBackend({ backend: init.backend, log: false });
ready.then((info) => send({ type: "ready", backend: info.name }), () => undefined);

port.on("message", (req: RepetitionMessage) => {
  void (async (): Promise<void> => {
    try {
      await ready;
      const seed = req.config.seed;
      const outcome = await runRepetition(req, req.progress ? (event) => send({ type: "event", id: req.id, seed, event }) : undefined);
      send({ type: "reply", id: req.id, ok: true, outcome });
    } catch (e) {
      send({ type: "reply", id: req.id, ok: false, error: serialiseError(e) });
    }
  })();
});
