// The second thread of bench item 5's "memcpy on 2 threads" (bench/aggregationThroughput.ts): copies its half of the
// inputs (workerData.inputs[participant][piece], its own ordinary arrays) into its own preallocated arrays each time
// the control word says 2, then sets it to 4 (done); 3 ends it. Plain JavaScript: nothing to compile.
"use strict";
const { workerData } = require("node:worker_threads");
const { control, inputs } = workerData;
const targets = inputs[0].map((x) => new Float32Array(x.length));
Atomics.store(control, 0, 1);
for (;;) {
  let state = Atomics.load(control, 0);
  while (state !== 2 && state !== 3) {
    Atomics.wait(control, 0, state);
    state = Atomics.load(control, 0);
  }
  if (state === 3) break;
  for (const u of inputs) u.forEach((x, i) => targets[i].set(x));
  Atomics.store(control, 0, 4);
  Atomics.notify(control, 0);
}
