/**
 * The body of the weighted-sum helper thread (started through weightedSumWorker.js by weightedSumThreads.ts). It
 * sleeps in `Atomics.wait` on the shared control word; when the main thread marks a job posted it takes the job from
 * its MessagePort with `receiveMessageOnPort`, sums its half with the same kernel as the main thread, writes the
 * result into the job's shared output and marks it done (or failed, with the reason on the port).
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { weightedSumInto } from "./weightedSum";
import { HelperState } from "./weightedSumThreads";
import type { HelperData, WeightedSumJob } from "./weightedSumThreads";

const { control, port } = workerData as HelperData;

function run(job: WeightedSumJob): boolean {
  let finite = true;
  for (const part of job.parts) {
    const n = part.inputs[0].length;
    if (!weightedSumInto(job.out.subarray(part.at, part.at + n), part.inputs, job.factors, job.total)) finite = false;
  }
  return finite;
}

// Instantiate the kernel before saying ready, so the first job does not pay for it.
weightedSumInto(new Float32Array(1), [new Float32Array(1)], [1], 1);
Atomics.store(control, 0, HelperState.idle);
Atomics.notify(control, 0);
for (;;) {
  let state = Atomics.load(control, 0);
  while (state !== HelperState.posted && state !== HelperState.closing) {
    Atomics.wait(control, 0, state);
    state = Atomics.load(control, 0);
  }
  if (state === HelperState.closing) break;
  try {
    const received = receiveMessageOnPort(port);
    if (received === undefined) throw new Error("a job was marked posted but none arrived");
    control[1] = run(received.message as WeightedSumJob) ? 1 : 0;
    Atomics.store(control, 0, HelperState.done);
  } catch (e) {
    port.postMessage({ message: e instanceof Error ? e.message : String(e) });
    Atomics.store(control, 0, HelperState.failed);
  }
  Atomics.notify(control, 0);
}
port.close();
