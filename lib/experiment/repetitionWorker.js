// Entry point of a repetition worker thread (one whole experiment run per job). Plain JavaScript on
// purpose, like lib/parallel/fitWorker.js: a worker starts a fresh module loader, so this file
// registers tsx's CommonJS hook and then loads the TypeScript worker.
"use strict";
require("tsx/cjs");
require("./repetitionWorkerMain.ts");
