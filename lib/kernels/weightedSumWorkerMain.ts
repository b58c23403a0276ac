/**
 * The body of the weighted-sum helper thread (started through weightedSumWorker.js by weightedSumThreads.ts). It
 * sleeps in `Atomics.wait` on the shared control word. When the main thread posts a job it takes it (posted → running,
 * unless the main thread withdrew it first), reads it from its MessagePort with `receiveMessageOnPort`, claims chunks
 * from the shared counter until none is left, sums each with the same kernel as the main thread into the job's shared
 * output (or, for inputs resident in the update arena, in place there), and says done (or failed, with the reason on
 * the port).
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { weightedSumInto } from "./weightedSum";
import { residentSum, sumResidentChunk } from "./weightedSumResident";
import type { WasmMemory } from "./webAssembly";
import { Control, HelperState } from "./weightedSumThreads";
import type { HelperData, WeightedSumJob } from "./weightedSumThreads";

const { control, port } = workerData as HelperData;

/** The posted job `id` (older ones, withdrawn before this thread took them, are dropped). */
function receive(id: number): WeightedSumJob {
  for (;;) {
    const received = receiveMessageOnPort(port);
    if (received === undefined) throw new Error(`job ${id} was posted but did not arrive`);
    const job = received.message as WeightedSumJob;
    if (job.id === id) return job;
  }
}

/** The update arena's memory, as the main thread sent it with its first resident job. */
let arena: WasmMemory | undefined;

function run(job: WeightedSumJob): void {
  const n = job.at.length;
  const resident = job.resident;
  if (resident !== undefined) {
    arena = resident.memory ?? arena;
    if (arena === undefined) throw new Error(`job ${job.id} is on the update arena, but its memory was never sent`);
    const fn = residentSum(arena);
    const { args, participants, factorsAt } = resident;
    for (let i = Atomics.add(control, Control.next, 1); i < n; i = Atomics.add(control, Control.next, 1)) {
      const finite = sumResidentChunk(fn, args, i, participants, factorsAt, job.total);
      Atomics.store(job.finished, i, finite ? 1 : 2);
    }
    return;
  }
  for (let i = Atomics.add(control, Control.next, 1); i < n; i = Atomics.add(control, Control.next, 1)) {
    const lo = job.chunks[3 * i + 1];
    const hi = job.chunks[3 * i + 2];
    const inputs = job.inputs[job.chunks[3 * i]].map((x) => x.subarray(lo, hi));
    const finite = weightedSumInto(job.out.subarray(job.at[i], job.at[i] + hi - lo), inputs, job.factors, job.total);
    Atomics.store(job.finished, i, finite ? 1 : 2);
  }
}

// Instantiate the kernel before saying ready, so the first job does not pay for it.
weightedSumInto(new Float32Array(1), [new Float32Array(1)], [1], 1);
Atomics.store(control, Control.state, HelperState.idle);
Atomics.notify(control, Control.state);
for (;;) {
  let state = Atomics.load(control, Control.state);
  while (state !== HelperState.posted && state !== HelperState.closing) {
    Atomics.wait(control, Control.state, state);
    state = Atomics.load(control, Control.state);
  }
  if (state === HelperState.closing) break;
  // The main thread may have withdrawn the job (posted → idle) after finishing every chunk itself.
  if (Atomics.compareExchange(control, Control.state, HelperState.posted, HelperState.running) !== HelperState.posted) continue;
  try {
    run(receive(Atomics.load(control, Control.job)));
    Atomics.store(control, Control.state, HelperState.done);
  } catch (e) {
    port.postMessage({ message: e instanceof Error ? e.message : String(e) });
    Atomics.store(control, Control.state, HelperState.failed);
  }
  Atomics.notify(control, Control.state);
}
port.close();
