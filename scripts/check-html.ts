/**
 * Open HTML files in headless Chromium and check that every fedtune chart in them drew and that no
 * page script threw (lib/notebooks/checkCharts). Usage: tsx scripts/check-html.ts file.html [...]
 */
import * as path from "path";
import { checkCharts, findChromium } from "../lib/notebooks/checkCharts";

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("check-html: give one or more HTML files");
    return 2;
  }
  const browser = await findChromium();
  if (!browser) {
    console.error("check-html: no Chromium found (npm install brings @sparticuz/chromium; or set FEDTUNE_CHROMIUM)");
    return 1;
  }
  let bad = 0;
  for (const r of await checkCharts(files, browser.executablePath)) {
    const ok = r.drawn === r.charts && r.errors.length === 0;
    if (!ok) bad++;
    console.log(`  ${ok ? "ok" : "FAILED"} ${path.basename(r.file)}: ${r.drawn}/${r.charts} charts drawn in Chromium${r.errors.length ? `; page errors: ${r.errors.join(" | ")}` : ""}`);
  }
  return bad ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`check-html: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
