// Entry point of a reproduction worker thread (one whole (method, seed) run per job). Plain
// JavaScript on purpose, like lib/parallel/fitWorker.js: a worker starts a fresh module loader, so
// this file registers tsx's CommonJS hook and then loads the TypeScript worker.
"use strict";
require("tsx/cjs");
require("./reproductionWorkerMain.ts");
