/**
 * fedtune as a library in someone else's project: `npm pack` (which builds dist/ through prepack),
 * install the tarball into a new folder outside the checkout, offline, and run a small federation
 * there with `import … from "fedtune"`; its history must equal the same federation run from lib/.
 *
 * Offline: the consumer gets a lockfile derived from fedtune's own (the production part: the
 * versions fedtune is tested with), so `npm ci --offline` takes every tarball from the npm cache
 * that installing fedtune filled, and asks the registry nothing.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const FIXTURES = path.join(__dirname, "fixtures");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-pack-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function npm(args: string[], cwd: string): { status: number | null; out: string; seconds: number } {
  const t0 = Date.now();
  const r = spawnSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
}

type LockEntry = Record<string, unknown> & { dev?: boolean };

/** package.json and package-lock.json of a consumer that depends on the tarball. */
function writeConsumer(project: string, tarball: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown> & { version: string };
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const spec = `file:${path.relative(project, tarball)}`;
  const integrity = "sha512-" + crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("base64");
  const packages: Record<string, unknown> = {
    "": { name: "consumer", dependencies: { fedtune: spec } },
    "node_modules/fedtune": {
      version: pkg.version,
      resolved: spec,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k !== "" && !v.dev) packages[k] = v;
  // fedtune's overrides (a pinned transitive version) apply only in the root project: a consumer repeats them.
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, dependencies: { fedtune: spec }, overrides: pkg.overrides }, null, 2));
  fs.writeFileSync(path.join(project, "package-lock.json"), JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2));
  for (const f of ["consumer.mjs", "consumer.ts", "smallFederation.cjs"]) fs.copyFileSync(path.join(FIXTURES, f), path.join(project, f));
}

test("npm pack → npm ci --offline in a new folder → import from \"fedtune\" runs a federation identical to lib/'s", async () => {
  const pack = npm(["pack", "--pack-destination", dir, "--json"], ROOT);
  assert.equal(pack.status, 0, pack.out);
  const files = (JSON.parse(pack.out.slice(pack.out.indexOf("["), pack.out.lastIndexOf("]") + 1)) as { filename: string; files: { path: string }[] }[])[0];
  const names = files.files.map((f) => f.path);
  for (const f of ["dist/lib/index.js", "dist/lib/index.d.ts", "dist/lib/notebooks/nbformat.v4.schema.json", "dist/data/manifest.json", "dist/models/pretrained-cnn/model.json", "dist/lib/kernels/native/fedtune_native.node", "dist/bin/cli.js", "bin/fedtune.js"]) {
    assert.ok(names.includes(f), `the tarball holds ${f}`);
  }
  assert.ok(!names.some((f) => f.startsWith("lib/") || f.startsWith("test/") || f.startsWith("notebooks/")), "sources, tests and notebooks stay out");

  const project = path.join(dir, "consumer");
  fs.mkdirSync(project);
  writeConsumer(project, path.join(dir, files.filename));
  const install = npm(["ci", "--offline", "--omit=optional", "--no-audit", "--no-fund"], project);
  assert.equal(install.status, 0, install.out);
  console.log(`# offline install of the tarball: ${install.seconds.toFixed(1)} s`);

  const run = spawnSync(process.execPath, ["consumer.mjs"], { cwd: project, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const installed = JSON.parse(run.stdout) as unknown[];

  // The same federation from the repository's sources, in this process.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const smallFederation = require(path.join(FIXTURES, "smallFederation.cjs")) as (f: unknown) => Promise<unknown[]>;
  const fromSource = await smallFederation(await import("../../lib/index"));
  assert.ok(installed.length > 0);
  assert.deepEqual(installed, JSON.parse(JSON.stringify(fromSource)), "same seed, same history, installed or from source");

  // The declarations resolve through the exports map, including the "fedtune/notebooks" subpath.
  const tsc = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node", "--typeRoots", path.join(ROOT, "node_modules", "@types"), "consumer.ts"],
    { cwd: project, encoding: "utf8" },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);

  // The installed command works too.
  const help = spawnSync(process.execPath, [path.join(project, "node_modules", "fedtune", "bin", "fedtune.js"), "run", "--help"], { cwd: project, encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /FEDTUNE_DATA_DIR/);
});
