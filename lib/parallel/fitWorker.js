// Entry point of a fit worker thread. Plain JavaScript on purpose: a worker starts a fresh module
// loader, so whatever compiled the parent's TypeScript (tsx's CLI or --import hook, tslab's own
// compiler in a notebook) is not there; this file registers tsx's CommonJS hook and then loads
// the TypeScript worker, which works from every entry point.
"use strict";
require("tsx/cjs");
require("./fitWorkerMain.ts");
