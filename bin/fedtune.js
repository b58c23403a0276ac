#!/usr/bin/env node
// The `fedtune` command (package.json "bin"): register tsx so the TypeScript CLI runs as is.
"use strict";
require("tsx/cjs");
const { main } = require("./cli.ts");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`fedtune: ${e && e.stack ? e.stack : String(e)}`);
    process.exitCode = 1;
  },
);
