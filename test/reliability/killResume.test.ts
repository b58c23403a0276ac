import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initBackend } from "../../lib/backend";
import { weightsEqual } from "../../lib/model/index";
import { runFederation } from "../../lib/federation/federation";
import { loadCheckpoint } from "../../lib/federation/checkpoint";
import { smallRun } from "./fixtures/smallRun";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedtune-kill-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Start the child, wait until it reports round ≥ `atLeast`, SIGKILL it; resolves with the last round it printed. */
function runAndKill(atLeast: number): Promise<number> {
  const script = path.join(__dirname, "fixtures", "killableRun.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, dir], { cwd: path.resolve(__dirname, "..", ".."), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let last = -1;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not reach round ${atLeast} in 300 s; stderr: ${stderr}`));
    }, 300_000); // a ceiling, not a wait: the child is killed as soon as it reports the round
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      for (const m of d.toString().matchAll(/round (\d+)/g)) last = Number(m[1]);
      if (last >= atLeast && child.exitCode === null && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") resolve(last);
      else reject(new Error(`child exited on its own (code ${code}); stderr: ${stderr}`));
    });
  });
}

test("a run killed with SIGKILL resumes from its last checkpoint and ends exactly like an uninterrupted run", async () => {
  await initBackend({ log: false });
  const printed = await runAndKill(2);
  const snap = loadCheckpoint(dir);
  // The checkpoint is written before the round is printed, so it holds at least that round.
  assert.ok(snap.round >= printed && snap.round >= 2, `checkpoint round ${snap.round}, child printed ${printed}`);
  const total = Math.max(8, snap.round + 3);
  const resumed = smallRun(total);
  const b = await runFederation({ ...resumed.options, resumeFrom: snap });
  resumed.trainer.dispose();
  const straight = smallRun(total);
  const a = await runFederation(straight.options);
  straight.trainer.dispose();
  assert.equal(b.roundsRun, total);
  assert.deepEqual(b.rows, a.rows);
  assert.ok(weightsEqual(b.globalWeights, a.globalWeights), "final global weights bitwise equal");
  const leftovers = fs.readdirSync(dir).filter((f) => f.includes(".tmp-"));
  assert.ok(leftovers.length <= 2, `at most the temp files of the interrupted write: ${leftovers.join(", ")}`);
});
