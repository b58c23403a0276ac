import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

// tslab (the notebook kernel) resolves a relative import `./x` only to `x.ts`, never to a folder's
// index.ts, so a folder import in lib/ works under tsx and tsc but breaks every notebook.
test("every relative import in lib/ names a file, as tslab requires", () => {
  const bad: string[] = [];
  const files = [...tsFiles(path.join(ROOT, "lib")), path.join(ROOT, "lib.ts")];
  for (const file of files) {
    const src = fs.readFileSync(file, "utf8");
    const re = /(?:from\s+|require\(\s*|import\(\s*)["'](\.{1,2}\/[^"']*)["']/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(src))) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (!fs.existsSync(target + ".ts")) bad.push(`${path.relative(ROOT, file)}: "${m[1]}"`);
    }
  }
  assert.deepEqual(bad, [], `imports that tslab cannot resolve (use "./folder/index"):\n${bad.join("\n")}`);
});
