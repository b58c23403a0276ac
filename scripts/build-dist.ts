/**
 * The second half of `npm run build` (after `tsc -p tsconfig.build.json`): copy into dist/ what tsc
 * does not emit — the shipped datasets and the pretrained model (found relative to lib/, so they sit
 * beside dist/lib as data/ and models/ sit beside lib/), the nbformat schema, the built wasm modules
 * (lib/kernels/wasm/*.wasm), the native matrix-product addon (lib/kernels/native/fedtune_native.node), and the worker entries (fit and repetition), which in dist/ load the
 * compiled worker instead of registering tsx.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");

function copy(rel: string): void {
  fs.cpSync(path.join(ROOT, rel), path.join(DIST, rel), { recursive: true });
}

function main(): void {
  if (!fs.existsSync(path.join(DIST, "lib", "index.js"))) throw new Error("build-dist: dist/lib/index.js is missing; run tsc -p tsconfig.build.json first");
  for (const rel of ["data", "models", "lib/notebooks/nbformat.v4.schema.json", "lib/kernels/wasm/fedtune_kernels.wasm", "lib/kernels/wasm/weighted_sum.wasm", "lib/kernels/wasm/weighted_sum_shared.wasm", "lib/kernels/native/fedtune_native.node"]) copy(rel);
  // The worker entries: in dist/ they load the compiled worker instead of registering tsx.
  for (const [dir, name] of [["parallel", "fitWorker"], ["experiment", "repetitionWorker"]]) {
    const worker = fs.readFileSync(path.join(ROOT, "lib", dir, `${name}.js`), "utf8");
    const compiled = worker.replace(`require("tsx/cjs");\nrequire("./${name}Main.ts");`, `require("./${name}Main.js");`);
    if (compiled === worker) throw new Error(`build-dist: lib/${dir}/${name}.js changed; update the rewrite to load ${name}Main.js`);
    fs.writeFileSync(path.join(DIST, "lib", dir, `${name}.js`), compiled);
  }
  console.log(`build-dist: dist/ ready (${path.relative(ROOT, DIST)}/lib, bin, data, models)`);
}

main();
