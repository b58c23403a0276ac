/**
 * The unit tests of fedtune_app's arithmetic (flower/fedtune_app/test_named_aggregate.py: name-wise
 * weighted averaging of partial arrays, central MLP evaluation), run with Python's unittest.
 * Needs only python3 with numpy (no flwr); skipped with a message otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";

const python = process.env.FEDTUNE_PYTHON ?? "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import numpy"], { encoding: "utf8" });
const skip = probe.status === 0 ? false : `fedtune_app arithmetic tests skipped: ${python} with numpy is needed (apt-get install python3-numpy)`;

test("fedtune_app: named partial averaging and central evaluation (Python unittest)", { skip }, () => {
  const app = path.resolve(__dirname, "../../flower/fedtune_app");
  const r = spawnSync(python, ["-B", "-m", "unittest", "discover", "-s", app, "-t", app, "-p", "test_*.py"], { encoding: "utf8", cwd: app });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Ran [1-9]\d* tests?[\s\S]*OK/);
});
