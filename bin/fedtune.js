#!/usr/bin/env node
// The `fedtune` command (package.json "bin"). In the repository it runs the TypeScript CLI as is
// (tsx); in an installed package (npm pack / npm install) it runs the compiled one in dist/.
"use strict";
const fs = require("fs");
const path = require("path");
let cli;
if (fs.existsSync(path.join(__dirname, "cli.ts"))) {
  require("tsx/cjs");
  cli = require("./cli.ts");
} else {
  cli = require("../dist/bin/cli.js");
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`fedtune: ${e && e.stack ? e.stack : String(e)}`);
    process.exitCode = 1;
  },
);
