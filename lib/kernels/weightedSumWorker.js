// Entry point of the weighted-sum helper thread (lib/kernels/weightedSumThreads.ts). Plain JavaScript for the same
// reason as lib/parallel/fitWorker.js: a worker starts a fresh module loader, so register tsx's CommonJS hook first.
"use strict";
require("tsx/cjs");
require("./weightedSumWorkerMain.ts");
