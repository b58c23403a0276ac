/**
 * The body of a repetition worker thread (started through repetitionWorker.js by `runRepetitions`):
 * it starts the tfjs backend it is told to, runs ONE experiment (`runRepetition`, the very code of
 * a single run) per request and posts back the figures of its final table.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import type { BackendName } from "../backend";
import { runRepetition } from "./runRepetitions";
import type { RepetitionReply, RepetitionRequest } from "./repetitionProtocol";

const port = parentPort;
if (!port) throw new Error("repetitionWorkerMain: must run in a worker thread (use runRepetitions)");
const init = workerData as { backend: BackendName };
const ready = initBackend({ backend: init.backend, log: false });

port.on("message", (req: RepetitionRequest) => {
  void (async (): Promise<void> => {
    try {
      await ready;
      const reply: RepetitionReply = { type: "done", seed: req.config.seed, outcome: await runRepetition(req, req.progress ? (event) => port.postMessage({ type: "progress", seed: req.config.seed, event } satisfies RepetitionReply) : undefined) };
      port.postMessage(reply);
    } catch (e) {
      const reply: RepetitionReply = { type: "error", seed: req.config.seed, message: e instanceof Error ? e.message : String(e) };
      port.postMessage(reply);
    }
  })();
});
