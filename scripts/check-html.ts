/**
 * Open HTML files in headless Chromium and check that every fedtune chart in them actually drew
 * (plotly's SVG is in the page) and that no page script threw. Used by `npm run notebooks` on the
 * notebooks' HTML exports and by the report tests.
 *
 * Usage: tsx scripts/check-html.ts file.html [...]
 */
import * as fs from "fs";
import * as path from "path";
import puppeteer from "puppeteer-core";

/** Where to look for a Chromium/Chrome binary (FEDTUNE_CHROMIUM overrides). */
export function findChromium(): string | undefined {
  const list = [process.env.FEDTUNE_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return list.find((p): p is string => !!p && fs.existsSync(p));
}

/** Result of checking one page. */
export interface PageCheck {
  readonly file: string;
  readonly charts: number;
  readonly drawn: number;
  readonly errors: readonly string[];
}

/** Load each file and count charts and drawn charts. */
export async function checkPages(files: readonly string[], chromium: string): Promise<PageCheck[]> {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const results: PageCheck[] = [];
  try {
    for (const file of files) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // Offline by design: fail any request that leaves the machine (exports must be self-contained
      // for the charts; nbconvert's template may reference CDNs for MathJax/require, which we ignore).
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        if (req.url().startsWith("file:") || req.url().startsWith("data:")) void req.continue();
        else void req.abort();
      });
      await page.goto("file://" + path.resolve(file), { waitUntil: "load", timeout: 120_000 });
      await page
        .waitForFunction(
          () => {
            const divs = Array.from(document.querySelectorAll("div.fedtune-plot"));
            return divs.every((d) => d.querySelector("svg.main-svg") !== null);
          },
          { timeout: 30_000 },
        )
        .catch(() => undefined);
      const counts = await page.evaluate(() => {
        const divs = Array.from(document.querySelectorAll("div.fedtune-plot"));
        return { charts: divs.length, drawn: divs.filter((d) => d.querySelector("svg.main-svg") !== null).length };
      });
      results.push({ file, charts: counts.charts, drawn: counts.drawn, errors });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return results;
}

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("check-html: give one or more HTML files");
    return 2;
  }
  const chromium = findChromium();
  if (!chromium) {
    console.error("check-html: no Chromium found (apt-get install chromium, or set FEDTUNE_CHROMIUM); charts not checked");
    return process.env.CI ? 1 : 0;
  }
  let bad = 0;
  for (const r of await checkPages(files, chromium)) {
    const ok = r.drawn === r.charts && r.errors.length === 0;
    if (!ok) bad++;
    console.log(`  ${ok ? "ok" : "FAILED"} ${path.basename(r.file)}: ${r.drawn}/${r.charts} charts drawn in Chromium${r.errors.length ? `; page errors: ${r.errors.join(" | ")}` : ""}`);
  }
  return bad ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(`check-html: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
