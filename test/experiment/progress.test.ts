import { test } from "node:test";
import assert from "node:assert/strict";
import { createProgressPrinter, progressBar, ProgressStream } from "../../lib/experiment/progress";

function stream(isTTY: boolean): ProgressStream & { text: string } {
  const s = { text: "", isTTY, columns: 200, write: (c: string) => ((s.text += c), true) };
  return s;
}

test("progressBar fills in proportion and clamps", () => {
  assert.equal(progressBar(0.5, 10), "█████░░░░░");
  assert.equal(progressBar(2, 4), "████");
  assert.equal(progressBar(NaN, 4), "░░░░");
});

test("on a TTY: one line per phase, redrawn with \\r, sub-steps shown, a newline when the phase ends", () => {
  const s = stream(true);
  const p = createProgressPrinter(s, { barWidth: 10 });
  p({ phase: "federated", done: 0, total: 2, label: "round 0" });
  p({ phase: "federated", done: 0, total: 2, label: "round 1", sub: { done: 1, total: 2, label: "participant" } });
  p({ phase: "federated", done: 1, total: 2, label: "round 1", detail: "acc 0.5" });
  p({ phase: "federated", done: 2, total: 2, label: "round 2" });
  p({ phase: "report", done: 0, total: 1, label: "metrics" });
  p.end();
  const lines = s.text.split("\n");
  assert.equal(lines.length, 3, JSON.stringify(s.text)); // federated line, report line, trailing ""
  assert.equal(lines[0].split("\r").length - 1, 4, "four redraws of the federated line");
  assert.match(lines[0], /round 1 · participant 1\/2/);
  assert.match(lines[0], /██████████ 2\/2 round 2/);
  assert.match(lines[1], /^\rreport/);
});

test("not a TTY: plain lines for whole steps only", () => {
  const s = stream(false);
  const p = createProgressPrinter(s);
  p({ phase: "local", done: 1, total: 3, label: "participant a", detail: "test acc 0.9" });
  p({ phase: "federated", done: 0, total: 2, label: "round 1", sub: { done: 1, total: 2, label: "participant" } });
  p({ phase: "federated", done: 1, total: 2, label: "round 1" });
  p.end();
  assert.equal(s.text, "[local] 1/3 participant a · test acc 0.9\n[federated] 1/2 round 1\n");
  assert.ok(!s.text.includes("\r"));
});
