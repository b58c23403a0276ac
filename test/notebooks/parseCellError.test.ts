import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCellError } from "../../lib/notebooks/nodeExecutor";

test("parseCellError reads tslab's exception layout, dropping the kernel's own frames", () => {
  const text = [
    "evalmachine.<anonymous>:5",
    "throw new Error(`boom ${s}`);",
    "^",
    "",
    "Error: boom <b>",
    "    at evalmachine.<anonymous>:5:7",
    "    at sigintHandlersWrap (node:vm:280:12)",
    "    at Object.execute (/x/node_modules/tslab/dist/executor.js:160:38)",
  ].join("\n");
  assert.deepEqual(parseCellError("error", text), {
    ename: "Error",
    message: "boom <b>",
    details: "evalmachine.<anonymous>:5\nthrow new Error(`boom ${s}`);\n^\n\n    at evalmachine.<anonymous>:5:7",
  });
  assert.deepEqual(parseCellError("error", "RangeError: too far"), { ename: "RangeError", message: "too far", details: undefined });
});

test("parseCellError: compile errors, timeouts, dead kernels, anything else", () => {
  assert.deepEqual(parseCellError("error", "1:7 - Type 'string' is not assignable to type 'number'."), {
    ename: "TypeScriptError",
    message: "1:7 - Type 'string' is not assignable to type 'number'.",
    details: undefined,
  });
  assert.equal(parseCellError("timeout", "cell timed out after 2 s").ename, "TimeoutError");
  assert.equal(parseCellError("timeout", "cell timed out after 2 s").message, "cell timed out after 2 s");
  assert.equal(parseCellError("dead", "the kernel exited (code 1)").ename, "DeadKernelError");
  assert.deepEqual(parseCellError("error", "something odd\nmore"), { ename: "CellError", message: "something odd", details: "more" });
  assert.equal(parseCellError("error", "").message, "the kernel reported an error without a message");
});
