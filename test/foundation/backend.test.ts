import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/** Run a tiny script in a fresh process (the backend is chosen once per process). */
function run(code: string, env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], {
    cwd: ROOT,
    env: { ...process.env, FEDTUNE_QUIET: "0", ...env },
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const PRINT = `require("./lib/backend").initBackend().then(i => console.log(JSON.stringify(i)), e => { console.log("ERROR " + e.message); process.exit(3); })`;

test("automatic choice falls through missing native bindings to wasm and logs once why", () => {
  const r = run(`${PRINT}; require("./lib/backend").initBackend()`, { FEDTUNE_BACKEND: "" });
  assert.equal(r.status, 0, r.err);
  const info = JSON.parse(r.out.trim()) as { name: string; reason: string; extraKernels: string[] };
  // Where tfjs-node is installed the native backend wins; here it is absent.
  if (info.name === "wasm") {
    assert.match(info.reason, /tfjs-node is not installed/);
    assert.ok(info.extraKernels.includes("Conv2DBackpropFilter"), "wasm gets fedtune's conv gradient kernels");
  }
  const lines = r.err.split("\n").filter((l) => l.startsWith("fedtune: backend"));
  assert.equal(lines.length, 1, `logged exactly once, got: ${r.err}`);
});

test("FEDTUNE_BACKEND forces a backend", () => {
  const r = run(PRINT, { FEDTUNE_BACKEND: "cpu" });
  assert.equal(r.status, 0, r.err);
  const info = JSON.parse(r.out.trim()) as { name: string; tfjsName: string; reason: string };
  assert.equal(info.name, "cpu");
  assert.equal(info.tfjsName, "cpu");
  assert.match(info.reason, /forced by FEDTUNE_BACKEND/);
});

test("a forced backend that is unavailable is a clear error, not a fallback", () => {
  const r = run(PRINT, { FEDTUNE_BACKEND: "node-gpu" });
  if (r.status === 0) return; // a machine with tfjs-node-gpu installed
  assert.equal(r.status, 3);
  assert.match(r.out, /backend "node-gpu" was forced but is unavailable: @tensorflow\/tfjs-node-gpu is not installed/);
});

test("an unknown forced backend names the variable and the allowed values", () => {
  const r = run(PRINT, { FEDTUNE_BACKEND: "tpu" });
  assert.equal(r.status, 3);
  assert.match(r.out, /FEDTUNE_BACKEND: unknown backend "tpu"; allowed: node-gpu, node, wasm, cpu/);
});

test("a missing kernel becomes a sentence, not a tfjs stack trace", () => {
  const r = run(
    `const tf=require("@tensorflow/tfjs"); const {initBackend, explainBackendError}=require("./lib/backend");
     initBackend({backend:"wasm"}).then(() => {
       try { tf.engine().runKernel("NoSuchKernel", {}, {}); } catch (e) { console.log(explainBackendError(e, "training participant-1").message); }
     });`,
  );
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /training participant-1: the wasm backend has no "NoSuchKernel" kernel, which this model needs/);
});
